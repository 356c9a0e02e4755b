"""Shared fixtures: a cartpole and an acrobot expert per test session, each trained in-process
as `jirl expert` trains one (several seeds, the best kept)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def cartpole_expert(tmp_path_factory):
    """Path of an expert directory: expert.msgpack, expert.json, demos.npz (10 episodes); 4 seeds,
    ~45 s."""
    from jirl.config import experiment_config
    from jirl.expert_run import EXPERT_DEFAULTS, train_expert, with_annealing
    from jirl.rl.ppo import PPOConfig

    cfg = experiment_config(with_annealing({**EXPERT_DEFAULTS, "env": "cartpole"}), PPOConfig)
    out = tmp_path_factory.mktemp("expert") / "cartpole"
    train_expert(cfg, out, episodes=10)
    return out


@pytest.fixture(scope="session")
def acrobot_expert(tmp_path_factory):
    """Path of an acrobot expert directory (2 seeds of 240 PPO updates, the best kept; ~30 s):
    a task whose episodes end at the goal, for absorbing states."""
    from jirl.config import experiment_config
    from jirl.expert_run import EXPERT_DEFAULTS, train_expert, with_annealing
    from jirl.rl.ppo import PPOConfig

    raw = {**EXPERT_DEFAULTS, "env": "acrobot", "seeds": 2, "updates": 240}
    cfg = experiment_config(with_annealing(raw), PPOConfig)
    out = tmp_path_factory.mktemp("expert") / "acrobot"
    train_expert(cfg, out, episodes=10)
    return out
