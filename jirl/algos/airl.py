"""Adversarial inverse reinforcement learning (Fu, Luo & Levine 2018, algorithm 1): the
discriminator D = exp f / (exp f + π) has logit f(s, a, s') − log π(a|s) with the shaped form
f = g(s) + γ h(s') − h(s) (eq. 4); the policy (PPO or TRPO) maximises log D − log(1 − D) =
f − log π, an entropy-regularised return, and g is the learned reward that transfers
(`jirl.retrain`).

`log_pi_weight` α (`AdversarialConfig`) tempers the policy term: D = e^f / (e^f + π^α), so the
policy's entropy bonus is α per nat. α = 1 is the paper's and learns classic control; on Brax
hopper its entropy bonus runs away; with α = 0.1 and a causal entropy weight λ = 0.03 three
seeds in four imitate (README, the Brax four on the CPU).

A thin configuration of `jirl.algos.adversarial`; the loop lives there.
"""

from __future__ import annotations

from dataclasses import dataclass

from jirl.algos import adversarial
from jirl.envs.base import Env
from jirl.errors import check_config, require
from jirl.rewards import ShapedReward, airl_loss, with_gradient_penalty
from jirl.types import Algorithm, Trajectories


@dataclass(frozen=True)
class AIRLConfig(adversarial.AdversarialConfig):
    """`AdversarialConfig` with AIRL's reward map (the logit) plus g's inputs: "s" (the
    disentangled, state-only reward of thm. 5.1) or "sa"."""

    g_inputs: str = "s"
    reward_map: str = "logit"

    def __post_init__(self):
        super().__post_init__()
        require(
            self.g_inputs in ("s", "sa"),
            f"airl.g_inputs must be 's' or 'sa', got '{self.g_inputs}'",
        )


def shaped_reward(config: AIRLConfig, env: Env) -> ShapedReward:
    return ShapedReward(
        adversarial.model_spec(config, env.spec),
        config.g_inputs,
        config.gamma,
        config.disc_hidden,
        config.disc_activation,
    )


def make(config: AIRLConfig, env: Env, demos: Trajectories) -> Algorithm:
    """AIRL on `demos` in `env` (collected with a fixed horizon by default)."""
    check_config(config, AIRLConfig)
    model = shaped_reward(config, env)
    loss = airl_loss(model)
    if config.grad_penalty > 0:
        loss = with_gradient_penalty(loss, model.logits, config.grad_penalty)
    return adversarial.make(config, env, demos, model, loss, "airl")
