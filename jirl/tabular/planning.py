"""Planners on a known tabular MDP: soft and hard value iteration, policy evaluation, visitation.

Semantics (DESIGN.md § Tabular; Ziebart, Bagnell & Dey 2010, "Modeling Interaction via the
Principle of Maximum Causal Entropy", eq. 4-5, the soft Bellman recursion):

* finite horizon H (time-indexed policy `[H, S, A]`):
  Q_{H-1} = r,  V_t = logsumexp_a Q_t,  Q_t = r + γ T V_{t+1},  π_t = exp(Q_t − V_t);
* infinite horizon, discount γ < 1 (stationary policy `[S, A]`): the fixed point of the same
  recursion, iterated in a `lax.while_loop` until the error bound γ/(1−γ)·‖V' − V‖∞ is below
  `tol · max(1, ‖V‖∞)`;
* visitation: D_0 = initial, D_{t+1} = Σ_a D_t π_t T (time-indexed), or Σ_t γ^t D_t (summed).

The hard planners replace logsumexp by max and π_t by the greedy one-hot policy (ties: lowest
action index). `reward` is `[S]` or `[S, A]` everywhere.

Transition formats (see `jirl.tabular.mdp`): dense uses matrix products on `T: [S·A, S]`; sparse
gathers `V[next_state]` backwards and gathers through the predecessor table forwards (falling
back to a scatter-add when the MDP has none); grid uses shifted copies of the value grid.
"""

from __future__ import annotations

from typing import NamedTuple

import chex
import jax
import jax.numpy as jnp
from jax import lax

from jirl.tabular.mdp import TabularMDP

Array = jax.Array


class Plan(NamedTuple):
    """Output of a planner.

    Attributes:
      values: [H, S] (finite horizon) or [S] (infinite) state values V_t.
      q_values: [H, S, A] or [S, A] action values Q_t.
      policy: [H, S, A] or [S, A] action probabilities π_t(a | s).
    """

    values: Array
    q_values: Array
    policy: Array


class Visitation(NamedTuple):
    """Expected visitation of a policy from the initial distribution.

    Attributes:
      state: [H, S] time-indexed D_t, or [S] the discounted sum Σ_t γ^t D_t.
      state_action: [H, S, A] D_t(s) π_t(a | s), or [S, A] its discounted sum.
    """

    state: Array
    state_action: Array


# --------------------------------------------------------------------------- transition kernels


def expected_next(mdp: TabularMDP, v: Array) -> Array:
    """E_{s' ~ T(s, a)} v(s') for every (s, a).

    Args:
      v: [S] or [S, C] (C value columns, all propagated at once).
    Returns:
      [S, A] or [S, A, C].
    """
    num_states, num_actions = mdp.num_states, mdp.num_actions
    fmt = mdp.format
    if fmt == "dense":
        t2 = mdp.transition.reshape(num_states * num_actions, num_states)
        return (t2 @ v).reshape(num_states, num_actions, *v.shape[1:])
    if fmt == "sparse":
        return jnp.einsum("sak,sak...->sa...", mdp.prob, v[mdp.next_state])
    shifted = _grid_shifts(mdp, v)  # [D, S, ...]
    return jnp.einsum("ad,ds...->sa...", mdp.move_prob, shifted)


def push_forward(mdp: TabularMDP, flow: Array) -> Array:
    """Next-state mass Σ_{s, a} flow(s, a) T(s' | s, a).

    Args:
      flow: [S, A] mass on each state-action pair (e.g. D_t(s) π_t(a | s)).
    Returns:
      [S] the mass on each next state.
    """
    num_states, num_actions = mdp.num_states, mdp.num_actions
    fmt = mdp.format
    if fmt == "dense":
        return flow.reshape(-1) @ mdp.transition.reshape(num_states * num_actions, num_states)
    if fmt == "sparse":
        if mdp.pred_sa is not None:
            return jnp.sum(flow.reshape(-1)[mdp.pred_sa] * mdp.pred_prob, axis=-1)
        mass = flow[:, :, None] * mdp.prob
        return jax.ops.segment_sum(
            mass.reshape(-1), mdp.next_state.reshape(-1), num_segments=num_states
        )
    rows, cols = mdp.grid_shape
    per_move = (flow @ mdp.move_prob).T.reshape(len(mdp.moves), rows, cols)  # [D, rows, cols]
    out = jnp.zeros((rows, cols), flow.dtype)
    for d, (dr, dc) in enumerate(mdp.moves):  # D is static and small: unrolled at trace time
        out = out + _push_axis(_push_axis(per_move[d], dr, 0), dc, 1)
    return out.reshape(num_states)


def _grid_shifts(mdp: TabularMDP, v: Array) -> Array:
    """[D, S, ...]: v at the (clamped) destination of every move, for every state."""
    rows, cols = mdp.grid_shape
    grid = v.reshape(rows, cols, *v.shape[1:])
    pad = ((1, 1), (1, 1)) + ((0, 0),) * (v.ndim - 1)
    # Edge padding makes the clamped destination of an off-grid move the cell itself.
    padded = jnp.pad(grid, pad, mode="edge")
    shifted = [padded[1 + dr : 1 + dr + rows, 1 + dc : 1 + dc + cols] for dr, dc in mdp.moves]
    return jnp.stack(shifted).reshape(len(mdp.moves), rows * cols, *v.shape[1:])


def _push_axis(y: Array, shift: int, axis: int) -> Array:
    """Adjoint of the clamped shift along one axis: mass moves by `shift`, edge keeps its own."""
    if shift == 0:
        return y
    y = jnp.moveaxis(y, axis, 0)
    zero = jnp.zeros_like(y[:1])
    if shift > 0:
        out = jnp.concatenate([zero, y[:-2], y[-2:-1] + y[-1:]])
    else:
        out = jnp.concatenate([y[:1] + y[1:2], y[2:], zero])
    return jnp.moveaxis(out, 0, axis)


def state_action_reward(mdp: TabularMDP, reward: Array) -> Array:
    """`[S]` or `[S, A]` reward as `[S, A]`."""
    chex.assert_rank(reward, {1, 2})
    if reward.ndim == 1:
        return jnp.broadcast_to(reward[:, None], (mdp.num_states, mdp.num_actions))
    return reward


# --------------------------------------------------------------------------- value iteration


def _soft_backup(q: Array) -> tuple[Array, Array]:
    v = jax.nn.logsumexp(q, axis=-1)
    return v, jnp.exp(q - v[..., None])


def _hard_backup(q: Array) -> tuple[Array, Array]:
    return jnp.max(q, axis=-1), jax.nn.one_hot(jnp.argmax(q, axis=-1), q.shape[-1], dtype=q.dtype)


def _iterate(mdp, reward, backup, horizon, discount, tol, max_iterations) -> Plan:
    r = state_action_reward(mdp, reward)
    if horizon is not None:
        _check_horizon(horizon)
        v_last, pi_last = backup(r)

        def step(v_next, _):
            q = r + discount * expected_next(mdp, v_next)
            v, pi = backup(q)
            return v, (v, q, pi)

        _, (v, q, pi) = lax.scan(step, v_last, None, length=horizon - 1, reverse=True)
        return Plan(
            values=jnp.concatenate([v, v_last[None]]),
            q_values=jnp.concatenate([q, r[None]]),
            policy=jnp.concatenate([pi, pi_last[None]]),
        )

    def update(v):
        return backup(r + discount * expected_next(mdp, v))[0]

    v = _fixed_point(update, jnp.zeros(mdp.num_states, r.dtype), discount, tol, max_iterations)
    q = r + discount * expected_next(mdp, v)
    v, pi = backup(q)
    return Plan(values=v, q_values=q, policy=pi)


def _fixed_point(update, x0, discount, tol, max_iterations):
    """Iterate a γ-contraction until the error bound γ/(1−γ)·‖Δ‖∞ ≤ tol·max(1, ‖x‖∞)."""
    factor = discount / jnp.maximum(1.0 - discount, 1e-12)

    def cond(carry):
        _, err, i = carry
        return jnp.logical_and(err > 0, i < max_iterations)

    def body(carry):
        x, _, i = carry
        x_new = update(x)
        bound = factor * jnp.max(jnp.abs(x_new - x))
        scale = jnp.maximum(1.0, jnp.max(jnp.abs(x_new)))
        return x_new, jnp.where(bound > tol * scale, bound, 0.0), i + 1

    x, _, _ = lax.while_loop(cond, body, (x0, jnp.ones((), x0.dtype), jnp.zeros((), jnp.int32)))
    return x


def _check_horizon(horizon) -> None:
    if not isinstance(horizon, int) or horizon < 1:
        raise ValueError(f"horizon must be a positive int (static), got {horizon!r}")


def soft_value_iteration(
    mdp: TabularMDP,
    reward: Array,
    *,
    horizon: int | None = None,
    discount: float = 1.0,
    tol: float = 1e-5,
    max_iterations: int = 10_000,
) -> Plan:
    """Soft (maximum causal entropy) value iteration.

    Args:
      reward: [S] or [S, A].
      horizon: finite horizon H (static) for a time-indexed policy, or None for the infinite,
        discounted problem (then `discount` must be < 1).
      tol, max_iterations: stopping rule of the infinite-horizon loop (relative error bound).
    Returns:
      `Plan` with values [H, S] | [S], q_values and policy [H, S, A] | [S, A].
    """
    return _iterate(mdp, reward, _soft_backup, horizon, discount, tol, max_iterations)


def value_iteration(
    mdp: TabularMDP,
    reward: Array,
    *,
    horizon: int | None = None,
    discount: float = 1.0,
    tol: float = 1e-5,
    max_iterations: int = 10_000,
) -> Plan:
    """Hard (Bellman optimality) value iteration; the policy is greedy one-hot. See soft version."""
    return _iterate(mdp, reward, _hard_backup, horizon, discount, tol, max_iterations)


def policy_evaluation(
    mdp: TabularMDP,
    reward: Array,
    policy: Array,
    *,
    horizon: int | None = None,
    discount: float = 1.0,
    tol: float = 1e-5,
    max_iterations: int = 10_000,
) -> Plan:
    """Values of a given policy: V_t = Σ_a π_t (r + γ T V_{t+1}), Q_{H-1} = r.

    Args:
      reward: [S] or [S, A].
      policy: [H, S, A] time-indexed (sets the horizon) or [S, A] stationary (finite horizon if
        `horizon` is given, else infinite and discounted).
    Returns:
      `Plan(values, q_values, policy)` with the same time layout as the policy's horizon.
    """
    chex.assert_rank(policy, {2, 3})
    r = state_action_reward(mdp, reward)
    horizon = _policy_horizon(policy, horizon)
    if horizon is None:

        def update(v):
            return jnp.sum(policy * (r + discount * expected_next(mdp, v)), axis=-1)

        v = _fixed_point(update, jnp.zeros(mdp.num_states, r.dtype), discount, tol, max_iterations)
        q = r + discount * expected_next(mdp, v)
        return Plan(values=jnp.sum(policy * q, -1), q_values=q, policy=policy)
    policies = _time_indexed(policy, horizon)
    v_last = jnp.sum(policies[-1] * r, axis=-1)

    def step(v_next, pi_t):
        q = r + discount * expected_next(mdp, v_next)
        v = jnp.sum(pi_t * q, axis=-1)
        return v, (v, q)

    _, (v, q) = lax.scan(step, v_last, policies[:-1], reverse=True)
    return Plan(
        values=jnp.concatenate([v, v_last[None]]),
        q_values=jnp.concatenate([q, r[None]]),
        policy=policies,
    )


def _policy_horizon(policy: Array, horizon: int | None) -> int | None:
    if policy.ndim == 3:
        if horizon is not None and horizon != policy.shape[0]:
            raise ValueError(
                f"policy has {policy.shape[0]} time steps but horizon={horizon}; pass one of them"
            )
        return policy.shape[0]
    if horizon is not None:
        _check_horizon(horizon)
    return horizon


def _time_indexed(policy: Array, horizon: int) -> Array:
    if policy.ndim == 3:
        return policy
    return jnp.broadcast_to(policy, (horizon, *policy.shape))


# --------------------------------------------------------------------------- visitation


def visitation(
    mdp: TabularMDP,
    policy: Array,
    *,
    horizon: int | None = None,
    discount: float = 1.0,
    time_indexed: bool = False,
    tol: float = 1e-5,
    max_iterations: int = 10_000,
) -> Visitation:
    """Expected state and state-action visitation of `policy` from `mdp.initial`.

    Args:
      policy: [H, S, A] time-indexed (sets H) or [S, A] stationary (finite horizon when
        `horizon` is given, else the infinite discounted sum, `discount` < 1).
      discount: weight γ^t of step t in the summed visitation.
      time_indexed: return D_t for every t (`[H, S]`, `[H, S, A]`, undiscounted) instead of the
        discounted sum (`[S]`, `[S, A]`). Finite horizon only.
    Returns:
      `Visitation(state, state_action)`.
    """
    chex.assert_rank(policy, {2, 3})
    horizon = _policy_horizon(policy, horizon)
    d0 = mdp.initial
    if horizon is None:
        if time_indexed:
            raise ValueError("time_indexed visitation needs a finite horizon")

        def update(d):
            return d0 + discount * push_forward(mdp, d[:, None] * policy)

        d = _fixed_point(update, d0, discount, tol, max_iterations)
        return Visitation(state=d, state_action=d[:, None] * policy)

    policies = _time_indexed(policy, horizon)
    if time_indexed:

        def step(d, pi_t):
            flow = d[:, None] * pi_t
            return push_forward(mdp, flow), (d, flow)

        d_last, (d, flow) = lax.scan(step, d0, policies[:-1])
        return Visitation(
            state=jnp.concatenate([d, d_last[None]]),
            state_action=jnp.concatenate([flow, (d_last[:, None] * policies[-1])[None]]),
        )

    # Summed: accumulate in the carry so that nothing of size [H, S, A] is ever stored.
    def step_sum(carry, pi_t):
        d, weight, total = carry
        flow = d[:, None] * pi_t
        return (push_forward(mdp, flow), weight * discount, total + weight * flow), None

    init = (d0, jnp.ones((), d0.dtype), jnp.zeros_like(policies[0]))
    (d_last, weight, total), _ = lax.scan(step_sum, init, policies[:-1])
    total = total + weight * d_last[:, None] * policies[-1]
    return Visitation(state=total.sum(-1), state_action=total)


def soft_expected_features(
    mdp: TabularMDP,
    reward: Array,
    features: Array,
    *,
    horizon: int,
    discount: float = 1.0,
) -> tuple[Array, Array]:
    """Expected discounted feature counts of the soft-optimal policy, in ONE backward pass.

    Instead of soft VI followed by a forward visitation pass, the feature counts are evaluated
    backwards alongside the values: W_{H-1} = Σ_a π φ, W_t = Σ_a π_t (φ + γ T W_{t+1}), and
    Σ_t γ^t D_t·φ = initial · W_0. Both V and W are propagated through T together, so T is read
    once per step instead of twice (dense MDPs are memory-bound, see benchmarks/tabular.py); it
    pays only while the number of features F is small.

    Args:
      reward: [S] or [S, A].
      features: [S, A, F] state-action features φ.
      horizon: finite horizon H.
    Returns:
      (expected feature counts [F], initial soft value initial · V_0 [] = log partition).
    """
    chex.assert_rank(features, 3)
    _check_horizon(horizon)
    r = state_action_reward(mdp, reward)
    v_last, pi_last = _soft_backup(r)
    w_last = jnp.einsum("sa,saf->sf", pi_last, features)

    def step(carry, _):
        vw = jnp.concatenate([carry[0][:, None], carry[1]], axis=1)  # [S, 1 + F]
        nxt = expected_next(mdp, vw)  # [S, A, 1 + F]
        v, pi = _soft_backup(r + discount * nxt[..., 0])
        w = jnp.einsum("sa,saf->sf", pi, features + discount * nxt[..., 1:])
        return (v, w), None

    (v0, w0), _ = lax.scan(step, (v_last, w_last), None, length=horizon - 1)
    return mdp.initial @ w0, mdp.initial @ v0
