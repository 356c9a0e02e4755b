"""Shared fixtures: the committed cartpole expert, an acrobot expert trained in-process as
`jirl expert` trains one (several seeds, the best kept), and `score_seeds`, the learning tests'
"train N seeds vmapped, evaluate each, normalize"."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

#: A cartpole expert as `train_expert` makes one (expert.msgpack, expert.json,
#: demos.npz with 10 episodes of return 500), committed so that every learning test sees the
#: same demonstrations. Trained afresh, the expert differs from one CPU to the next (float32
#: rounding moves PPO's trajectory), and learners' scores move with it: GAIL (TRPO) as
#: `test_adversarial` runs it, 16 seeds, 0.81 from this expert, 0.60 from one (trained with
#: seed 1) whose cart hovers near the end of the track.
CARTPOLE_EXPERT = Path(__file__).parent / "data" / "cartpole"


def train_expert(out: Path, **raw) -> dict:
    """An expert as `jirl expert` trains one, from its defaults (4 PPO seeds of 480 annealed
    updates, the best kept) updated by `raw`, with 10 demonstration episodes, in one process on
    one CPU device. `CARTPOLE_EXPERT` is `train_expert(CARTPOLE_EXPERT, env="cartpole")`
    (`python -c "from tests.conftest import *; train_expert(CARTPOLE_EXPERT, env='cartpole')"`
    remakes it; on another machine, a different expert)."""
    from jirl.config import experiment_config
    from jirl.expert_run import EXPERT_DEFAULTS, with_annealing
    from jirl.expert_run import train_expert as train
    from jirl.rl.ppo import PPOConfig

    cfg = experiment_config(with_annealing({**EXPERT_DEFAULTS, **raw}), PPOConfig)
    return train(cfg, out, episodes=10, overwrite=True)


@pytest.fixture(scope="session")
def cartpole_expert(tmp_path_factory):
    """A copy of `CARTPOLE_EXPERT` (expert.msgpack, expert.json, demos.npz) that tests may
    write beside."""
    out = tmp_path_factory.mktemp("expert") / "cartpole"
    shutil.copytree(CARTPOLE_EXPERT, out)
    return out


@pytest.fixture(scope="session")
def acrobot_expert(tmp_path_factory):
    """Path of an acrobot expert directory (2 seeds of 240 PPO updates, the best kept; ~30 s):
    a task whose episodes end at the goal, for absorbing states."""
    out = tmp_path_factory.mktemp("expert") / "acrobot"
    train_expert(out, env="acrobot", seeds=2, updates=240)
    return out


def trained_scores(algo, updates: int, header, seeds: int = 3, env: str = "cartpole"):
    """`(states, metrics, scores)`: `seeds` seeds of `algo` (keys split from PRNGKey(0)), each
    trained `updates` updates, vmapped in one compile, then scored over 16 episodes of `env`
    (`jirl.evaluation.mean_returns`) and normalized by `header`'s expert and random returns
    (`scores [seeds]`, NumPy). `metrics` has a leading seed axis, then the update axis."""
    import jax
    import numpy as np

    from jirl import envs
    from jirl.evaluation import mean_returns, normalized_score

    keys = jax.random.split(jax.random.PRNGKey(0), seeds)
    states = jax.jit(jax.vmap(algo.init))(keys)
    run = lambda s: jax.lax.scan(lambda c, _: algo.update(c), s, None, length=updates)
    states, metrics = jax.jit(jax.vmap(run))(states)
    returns = mean_returns(algo, envs.make(env), 16)(
        states, jax.random.split(jax.random.PRNGKey(1), seeds)
    )
    scores = normalized_score(np.asarray(returns), header.expert_return, header.random_return)
    return states, metrics, scores


@pytest.fixture(scope="session")
def score_seeds():
    """`trained_scores`, for the learning tests."""
    return trained_scores
