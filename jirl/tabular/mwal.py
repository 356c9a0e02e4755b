"""Game-theoretic apprenticeship learning: MWAL (Multiplicative Weights Apprenticeship Learning).

Syed & Schapire, "A Game-Theoretic Approach to Apprenticeship Learning", NeurIPS 2007,
Algorithm 1 (MWAL): the reward is a convex combination w ∈ Δ_k of k features in [0, 1], and
the learner plays the zero-sum game max_ψ min_w wᵀ(μ(ψ) − μ_E) against a multiplicative-weights
adversary. Each round t: π^(t) is optimal for r = W^(t)·φ, and

    W^(t+1)_i ∝ W^(t)_i · β^{G(i, μ^(t))},   G(i, μ) = ((μ_i − μ_E,i) + 2) / 4,
    β = 1 / (1 + sqrt(2 ln k / T)),

with μ per-step feature expectations (the paper's (1 − γ)μ). The output is the *mixed* policy,
uniform over π^(1..T), here represented by its occupancy-equivalent time-indexed policy.

Features are rescaled to [0, 1] per column and complemented, φ' = [f, 1 − f], so that the
simplex of weights contains rewards of both signs; the mixed policy then makes μ(ψ) ≥ μ_E in
every column of φ', i.e. matches the expert's feature expectations (up to ε).
"""

from __future__ import annotations

from dataclasses import dataclass

import chex
import jax
import jax.numpy as jnp
from flax import struct
from jax import lax

from jirl.errors import ConfigError, check_config
from jirl.tabular.maxmargin import (
    demo_feature_expectations,
    mixture_policy,
    occupancy,
    optimal_occupancy,
)
from jirl.tabular.mdp import TabularMDP
from jirl.tabular.metrics import Demos, check_irl_config, validate_demos

Array = jax.Array


@dataclass(frozen=True)
class MWALConfig:
    """Hyperparameters of MWAL (static).

    Attributes:
      horizon, discount: planning horizon (None: infinite, discounted) and γ.
      num_iterations: rounds T of the game (the β of the paper depends on it).
    """

    horizon: int | None = 20
    discount: float = 1.0
    num_iterations: int = 100

    def __post_init__(self):
        check_irl_config(self, "mwal.")


@struct.dataclass
class MWALResult:
    """Output of `mwal_irl`.

    Attributes:
      weights: [2F] mean weights W̄ over the rounds, on the complemented features φ'.
      reward: [S] the reward of the mean weights, φ'·W̄ (for display; MWAL's answer is the
        mixed policy).
      policy: [H, S, A] | [S, A] the mixed policy (occupancy-equivalent).
      feature_expectations: [F] μ of the mixed policy on the original (rescaled) features.
      metrics: per-round scalars [num_iterations]: `game_value` (W^(t)ᵀ(μ^(t) − μ_E)) and
        `feature_gap` (‖μ_mix − μ_E‖ of the mixture so far, on the rescaled features).
    """

    weights: Array
    reward: Array
    policy: Array
    feature_expectations: Array
    metrics: dict


def complemented_features(features: Array) -> Array:
    """[f̃, 1 − f̃] `[S, 2F]` with f̃ the per-column min-max rescaling of `features [S, F]`."""
    low, high = features.min(axis=0), features.max(axis=0)
    span = jnp.where(high > low, high - low, 1.0)
    return complement((features - low) / span)


def complement(scaled: Array) -> Array:
    """[f, 1 − f] `[..., 2F]` of features `[..., F]` in [0, 1]: a simplex of weights over them
    holds rewards of both signs."""
    return jnp.concatenate([scaled, 1.0 - scaled], axis=-1)


def mw_beta(num_features: int, num_rounds: int) -> Array:
    """β = 1 / (1 + sqrt(2 ln k / T)), Syed & Schapire 2007, Algorithm 1; float32 (the log of
    an int is float64 under `jax_enable_x64`, which made the float32 weights float64)."""
    return 1.0 / (1.0 + jnp.sqrt(2.0 * jnp.log(jnp.float32(num_features)) / num_rounds))


def mw_update(log_w: Array, mu: Array, mu_expert: Array, beta: Array) -> Array:
    """One multiplicative-weights round in log space (Syed & Schapire 2007, Algorithm 1):
    W_i ← W_i · β^{G(i, μ)}, G(i, μ) = ((μ_i − μ_E,i) + 2) / 4; W = softmax(log_w).

    Shared with the sample-based GTAL (`jirl.algos.apprenticeship`).

    Args:
      log_w: [k] unnormalised log-weights. mu, mu_expert: [k] per-step feature expectations
        in [0, 1] of the round's policy and of the expert.
    """
    chex.assert_rank([log_w, mu, mu_expert], 1)
    gain = ((mu - mu_expert) + 2.0) / 4.0
    return log_w + gain * jnp.log(beta)


def mwal_irl(key: Array, mdp: TabularMDP, demos: Demos, config: MWALConfig) -> MWALResult:
    """MWAL (Syed & Schapire 2007, Algorithm 1); pure and jittable.

    Args:
      key: unused (MWAL is deterministic given the demos); kept for the common signature.
      mdp: the MDP, with `features [S, F]`.
      demos: [N, H] state and action indices.
    """
    del key
    check_config(config, MWALConfig)
    if mdp.features is None:
        raise ConfigError("MWAL needs mdp.features [S, F]; build the MDP with features")
    validate_demos(mdp, demos)
    kw = dict(horizon=config.horizon, discount=config.discount)
    phi = complemented_features(mdp.features)  # [S, k]
    num_features = phi.shape[1]
    half = num_features // 2
    mu_expert = demo_feature_expectations(demos, phi, mdp.num_actions, **kw)
    beta = mw_beta(num_features, config.num_iterations)
    uniform = jnp.full((mdp.num_states, mdp.num_actions), 1.0 / mdp.num_actions)
    state_action_shape = jax.eval_shape(  # its shape only: traced, never run
        lambda policy: occupancy(mdp, policy, phi, **kw).state_action, uniform
    ).shape

    def step(carry, t):
        log_w, rho_sum, mu_sum, w_sum = carry
        weights = jax.nn.softmax(log_w)  # W^(t) = w / Σw, kept in log space for stability
        occ = optimal_occupancy(mdp, phi @ weights, phi, **kw)
        mu_sum = mu_sum + occ.features
        metrics = {
            "game_value": weights @ (occ.features - mu_expert),
            "feature_gap": jnp.linalg.norm((mu_sum / (t + 1) - mu_expert)[:half]),
        }
        log_w = mw_update(log_w, occ.features, mu_expert, beta)
        carry = (log_w, rho_sum + occ.state_action, mu_sum, w_sum + weights)
        return carry, metrics

    init = (
        jnp.zeros(num_features, jnp.float32),
        jnp.zeros(state_action_shape, jnp.float32),
        jnp.zeros(num_features, jnp.float32),
        jnp.zeros(num_features, jnp.float32),
    )
    (_, rho_sum, mu_sum, w_sum), metrics = lax.scan(step, init, jnp.arange(config.num_iterations))
    mean_w = w_sum / config.num_iterations
    return MWALResult(
        weights=mean_w,
        reward=phi @ mean_w,
        policy=mixture_policy(rho_sum),
        feature_expectations=(mu_sum / config.num_iterations)[:half],
        metrics=metrics,
    )
