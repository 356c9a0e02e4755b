"""The reference that `benchmarks/adversarial.py` times jirl against: imitation's GAIL
(imitation 1.0.1, PyTorch + stable-baselines3) on seals CartPole, in env steps per second of its
whole training loop (collection, discriminator updates, policy updates).

    python benchmarks/imitation_gail.py --demos benchmarks/results/experts/cartpole/demos.npz

It needs `imitation` (and so PyTorch), not jirl or JAX, so it can run in an interpreter of its
own: `adversarial.py --imitation-python PYTHON` runs it in a subprocess there (by default in its
own interpreter, when that has `imitation`). The demonstrations are jirl's `demos.npz` (read with
`allow_pickle=False`), converted to imitation's `Trajectory`s.

Settings (`SETTINGS`): imitation's GAIL tutorial (SB3 PPO with `MlpPolicy`, batch 64, 5 epochs,
rate 4e-4, γ = 0.95, 2048 steps per env per round; `BasicRewardNet` with `RunningNorm`; demo
batch 1024, replay capacity 512), 8 envs and 4 discriminator updates per round. One round is
trained first to warm up (imports, allocation); the next `--rounds` rounds are timed.

Prints one line and writes JSON (`--out`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from importlib.util import find_spec
from pathlib import Path

import numpy as np

SETTINGS = {
    "env": "seals:seals/CartPole-v0",
    "n_envs": 8,
    "n_disc_updates_per_round": 4,
    "demo_batch_size": 1024,
    "gen_replay_buffer_capacity": 512,
    "ppo": {
        "batch_size": 64,
        "ent_coef": 0.0,
        "learning_rate": 4e-4,
        "gamma": 0.95,
        "n_epochs": 5,
        "n_steps": 2048,
    },
}


def load_trajectories(path: Path):
    """jirl's `demos.npz` (flat `[N]` steps, `episode_lengths [E]`) as imitation `Trajectory`s,
    each with its final observation appended (`obs [T + 1, ...]`, `acts [T]`)."""
    from imitation.data.types import Trajectory

    with np.load(path, allow_pickle=False) as data:
        obs, next_obs, actions = data["obs"], data["next_obs"], data["actions"]
        lengths = data["episode_lengths"]
    out, start = [], 0
    for length in lengths:
        stop = start + int(length)
        episode_obs = np.concatenate([obs[start:stop], next_obs[stop - 1 : stop]])
        out.append(Trajectory(episode_obs, actions[start:stop], None, terminal=True))
        start = stop
    return out


def env_steps_per_second(demos: Path, rounds: int, seed: int = 0) -> dict:
    """Env steps per second of `rounds` rounds of imitation's GAIL after one warm-up round."""
    import imitation
    import stable_baselines3
    import torch
    from imitation.algorithms.adversarial.gail import GAIL
    from imitation.data.wrappers import RolloutInfoWrapper
    from imitation.rewards.reward_nets import BasicRewardNet
    from imitation.util import logger
    from imitation.util.networks import RunningNorm
    from imitation.util.util import make_vec_env
    from stable_baselines3 import PPO
    from stable_baselines3.ppo import MlpPolicy

    venv = make_vec_env(
        SETTINGS["env"],
        rng=np.random.default_rng(seed),
        n_envs=SETTINGS["n_envs"],
        post_wrappers=[lambda env, _: RolloutInfoWrapper(env)],
    )
    learner = PPO(env=venv, policy=MlpPolicy, seed=seed, **SETTINGS["ppo"])
    reward_net = BasicRewardNet(
        observation_space=venv.observation_space,
        action_space=venv.action_space,
        normalize_input_layer=RunningNorm,
    )
    trainer = GAIL(
        demonstrations=load_trajectories(demos),
        demo_batch_size=SETTINGS["demo_batch_size"],
        gen_replay_buffer_capacity=SETTINGS["gen_replay_buffer_capacity"],
        n_disc_updates_per_round=SETTINGS["n_disc_updates_per_round"],
        venv=venv,
        gen_algo=learner,
        reward_net=reward_net,
        allow_variable_horizon=True,
        custom_logger=logger.configure(format_strs=[]),  # no per-round tables on stdout
    )
    per_round = SETTINGS["n_envs"] * SETTINGS["ppo"]["n_steps"]
    trainer.train(per_round)  # warm-up round, not timed
    start = time.perf_counter()
    trainer.train(per_round * rounds)
    seconds = time.perf_counter() - start
    return {
        "env_steps_per_second": per_round * rounds / seconds,
        "env_steps": per_round * rounds,
        "seconds": seconds,
        "settings": SETTINGS,
        "versions": {
            "imitation": imitation.__version__,
            "stable_baselines3": stable_baselines3.__version__,
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
        },
        "platform": platform.platform(),
    }


class Parser(argparse.ArgumentParser):
    """A bad flag is one line on stderr and exit 2, as jirl's scripts give
    (`jirl.cli.ScriptParser`; this script runs in imitation's environment, without jirl)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def main(argv=None) -> None:
    parser = Parser(description=__doc__.strip().split("\n\n")[0])
    parser.add_argument("--demos", required=True, type=Path, help="jirl demos.npz (cartpole)")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds (16,384 steps each)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/imitation_gail.json"))
    args = parser.parse_args(argv)
    if not args.demos.is_file():
        parser.error(f"--demos {args.demos}: no such file; run benchmarks/adversarial.py first")
    if args.rounds < 1:
        parser.error(f"--rounds must be >= 1, got {args.rounds}")
    if args.out.is_dir():  # refused now, not after the timed rounds
        parser.error(f"--out {args.out} is a directory; pass the JSON file to write")
    existing = next(p for p in args.out.absolute().parents if p.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        parser.error(f"--out {args.out}: {existing} is not a writable directory; choose another")
    needed = ("imitation", "seals", "stable_baselines3", "torch")
    missing = [name for name in needed if find_spec(name) is None]
    if missing:
        parser.error(
            f"{', '.join(missing)} not installed in {sys.executable}: run this script with the "
            "Python of an environment that has imitation 1.0.1 (pip install imitation==1.0.1)"
        )
    result = env_steps_per_second(args.demos, args.rounds)
    print(
        f"imitation {result['versions']['imitation']} GAIL on {SETTINGS['env']}: "
        f"{result['env_steps_per_second']:,.0f} env steps/s "
        f"({result['env_steps']:,} steps in {result['seconds']:.1f} s)"
    )
    write_atomically(args.out, json.dumps(result, indent=2))


def write_atomically(path: Path, text: str) -> None:
    """`path` holds its old contents or `text`, never a part: a temporary file beside it,
    flushed, given the usual permissions (0o666 less the umask, not 0o600), then `os.replace`
    and the directory flushed; the temporary goes on any failure (this script runs without
    jirl, so not `jirl.files.atomic_write_text`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


if __name__ == "__main__":
    main()
