"""`jirl expert`: train PPO experts over several seeds, keep the best, record demonstrations."""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np

from jirl import data
from jirl.algos import expert as experts
from jirl.config import (
    CONFIG_DIR,
    ExperimentConfig,
    anneal_over_updates,
    check_episodes,
    experiment_config,
    read_yaml,
    whole_number,
)
from jirl.errors import ConfigError, RunError
from jirl.evaluation import seed_outcomes
from jirl.experiment import make_env, random_returns
from jirl.files import EXPERT_NAMES, check_out_dir, write_dir, write_json
from jirl.logging import ProgressBar
from jirl.rl import ppo
from jirl.run import run

#: A seed whose evaluation episodes fall (end in a termination, on an env where that is a
#: failure) more often than this is kept only if every seed does: an expert that falls teaches
#: falling (README, Known issues).
MAX_FALL_RATE = 0.1

#: what `jirl expert` runs unless told otherwise: 4 PPO seeds of 480 updates, the best kept,
#: each seed scored on 64 evaluation episodes
EXPERT_DEFAULTS = {"algo": "ppo", "seeds": 4, "updates": 480, "chunk": 40, "eval_episodes": 64}


def with_annealing(data: dict) -> dict:
    """An expert's raw config with PPO's learning rate decayed to 0 over the run's updates
    unless `ppo.anneal_updates` is set (measured on cartpole, 4 seeds, on an earlier session's
    CPU: returns 500, 486, 291, 500 with annealing; 238, 119, 500, 176 without; the figures
    move with the machine's rounding). The keys of learners from data (`demos`,
    `expert`, `num_demos`), a `sweep` and `checkpoint_every` (an expert keeps no checkpoint)
    are refused."""
    unused = [k for k in ("demos", "expert", "num_demos", "sweep") if data.get(k) is not None]
    if unused:  # an expert learns from the true reward alone, one setting at a time
        raise ConfigError(
            f"{', '.join(unused)}: not for jirl expert, which trains PPO on the true reward; "
            "drop it (--episodes N sets how many demonstrations it records)"
        )
    if data.get("checkpoint_every") is not None:
        raise ConfigError(
            "checkpoint_every: not for jirl expert, which keeps no checkpoint (it writes the "
            "expert once trained); drop it"
        )
    section = data.get("ppo")
    section = {} if section is None else section
    if not isinstance(section, dict):
        raise ConfigError(f"ppo must be a mapping of PPO options to values, got {section!r}")
    section = dict(section)
    updates = whole_number(data.get("updates", EXPERT_DEFAULTS["updates"]))  # `1e3` too
    if type(updates) is int and updates >= 1:  # a bad one is refused, by name, when built
        section.setdefault("anneal_updates", updates)
    return {**data, "ppo": section}


def shipped_config(env: str) -> str | None:
    """The name of `env`'s shipped expert config (`configs/expert-ENV.yaml`), None if none."""
    return f"expert-{env}" if (CONFIG_DIR / f"expert-{env}.yaml").is_file() else None


def expert_config(env: str, **changes) -> ExperimentConfig:
    """What `jirl expert --env ENV` runs without other flags: `EXPERT_DEFAULTS`, then the
    shipped `configs/expert-ENV.yaml` if any, then `changes` as `--set` would give them (e.g.
    `backend="spring"`; a mapping for `ppo` is merged into the shipped section, not put in its
    place; new `updates` re-anneal a rate the file anneals over its run), with the annealed
    rate of `with_annealing`. The benchmarks train their experts with it."""
    data = {**EXPERT_DEFAULTS, "env": env}
    if shipped_config(env):
        data.update(read_yaml(shipped_config(env)))
    shipped = dict(data)
    for key, value in changes.items():
        section = data.get(key)
        data[key] = (
            {**section, **value} if isinstance(section, dict) and isinstance(value, dict) else value
        )
    given = {f"{k}.{field}" for k, v in changes.items() if isinstance(v, dict) for field in v}
    anneal_over_updates(data, shipped, given)
    return experiment_config(with_annealing(data), ppo.PPOConfig)


#: how many standard errors of the difference the expert's mean return must beat the random
#: policy's by: a policy trained at a learning rate of 1e-12 beat it by noise half the time
#: (cartpole, 64 episodes each: 24.2 against 22.9), and every score normalized by it was noise
MARGIN_STANDARD_ERRORS = 3.0


def check_beats_random(expert: np.ndarray, random: np.ndarray) -> None:
    """Refuse (RunError) an expert whose episode returns `expert [n]` do not beat the random
    policy's `random [m]` by `MARGIN_STANDARD_ERRORS` standard errors of the difference of the
    means (Welch's): the 1 and the 0 of every normalized score must be told apart."""
    gap = expert.mean() - random.mean()
    var = lambda x: x.var(ddof=1) / x.size if x.size > 1 else 0.0  # noqa: E731 (of the mean)
    se = float(np.sqrt(var(expert) + var(random)))
    if gap > 0 and gap > MARGIN_STANDARD_ERRORS * se:
        return
    raise RunError(
        f"the trained expert's return ({expert.mean():.1f}) does not beat the random policy's "
        f"({random.mean():.1f}) by {MARGIN_STANDARD_ERRORS:g} standard errors ({se:.1f} each) "
        "over their evaluation episodes, so there is nothing clear to imitate and nothing was "
        "saved; train longer (--updates) or change the config"
    )


def choose_seed(returns: np.ndarray, fall_rates: np.ndarray, terminal_failure: bool) -> int:
    """The seed to keep: the best mean return (`returns [seeds]`) among the seeds whose
    evaluation episodes fall at most `MAX_FALL_RATE` of the time (`fall_rates [seeds]`, the
    fraction that terminated). Every seed competes when none qualifies or when a termination is
    a goal reached, not a fall (`terminal_failure` False)."""
    returns = np.asarray(returns, np.float64)
    finite = np.isfinite(returns)  # a NaN return would win argmax
    if not finite.any():
        raise RunError("every expert seed's evaluation return is NaN or infinite; none to keep")
    steady = (np.asarray(fall_rates) <= MAX_FALL_RATE) & finite
    if not terminal_failure or not steady.any():
        steady = finite
    return int(np.argmax(np.where(steady, returns, -np.inf)))


def train_expert(
    cfg: ExperimentConfig,
    out: Path,
    *,
    episodes: int = 20,
    overwrite: bool = False,
    progress: bool = False,
    eval_episodes: int | None = None,
) -> dict:
    """Train `cfg.seeds` PPO seeds, keep the best (`choose_seed`), save it and its demos.

    Each seed is scored on `eval_episodes` episodes (default `cfg.eval_episodes`: 64 in
    `EXPERT_DEFAULTS`, what `jirl expert` and `expert_config` start from); the kept
    seed's `expert_return` (the 1 of every normalized score) is its mean over as many fresh
    ones when there are several seeds, so that the choice does not inflate it (the best of
    several noisy means is biased upwards).

    Writes `out/expert.msgpack`, `out/expert.json`, `out/demos.npz`, `out/summary.json`; an
    expert already in `out` (`overwrite`) is kept until the new one has trained and beaten the
    random policy clearly (`check_beats_random`; a failed or interrupted training leaves it as
    it was).
    """
    if cfg.algo != "ppo":
        raise ConfigError(f"experts are trained with ppo, not '{cfg.algo}'")
    if cfg.sweep:
        raise ConfigError("an expert is one PPO config: remove sweep: from its config")
    if cfg.eval_greedy:
        raise ConfigError(
            "eval_greedy is for `jirl train`: an expert's return, the 1 of every normalized "
            "score, is that of the sampled actions its demonstrations record; remove it"
        )
    check_episodes("episodes", episodes)
    eval_episodes = cfg.eval_episodes if eval_episodes is None else eval_episodes
    check_episodes("eval_episodes", eval_episodes)
    out = Path(out)
    check_out_dir(out, overwrite, names=EXPERT_NAMES, command="jirl expert")
    env = make_env(cfg)
    # PPO trains and is scored on the task as it ends; `fixed_horizon` is how the demos are
    # recorded. Under a fixed horizon a policy that falls early spends most of its batch past
    # the fall, unpaid, where cartpole's cart and pole run on without bound: PPO learned
    # nothing there (13.6 after 480 updates, 2 seeds, against the random policy's 21.3).
    task = env.with_options(fixed_horizon=False)
    algo = ppo.make(cfg.algo_config, task)
    callbacks = (
        [ProgressBar(cfg.updates, algo.env_steps_per_update * cfg.seeds)] if progress else []
    )
    try:
        result = run(
            algo,
            jax.random.PRNGKey(cfg.seed),
            cfg.updates,
            seeds=cfg.seeds,
            chunk_size=cfg.chunk,
            callbacks=callbacks,
        )
    finally:
        for c in callbacks:
            c.close()
    key_eval, key_demos, key_random = jax.random.split(jax.random.PRNGKey(cfg.seed + 1), 3)
    evaluate = seed_outcomes(algo, task, eval_episodes)
    outcomes = evaluate(result.state, jax.random.split(key_eval, cfg.seeds))
    returns = np.asarray(outcomes.returns).mean(axis=1)
    terminated = np.asarray(outcomes.terminated).mean(axis=1)
    best = choose_seed(returns, terminated, env.terminal_failure)
    if cfg.seeds > 1:  # the winner's mean on the episodes that chose it is biased upwards
        fresh = evaluate(result.state, jax.random.split(jax.random.fold_in(key_eval, 1), cfg.seeds))
        kept = np.asarray(fresh.returns, np.float64)[best]
    else:
        kept = np.asarray(outcomes.returns, np.float64)[best]
    expert_return = float(kept.mean())
    state = jax.tree.map(lambda x: x[best], result.state)
    random_episodes = random_returns(env, key_random)
    rand = float(random_episodes.mean())
    check_beats_random(kept, random_episodes)
    expert = experts.from_agent(state, cfg.algo_config, env, expert_return, rand)
    demos = data.collect(env, expert.act, key_demos, episodes)
    summary = {
        "env": env.name,
        "expert_return": expert.expert_return,
        "random_return": rand,
        "seed_returns": [float(r) for r in returns],  # the episodes that chose the seed
        "seed_terminated": [float(t) for t in terminated],
        "seed_mean_length": [float(n) for n in np.asarray(outcomes.lengths).mean(axis=1)],
        "terminal_failure": env.terminal_failure,
        "best_seed": best,
        "demo_episodes": episodes,
        "demo_mean_return": float(data.episode_returns(demos).mean()),
        "demo_terminated": demos.num_terminated,
        "demos": str(out / "demos.npz"),
        "env_steps": algo.env_steps_per_update * cfg.updates,
        "wall_seconds": result.wall_seconds,
        "compile_seconds": result.compile_seconds,
    }

    # trained, beats random, demos recorded: only now is an old expert (--overwrite) replaced,
    # by a whole new directory (a kill while writing leaves the old one)
    def fill(directory: Path) -> None:
        experts.save(directory, expert, env, cfg.algo_config)
        data.save(
            directory / "demos.npz",
            demos,
            env,
            expert_return=expert.expert_return,
            random_return=rand,
        )
        write_json(directory / "summary.json", summary)

    write_dir(out, fill)
    return summary
