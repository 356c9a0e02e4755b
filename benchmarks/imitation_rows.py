"""Quality rows for interactive imitation: DAgger, SMILe and BC from N expert episodes, with the
number of expert queries each paid (Ross, Gordon & Bagnell 2011; Ross & Bagnell 2010).

    python benchmarks/imitation_rows.py          # quick CPU mode: 1 and 4 demos, 2 seeds
    python benchmarks/imitation_rows.py --full   # 1, 4, 7, 10 demos, 5 seeds, longer training

Prints a markdown table and writes JSON (default benchmarks/results/imitation.json).

Importable: `bc_row`, `dagger_row`, `smile_row` return one row (a dict) each, so the quality
table of `benchmarks/adversarial.py` can add them beside GAIL and AIRL:

    env, expert, demos = load_inputs("cartpole", expert_dir)
    row = dagger_row(env, expert, demos, num_demos=4)

Experts are PPO policies trained here with `jirl.expert_run.train_expert` (kept in
`--experts DIR`, reused when present). Normalized score: 1 is the expert's evaluated return,
0 a uniformly random policy.
"""

from __future__ import annotations

import platform
import time
from pathlib import Path

import _jax_env  # noqa: F401  (before JAX: one line and exit 2 for a JAX_* it cannot read)
import jax
import numpy as np

import jirl
from jirl import data, envs
from jirl.algos import bc, dagger, smile
from jirl.algos import expert as experts
from jirl.cli import ScriptParser, script_main, whole
from jirl.config import read_yaml
from jirl.devices import seed_map
from jirl.envs.base import Env
from jirl.errors import ConfigError
from jirl.evaluation import mean_returns, normalized_score
from jirl.experiment import EXPERT_FILES
from jirl.expert_run import expert_config, train_expert
from jirl.files import out_file, write_results
from jirl.provenance import provenance
from jirl.run import seed_layout
from jirl.types import Algorithm, Trajectories

ENVS = ("cartpole", "acrobot", "pendulum")
#: The GAIL paper's four MuJoCo tasks, here in Brax.
BRAX_LOCOMOTION = ("hopper", "halfcheetah", "walker2d", "ant")

#: PPO for the Brax locomotion experts (`configs/expert-hopper.yaml`): 4096 env steps per
#: update, 10 epochs, no entropy bonus; the adversarial benchmark's generators roll out alike.
BRAX_PPO = read_yaml("expert-hopper")["ppo"]


#: what `jirl expert` writes: a cache directory holding anything else is not replaced
EXPERT_DIR_FILES = (*EXPERT_FILES, "summary.json")


def ensure_expert(
    env_name: str, directory: str | Path, episodes: int = 10, backend: str | None = None
) -> Path:
    """Train (once) `jirl expert`'s PPO expert of `env_name` (`configs/expert-ENV.yaml` where
    it ships) with `episodes` demonstrations in `directory` (`backend`: Brax's physics backend;
    the expert records it and refuses any other). A cached expert whose demos.npz holds fewer
    than `episodes` episodes records the rest (`record_more_demos`): the first ones, those the
    smaller demo counts take, stay as they were."""
    directory = Path(directory)
    options = {} if backend is None else {"backend": backend}
    if (directory / "expert.msgpack").is_file() and (directory / "demos.npz").is_file():
        record_more_demos(envs.make(env_name, **options), directory, episodes)
        return directory
    others = sorted(p.name for p in directory.glob("*") if p.name not in EXPERT_DIR_FILES)
    if others:  # the expert replaces the directory: never a run or anything else of the user's
        raise ConfigError(
            f"{directory} holds {', '.join(others[:3])}, not a jirl expert: pass another --experts"
        )
    train_expert(expert_config(env_name, **options), directory, episodes=episodes, overwrite=True)
    return directory


def check_experts_dir(parser, experts: str) -> None:
    """Refuse `--experts` naming a file (the cache is a directory of `<env>` experts), before
    the first row."""
    if Path(experts).exists() and not Path(experts).is_dir():
        parser.error(f"--experts {experts} is a file; pass the directory of the expert cache")


def record_more_demos(env: Env, directory: Path, episodes: int) -> None:
    """Append episodes of the expert in `directory` to its demos.npz until it holds
    `episodes` (a key of their own: the recorded ones are kept), with the same header returns."""
    demos = data.load(directory / "demos.npz", env=env)
    missing = episodes - demos.trajectories.num_episodes
    if missing <= 0:
        return
    expert = experts.load(directory, env)
    key = jax.random.fold_in(jax.random.PRNGKey(0), demos.trajectories.num_episodes)
    more = data.collect(env, expert.act, key, missing)
    old = demos.trajectories
    both = Trajectories(
        *(np.concatenate([np.asarray(getattr(old, f)), np.asarray(getattr(more, f))])
          for f in data.FIELDS)
    )  # fmt: skip
    data.save(
        directory / "demos.npz",
        both,
        env,
        expert_return=demos.header.expert_return,
        random_return=demos.header.random_return,
    )


def load_inputs(
    env_name: str, expert_dir: str | Path, **options
) -> tuple[Env, experts.Expert, Trajectories]:
    """The env (made with `options`, e.g. Brax's backend), the expert (oracle) and all its
    demonstrations from an expert directory."""
    env = envs.make(env_name, **options)
    expert = experts.load(expert_dir, env)
    demos = data.load(Path(expert_dir) / "demos.npz", env=env).trajectories
    return env, expert, demos


def evaluate(
    algo: Algorithm,
    env: Env,
    expert: experts.Expert,
    num_updates: int,
    *,
    seeds: int,
    episodes: int,
    key: jax.Array,
) -> dict:
    """Train `seeds` seeds vmapped in one compile, evaluate each seed's `act`, summarise.

    The seeds are spread over the devices, padded with repeats (`jirl.run.seed_layout`).
    """
    key_train, key_eval = jax.random.split(key)
    start = time.perf_counter()
    layout = seed_layout(seeds)
    keys_train, keys_eval = layout.pad(
        (jax.random.split(key_train, seeds), jax.random.split(key_eval, seeds))
    )
    train = jax.jit(seed_map(jirl.make_train(algo, num_updates), layout.sharding))
    state, metrics = train(keys_train)
    returns_of = mean_returns(algo, env, episodes, layout.sharding)
    returns = np.asarray(layout.unpad(returns_of(state, keys_eval)))
    metrics = layout.unpad(metrics)
    scores = np.asarray(normalized_score(returns, expert.expert_return, expert.random_return))
    queries = metrics.get("expert_queries")
    return {
        "return": float(returns.mean()),
        "return_std": float(returns.std()),
        "normalized_score": float(scores.mean()),
        "normalized_std": float(scores.std()),
        "per_seed": [float(s) for s in scores],
        "expert_queries": 0 if queries is None else int(np.asarray(queries)[0, -1]),
        "updates": num_updates,
        "seeds": seeds,
        "seconds": time.perf_counter() - start,
    }


def _row(algo_name, env, expert, demos, num_demos, result) -> dict:
    return {
        "algo": algo_name,
        "env": env.name,
        "num_demos": num_demos,
        "demo_steps": int(demos.num_transitions),
        "expert_return": expert.expert_return,
        "random_return": expert.random_return,
        **result,
    }


def bc_row(
    env: Env,
    expert: experts.Expert,
    demos: Trajectories,
    num_demos: int,
    *,
    seeds: int = 3,
    updates: int = 20,
    episodes: int = 16,
    config: bc.BCConfig | None = None,
    key: jax.Array | None = None,
) -> dict:
    """Behavioural cloning on the first `num_demos` episodes of `demos` (no expert queries)."""
    demos = data.take_episodes(demos, num_demos)
    algo = bc.make(config or bc.BCConfig(), env, demos)
    key = jax.random.PRNGKey(0) if key is None else key
    result = evaluate(algo, env, expert, updates, seeds=seeds, episodes=episodes, key=key)
    return _row("bc", env, expert, demos, num_demos, result)


def dagger_row(
    env: Env,
    expert: experts.Expert,
    demos: Trajectories,
    num_demos: int,
    *,
    seeds: int = 3,
    updates: int = 10,
    episodes: int = 16,
    config: dagger.DAggerConfig | None = None,
    key: jax.Array | None = None,
) -> dict:
    """DAgger seeded with the first `num_demos` episodes of `demos`, `updates` rounds."""
    demos = data.take_episodes(demos, num_demos)
    config = config or dagger.DAggerConfig(
        beta_schedule="exponential", num_envs=envs_per_round(env, 512), buffer_capacity=50_000
    )
    algo = dagger.make(config, env, demos, expert=expert)
    key = jax.random.PRNGKey(0) if key is None else key
    result = evaluate(algo, env, expert, updates, seeds=seeds, episodes=episodes, key=key)
    return _row("dagger", env, expert, demos, num_demos, result)


def envs_per_round(env: Env, states: int) -> int:
    """Environments whose whole episodes (a round each) give about `states` labelled states."""
    return max(1, round(states / env.horizon))


def smile_row(
    env: Env,
    expert: experts.Expert,
    demos: Trajectories,
    num_demos: int,
    *,
    seeds: int = 3,
    updates: int = 10,
    episodes: int = 16,
    config: smile.SMILeConfig | None = None,
    key: jax.Array | None = None,
) -> dict:
    """SMILe whose first member is cloned from the first `num_demos` episodes of `demos`."""
    demos = data.take_episodes(demos, num_demos)
    config = config or smile.SMILeConfig(max_rounds=updates, num_envs=envs_per_round(env, 1024))
    algo = smile.make(config, env, demos, expert=expert)
    key = jax.random.PRNGKey(0) if key is None else key
    result = evaluate(algo, env, expert, updates, seeds=seeds, episodes=episodes, key=key)
    return _row("smile", env, expert, demos, num_demos, result)


def markdown(rows: list[dict]) -> str:
    lines = [
        "| env | demos | algo | return | normalized score | expert queries | seconds |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['env']} | {r['num_demos']} | {r['algo']} | {r['return']:.1f} ± "
            f"{r['return_std']:.1f} | {r['normalized_score']:.3f} ± {r['normalized_std']:.3f} | "
            f"{r['expert_queries']:,} | {r['seconds']:.1f} |"
        )
    return "\n".join(lines)


@script_main
def main(argv=None) -> None:
    parser = ScriptParser(__doc__)
    parser.add_argument("--full", action="store_true", help="1, 4, 7, 10 demos, 5 seeds")
    parser.add_argument("--envs", nargs="+", default=list(ENVS), help="environments to run")
    parser.add_argument("--demos", nargs="+", type=whole, help="demo counts (override the mode)")
    parser.add_argument(
        "--experts",
        default="benchmarks/results/experts",
        help="expert directories (<DIR>/<env>), trained when missing",
    )
    parser.add_argument("--out", type=out_file, default="benchmarks/results/imitation.json")
    args = parser.parse_args(argv)
    unknown = [name for name in args.envs if name not in envs.names()]
    if unknown:  # checked before the first row trains, not when the loop reaches the name
        parser.error(f"--envs {unknown[0]}: not an environment of jirl.envs.names()")
    if args.demos is not None and min(args.demos) < 1:
        parser.error(f"--demos counts must be >= 1, got {args.demos}")
    check_experts_dir(parser, args.experts)
    jirl.use_cpu_cores()  # a CPU device per core: `evaluate` shards the seeds over them
    counts = args.demos or ([1, 4, 7, 10] if args.full else [1, 4])
    seeds, episodes = (5, 32) if args.full else (2, 8)
    updates = {
        "bc": 40 if args.full else 20,
        "dagger": 20 if args.full else 8,
        "smile": 10 if args.full else 6,
    }
    rows, experts_info = [], {}
    out = Path(args.out)

    origin = provenance(argv)

    def write(partial: bool) -> None:
        """The results JSON, rewritten after every row, so that a run cut short keeps them."""
        result = {
            "mode": "full" if args.full else "quick",
            "device": jax.devices()[0].device_kind,
            "platform": platform.platform(),
            "provenance": origin,
            "partial": partial,
            "experts": experts_info,
            "rows": rows,
        }
        write_results(out, result)

    for env_name in args.envs:
        start = time.perf_counter()
        # a Brax expert is trained on its config's backend (configs/expert-ENV.yaml); the
        # env it is measured in must be made on the same one
        backend = expert_config(env_name).backend
        expert_dir = ensure_expert(
            env_name, Path(args.experts) / env_name, episodes=max(*counts, 10), backend=backend
        )
        options = {} if backend is None else {"backend": backend}
        env, expert, demos = load_inputs(env_name, expert_dir, **options)
        experts_info[env_name] = {
            "expert_return": expert.expert_return,
            "random_return": expert.random_return,
            "demo_mean_return": float(data.episode_returns(demos).mean()),
            "seconds": time.perf_counter() - start,
        }
        print(
            f"{env_name}: expert {expert.expert_return:.1f}, random {expert.random_return:.1f}",
            flush=True,
        )
        for n in counts:
            common = {"seeds": seeds, "episodes": episodes}
            for name, row_fn in (("bc", bc_row), ("dagger", dagger_row), ("smile", smile_row)):
                row = row_fn(env, expert, demos, n, updates=updates[name], **common)
                rows.append(row)
                print(markdown([row]).splitlines()[-1], flush=True)
                write(partial=True)
    table = markdown(rows)
    print()
    print(table)
    write(partial=False)
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
