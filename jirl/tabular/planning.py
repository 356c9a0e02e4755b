"""Planners on a known tabular MDP: soft and hard value iteration, policy evaluation, visitation.

Semantics (DESIGN.md § Tabular; Ziebart, Bagnell & Dey 2010, "Modeling Interaction via the
Principle of Maximum Causal Entropy", eq. 4-5, the soft Bellman recursion):

* finite horizon H (time-indexed policy `[H, S, A]`):
  Q_{H-1} = r,  V_t = logsumexp_a Q_t,  Q_t = r + γ T V_{t+1},  π_t = exp(Q_t − V_t);
* infinite horizon, discount γ < 1 (stationary policy `[S, A]`): the fixed point of the same
  recursion, iterated in a `lax.while_loop` until the error bound γ/(1−γ)·‖V' − V‖∞ is below
  `tol · max(1, ‖V‖∞)` (hard values and policy evaluation: `tol · max(min(1, max |r|), ‖V‖∞)`);
* visitation: D_0 = initial, D_{t+1} = Σ_a D_t π_t T (time-indexed), or Σ_t γ^t D_t (summed).

The hard planners replace logsumexp by max and π_t by the greedy one-hot policy (ties: lowest
action index). `reward` is `[S]` or `[S, A]` everywhere, planned in its dtype promoted with the
MDP's (`compute_dtype`: float32, or float64 for a float64 reward under `jax_enable_x64`). A
reward of −inf masks an action (every planner gives it probability 0, its value counts 0), as
long as each state keeps a finite one; a state with no finite action has no value (NaN): give
it a large finite negative reward instead.

Every planner is one `lax.scan` (or `while_loop`) body written against two linear maps,
`Operators(expect, push)` (E_{s'~T(s,a)} V(s') and its transpose Σ_{s,a} flow T), built once per
call by `transition_operators` for the MDP's format (see `jirl.tabular.mdp`): dense uses matrix
products on `T: [S·A, S]` and on its stored transpose; sparse uses shifted copies along the band
table's diagonals when it has one, else gathers `V[next_state]` backwards and gathers through the
predecessor table forwards (or scatter-adds when it has none); grid uses shifted copies of the
value grid. Under `vmap` over rewards with the MDP closed over, the dense products become
matrix-matrix products.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import NamedTuple

import chex
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from jirl.errors import ConfigError, tracer_errors
from jirl.tabular.mdp import ROW_TOL, TabularMDP, check_distribution

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


# --------------------------------------------------------------------------- transition operators


class Operators(NamedTuple):
    """The two linear maps of an MDP's transitions, the only place where formats differ.

    Attributes:
      expect: v [S, ...] -> [S, A, ...], E_{s' ~ T(s, a)} v(s').
      push: flow [S, A, ...] -> [S, ...], Σ_{s, a} flow(s, a) T(s' | s, a), the transpose of
        `expect`.

    Both take trailing columns `...`, several problems at once (batch minor: see
    `soft_visitation`, whose `vmap` rule puts a batch there); the dense products then become
    matrix-matrix products and the band and grid shifts stay contiguous.
    """

    expect: Callable[[Array], Array]
    push: Callable[[Array], Array]


def transition_operators(mdp: TabularMDP, *, materialised_flow: bool = False) -> Operators:
    """`Operators` for the MDP's transition format (dense, sparse band/gather/scatter, grid).

    `materialised_flow`: the caller's flow is an array of its own, not a cheap expression that
    XLA fuses into `push` (see `_band_operators`, the only format where this matters).
    """
    fmt = mdp.format
    if fmt == "dense":
        return _dense_operators(mdp)
    if fmt == "sparse":
        if mdp.band_prob is not None:
            return _band_operators(mdp.band_prob, mdp.band_offsets, materialised_flow)
        return _sparse_operators(mdp)
    return _grid_operators(mdp)


def expected_next(mdp: TabularMDP, v: Array) -> Array:
    """E_{s' ~ T(s, a)} v(s') for every (s, a). v: [S] or [S, C]. Returns [S, A] or [S, A, C]."""
    return transition_operators(mdp).expect(v)


def push_forward(mdp: TabularMDP, flow: Array) -> Array:
    """Next-state mass Σ_{s, a} flow(s, a) T(s' | s, a). flow: [S, A, ...]. Returns [S, ...]."""
    return transition_operators(mdp).push(flow)


def _dense_operators(mdp: TabularMDP) -> Operators:
    num_states, num_actions = mdp.num_states, mdp.num_actions
    t_sa = mdp.transition.reshape(num_states * num_actions, num_states)  # [S·A, S]

    def expect(v):
        return jnp.tensordot(t_sa, v, axes=1).reshape(num_states, num_actions, *v.shape[1:])

    def push(flow):
        flat = flow.reshape(num_states * num_actions, *flow.shape[2:])  # [S·A, ...]
        if mdp.transition_t is not None:  # [S, S·A]: T_t @ flow, not flowᵀ @ T (XLA:CPU)
            return jnp.tensordot(mdp.transition_t, flat, axes=1)
        return jnp.moveaxis(jnp.tensordot(flat, t_sa, axes=(0, 0)), -1, 0)

    return Operators(expect, push)


def _band_operators(
    band: Array, offsets: tuple[int, ...], materialised_flow: bool = False
) -> Operators:
    """Transitions on diagonals: T(s + δ_i | s, a) = band[i, s, a], `band: [Δ, S, A]`.

    `expect` is Δ static slices of a padded copy of v, times a diagonal, summed. `push` has two
    forms, each faster in its own case (measured on one core, benchmarks/tabular.py):

    * a flow that is a cheap expression (D_t times a stored π_t): sum over actions, then shift;
      one loop, with the flow and the padding fused in (128x128, H = 30: 10.2 vs 10.9 ms);
    * a materialised flow (π_t recomputed, or problems as trailing columns): the padded flow read
      at s' − δ_i against the diagonals shifted to their destination,
      `incoming[i][s'] = band[i, s' − δ_i]` (0 off the state range), so that the padding is an
      array of its own and the multiply-adds one contiguous loop (128x128, H = 60: 17.9 vs
      21.7 ms; 32 problems as columns: 34 vs 42 ms).
    """
    num_states = band.shape[1]
    below, above = max(0, -min(offsets)), max(0, max(offsets))
    # Sliced here, outside any loop that the operators run in: XLA does not hoist the slices.
    diagonals = [band[i] for i in range(len(offsets))]  # Δ × [S, A]
    incoming = [_shift_rows(band[i], delta, below, above) for i, delta in enumerate(offsets)]

    def expect(v):
        padded = jnp.pad(v, ((below, above),) + ((0, 0),) * (v.ndim - 1))
        out = 0.0
        for i, delta in enumerate(offsets):  # Δ is static and small: unrolled, one fused loop
            shifted = padded[below + delta : below + delta + num_states]
            out = out + _expand_like(diagonals[i], v) * shifted[:, None]
        return out

    def push_fused(flow):
        out = 0.0
        for i, delta in enumerate(offsets):
            leaving = sum_actions(_expand_like(diagonals[i], flow[:, 0]) * flow)  # from s along δ_i
            out = out + _shift_rows(leaving, delta, below, above)
        return out

    def push_gathered(flow):
        padded = jnp.pad(flow, ((above, below),) + ((0, 0),) * (flow.ndim - 1))
        out = 0.0
        for i, delta in enumerate(offsets):
            shifted = padded[above - delta : above - delta + num_states]  # flow(s' − δ_i)
            out = out + _expand_like(incoming[i], flow[:, 0]) * shifted
        return sum_actions(out)

    return Operators(expect, push_gathered if materialised_flow else push_fused)


def _shift_rows(x: Array, delta: int, below: int, above: int) -> Array:
    """y[s] = x[s − δ], 0 where s − δ is off the range; `below, above` ≥ the largest −δ, δ."""
    padded = jnp.pad(x, ((above, below),) + ((0, 0),) * (x.ndim - 1))
    return padded[above - delta : above - delta + x.shape[0]]


def _expand_like(x: Array, v: Array) -> Array:
    """[S, A] -> [S, A, 1, ...] with as many trailing axes as v has columns."""
    return x.reshape(x.shape + (1,) * (v.ndim - 1))


def _sparse_operators(mdp: TabularMDP) -> Operators:
    num_states = mdp.num_states

    def expect(v):
        return jnp.einsum("sak,sak...->sa...", mdp.prob, v[mdp.next_state])

    def push(flow):
        flat = flow.reshape(-1, *flow.shape[2:])  # [S·A, ...]
        if mdp.pred_sa is not None:  # [S, M, ...] gathered predecessor flows
            return jnp.sum(flat[mdp.pred_sa] * _expand_like(mdp.pred_prob, flat), axis=1)
        mass = flow[:, :, None] * _expand_like(mdp.prob, flat)  # [S, A, K, ...]
        return jax.ops.segment_sum(
            mass.reshape(-1, *flow.shape[2:]),
            mdp.next_state.reshape(-1),
            num_segments=num_states,
        )

    return Operators(expect, push)


def _grid_operators(mdp: TabularMDP) -> Operators:
    """Translation-invariant stencil: the value grid shifted once per move (edge-clamped).

    Every step is slices, pads and multiply-adds over `move_prob [A, D]`, which XLA fuses; the
    forward pass is the transpose of the backward one: zero-padded shifts, then the edge padding
    folded back onto the border cells.
    """
    rows, cols = mdp.grid_shape
    num_states = mdp.num_states

    def expect(v):
        grid = v.reshape(rows, cols, *v.shape[1:])
        pad = ((1, 1), (1, 1)) + ((0, 0),) * (v.ndim - 1)
        # Edge padding makes the clamped destination of an off-grid move the cell itself.
        padded = jnp.pad(grid, pad, mode="edge")
        out = 0.0
        for d, (dr, dc) in enumerate(mdp.moves):  # D is static and small: unrolled
            shifted = padded[1 + dr : 1 + dr + rows, 1 + dc : 1 + dc + cols]
            shifted = shifted.reshape(num_states, 1, *v.shape[1:])
            out = out + _expand_like(mdp.move_prob[None, :, d], v) * shifted
        return out

    def push(flow):
        columns = flow.shape[2:]
        out = jnp.zeros((rows + 2, cols + 2, *columns), flow.dtype)
        for d, (dr, dc) in enumerate(mdp.moves):
            moving = sum_actions(flow * _expand_like(mdp.move_prob[None, :, d], flow[:, 0]))
            pad = ((1 + dr, 1 - dr), (1 + dc, 1 - dc)) + ((0, 0),) * len(columns)
            out = out + jnp.pad(moving.reshape(rows, cols, *columns), pad)
        return _unpad_edge(out).reshape(num_states, *columns)

    return Operators(expect, push)


def _unpad_edge(padded: Array) -> Array:
    """Adjoint of edge-padding a 2-D grid by one cell on each side: the border folds back in.

    padded: [rows + 2, cols + 2, ...]. Returns [rows, cols, ...].
    """

    def fold(x, axis):  # fold the two border slices of `axis` onto the first and last cells
        inner = x.shape[axis] - 2
        first, last = (lax.slice_in_dim(x, i, i + 1, axis=axis) for i in (0, inner + 1))
        pad = [(0, 0)] * x.ndim
        pad[axis] = (0, inner - 1)
        out = lax.slice_in_dim(x, 1, inner + 1, axis=axis) + jnp.pad(first, pad)
        pad[axis] = (inner - 1, 0)
        return out + jnp.pad(last, pad)

    return fold(fold(padded, 0), 1)


def compute_dtype(mdp: TabularMDP, *arrays: Array) -> np.dtype:
    """The float dtype planners compute in: the MDP's (its initial distribution's and transition
    table's, float32 as the builders make them) promoted with each array's. A bfloat16, float16
    or integer reward plans in float32, a float64 one (under `jax_enable_x64`) in float64."""
    tables = (mdp.initial, mdp.transition, mdp.prob, mdp.band_prob, mdp.move_prob)
    return jnp.result_type(*(t for t in tables if t is not None), *arrays)


def check_policy(mdp: TabularMDP, policy: Array) -> None:
    """Raise ConfigError unless `policy` is `[S, A]` or `[H, S, A]` for this MDP (a transposed
    `[A, S]` or one action short broadcast into a TypeError, or sampled out-of-range actions)
    and, where it is concrete, each row a distribution over actions: finite, >= 0, summing to
    1 (a plan's `q_values`, of the same shape, gave a value difference of -1.5e8 and a
    visitation of mass 4e7; a NaN policy sampled action 0 throughout). A traced policy is
    checked for its shape alone."""
    shape = tuple(getattr(policy, "shape", ()))
    want = (mdp.num_states, mdp.num_actions)
    if len(shape) not in (2, 3) or shape[-2:] != want:
        raise ConfigError(f"policy must have shape [S, A] = {want} or [H, S, A], got {shape}")
    p = jnp.asarray(policy)
    # (a bfloat16 softmax over 5 actions sums to 0.9985: the tolerance follows the precision)
    tol = ROW_TOL
    if jnp.issubdtype(p.dtype, jnp.floating):
        tol = max(tol, float(jnp.finfo(p.dtype).eps) * p.shape[-1])
    sums = p.sum(-1, dtype=jnp.promote_types(p.dtype, jnp.float32))
    ok = jnp.isfinite(p).all() & (p >= 0).all() & (jnp.abs(sums - 1) <= tol).all()
    try:  # (one pass on the device; the host sees the array only to name a bad row)
        ok = bool(ok)
    except tracer_errors():
        return
    if not ok:
        check_distribution("policy", np.asarray(p, np.float64), axis=p.ndim - 1)


def state_action_reward(mdp: TabularMDP, reward: Array) -> Array:
    """`[S]` or `[S, A]` reward as `[S, A]`, in `compute_dtype` (an integer one as float32).
    Raises ConfigError for another shape (a transposed `[A, S]`, one state short) or a dtype that
    is no number."""
    reward = jnp.asarray(reward)
    shapes = ((mdp.num_states,), (mdp.num_states, mdp.num_actions))
    if reward.shape not in shapes:
        raise ConfigError(
            f"reward must have shape [S] = {shapes[0]} or [S, A] = {shapes[1]}, got {reward.shape}"
        )
    real = (jnp.floating, jnp.integer, jnp.bool_)
    if not any(jnp.issubdtype(reward.dtype, kind) for kind in real):
        raise ConfigError(f"reward must hold real numbers, got {reward.dtype}")
    reward = reward.astype(compute_dtype(mdp, reward))
    if reward.ndim == 1:
        return jnp.broadcast_to(reward[:, None], (mdp.num_states, mdp.num_actions))
    return reward


# --------------------------------------------------------------------------- value iteration


#: Reductions over at most this many actions are unrolled into elementwise ops (see below).
_UNROLL_ACTIONS = 16


def _over_actions(op, x: Array) -> Array:
    """Reduce the action axis (axis 1 of `[S, A, ...]`) with a binary elementwise `op`.

    With few actions the reduction is unrolled into A − 1 elementwise ops on column slices:
    XLA:CPU hands a reduce over a short minor axis to its YNNPACK fusion, which runs it about 10×
    slower than the plain loop fusion that the unrolled form gets (measured: 480 vs 42 µs for
    [16384, 5], see benchmarks/tabular.py).
    """
    num_actions = x.shape[1]
    if num_actions > _UNROLL_ACTIONS:
        reducer = {jnp.add: jnp.sum, jnp.maximum: jnp.max}[op]
        return reducer(x, axis=1)
    out = x[:, 0]
    for a in range(1, num_actions):
        out = op(out, x[:, a])
    return out


def sum_actions(x: Array) -> Array:
    """Σ_a x[:, a]: `[S, A, ...] -> [S, ...]`."""
    return _over_actions(jnp.add, x)


def _soft_backup(q: Array) -> tuple[Array, Array]:
    """V = logsumexp_a Q and π = exp(Q − V), with one exp per entry (π = e / Σ e). q: [S, A]."""
    top = lax.stop_gradient(_over_actions(jnp.maximum, q))
    e = jnp.exp(q - top[:, None])
    total = sum_actions(e)
    return top + jnp.log(total), e / total[:, None]


#: Actions whose Q is within this fraction of the best (at least of 1, or of the reward's
#: largest |r| if that is smaller, `_reward_unit`: a reward scaled down plans as it did) tie in
#: `_hard_backup`: the
#: transition formats sum Q in different orders, some ulps apart after a horizon of backups, and
#: an exact comparison broke ties of equal values differently by format (MWAL on a 6x6 gridworld,
#: the same demos: EVD 6.13 sparse, 6.12 dense, 5.05 grid; 6.09, 6.13, 6.04 now). A looser
#: 1e-5 brought them within 0.2% but tied actions a learned reward truly ranks: the objectworld
#: quality table's linear MaxEnt EVDs rose by up to 1.1 (of a random policy's 60.7); at 1e-6 they
#: move by at most 0.05 (`benchmarks/tabular.py --full --sections quality`).
TIE_TOLERANCE = 1e-6


def _hard_backup(q: Array, unit: Array | float = 1.0) -> tuple[Array, Array]:
    """V = max_a Q and the greedy one-hot π (ties, within `TIE_TOLERANCE` of max(|V|, unit):
    the lowest action index). q: [S, A]; unit: the tolerance's floor (`_reward_unit`)."""
    best = _over_actions(jnp.maximum, q)
    near = best - TIE_TOLERANCE * jnp.maximum(unit, jnp.abs(best))
    near = jnp.where(jnp.isinf(best), best, near)  # (inf − inf: NaN, an all-zero row)
    first = jnp.full(best.shape, q.shape[1], jnp.int32)
    for a in reversed(range(q.shape[1])):
        first = jnp.where(q[:, a] >= near, a, first)
    return best, jax.nn.one_hot(first, q.shape[1], dtype=q.dtype)


def check_finite_discount(discount) -> None:
    """Raise ConfigError for a concrete discount outside [0, 1] (NaN included) with a finite
    horizon; a traced one is not checked."""
    try:
        concrete = float(discount)
    except (*tracer_errors(), TypeError):
        return
    if not 0.0 <= concrete <= 1.0:
        raise ConfigError(f"discount must be in [0, 1], got {discount}")


def _backward(expect, r, backup, horizon, discount) -> Plan:
    """The finite-horizon backward pass: H steps from V_H = 0, so Q_{H-1} = r exactly.

    Args:
      expect: v [S, ...] -> [S, A, ...] (see `Operators`).
      r: [S, A, ...] reward (trailing columns: several problems).
      backup: q [S, A, ...] -> (v [S, ...], π [S, A, ...]).
    Returns:
      `Plan` with values [H, S, ...], q_values and policy [H, S, A, ...], written by the scan in
      place (under jit, outputs that nobody reads are never stored).
    """

    def step(v_next, _):
        q = r + discount * expect(v_next)
        v, pi = backup(q)
        return v, (v, q, pi)

    _, (v, q, pi) = lax.scan(step, _state_zeros(r), None, length=horizon, reverse=True)
    return Plan(values=v, q_values=q, policy=pi)


def _reward_unit(r: Array) -> Array:
    """The floor `[]` of the greedy tie tolerance and of the fixed point's stopping rule: 1, or
    the reward's largest finite |r| where that is smaller. A floor of 1 alone tied every action
    of a reward scaled by 1e-7; the largest |r| alone let one large penalty (−1e6 on a single
    action) tie every action of every state."""
    return jnp.minimum(1.0, jnp.max(jnp.where(jnp.isfinite(r), jnp.abs(r), 0.0)))


def _state_zeros(r: Array) -> Array:
    """Zero values `[S, ...]` for a reward `[S, A, ...]`."""
    return jnp.zeros(r.shape[:1] + r.shape[2:], r.dtype)


def _iterate(mdp, reward, backup, horizon, discount, tol, max_iterations, unit=1.0) -> Plan:
    if horizon is not None:
        horizon = _check_horizon(horizon)
        check_finite_discount(discount)
    r = state_action_reward(mdp, reward)
    return _plan(
        transition_operators(mdp).expect, r, backup, horizon, discount, tol, max_iterations, unit
    )


def _plan(expect, r, backup, horizon, discount, tol, max_iterations, unit=1.0) -> Plan:
    """Value iteration on `r: [S, A, ...]`: the backward pass, or the discounted fixed point
    (stopping relative to max(‖V‖, unit))."""
    if horizon is not None:
        return _backward(expect, r, backup, horizon, discount)

    def update(v):
        return backup(r + discount * expect(v))[0]

    v = _fixed_point(update, _state_zeros(r), discount, tol, max_iterations, unit=unit)
    q = r + discount * expect(v)
    v, pi = backup(q)
    return Plan(values=v, q_values=q, policy=pi)


def _sup_norm(x: Array) -> Array:
    """‖x‖∞: value iteration contracts in it."""
    return jnp.max(jnp.abs(x))


def _mass_norm(x: Array) -> Array:
    """‖x‖₁ over states `[S, ...]` (the largest over any trailing axes): a visitation's
    fixed-point map contracts in it, not in ‖·‖∞ (mass spread thin can still gather)."""
    return jnp.max(jnp.sum(jnp.abs(x), axis=0))


def _fixed_point(update, x0, discount, tol, max_iterations, norm=_sup_norm, unit=1.0):
    """Iterate a γ-contraction in `norm` until the error bound γ/(1−γ)·‖Δ‖ ≤ tol·max(unit, ‖x‖)
    (`unit`: the scale below which ‖x‖ counts as 0; 1 for a visitation's mass and soft values,
    whose entropy terms are O(1), the reward's `_reward_unit` for hard and policy values),
    or until an iteration changes nothing, or `max_iterations` (silently: no flag is returned).

    Precision: the bound needs ‖Δ‖ ≤ tol·(1−γ)/γ·‖x‖, below one float32 ulp of x once
    tol·(1−γ) ≲ 6e-8 (γ ≳ 0.995 at tol = 1e-5). There x stops changing from rounding and the
    loop stops with an error up to ~γ/(1−γ)·ε·‖x‖ (measured: 2.4× tol at γ = 0.999), or runs
    to the cap. For such discounts plan in float64 (`jax_enable_x64` and a float64 reward: see
    `compute_dtype`) or with a finite horizon.

    Raises ConfigError for a concrete discount outside [0, 1): there is no fixed point to reach
    (the loop would run `max_iterations` and return whatever it held)."""
    try:  # a Python, NumPy or concrete JAX scalar; a traced one is not checked
        concrete = float(discount)
    except (*tracer_errors(), TypeError):
        concrete = 0.0
    if not 0.0 <= concrete < 1.0:
        raise ConfigError(
            f"an infinite horizon (horizon=None) needs 0 <= discount < 1, got {discount}; pass "
            f"a finite horizon for an undiscounted problem"
        )
    factor = discount / jnp.maximum(1.0 - discount, 1e-12)

    def cond(carry):
        _, err, i = carry
        return jnp.logical_and(err > 0, i < max_iterations)

    def body(carry):
        x, _, i = carry
        x_new = update(x)
        bound = factor * norm(x_new - x)
        scale = jnp.maximum(unit, norm(x_new))
        return x_new, jnp.where(bound > tol * scale, bound, 0.0), i + 1

    x, _, _ = lax.while_loop(cond, body, (x0, jnp.ones((), x0.dtype), jnp.zeros((), jnp.int32)))
    return x


def _check_horizon(horizon) -> int:
    """`horizon` as a Python int (a NumPy integer is taken; a bool, a float or a traced value
    is refused: the horizon is a scan length, static)."""
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
        raise ConfigError(f"horizon must be a positive int (static), got {horizon!r}")
    return int(horizon)


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
      tol, max_iterations: stopping rule of the infinite-horizon loop (relative error bound;
        float32 cannot certify it for γ ≳ 0.995, see `_fixed_point`).
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
    """Hard (Bellman optimality) value iteration; the policy is greedy one-hot (ties within
    `TIE_TOLERANCE`, relative to the reward's scale). See the soft version."""
    unit = _reward_unit(jnp.asarray(reward))  # (the same for [S] as broadcast to [S, A])
    backup = functools.partial(_hard_backup, unit=unit)
    return _iterate(mdp, reward, backup, horizon, discount, tol, max_iterations, unit)


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
    check_policy(mdp, policy)
    r = state_action_reward(mdp, reward)
    r = r.astype(compute_dtype(mdp, r, policy))  # (a float64 policy of a float32 reward)
    expect = transition_operators(mdp).expect
    horizon = _policy_horizon(policy, horizon)
    if horizon is None:

        def update(v):
            return _expected_value(policy, r + discount * expect(v))

        v0 = jnp.zeros(mdp.num_states, r.dtype)
        v = _fixed_point(update, v0, discount, tol, max_iterations, unit=_reward_unit(r))
        q = r + discount * expect(v)
        return Plan(values=_expected_value(policy, q), q_values=q, policy=policy)
    check_finite_discount(discount)

    def step(v_next, t):
        q = r + discount * expect(v_next)
        v = _expected_value(_policy_at(policy, t), q)
        return v, (v, q)

    v_horizon = jnp.zeros(mdp.num_states, r.dtype)
    _, (v, q) = lax.scan(step, v_horizon, jnp.arange(horizon), reverse=True)
    return Plan(values=v, q_values=q, policy=_time_indexed(policy, horizon))


def _expected_value(policy: Array, q: Array) -> Array:
    """Σ_a π(a|s) Q(s, a) `[S]`, an action the policy never takes counting 0 even where its Q
    is −inf (a masked action; 0·(−inf) would be NaN)."""
    return sum_actions(jnp.where(policy > 0, policy * q, 0.0))


def _policy_horizon(policy: Array, horizon: int | None) -> int | None:
    if policy.ndim == 3:
        if horizon is not None and horizon != policy.shape[0]:
            raise ConfigError(
                f"policy has {policy.shape[0]} time steps but horizon={horizon}; pass one of them"
            )
        return policy.shape[0]
    if horizon is not None:
        horizon = _check_horizon(horizon)
    return horizon


def _policy_at(policy: Array, t: Array) -> Array:
    """π_t [S, A] of a time-indexed [H, S, A] (a dynamic slice, no copy) or stationary policy."""
    return policy[t] if policy.ndim == 3 else policy


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
    check_policy(mdp, policy)
    horizon = _policy_horizon(policy, horizon)
    push = transition_operators(mdp).push
    d0 = mdp.initial.astype(compute_dtype(mdp, policy))  # the dtype that the flow comes in
    if horizon is None:
        if time_indexed:
            raise ConfigError("time_indexed visitation needs a finite horizon")
        return _forward_discounted(push, d0, policy, discount, tol, max_iterations)
    check_finite_discount(discount)
    if time_indexed:
        return _forward_time_indexed(push, d0, policy, horizon)
    return _forward_summed(push, d0, lambda t: _policy_at(policy, t), horizon, discount)


def _forward_discounted(push, d0, policy, discount, tol, max_iterations) -> Visitation:
    """The fixed point D = d0 + γ push(D π) of a stationary policy [S, A, ...]; d0: [S, ...]."""

    def update(d):
        return d0 + discount * push(d[:, None] * policy)

    d = _fixed_point(update, d0, discount, tol, max_iterations, norm=_mass_norm)
    return Visitation(state=d, state_action=d[:, None] * policy)


def _forward_time_indexed(push, d0: Array, policy: Array, horizon: int) -> Visitation:
    """D_t [H, S] and D_t π_t [H, S, A] (the last push is computed and dropped)."""

    def step(d, t):
        flow = d[:, None] * _policy_at(policy, t)
        return push(flow), (d, flow)

    _, (d, flow) = lax.scan(step, d0, jnp.arange(horizon))
    return Visitation(state=d, state_action=flow)


def _forward_summed(push, d0: Array, policy_at, horizon: int, discount) -> Visitation:
    """Σ_t γ^t D_t π_t [S, A, ...], accumulated in the carry: nothing of size [H, S, A] is stored.

    Args:
      d0: [S, ...] initial distribution (trailing columns: several problems).
      policy_at: t -> π_t [S, A, ...], for t traced in [0, H − 2] and for the int H − 1.
    """

    def step(carry, t):
        d, weight, state, total = carry
        flow = d[:, None] * policy_at(t)
        return (push(flow), weight * discount, state + weight * d, total + weight * flow), None

    # The state sum is its own carry, so that XLA drops the [S, A] one where it goes unread.
    last_flow = jax.eval_shape(policy_at, horizon - 1)
    init = (d0, jnp.ones((), d0.dtype), jnp.zeros_like(d0), jnp.zeros(last_flow.shape, d0.dtype))
    (d_last, weight, state, total), _ = lax.scan(step, init, jnp.arange(horizon - 1))
    total = total + weight * d_last[:, None] * policy_at(horizon - 1)
    return Visitation(state=state + weight * d_last, state_action=total)


# --------------------------------------------------------------------------- soft visitation

#: Above this many bytes, `soft_visitation` recomputes π_t in its forward pass instead of
#: storing [H, S, A, ...] (band and grid formats): a fresh buffer that size costs page faults
#: and a zero fill, and it no longer stays in cache. Measured (benchmarks/tabular.py, 2-core EPYC,
#: 32 MB L3): storing is faster for an 8 MB policy (64x64 gridworld, H = 100: 8.6 vs 10.6 ms),
#: recomputing for a 33 MB one (128x128, H = 100) and beyond.
POLICY_STORE_BYTES = 16 * 2**20


def soft_visitation(
    mdp: TabularMDP,
    reward: Array,
    *,
    horizon: int | None = None,
    discount: float = 1.0,
    tol: float = 1e-5,
    max_iterations: int = 10_000,
) -> tuple[Array, Visitation]:
    """The log partition and visitation of the soft-optimal policy: soft VI, then `visitation`.

    What the MaxEnt gradients need, in one call that stores no [H, S, A] policy when that is large
    and the transitions are shifts (band and grid formats: π_t ∝ exp(Q_t − V_t) is recomputed
    from the stored values, see `POLICY_STORE_BYTES`), and that batches well:

    * under `jax.vmap` over rewards with the MDP shared, the batch is carried as trailing columns
      `[S, A, B]` (batch minor and contiguous; see `Operators`) instead of vmap's `[B, S, A]`,
      by a `jax.custom_batching.custom_vmap` rule; nested vmaps (seeds × problems) nest
      columns. When the dynamics or the initial distribution are batched too, plain vmap.
    * reverse-mode derivatives with respect to the reward are exact and free: ∂ log Z / ∂r is
      the returned state-action visitation (`jax.custom_vjp`; the maximum causal entropy
      identity). The MDP is treated as a constant; differentiating the visitation itself, or
      forward mode (`jax.jvp`), raises: use `soft_value_iteration` and `visitation` for that
      (finite horizon only: the infinite-horizon planners are `lax.while_loop`s, which reverse
      mode cannot differentiate).

    Args:
      reward: [S] or [S, A].
      horizon, discount, tol, max_iterations: as in `soft_value_iteration` (`discount` a float).
    Returns:
      (log partition initial · V_0 [], `Visitation` summed with weights γ^t: state [S],
      state_action [S, A]). Under jit, an unread state_action is never accumulated.
    """
    if horizon is not None:
        horizon = _check_horizon(horizon)
        check_finite_discount(discount)
    try:  # (compiled into the custom vmap and vjp rules: one program per discount)
        discount = float(discount)
    except tracer_errors():
        raise ConfigError(
            "soft_visitation takes discount as a Python float, not a traced value; to vmap or "
            "differentiate over the discount use soft_value_iteration and visitation"
        ) from None
    solve = _batched_soft_visitation(horizon, discount, tol, max_iterations)
    planned = mdp.replace(features=None, reward=None)  # only dynamics and initial are read
    return solve(lax.stop_gradient(planned), state_action_reward(mdp, reward))


def _soft_visitation_columns(mdp, r, *, horizon, discount, tol, max_iterations):
    """`soft_visitation` for `r: [S, A, ...]` (trailing columns: problems sharing the MDP).

    Returns (log partition [...], `Visitation` summed: state [S, ...], state_action [S, A, ...]).
    """
    # Recomputing costs one more `expect` per step: worth it where that is shifts (band, grid),
    # not matrix products or gathers (gather format, 128x128, H = 100: 204 vs 125 ms).
    shifts = mdp.format == "grid" or mdp.band_prob is not None
    recompute = (
        horizon is not None and shifts and horizon * r.size * r.itemsize > POLICY_STORE_BYTES
    )
    ops = transition_operators(mdp, materialised_flow=recompute or r.ndim > 2)
    plan = _plan(ops.expect, r, _soft_backup, horizon, discount, tol, max_iterations)
    d0 = jnp.broadcast_to(_expand_like(mdp.initial.astype(r.dtype), r[:, 0]), r[:, 0].shape)
    if horizon is None:
        vis = _forward_discounted(ops.push, d0, plan.policy, discount, tol, max_iterations)
        return _log_partition(mdp, plan.values), vis
    if recompute:  # under jit the backward scan then stores the values only
        policy_at = _recomputed_policy(ops.expect, r, plan.values, discount, horizon)
    else:
        policy_at = plan.policy.__getitem__  # t -> π_t
    vis = _forward_summed(ops.push, d0, policy_at, horizon, discount)
    return _log_partition(mdp, plan.values[0]), vis


def _log_partition(mdp: TabularMDP, v0: Array) -> Array:
    """initial · V_0: v0 [S, ...] -> [...]."""
    return jnp.tensordot(mdp.initial, v0, axes=1)


def _recomputed_policy(expect, r: Array, values: Array, discount, horizon: int):
    """t -> π_t from the stored values: Q_t = r + γ T V_{t+1} (V_H = 0), π_t ∝ exp(Q_t − V_t).

    Normalised by its own sum, so that each π_t sums to 1 as a stored one does (exp(Q − V)
    alone drifts: V rounds to its magnitude, H·max r, and the error enters every action alike).
    """

    def policy_at(t):
        if isinstance(t, int) and t == horizon - 1:
            q = r
        else:
            q = r + discount * expect(values[t + 1])
        e = jnp.exp(q - values[t][:, None])
        return e / sum_actions(e)[:, None]

    return policy_at


#: Fewer columns than this (problems batched by `vmap`) are padded to this many on the CPU for
#: the band and grid formats, or, below half of it, run one after another: their shifts over a
#: few trailing columns compile to slow loops.
#: Measured (`vmap` of `soft_visitation` against one call times B, 2-core AVX-512 EPYC, 32x32
#: gridworld, H = 64): B = 2, 4, 8 took 0.37, 0.22, 0.40 times the throughput of calls one by
#: one, B = 16 and 32 2.3 and 2.5 times; 64x64, H = 100: 0.47, 0.68, 0.71, then 2.2 and 1.9.
#: Dense products batch from 4 columns on (1.8x at B = 4), so they always take columns.
MIN_SHIFT_COLUMNS = 16


def _batched_soft_visitation(horizon, discount, tol, max_iterations):
    """`_soft_visitation_columns` with the vmap rule and the VJP that `soft_visitation` documents.

    Returns (mdp, r [S, A, ...]) -> (log partition [...], `Visitation` [S, ...], [S, A, ...]).
    """
    solve = functools.partial(
        _soft_visitation_columns,
        horizon=horizon,
        discount=discount,
        tol=tol,
        max_iterations=max_iterations,
    )
    columns = jax.custom_batching.custom_vmap(solve)
    out_batched = (True, Visitation(True, True))

    @columns.def_vmap
    def batch_as_columns(axis_size, in_batched, mdp, r):
        mdp_batched, r_batched = in_batched
        if any(jax.tree.leaves(mdp_batched)) or not r_batched:  # own dynamics: plain vmap
            mdp_axes = jax.tree.map(lambda b: 0 if b else None, mdp_batched)
            in_axes = (mdp_axes, 0 if r_batched else None)
            return jax.vmap(solve, in_axes=in_axes)(mdp, r), out_batched
        shifts = mdp.format == "grid" or mdp.band_prob is not None
        width = axis_size * math.prod(r.shape[3:])  # columns, with those of an inner vmap
        if shifts and width < MIN_SHIFT_COLUMNS and jax.default_backend() == "cpu":
            if 2 * width < MIN_SHIFT_COLUMNS:
                # one problem after another, in one program (an outer vmap batches each)
                return lax.map(lambda one: columns(mdp, one), r), out_batched
            # half as many or more: padded to that many columns (zero rewards, dropped), which
            # cost less than the problems one by one
            padding = jnp.zeros((MIN_SHIFT_COLUMNS - axis_size, *r.shape[1:]), r.dtype)
            out = columns(mdp, jnp.moveaxis(jnp.concatenate([r, padding]), 0, -1))
            out = jax.tree.map(lambda x: jnp.moveaxis(x, -1, 0)[:axis_size], out)
            return out, out_batched
        out = columns(mdp, jnp.moveaxis(r, 0, -1))  # [S, A, ..., B]: the batch as a column
        return jax.tree.map(lambda x: jnp.moveaxis(x, -1, 0), out), out_batched

    exact = jax.custom_vjp(columns)

    def forward(mdp, r):
        out = columns(*jax.tree.map(lambda p: p.value, (mdp, r)))
        return out, out[1].state_action

    def backward(state_action, cotangents):
        d_log_z, d_visitation = cotangents
        zero = jax.custom_derivatives.SymbolicZero
        if not all(isinstance(d, zero) for d in d_visitation):
            raise NotImplementedError(
                "soft_visitation differentiates its log partition only; differentiate "
                "soft_value_iteration + visitation (finite horizon) to get derivatives of the "
                "visitation"
            )
        if isinstance(d_log_z, zero):
            return None, jnp.zeros_like(state_action)
        return None, d_log_z * state_action  # ∂ log Z / ∂r(s, a) = Σ_t γ^t D_t(s) π_t(a | s)

    exact.defvjp(forward, backward, symbolic_zeros=True)
    return exact


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
    backwards alongside the values: W_{H-1} = Σ_a π φ, W_t = Σ_a π_t (φ + γ T W_{t+1}) (for
    state features φ(s, a) = f(s): W_t = f + γ Σ_a π_t T W_{t+1}), and
    Σ_t γ^t D_t·φ = initial · W_0. Both V and W are propagated through T together, so T is read
    once per step instead of twice (dense MDPs are memory-bound, see benchmarks/tabular.py); it
    pays only while the number of features F is small.

    Args:
      reward: [S] or [S, A].
      features: [S, A, F] state-action features φ, or [S, F] state features f.
      horizon: finite horizon H.
    Returns:
      (expected feature counts [F], initial soft value initial · V_0 [] = log partition).
    """
    chex.assert_rank(features, {2, 3})
    per_state = features.ndim == 2
    horizon = _check_horizon(horizon)
    check_finite_discount(discount)
    r = state_action_reward(mdp, reward)
    dtype = compute_dtype(mdp, r, features)  # the values and counts share one carry dtype
    r, features = r.astype(dtype), features.astype(dtype)
    expect = transition_operators(mdp).expect
    v_last, pi_last = _soft_backup(r)
    # Σ_a as unrolled elementwise sums: an einsum here is S batched [1, A] @ [A, F] products.
    w_last = features if per_state else sum_actions(pi_last[..., None] * features)

    def step(carry, _):
        vw = jnp.concatenate([carry[0][:, None], carry[1]], axis=1)  # [S, 1 + F]
        nxt = expect(vw)  # [S, A, 1 + F]
        v, pi = _soft_backup(r + discount * nxt[..., 0])
        if per_state:  # (Σ_a π_t = 1)
            w = features + discount * sum_actions(pi[..., None] * nxt[..., 1:])
        else:
            w = sum_actions(pi[..., None] * (features + discount * nxt[..., 1:]))
        return (v, w), None

    (v0, w0), _ = lax.scan(step, (v_last, w_last), None, length=horizon - 1)
    return mdp.initial @ w0, mdp.initial @ v0
