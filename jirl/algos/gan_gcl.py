"""GAN-GCL (Finn, Christiano, Abbeel & Levine 2016, "A Connection between Generative Adversarial
Networks, Inverse Reinforcement Learning, and Energy-Based Models", §3): guided cost learning
read as a GAN whose discriminator has a fixed form,

    D(τ) = exp(r_θ(τ)) / (exp(r_θ(τ)) + Z q(τ)),   logit r_θ(τ) − log Z − log q(τ),

with log Z a learned parameter and q the generator's trajectory density, trained by the usual
cross-entropy (`jirl.rewards.gan_gcl_loss`). Its optimal Z is GCL's importance-sampling estimate
of the partition function with the mixture density ½ exp(r_θ)/Z + ½ q
(`jirl.rewards.mixture_log_partition`), and the generator's objective log D − log(1 − D) =
r_θ(τ) − log q(τ) − log Z is, up to the constant, the max-ent RL objective: the policy's
per-step reward is r_θ(s, a) − λ log π(a|s), λ = `reward_log_pi_weight` (default 0.1, as in GCL:
with λ = 1 the cartpole discriminator wins outright and the policy stays near uniform, measured
0.17 normalized after 100 updates against 1.0 with λ = 0.1, 2 seeds).

log Z of a segment is of the order of its length times a per-step entropy, far from its zero
initialisation, so it has its own Adam rate (`log_z_learning_rate`). Trajectories are
fixed-length segments (`jirl.algos.adversarial`). A thin configuration of the adversarial loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import optax

from jirl.algos import adversarial
from jirl.algos.gcl import GCLConfig, trajectory_reward
from jirl.envs.base import Env
from jirl.errors import check_config, require
from jirl.rewards import gan_gcl_loss, with_gradient_penalty
from jirl.types import Algorithm, Trajectories


@dataclass(frozen=True)
class GANGCLConfig(GCLConfig):
    """`GCLConfig` plus `log_z_learning_rate`, the Adam rate of the learned log Z; ten
    discriminator steps per update (log Z has far to go: with three and 16-step segments, 2 of 3
    cartpole seeds stayed near random after 100 updates)."""

    log_z_learning_rate: float = 0.05
    disc_updates: int = 10

    def never_read(self) -> dict[str, str]:
        return {"mixture_density": "GAN-GCL's density is its policy's, q, with a learned log Z"}

    def __post_init__(self):
        super().__post_init__()
        require(
            self.log_z_learning_rate > 0,
            f"log_z_learning_rate must be > 0, got {self.log_z_learning_rate}",
        )


def optimizer(config: GANGCLConfig) -> optax.GradientTransformation:
    """Adam on the reward network at `disc_learning_rate`, on log Z at `log_z_learning_rate`."""
    return optax.multi_transform(
        {
            "reward": optax.adam(config.disc_learning_rate),
            "log_z": optax.adam(config.log_z_learning_rate),
        },
        {"reward": "reward", "log_z": "log_z"},
    )


def make(config: GANGCLConfig, env: Env, demos: Trajectories) -> Algorithm:
    """GAN-GCL on `demos` in `env` (collected with a fixed horizon by default)."""
    check_config(config, GANGCLConfig)
    model = trajectory_reward(config, env)
    loss = gan_gcl_loss(model)
    if config.grad_penalty > 0:
        loss = with_gradient_penalty(loss, model.segment_log_ratio, config.grad_penalty)
    return adversarial.make(
        config,
        env,
        demos,
        model,
        loss,
        "gan_gcl",
        segment_length=config.segment_length,
        optimizer=optimizer(config),
    )
