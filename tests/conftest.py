"""Shared fixtures: one cartpole expert per test session, trained in-process as `jirl expert`
trains one (4 seeds, the best kept; ~45 s)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def cartpole_expert(tmp_path_factory):
    """Path of an expert directory: expert.msgpack, expert.json, demos.npz (10 episodes)."""
    from jirl.config import experiment_config
    from jirl.expert_run import EXPERT_DEFAULTS, train_expert, with_annealing
    from jirl.rl.ppo import PPOConfig

    cfg = experiment_config(with_annealing({**EXPERT_DEFAULTS, "env": "cartpole"}), PPOConfig)
    out = tmp_path_factory.mktemp("expert") / "cartpole"
    train_expert(cfg, out, episodes=10)
    return out
