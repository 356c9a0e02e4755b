"""Max-margin feature matching: the Abbeel-Ng projection method and max-margin planning.

* `method="projection"`: Abbeel & Ng, "Apprenticeship Learning via Inverse Reinforcement
  Learning", ICML 2004, §3.1 (the projection algorithm, eq. 7-8): w^(i) = μ_E − μ̄^(i−1), π^(i)
  optimal for r = w·φ, and μ̄^(i) the orthogonal projection of μ_E onto the segment from μ̄^(i−1)
  to μ(π^(i)) (the paper's line, with α clipped to [0, 1], so that the mixture's weights stay
  weights when a sampled μ_E lies outside the feasible set). The returned policy is the
  mixture of the π^(i) whose feature expectations are μ̄ (§3, "mix the policies"),
  represented by its occupancy-equivalent time-indexed policy.
* `method="planning"`: Ratliff, Bagnell & Zinkevich, "Maximum Margin Planning", ICML 2006, eq. 2
  with one demonstration and a shared slack:

      min_{w, ζ ≥ 0} ½‖w‖² + C ζ   s.t.   wᵀμ_E ≥ wᵀμ(π_i) + D(π_i, π_E) − ζ  for every i,

  over a growing set of constraints: after each solve, loss-augmented planning (optimal policy of
  r(s, a) = w·φ(s) + l(s, a)) adds the most violated policy. The loss l(s, a) = 1 − π̂_E(a | s)
  (π̂_E the demos' empirical action frequencies, 0 where the expert never went) makes D(π, π_E)
  the expected fraction of steps on which π does not act like the expert. Ratliff's loss is
  a Hamming loss against one deterministic path, 0 on the path itself; demos of a stochastic
  (soft) expert, the CLI's default, give the expert a loss of its own, D(π_E, π_E) =
  E[Σ_a π̂_E(a|s)(1 − π̂_E(a|s))] > 0, a margin the demos cannot have over themselves, so the
  slack stays positive and w small: the direction of w, which is what the planned policy
  depends on, is what is learned (`loss_scale` weighs the loss). The QP is solved in
  JAX through its dual, max_{α ≥ 0, Σα ≤ C} Σ α_i D_i − ½‖Σ α_i (μ_E − μ_i)‖², by a fixed number
  of accelerated projected-gradient (FISTA) steps; w = Σ α_i (μ_E − μ_i).

Feature expectations are per step: μ = Σ_t γ^t E[φ(s_t)] / Σ_t γ^t.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import chex
import jax
import jax.numpy as jnp
from flax import struct
from jax import lax

from jirl.errors import ConfigError, check_config, require
from jirl.tabular import planning
from jirl.tabular.mdp import TabularMDP
from jirl.tabular.metrics import (
    Demos,
    check_demo_horizon,
    check_irl_config,
    discounted_length,
    empirical_visitation,
    validate_demos,
)

Array = jax.Array


@dataclass(frozen=True)
class MaxMarginConfig:
    """Hyperparameters of max-margin IRL (static).

    Attributes:
      method: `"projection"` (Abbeel-Ng) or `"planning"` (max-margin planning).
      horizon, discount: planning horizon (None: infinite, discounted) and γ.
      num_iterations: outer iterations (policies added).
      margin_c: slack penalty C (planning).
      loss_scale: multiplier of the loss D(π, π_E) in the margin (planning).
      qp_steps: FISTA steps per QP solve (planning).
    """

    method: str = "projection"
    horizon: int | None = 20
    discount: float = 1.0
    num_iterations: int = 30
    margin_c: float = 10.0
    loss_scale: float = 1.0
    qp_steps: int = 500

    def __post_init__(self):
        check_irl_config(self, "max_margin.")
        methods = ("projection", "planning")
        require(
            self.method in methods,
            f"max_margin.method must be one of {', '.join(methods)}, got {self.method!r}",
        )
        # C <= 0 or D = 0 leaves no margin to keep: the QP's optimum is w = 0 whatever the demos
        for name in ("margin_c", "loss_scale"):
            value = getattr(self, name)
            require(value > 0, f"max_margin.{name} must be > 0, got {value}")
        require(self.qp_steps >= 1, f"max_margin.qp_steps must be >= 1, got {self.qp_steps}")


@struct.dataclass
class MaxMarginResult:
    """Output of `max_margin_irl`.

    Attributes:
      weights: [F] reward weights w.
      reward: [S] learned state reward w·f(s).
      policy: [H, S, A] | [S, A]: the mixed policy (projection) or the optimal policy of the
        learned reward (planning).
      metrics: per-iteration scalars [num_iterations]: `margin` (‖μ_E − μ̄‖ for projection; the
        QP's objective for planning), `feature_gap` (‖μ_E − μ(π_i)‖), and `slack` (planning).
    """

    weights: Array
    reward: Array
    policy: Array
    metrics: dict


class Occupancy(NamedTuple):
    """Occupancy of a policy.

    Attributes:
      policy: [H, S, A] | [S, A].
      state_action: [H, S, A] time-indexed (finite horizon) or [S, A] discounted sum.
      features: [F] per-step feature expectations μ.
    """

    policy: Array
    state_action: Array
    features: Array


def discounted_sum(state_action: Array, discount: float) -> Array:
    """Σ_t γ^t ρ_t `[S, A]` of a time-indexed occupancy `[H, S, A]` (identity on `[S, A]`)."""
    if state_action.ndim == 2:
        return state_action
    weights = discount ** jnp.arange(state_action.shape[0], dtype=state_action.dtype)
    return jnp.einsum("t,tsa->sa", weights, state_action)


def occupancy(mdp: TabularMDP, policy: Array, features: Array, *, horizon, discount) -> Occupancy:
    """Occupancy and per-step feature expectations of `policy`; features `[S, F]`."""
    finite = horizon is not None
    vis = planning.visitation(mdp, policy, horizon=horizon, discount=discount, time_indexed=finite)
    summed = discounted_sum(vis.state_action, discount)
    mu = summed.sum(-1) @ features / discounted_length(horizon, discount)
    return Occupancy(policy=policy, state_action=vis.state_action, features=mu)


def optimal_occupancy(
    mdp: TabularMDP, reward: Array, features: Array, *, horizon, discount
) -> Occupancy:
    """Occupancy of the (hard) optimal policy of `reward` `[S]` or `[S, A]`."""
    policy = planning.value_iteration(mdp, reward, horizon=horizon, discount=discount).policy
    return occupancy(mdp, policy, features, horizon=horizon, discount=discount)


def mixture_policy(state_action: Array) -> Array:
    """π(a | s) ∝ ρ(s, a): the policy with the occupancy `ρ` of a mixture (uniform where unvisited).

    Picking one policy of a mixture at the start of an episode and following it has the same
    (time-indexed) occupancy as this single policy, hence the same value and feature expectations.
    """
    total = state_action.sum(-1, keepdims=True)
    uniform = jnp.full_like(state_action, 1.0 / state_action.shape[-1])
    return jnp.where(total > 0, state_action / jnp.where(total > 0, total, 1.0), uniform)


def demo_feature_expectations(
    demos: Demos, features: Array, num_actions: int, *, horizon, discount
):
    """μ_E `[F]`, the demos' per-step feature expectations."""
    check_demo_horizon(demos.horizon, horizon, discount)
    vis = empirical_visitation(demos, features.shape[0], num_actions, discount)
    return vis.sum(-1) @ features / discounted_length(horizon, discount)


# --------------------------------------------------------------------------- the QP


def project_capped_simplex(v: Array, cap: Array, mask: Array) -> Array:
    """Euclidean projection of `v` onto {α ≥ 0, Σα ≤ cap, α_i = 0 where not mask} (Duchi 2008)."""
    chex.assert_rank([v, mask], 1)
    v = jnp.where(mask, v, -1e9)  # masked entries sort last and project to 0
    clipped = jnp.maximum(v, 0.0)
    u = jnp.sort(v)[::-1]
    css = jnp.cumsum(u)
    idx = jnp.arange(1, v.shape[0] + 1, dtype=v.dtype)
    rho = jnp.max(jnp.where(u - (css - cap) / idx > 0, idx, 1.0))
    theta = (jnp.take(css, rho.astype(jnp.int32) - 1) - cap) / rho
    on_simplex = jnp.maximum(v - theta, 0.0)
    return jnp.where(clipped.sum() <= cap, clipped, on_simplex)


def solve_margin_qp(
    mu_expert: Array,
    mu_policies: Array,
    losses: Array,
    mask: Array,
    margin_c: float,
    num_steps: int = 500,
) -> tuple[Array, Array, Array]:
    """min_{w, ζ ≥ 0} ½‖w‖² + C ζ s.t. wᵀ(μ_E − μ_i) ≥ D_i − ζ for the active i, via its dual.

    Args:
      mu_expert: [F] μ_E.
      mu_policies: [K] rows μ_i, [K, F].
      losses: [K] D_i.
      mask: [K] bool, which constraints are active.
      margin_c: C > 0.
      num_steps: FISTA iterations (static).
    Returns:
      (w [F], slack ζ [], dual variables α [K]).
    """
    chex.assert_rank([mu_expert, mu_policies, losses, mask], [1, 2, 1, 1])
    g = (mu_expert[None] - mu_policies) * mask[:, None]  # [K, F]
    gram = g @ g.T
    # Lipschitz constant of the dual gradient: the largest eigenvalue of the Gram matrix.
    lipschitz = _largest_eigenvalue_bound(gram) + 1e-8
    grad = lambda a: gram @ a - losses  # gradient of the negated dual

    def step(carry, _):
        alpha, y, momentum = carry
        alpha_new = project_capped_simplex(y - grad(y) / lipschitz, margin_c, mask)
        momentum_new = 0.5 * (1.0 + jnp.sqrt(1.0 + 4.0 * momentum**2))
        y_new = alpha_new + (momentum - 1.0) / momentum_new * (alpha_new - alpha)
        return (alpha_new, y_new, momentum_new), None

    alpha0 = jnp.zeros_like(losses)
    momentum0 = jnp.ones((), losses.dtype)
    (alpha, _, _), _ = lax.scan(step, (alpha0, alpha0, momentum0), None, length=num_steps)
    w = g.T @ alpha
    violation = jnp.where(mask, losses - g @ w, 0.0)
    return w, jnp.maximum(0.0, violation.max()), alpha


def _largest_eigenvalue_bound(gram: Array) -> Array:
    """An upper bound on the largest eigenvalue of a Gram matrix (symmetric, PSD): the least of
    its trace (the sum of its eigenvalues) and its largest absolute row sum (Gershgorin). Tight
    for the max-margin QP's Gram matrices, whose rows are either alike (λ_max ≈ trace) or nearly
    orthogonal (λ_max ≈ the largest diagonal entry ≈ the row sum). Power iteration would be
    tighter but can return 0 when its start is orthogonal to the top eigenvector (two constraints
    with g₁ = −g₂: the expert halfway between two policies), and a Lipschitz estimate below the
    true constant makes FISTA overshoot."""
    return jnp.minimum(jnp.trace(gram), jnp.abs(gram).sum(axis=1).max())


# --------------------------------------------------------------------------- the projection


def projection_step(mu_expert: Array, mu_bar: Array, mu_new: Array) -> tuple[Array, Array]:
    """One step of Abbeel & Ng's projection method (2004, §3.1, eq. 7-8).

    μ̄ ← μ̄ + α (μ_new − μ̄) with α = clip((μ_new − μ̄)ᵀ(μ_E − μ̄) / ‖μ_new − μ̄‖², 0, 1): the
    orthogonal projection of μ_E onto the segment [μ̄, μ_new] (no step if μ_new = μ̄). The next
    reward weights are w = μ_E − μ̄. Shared with the sample-based FEM (`jirl.algos.apprenticeship`).

    Args:
      mu_expert: [F] μ_E. mu_bar: [F] μ̄ so far (a mixture's). mu_new: [F] μ of the new policy.
    Returns:
      (the new μ̄ [F], the mixing weight α [] of the new policy).
    """
    chex.assert_rank([mu_expert, mu_bar, mu_new], 1)
    direction = mu_new - mu_bar
    denom = direction @ direction
    alpha = jnp.clip(direction @ (mu_expert - mu_bar) / jnp.where(denom > 0, denom, 1.0), 0, 1)
    alpha = jnp.where(denom > 0, alpha, 0.0)
    return mu_bar + alpha * direction, alpha


# --------------------------------------------------------------------------- the algorithms


def expert_action_loss(demos: Demos, num_states: int, num_actions: int) -> Array:
    """l(s, a) = 1 − π̂_E(a | s) `[S, A]` (1 in states the expert never visited)."""
    counts = empirical_visitation(demos, num_states, num_actions)
    return 1.0 - mixture_policy(counts) * (counts.sum(-1, keepdims=True) > 0)


def max_margin_irl(
    key: Array, mdp: TabularMDP, demos: Demos, config: MaxMarginConfig
) -> MaxMarginResult:
    """Max-margin IRL (see module doc); pure and jittable.

    Args:
      key: PRNG key of the first policy (optimal for random weights), as in Abbeel & Ng.
      mdp: the MDP, with `features [S, F]`.
      demos: [N, H] state and action indices.
    """
    check_config(config, MaxMarginConfig)
    if mdp.features is None:
        raise ConfigError("max-margin IRL needs mdp.features [S, F]; build the MDP with features")
    validate_demos(mdp, demos)
    features = mdp.features
    kw = dict(horizon=config.horizon, discount=config.discount)
    mu_expert = demo_feature_expectations(demos, features, mdp.num_actions, **kw)
    first_weights = jax.random.normal(key, (features.shape[1],), jnp.float32)  # (x64 or not)
    first = optimal_occupancy(mdp, features @ first_weights, features, **kw)
    if config.method == "projection":
        return _projection(mdp, features, mu_expert, first, config)
    loss = config.loss_scale * expert_action_loss(demos, mdp.num_states, mdp.num_actions)
    return _planning(mdp, features, mu_expert, loss, first, config)


def _projection(mdp, features, mu_expert, first: Occupancy, config) -> MaxMarginResult:
    kw = dict(horizon=config.horizon, discount=config.discount)

    def step(carry, _):
        mu_bar, rho_bar = carry
        w = mu_expert - mu_bar
        occ = optimal_occupancy(mdp, features @ w, features, **kw)
        mu_bar, alpha = projection_step(mu_expert, mu_bar, occ.features)
        rho_bar = rho_bar + alpha * (occ.state_action - rho_bar)
        metrics = {
            "margin": jnp.linalg.norm(mu_expert - mu_bar),
            "feature_gap": jnp.linalg.norm(mu_expert - occ.features),
        }
        return (mu_bar, rho_bar), metrics

    (mu_bar, rho_bar), metrics = lax.scan(
        step, (first.features, first.state_action), None, length=config.num_iterations
    )
    w = mu_expert - mu_bar
    return MaxMarginResult(
        weights=w, reward=features @ w, policy=mixture_policy(rho_bar), metrics=metrics
    )


def _planning(mdp, features, mu_expert, loss, first: Occupancy, config) -> MaxMarginResult:
    kw = dict(horizon=config.horizon, discount=config.discount)
    capacity = config.num_iterations + 1
    scale = discounted_length(config.horizon, config.discount)

    def loss_of(occ: Occupancy):
        return jnp.sum(discounted_sum(occ.state_action, config.discount) * loss) / scale

    mus = jnp.zeros((capacity, features.shape[1]), jnp.float32).at[0].set(first.features)
    losses = jnp.zeros(capacity, jnp.float32).at[0].set(loss_of(first))
    mask = jnp.zeros(capacity, bool).at[0].set(True)

    def solve(mus, losses, mask):
        return solve_margin_qp(mu_expert, mus, losses, mask, config.margin_c, config.qp_steps)

    def step(carry, i):
        mus, losses, mask = carry
        w, slack, _ = solve(mus, losses, mask)
        augmented = (features @ w)[:, None] + loss  # loss-augmented planning: most violated π
        occ = optimal_occupancy(mdp, augmented, features, **kw)
        metrics = {
            "margin": 0.5 * w @ w + config.margin_c * slack,
            "slack": slack,
            "feature_gap": jnp.linalg.norm(mu_expert - occ.features),
        }
        carry = (mus.at[i].set(occ.features), losses.at[i].set(loss_of(occ)), mask.at[i].set(True))
        return carry, metrics

    (mus, losses, mask), metrics = lax.scan(step, (mus, losses, mask), jnp.arange(1, capacity))
    w, _, _ = solve(mus, losses, mask)
    reward = features @ w
    policy = planning.value_iteration(mdp, reward, **kw).policy
    return MaxMarginResult(weights=w, reward=reward, policy=policy, metrics=metrics)
