"""Shared fixtures: one cartpole expert per test session (trained in-process, ~30 s)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def cartpole_expert(tmp_path_factory):
    """Path of an expert directory: expert.msgpack, expert.json, demos.npz (10 episodes)."""
    from jirl.config import experiment_config
    from jirl.expert_run import train_expert
    from jirl.rl.ppo import PPOConfig

    cfg = experiment_config(
        {"algo": "ppo", "env": "cartpole", "seeds": 2, "updates": 480, "chunk": 40}, PPOConfig
    )
    out = tmp_path_factory.mktemp("expert") / "cartpole"
    train_expert(cfg, out, episodes=10)
    return out
