"""Reward transfer: train a fresh PPO agent on the frozen reward learned by a GAIL, AIRL, GCL or
GAN-GCL run.

This is the test of AIRL's claim (Fu et al. 2018, sec. 7.1-7.2): the disentangled reward g(s)
(or the shaped f) is a reward, not only a training signal for the policy it was learned with.
A fresh agent that reaches the expert's *true* return on it shows that the reward was learned;
GAIL's discriminator reward (its reward map of the logit) is offered for comparison.

`retrain(run_dir, env_name, out_dir)` restores the run's discriminator parameters from
`run_dir/checkpoint/state.msgpack` (template: the algorithm's own `init`, built from
`run_dir/config.yaml`), trains one PPO agent per seed of the run on its reward, all seeds vmapped
in one compile, evaluates the true return and writes `out_dir/summary.json` and
`out_dir/config.yaml`.

The agent collects in the same kind of environment the reward was learned in (fixed horizon by
default, `jirl.algos.adversarial`) and scales its observations by the demonstrations' statistics,
as the adversarial loop does; the PPO settings default to the run's generator settings.
"""

from __future__ import annotations

import dataclasses
import os
import time
import warnings
from pathlib import Path

import jax
import numpy as np

from jirl import algos, envs
from jirl.algos import KINDS, adversarial, reward_fn
from jirl.config import (
    ExperimentConfig,
    build,
    check_anneal,
    check_episodes,
    check_seed,
    dump_yaml,
    experiment_config,
)
from jirl.errors import MAX_INT, ConfigError
from jirl.evaluation import episode_returns, normalized_score, policy_act_fn
from jirl.experiment import (
    INPUT_KEYS,
    added_settings,
    check_inputs_unchanged,
    make_env,
    prepare,
    read_run_config,
    warn_added_settings,
)
from jirl.files import RETRAIN_NAMES, atomic_write_text, check_out_dir, write_dir, write_json
from jirl.logging import before_first_episode
from jirl.rl import ppo
from jirl.rl.agent import Learner, make_agent
from jirl.run import has_checkpoint, load_checkpoint, state_template
from jirl.train import run_updates


def target_env(cfg: ExperimentConfig, env_name: str) -> envs.Env:
    """The environment `env_name` that a reward learned by the run `cfg` is retrained in, with
    the run's horizon and termination and, for a Brax env, the run's physics backend (a reward
    learned on `positional` is not retrained on Brax's default, `generalized`)."""
    backend = cfg.backend if env_name in envs.BRAX else None
    return make_env(dataclasses.replace(cfg, env=env_name, backend=backend))


def return_curve(metrics: dict) -> list[float | None]:
    """The mean over seeds of the training return at each update, from `metrics` `[seeds,
    updates]`, over the seeds that have finished an episode by then; None before any has
    (the log's placeholder 0 was counted as a return, above pendulum's expert)."""
    returns = np.asarray(metrics["episode_return"], np.float64).T  # [updates, seeds]
    ended = before_first_episode(returns, np.asarray(metrics["episodes"]).T)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # (an update no seed has reached)
        mean = np.nanmean(ended, axis=1)
    return [None if np.isnan(x) else float(x) for x in mean]


def retrain(
    run_dir: str | Path,
    env_name: str | None,
    out_dir: str | Path,
    *,
    kind: str | None = None,
    updates: int | None = None,
    seed: int = 0,
    ppo_overrides: dict | None = None,
    eval_episodes: int | None = None,
    overwrite: bool = False,
) -> dict:
    """Train PPO from scratch on the frozen learned reward of `run_dir`; returns the summary.

    The normalized score uses the run's expert and random returns, so it is given only when
    the agent trains in the run's environment (None after `env_name` moved it elsewhere).

    Args:
      run_dir: a finished `jirl train gail|airl|gcl|gan_gcl` run directory.
      env_name: environment to train in (None: the run's); it must have the run's spaces.
      out_dir: directory to write `summary.json` and `config.yaml` into.
      kind: "g" (AIRL default) or "f" for AIRL, "disc" for GAIL, "reward" for GCL, GAN-GCL.
      updates: PPO updates per seed (None: the run's count).
      ppo_overrides: PPOConfig fields to change from the run's generator settings.
      eval_episodes: episodes per seed for the true return (None: the run's `eval_episodes`).

    Raises:
      ConfigError: not an adversarial run, no checkpoint, unknown kind, mismatched spaces.
    """
    run_dir, out_dir = Path(run_dir), Path(out_dir)
    if updates is not None and (not isinstance(updates, int) or not 1 <= updates <= MAX_INT):
        raise ConfigError(f"updates must be an integer in [1, {MAX_INT:,}], got {updates!r}")
    check_seed(seed)
    if eval_episodes is not None:
        check_episodes("eval_episodes", eval_episodes)
    data = read_run_config(run_dir, "no config.yaml; pass a run directory from `jirl train`")
    algo_name = data.get("algo")
    if algo_name is None:  # e.g. a retrain's own output, or an expert's directory
        raise ConfigError(
            f"{run_dir}: its config.yaml names no algo, so it is not a run of `jirl train`; "
            f"retrain takes a run of {', '.join(KINDS)}"
        )
    if not isinstance(algo_name, str) or algo_name not in KINDS:
        raise ConfigError(
            f"{run_dir}: a '{algo_name}' run has no reward network to retrain on; retrain "
            f"takes a run of {', '.join(KINDS)}"
        )
    kind = kind or KINDS[algo_name][0]
    if kind not in KINDS[algo_name]:
        raise ConfigError(
            f"--kind for a run of {algo_name} must be "
            f"{' or '.join(repr(k) for k in KINDS[algo_name])}, got '{kind}'"
        )
    if not has_checkpoint(run_dir / "checkpoint"):
        raise ConfigError(f"{run_dir}: no checkpoint/state.msgpack to take the reward from")
    try:  # built before its paths are used: an edited `demos: 5` was a TypeError's traceback
        cfg = experiment_config(data, algos.get(algo_name).config_cls)
    except ConfigError as e:
        raise ConfigError(f"{run_dir / 'config.yaml'}: {e}") from None
    check_out_dir(
        out_dir,
        overwrite,
        inputs=(run_dir, cfg.demos, cfg.expert),
        names=RETRAIN_NAMES,
        command="jirl retrain",
    )
    if run_dir.resolve() in out_dir.resolve().parents:  # a file the run's --overwrite refuses
        raise ConfigError(f"--out {out_dir} lies inside the run {run_dir}; write beside it")

    if cfg.sweep:
        raise ConfigError(
            f"{run_dir} is a sweep (one reward per setting); retrain a run of the chosen "
            f"setting, trained without --sweep"
        )
    for key in INPUT_KEYS:  # (`prepare` would say "record one with jirl expert")
        path = getattr(cfg, key)
        if path and not Path(path).exists():
            raise ConfigError(
                f"{run_dir}: the run's {key} {path} are gone (moved or deleted); put them back, "
                f"or write their new path as {key}: in {run_dir / 'config.yaml'} (their "
                "contents are checked against the run's)"
            )
    check_inputs_unchanged(run_dir, cfg, to="retrain")  # scored against the run's own expert
    warn_added_settings(run_dir, added_settings(data, cfg.to_dict()), "is retrained")
    updates = cfg.updates if updates is None else updates
    eval_episodes = cfg.eval_episodes if eval_episodes is None else eval_episodes
    base = cfg.algo_config.ppo_fields()
    if base["anneal_updates"]:  # the run's rate decayed over its run; this one's over this run
        base["anneal_updates"] = updates
    try:
        ppo_config = build(ppo.PPOConfig, {**base, **(ppo_overrides or {})})
    except ConfigError as e:
        if getattr(cfg.algo_config, "generator", "ppo") == "ppo":
            raise
        raise ConfigError(  # (a small TRPO run: 4 minibatches of its 8-step batch, say)
            f"{e} (the run's generator was TRPO, so its PPO settings were never used); retrain "
            "with other ones: --set KEY=VALUE"
        ) from None
    check_anneal("ppo", ppo_config.anneal_updates, updates)
    if getattr(cfg.algo_config, "absorbing", False) and ppo_config.gamma >= 1.0:
        raise ConfigError(  # the absorbing state's value γ r(s_a) / (1 − γ) (`relabel`)
            f"{run_dir} learned with absorbing states, whose reward needs gamma < 1; got "
            f"gamma={ppo_config.gamma}"
        )
    reward_env, algo, reference, _, _ = prepare(cfg)
    state, _, update = load_checkpoint(run_dir / "checkpoint", state_template(algo, cfg.seeds))
    if update != cfg.updates:  # killed, or stopped by the NaN guard: its reward is unfinished
        raise ConfigError(
            f"{run_dir} stopped at update {update} of {cfg.updates}: finish it first (jirl "
            f"train ... --out {run_dir} --resume), then retrain its reward"
        )

    env_name = env_name or cfg.env
    env = target_env(cfg, env_name)
    if env.spec != reward_env.spec:
        raise ConfigError(
            f"'{env_name}' has spaces {env.spec.to_dict()}, the reward was learned on "
            f"'{cfg.env}' with {reward_env.spec.to_dict()}"
        )
    env = adversarial.training_env(cfg.algo_config, env)
    learner = ppo.ppo_learner(ppo_config, env)
    policy_scaled = cfg.algo_config.normalize_obs and not ppo_config.normalize_obs

    def learner_for(policy_normalizer) -> Learner:
        """The PPO learner, its `init` scaling observations as the run's policy did."""
        if not policy_scaled:
            return learner
        return Learner(
            learner.policy,
            learner.value,
            lambda k: learner.init(k).replace(normalizer=policy_normalizer),
            learner.learn,
        )

    def agent_for(policy_normalizer, reward=None):
        return make_agent(
            env,
            learner_for(policy_normalizer),
            ppo_config.num_envs,
            ppo_config.num_steps,
            reward,
            "retrain",
        )

    def init_one(policy_normalizer, key):
        return agent_for(policy_normalizer).init(key)

    def train_one(params, normalizer, agent_state, key):
        reward = reward_fn(
            algo_name, cfg.algo_config, env, params, normalizer, kind, ppo_config.gamma
        )
        agent = agent_for(agent_state.learner.normalizer, reward)
        final, metrics = run_updates(agent.update, agent_state, updates)
        act = policy_act_fn(agent, final, cfg.eval_greedy)  # (as the run was scored)
        return episode_returns(env, act, key, eval_episodes).mean(), metrics

    keys = jax.random.split(jax.random.PRNGKey(seed), cfg.seeds)
    key_init, key_eval = jax.vmap(jax.random.split, out_axes=1)(keys)
    start = time.perf_counter()
    inits = jax.jit(jax.vmap(init_one))(state.learner.normalizer, key_init)
    returns, metrics = jax.jit(jax.vmap(train_one))(
        state.disc_params, state.disc_normalizer, inits, key_eval
    )
    returns = np.asarray(returns)
    wall = time.perf_counter() - start
    expert_return, rand = reference["expert_return"], reference["random_return"]
    summary = {
        "algo": "retrain",
        "reward_run": os.path.abspath(run_dir),  # as a run records its inputs
        "reward_algo": algo_name,
        "reward_kind": kind,
        "env": env_name,
        "env_options": env.options_dict(),
        "seeds": cfg.seeds,
        "updates": updates,
        "return": {"mean": float(returns.mean()), "per_seed": [float(r) for r in returns]},
        "normalized_score": None,
        "expert_return": expert_return,
        "random_return": rand,
        # scored as the run was: sampled actions, or the greedy ones (`eval_greedy`)
        "eval_greedy": cfg.eval_greedy,
        "learned_return_curve": return_curve(metrics),
        "env_steps": ppo_config.batch_size * updates,
        "wall_seconds": wall,
    }
    if expert_return is not None and env_name == cfg.env:  # the references are the run env's
        scores = [float(normalized_score(r, expert_return, rand)) for r in returns]
        summary["normalized_score"] = {"mean": float(np.mean(scores)), "per_seed": scores}
    resolved = {
        "reward_run": os.path.abspath(run_dir),  # as a run records its inputs
        "env": env_name,
        "backend": env.options_dict().get("backend"),
        "kind": kind,
        "updates": updates,
        "seed": seed,
        "ppo": {
            k: list(v) if isinstance(v, tuple) else v
            for k, v in dataclasses.asdict(ppo_config).items()
        },
    }

    def fill(directory: Path) -> None:
        atomic_write_text(directory / "config.yaml", dump_yaml(resolved))
        write_json(directory / "summary.json", summary)

    write_dir(out_dir, fill)  # trained: only now is an old output (--overwrite) replaced, whole
    return summary
