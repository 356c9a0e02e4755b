"""Maximum entropy IRL with a linear reward, and its maximum *causal* entropy variant.

Ziebart, Maas, Bagnell & Dey, "Maximum Entropy Inverse Reinforcement Learning", AAAI 2008:
the reward is linear in features, r_θ = θ·φ, and the demos' log-likelihood has the gradient
(§4.2, "the gradient is the difference between expected empirical feature counts and the
learner's expected feature counts")

    ∇_θ L(θ) = μ_E − Σ_t γ^t Σ_{s, a} D_t(s) π_t(a | s) φ(s, a),

with π the soft-optimal policy of `planning.soft_value_iteration` (its backward pass) and D_t its
visitation (the forward pass). This is the causal recursion of Ziebart, Bagnell & Dey 2010
(eq. 4-5), which coincides with the 2008 partition function when dynamics are deterministic;
the objective maximised is its dual, θ·μ_E − initial·V_0 (the MCE log partition), whose gradient
is exactly the line above (checked in the tests).

`causal=True` learns a state-*action* reward r(s, a) = θ·(f(s) ⊗ e_a), as in maximum causal
entropy IRL with action-dependent rewards; the recursion is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import chex
import jax
import jax.numpy as jnp
import optax
from flax import struct
from jax import lax

from jirl.errors import ConfigError, check_config, require
from jirl.tabular import planning
from jirl.tabular.mdp import TabularMDP, state_action_features
from jirl.tabular.metrics import (
    Demos,
    check_demo_horizon,
    check_irl_config,
    discounted_length,
    empirical_visitation,
    feature_counts,
    validate_demos,
)

Array = jax.Array


@dataclass(frozen=True)
class MaxEntConfig:
    """Hyperparameters of (causal) MaxEnt IRL. Static: they fix shapes and loop lengths.

    Attributes:
      horizon: finite planning horizon H (time-indexed policy), or None for the infinite,
        discounted problem (`discount < 1`). Should match the demos' length.
      discount: γ, weight of step t is γ^t in feature counts.
      num_iterations: gradient steps.
      learning_rate: Adam step size.
      l2: weight of ½‖θ‖² (0: none).
      causal: learn a state-action reward θ·(f(s) ⊗ e_a) instead of a state reward θ·f(s).
      one_pass: compute expected feature counts with `planning.soft_expected_features` (one
        backward pass that reads T once per step) instead of soft VI + visitation. Finite horizon
        only; worth it on large dense MDPs with few features.
    """

    horizon: int | None = 20
    discount: float = 1.0
    num_iterations: int = 100
    learning_rate: float = 0.1
    l2: float = 0.0
    causal: bool = False
    one_pass: bool = False

    def __post_init__(self):
        prefix = "maxcausalent." if self.causal is True else "maxent."
        check_irl_config(self, prefix)
        lr = self.learning_rate
        require(lr > 0, f"{prefix}learning_rate must be > 0, got {lr}")
        require(self.l2 >= 0, f"{prefix}l2 must be >= 0, got {self.l2}; use 0 to disable it")
        require(
            not (self.one_pass and self.horizon is None),
            f"{prefix}one_pass needs a finite {prefix}horizon (it counts features backwards); "
            f"set one, or {prefix}one_pass: false",
        )


@struct.dataclass
class MaxEntResult:
    """Output of `maxent_irl`.

    Attributes:
      weights: [F'] learned reward weights θ (F' = F, or F·A when causal).
      reward: [S] learned state reward, or [S, A] when causal.
      policy: [H, S, A] | [S, A] soft-optimal policy of the learned reward.
      metrics: per-iteration scalars, each [num_iterations]: `feature_gap` (‖μ_E − μ_θ‖ per
        step), `dual_objective` (θ·μ_E − initial·V_0), `grad_norm`.
    """

    weights: Array
    reward: Array
    policy: Array
    metrics: dict


def reward_features(mdp: TabularMDP, causal: bool) -> Array:
    """The reward's features: the state features f(s) `[S, F]` for a state reward
    (`causal=False`; never broadcast over actions, which took S·A·F floats three times over in
    the compiled gradient), or φ(s, a) = f(s) ⊗ e_a `[S, A, F·A]` for a state-action reward."""
    if mdp.features is None:
        raise ConfigError("MaxEnt IRL needs mdp.features [S, F]; build the MDP with features")
    if not causal:
        return mdp.features
    return state_action_features(mdp.features, mdp.num_actions, per_action=True)


def maxent_gradient(
    mdp: TabularMDP,
    weights: Array,
    features: Array,
    demo_counts: Array,
    *,
    horizon: int | None,
    discount: float = 1.0,
    one_pass: bool = False,
) -> tuple[Array, Array]:
    """Gradient of the MaxEnt log-likelihood, μ_E − μ_θ, and the dual objective.

    Args:
      weights: [F] reward weights θ.
      features: [S, F] f(s) (a state reward) or [S, A, F] φ(s, a).
      demo_counts: [F] μ_E, the demos' mean discounted feature counts.
    Returns:
      (gradient [F] to *ascend*, dual objective θ·μ_E − initial·V_0 []).
    """
    chex.assert_rank([weights, features, demo_counts], [1, {2, 3}, 1])
    reward = features @ weights  # [S] or [S, A]
    if one_pass:
        if horizon is None:
            raise ConfigError(
                "one_pass counts features backwards over a finite horizon; set a horizon, or "
                "one_pass=False for a discounted infinite-horizon problem"
            )
        expected, log_z = planning.soft_expected_features(
            mdp, reward, features, horizon=horizon, discount=discount
        )
    else:
        log_z, vis = planning.soft_visitation(mdp, reward, horizon=horizon, discount=discount)
        expected = feature_counts(vis.state_action, features)
    return demo_counts - expected, weights @ demo_counts - log_z


def maxent_irl(key: Array, mdp: TabularMDP, demos: Demos, config: MaxEntConfig) -> MaxEntResult:
    """MaxEnt IRL (Ziebart 2008) by Adam on the feature-count gradient; pure and jittable.

    Args:
      key: unused (the method is deterministic given the demos); kept so every tabular IRL
        function has the signature `(key, mdp, demos, config)` and vmaps over seeds alike.
      mdp: the MDP, with `features [S, F]`.
      demos: [N, H] state and action indices (out of range: `DataError`, or left out if traced).
    Returns:
      `MaxEntResult`.
    """
    del key
    check_config(config, MaxEntConfig)
    features = reward_features(mdp, config.causal)
    validate_demos(mdp, demos)
    check_demo_horizon(demos.horizon, config.horizon, config.discount)
    demo_vis = empirical_visitation(demos, mdp.num_states, mdp.num_actions, config.discount)
    demo_counts = feature_counts(demo_vis, features)
    scale = discounted_length(config.horizon, config.discount)
    optimiser = optax.adam(config.learning_rate)
    weights = jnp.zeros(features.shape[-1], jnp.float32)
    # A feature equal everywhere adds the same to every reward, which moves no policy: its
    # weight stays 0. (Over a finite horizon its exact gradient is 0, but float32 left ~3e-6,
    # which Adam's normalised steps turned into a learning rate per iteration: weight 5.7
    # after 100 on objectworld, and the reward, not the policy, moved with the number of
    # seeds vmapped. Discounted, demos of H steps weigh (1 − γ^H)/(1 − γ) against the model's
    # 1/(1 − γ): a gradient that only that mismatch drives.)
    flat = features.reshape(-1, features.shape[-1])
    constant = jnp.all(flat == flat[0], axis=0)  # [F]

    def step(carry, _):
        weights, opt_state = carry
        grad, dual = maxent_gradient(
            mdp,
            weights,
            features,
            demo_counts,
            horizon=config.horizon,
            discount=config.discount,
            one_pass=config.one_pass,
        )
        grad = jnp.where(constant, 0.0, grad)
        ascent = grad - config.l2 * weights
        updates, opt_state = optimiser.update(-ascent, opt_state, weights)
        metrics = {
            "feature_gap": jnp.linalg.norm(grad) / scale,
            "dual_objective": dual - 0.5 * config.l2 * weights @ weights,
            "grad_norm": jnp.linalg.norm(ascent),
        }
        return (optax.apply_updates(weights, updates), opt_state), metrics

    (weights, _), metrics = lax.scan(
        step, (weights, optimiser.init(weights)), None, length=config.num_iterations
    )
    reward = features @ weights
    policy = planning.soft_value_iteration(
        mdp, reward, horizon=config.horizon, discount=config.discount
    ).policy
    return MaxEntResult(
        weights=weights,
        reward=reward,
        policy=policy,
        metrics=metrics,
    )
