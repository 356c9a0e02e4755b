"""Guided cost learning (Finn, Levine & Abbeel 2016, "Guided Cost Learning: Deep Inverse Optimal
Control via Policy Optimization", algorithm 1): MaxEnt IRL with unknown dynamics, the partition
function estimated by importance sampling with the policy's own samples.

A reward network r_θ(s, a) is trained on the IOC objective of eq. 3-4,

    L(θ) = −(1/N) Σ_demo r_θ(τ_i) + log (1/M) Σ_j exp(r_θ(τ_j)) / q(τ_j),

whose gradient is the mean over demonstrations of ∇r minus the self-normalised
importance-weighted mean over a mixture of demonstration and policy samples (§4.1), weights
w_j ∝ exp(r_θ(τ_j)) / μ̃(τ_j) computed in log space (`jirl.rewards.gcl_loss`). μ̃ is the density
of the demonstration/policy mixture, ½ exp(r_θ)/Z + ½ q, the unknown demonstration density
estimated by the current model as in GAN-GCL's reading of GCL (`mixture_density: false` uses q
for every sample; then the demonstrations soon take all the weight and the reward stops
learning: 0.11 normalized on cartpole after 100 updates, 2 seeds, against 0.40 with μ̃, both
with λ = 1 and 16-step segments). The policy is not
re-solved: each iteration improves it a little (one PPO or TRPO update, the paper's "guided"
policy optimisation) on the max-ent objective, per-step reward r_θ(s, a) − λ log π(a|s), so q
moves towards the current MaxEnt distribution and the importance weights stay useful. The
entropy weight λ = `reward_log_pi_weight` defaults to 0.1: at the MaxEnt model's own temperature
(λ = 1) the cartpole policy stays close to uniform for the first hundred updates (measured: 0.40
normalized after 100 updates against 0.94 with λ = 0.1, 2 seeds). Three reward steps per update
(`disc_updates`) rather than the adversarial loop's ten: a reward that is quickly sharp around
the demonstrations gives a policy far from them a flat reward, and some seeds never leave it
(measured on cartpole, 16-step segments, 3 seeds, 120 updates: 0.70 normalized with 10
steps, 0.99 with 3).

Trajectories are fixed-length segments of `segment_length` steps (see `jirl.algos.adversarial`):
the importance ratio of a segment of L steps is a product of L policy probabilities, so shorter
segments keep more effective samples, and a trajectory discriminator separates long segments
outright, leaving the policy a flat reward. The default is L = 4 (measured on cartpole, GAN-GCL,
5 seeds, 120 updates: 4 of 5 seeds learn with L = 16, 4 of 5 with L = 8, 5 of 5 with L = 4).
The regularisers of the paper's §4.2 (monotonic and local-constant-rate cost terms) are not
implemented.

A thin configuration of `jirl.algos.adversarial`; the loop lives there.
"""

from __future__ import annotations

from dataclasses import dataclass

from jirl.algos import adversarial
from jirl.envs.base import Env
from jirl.errors import check_config, require
from jirl.rewards import INPUTS, TrajectoryReward, gcl_loss, with_gradient_penalty
from jirl.types import Algorithm, Trajectories


@dataclass(frozen=True)
class GCLConfig(adversarial.AdversarialConfig):
    """`AdversarialConfig` on trajectory segments: `segment_length` steps per sample (dividing
    `num_steps`), `disc_batch_size` segments of each kind per reward step, the reward's inputs
    `reward_inputs` ("s", "sa" or "sas"); the policy's reward is the logit r_θ − λ log π;
    `mixture_density`: the importance weights' density (module docstring)."""

    segment_length: int = 4
    reward_inputs: str = "sa"
    reward_map: str = "logit"
    reward_log_pi_weight: float = 0.1
    disc_updates: int = 3
    disc_batch_size: int = 64
    mixture_density: bool = True

    def __post_init__(self):
        super().__post_init__()
        require(self.segment_length >= 1, f"segment_length must be >= 1, got {self.segment_length}")
        require(
            self.num_steps % self.segment_length == 0,
            f"segment_length ({self.segment_length}) must divide num_steps ({self.num_steps})",
        )
        # r_θ − log q is the log ratio of a density (Finn et al. 2016): other reward maps, or a
        # weight on log π other than 1, make the weights and D no longer the published ones.
        require(
            self.reward_map == "logit",
            f"reward_map must be 'logit' for GCL and GAN-GCL, got '{self.reward_map}'",
        )
        require(
            self.log_pi_weight == 1.0,
            f"log_pi_weight must be 1 for GCL and GAN-GCL (log q), got {self.log_pi_weight}",
        )
        require(
            self.reward_inputs in INPUTS,
            f"reward_inputs must be one of {', '.join(INPUTS)}, got '{self.reward_inputs}'",
        )
        # Replayed segments came from older policies, but their log q is recomputed under the
        # current one: the importance weights would need the fusion density of every policy
        # that sampled (Finn et al. 2016, sec. 4.1), which is not kept.
        require(
            self.replay_rounds == 1,
            f"replay_rounds must be 1 for GCL and GAN-GCL (log q of a replayed segment would be "
            f"the current policy's, not its sampler's), got {self.replay_rounds}",
        )


def trajectory_reward(config: GCLConfig, env: Env) -> TrajectoryReward:
    """r_θ on the spaces of `adversarial.model_spec`: with `disc_actions: sampled` it sees the
    sampled, unclipped actions, the ones whose log q weighs the segment."""
    spec = adversarial.model_spec(config, env.spec)
    return TrajectoryReward(spec, config.reward_inputs, config.disc_hidden, config.disc_activation)


def make(config: GCLConfig, env: Env, demos: Trajectories) -> Algorithm:
    """Guided cost learning on `demos` in `env` (collected with a fixed horizon by default)."""
    check_config(config, GCLConfig)
    model = trajectory_reward(config, env)
    loss = gcl_loss(model, config.mixture_density)
    if config.grad_penalty > 0:
        loss = with_gradient_penalty(loss, model.segment_log_ratio, config.grad_penalty)
    return adversarial.make(
        config, env, demos, model, loss, "gcl", segment_length=config.segment_length
    )
