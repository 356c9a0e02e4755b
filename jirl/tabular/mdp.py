"""Tabular MDPs: one pytree, three transition formats, validated builders.

A `TabularMDP` stores its transitions in exactly one of three formats:

* dense: `transition [S, A, S]`, `transition[s, a, s'] = P(s' | s, a)`; planners use matrix
  products on the `[S·A, S]` reshape backwards, and forwards on `transition_t [S, S·A]`, the same
  numbers in the transposed layout (built here once; XLA:CPU's matrix-vector product is about
  twice as fast as its vector-matrix product, and each pass is bound by reading T). It doubles
  the memory; `dense_mdp(..., transposed=False)` skips it and planners fall back to `u @ T`.
* sparse: `next_state [S, A, K]` int32 and `prob [S, A, K]`: the K possible successors of each
  (s, a). Two derived tables, both computed once here in NumPy, make planning fast:
  - a band (diagonal) table when the successors lie at few distinct index offsets s' − s (a
    gridworld has 5: 0, ±1, ±cols): `band_prob [Δ, S, A]`, P(s + δ | s, a) for each offset δ in
    `band_offsets`. Both passes are then shifted copies and multiply-adds, with no gather or
    scatter at all, and they stay vectorised under `vmap`;
  - otherwise a predecessor table (`pred_sa`, `pred_prob`) for visitation, a gather instead of a
    scatter-add, because XLA's CPU scatter is serial.
* grid: translation-invariant dynamics on a `rows × cols` grid: action a moves by displacement
  `moves[d]` with probability `move_prob[a, d]`, and a move off the grid stays put. This is the
  same MDP as the sparse gridworld, but planners use shifted copies of the value grid instead of
  gathers (the stencil is the same in every cell), which is many times faster on CPU.

The gridworld and objectworld follow Levine, Popović & Koltun, "Nonlinear Inverse Reinforcement
Learning with Gaussian Processes", NeurIPS 2011, §5 (objectworld: objects with an outer and an
inner colour; the true reward is +1 within distance 3 of outer colour 0 *and* within distance 2 of
outer colour 1, −1 within distance 3 of colour 0 only, 0 elsewhere). Garnet MDPs follow Archibald
et al. 1995 (random MDPs with a fixed branching factor).

Validation runs on the host (NumPy), never inside jit: every builder calls `validate_mdp`.
"""

from __future__ import annotations

import operator

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jirl.errors import ConfigError, is_int, is_real, short

Array = jax.Array

#: Displacements (row, col) of the five gridworld actions: stay, up, down, left, right.
GRID_MOVES = ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1))
ROW_TOL = 1e-4


@struct.dataclass
class TabularMDP:
    """A finite MDP with known dynamics (one of three transition formats, see module doc).

    Attributes:
      initial: [S] initial state distribution.
      transition: [S, A, S] dense transition probabilities, or None.
      transition_t: [S, S·A] the same probabilities transposed, `transition_t[s', s·A + a]`
        (dense; derived, for the forward pass), or None.
      next_state: [S, A, K] int32 successor indices (sparse format), or None.
      prob: [S, A, K] successor probabilities (sparse format), or None.
      pred_sa: [S, M] int32 flat `s * A + a` index of each predecessor entry of a state (sparse).
      pred_prob: [S, M] probability of that entry; 0 pads a state with fewer than M entries.
      band_prob: [Δ, S, A] P(s + band_offsets[i] | s, a) (sparse; derived), or None.
      move_prob: [A, D] probability of each displacement per action (grid format), or None.
      features: [S, F] state features, or None.
      reward: [S] or [S, A] true reward, when known (builders set it; metrics and envs use it).
      grid_shape: (rows, cols) of the state grid (grid format; also set for grid builders).
      moves: D displacements (row, col) of the grid format.
      band_offsets: the Δ index offsets s' − s of `band_prob`, sorted.
      num_actions_static: A, kept static so every format knows it without tracing.
    """

    initial: Array
    transition: Array | None = None
    transition_t: Array | None = None
    next_state: Array | None = None
    prob: Array | None = None
    pred_sa: Array | None = None
    pred_prob: Array | None = None
    band_prob: Array | None = None
    move_prob: Array | None = None
    features: Array | None = None
    reward: Array | None = None
    grid_shape: tuple[int, int] | None = struct.field(pytree_node=False, default=None)
    moves: tuple[tuple[int, int], ...] | None = struct.field(pytree_node=False, default=None)
    band_offsets: tuple[int, ...] | None = struct.field(pytree_node=False, default=None)
    num_actions_static: int = struct.field(pytree_node=False, default=0)

    @property
    def num_states(self) -> int:
        return self.initial.shape[-1]

    @property
    def num_actions(self) -> int:
        return self.num_actions_static

    @property
    def format(self) -> str:
        """`"dense"`, `"sparse"` or `"grid"`."""
        if self.transition is not None:
            return "dense"
        if self.next_state is not None:
            return "sparse"
        return "grid"

    @property
    def num_features(self) -> int:
        return 0 if self.features is None else self.features.shape[-1]


# --------------------------------------------------------------------------- construction


def dense_mdp(
    transition, initial, *, features=None, reward=None, transposed: bool = True
) -> TabularMDP:
    """A validated MDP with dense transitions `[S, A, S]`.

    `transposed=True` (default) also stores `transition_t [S, S·A]` for the forward pass: about
    twice as fast on CPU, at twice the memory (see module doc).
    """
    transition = _real("transition", transition)
    if transition.ndim != 3 or transition.shape[0] != transition.shape[2] or not transition.size:
        raise ConfigError(
            f"transition must have shape [S, A, S] with S, A >= 1, got {transition.shape}"
        )
    num_states = transition.shape[0]
    transition = _normalised("transition", transition, axis=2)
    mdp = TabularMDP(
        initial=jnp.asarray(_normalised("initial", initial, axis=0)),
        transition=jnp.asarray(transition),
        transition_t=(
            jnp.asarray(np.ascontiguousarray(transition.reshape(-1, num_states).T))
            if transposed
            else None
        ),
        features=_opt("features", features),
        reward=_opt("reward", reward),
        num_actions_static=transition.shape[1],
    )
    validate_mdp(mdp)
    return mdp


#: the most diagonals `sparse_mdp` makes a band table of by default (`to_sparse` of a dense
#: MDP has K = S successors: 2S − 1 bands unrolled compiled and ran slower than the gathers)
MAX_BANDS = 32
#: the predecessor table `[S, largest in-degree]` is built only within this many times the
#: entries it holds (one state every other leads to made it S × S·A: 120 MiB and 1,000× slower
#: visitation than the scatter at S = 2,000)
MAX_PREDECESSOR_PADDING = 8


def sparse_mdp(
    next_state,
    prob,
    initial,
    *,
    features=None,
    reward=None,
    predecessors: bool = True,
    max_bands: int | None = None,
) -> TabularMDP:
    """A validated MDP with sparse transitions `next_state, prob: [S, A, K]`.

    Duplicate successors of one (s, a) are allowed. When the successors lie at no more than
    `max_bands` distinct offsets s' − s (default: 2K + 1, at most `MAX_BANDS`: each band is one
    pass over `[S, A]`, unrolled), the band table is built and used by every planner (see module
    doc; 0 turns it off). Otherwise, with `predecessors=True` (default) the predecessor table
    used by `visitation` is built here, unless a state of large in-degree (a reset state) would
    pad it to more than `MAX_PREDECESSOR_PADDING` times its entries; without it visitation
    scatter-adds.
    """
    next_state = np.asarray(next_state)
    prob = _real("prob", prob)
    if next_state.ndim != 3 or next_state.shape != prob.shape or not next_state.size:
        raise ConfigError(
            f"next_state and prob must both have shape [S, A, K] with S, A, K >= 1, got "
            f"{next_state.shape} and {prob.shape}"
        )
    if not np.issubdtype(next_state.dtype, np.integer):
        raise ConfigError(f"next_state must hold integer state indices, got {next_state.dtype}")
    # before int32: 2**32 would wrap to a valid-looking 0 (and the band table, built from
    # these, would span 4e9 offsets)
    _check_successors(next_state, np.asarray(initial).size)
    prob = _normalised("prob", prob, axis=2)
    mdp = TabularMDP(
        initial=jnp.asarray(_normalised("initial", initial, axis=0)),
        next_state=jnp.asarray(next_state, jnp.int32),
        prob=jnp.asarray(prob),
        features=_opt("features", features),
        reward=_opt("reward", reward),
        num_actions_static=next_state.shape[1],
    )
    validate_mdp(mdp)
    if max_bands is None:
        max_bands = min(2 * next_state.shape[-1] + 1, MAX_BANDS)
    offsets = band_offsets(next_state, prob)
    if 0 < len(offsets) <= max_bands:  # counted before the [Δ, S, A] table is allocated
        band = band_table(next_state, prob, offsets)
        return mdp.replace(band_prob=jnp.asarray(band), band_offsets=tuple(int(d) for d in offsets))
    in_degree = np.bincount(next_state[prob > 0], minlength=next_state.shape[0])
    padded = max(int(in_degree.max(initial=0)), 1) * next_state.shape[0]  # predecessor_table's
    if predecessors and padded <= MAX_PREDECESSOR_PADDING * max(int(in_degree.sum()), 1):
        pred_sa, pred_prob = predecessor_table(next_state, prob)
        mdp = mdp.replace(pred_sa=jnp.asarray(pred_sa), pred_prob=jnp.asarray(pred_prob))
    return mdp


def grid_mdp(
    grid_shape, move_prob, initial, *, moves=GRID_MOVES, features=None, reward=None
) -> TabularMDP:
    """A validated translation-invariant grid MDP (see module doc). `move_prob: [A, D]`."""
    rows, cols = _grid_shape(grid_shape)
    move_prob = _real("move_prob", move_prob)
    moves = tuple((int(dr), int(dc)) for dr, dc in moves)
    if move_prob.ndim != 2 or move_prob.shape[1] != len(moves):
        raise ConfigError(
            f"move_prob must have shape [A, {len(moves)}] (one column per move), "
            f"got {move_prob.shape}"
        )
    if any(abs(dr) > 1 or abs(dc) > 1 for dr, dc in moves):
        raise ConfigError(f"grid moves must be one cell at most in each direction, got {moves}")
    mdp = TabularMDP(
        initial=jnp.asarray(_normalised("initial", initial, axis=0)),
        move_prob=jnp.asarray(_normalised("move_prob", move_prob, axis=1)),
        features=_opt("features", features),
        reward=_opt("reward", reward),
        grid_shape=(rows, cols),
        moves=moves,
        num_actions_static=move_prob.shape[0],
    )
    validate_mdp(mdp)
    return mdp


def _grid_shape(grid_shape) -> tuple[int, int]:
    """`(rows, cols)`, two ints >= 1 (`(3.9, 4)` was a 3x4 grid, three sizes an unpacking
    error)."""
    sequence = isinstance(grid_shape, (tuple, list, np.ndarray, jax.Array))
    shape = tuple(grid_shape) if sequence and getattr(grid_shape, "ndim", 1) == 1 else ()
    if len(shape) != 2 or not all(is_int(n) and n >= 1 for n in shape):
        raise ConfigError(
            f"grid_shape must be two sizes >= 1, got {short(grid_shape)}; pass (rows, cols) as "
            "integers"
        )
    return int(shape[0]), int(shape[1])


def _check_derived_tables(mdp: TabularMDP) -> None:
    """Refuse a sparse MDP whose band or predecessor table (which the planners read instead of
    `next_state, prob`) was derived from other transitions: `mdp.replace(prob=...)` keeps the
    old tables."""
    next_state, prob = np.asarray(mdp.next_state), np.asarray(mdp.prob)
    stale = []
    if mdp.band_prob is not None:
        offsets = band_offsets(next_state, prob)
        if tuple(int(d) for d in offsets) != tuple(mdp.band_offsets or ()) or not np.array_equal(
            band_table(next_state, prob, offsets), np.asarray(mdp.band_prob)
        ):
            stale.append("band_prob")
    if mdp.pred_sa is not None:
        pred_sa, pred_prob = predecessor_table(next_state, prob)
        if not (
            np.array_equal(pred_sa, np.asarray(mdp.pred_sa))
            and np.array_equal(pred_prob, np.asarray(mdp.pred_prob))
        ):
            stale.append("pred_sa/pred_prob")
    if stale:
        raise ConfigError(
            f"{' and '.join(stale)} do not match next_state and prob; rebuild the MDP with "
            "sparse_mdp after changing its transitions"
        )


def _opt(name: str, x):
    """An optional `features` or `reward` as float32, checked by `_real` (None stays None)."""
    return None if x is None else jnp.asarray(_real(name, x))


def predecessor_table(next_state: np.ndarray, prob: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each state, the flat (s·A + a) indices and probabilities of the entries leading to it.

    Returns `pred_sa [S, M]` int32 and `pred_prob [S, M]` float32, M the largest in-degree;
    padding entries have probability 0. Zero-probability entries are dropped first.
    """
    num_states, num_actions, branching = next_state.shape
    dest = next_state.reshape(-1)
    p = prob.reshape(-1)
    sa = np.repeat(np.arange(num_states * num_actions), branching)
    keep = p > 0
    dest, p, sa = dest[keep], p[keep], sa[keep]
    order = np.argsort(dest, kind="stable")
    dest, p, sa = dest[order], p[order], sa[order]
    counts = np.bincount(dest, minlength=num_states)
    width = max(int(counts.max(initial=0)), 1)
    slot = np.arange(dest.size) - np.repeat(np.cumsum(counts) - counts, counts)
    pred_sa = np.zeros((num_states, width), np.int32)
    pred_prob = np.zeros((num_states, width), np.float32)
    pred_sa[dest, slot] = sa
    pred_prob[dest, slot] = p
    return pred_sa, pred_prob


def _offsets(next_state: np.ndarray) -> np.ndarray:
    """s' − s of every entry `[S, A, K]` (int64)."""
    return next_state.astype(np.int64) - np.arange(next_state.shape[0])[:, None, None]


def band_offsets(next_state: np.ndarray, prob: np.ndarray) -> np.ndarray:
    """The distinct offsets δ = s' − s of the nonzero-probability entries, sorted `[Δ]`."""
    return np.unique(_offsets(next_state)[prob > 0])


def band_table(next_state: np.ndarray, prob: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """The transitions as diagonals `band [Δ, S, A]`, P(s + δ | s, a) for each δ of `offsets`
    (`band_offsets`). Zero-probability entries are dropped; duplicate successors are summed.
    """
    num_states, num_actions, _ = next_state.shape
    keep = prob > 0
    band = np.zeros((len(offsets), num_states, num_actions), np.float64)
    s_idx, a_idx, _ = np.indices(next_state.shape)
    which = np.searchsorted(offsets, _offsets(next_state)[keep])
    np.add.at(band, (which, s_idx[keep], a_idx[keep]), prob[keep])
    return band.astype(np.float32)


def validate_mdp(mdp: TabularMDP) -> None:
    """Check shapes, index ranges and probabilities on the host. Raises `ConfigError`."""
    initial = np.asarray(mdp.initial, np.float64)
    if initial.ndim != 1 or initial.size == 0:
        raise ConfigError(f"initial must be a non-empty vector [S], got shape {initial.shape}")
    num_states, num_actions = initial.size, mdp.num_actions
    check_distribution("initial", initial, axis=0)
    if mdp.format == "dense":
        t = np.asarray(mdp.transition, np.float64)
        if t.shape != (num_states, num_actions, num_states):
            raise ConfigError(
                f"transition has shape {t.shape} but initial has {num_states} states; "
                f"expected {(num_states, num_actions, num_states)}"
            )
        check_distribution("transition", t, axis=2)
        if mdp.transition_t is not None and not np.array_equal(
            np.asarray(mdp.transition_t), np.asarray(mdp.transition).reshape(-1, num_states).T
        ):
            raise ConfigError(
                "transition_t is not the transpose of transition; rebuild the MDP with dense_mdp "
                "after changing its transitions"
            )
    elif mdp.format == "sparse":
        idx = np.asarray(mdp.next_state)
        p = np.asarray(mdp.prob, np.float64)
        if idx.shape[:2] != (num_states, num_actions):
            raise ConfigError(
                f"next_state has shape {idx.shape} but initial has {num_states} states; "
                f"expected [{num_states}, {num_actions}, K]"
            )
        _check_successors(idx, num_states)
        check_distribution("prob", p, axis=2)
        _check_derived_tables(mdp)
    else:
        if mdp.grid_shape is None or mdp.move_prob is None:
            raise ConfigError("an MDP needs transitions: dense, sparse or grid (move_prob)")
        rows, cols = mdp.grid_shape
        if rows * cols != num_states:
            raise ConfigError(
                f"grid_shape {mdp.grid_shape} has {rows * cols} cells but initial has "
                f"{num_states} states"
            )
        check_distribution("move_prob", np.asarray(mdp.move_prob, np.float64), axis=1)
    _check_features_and_reward(mdp)


def _check_features_and_reward(mdp: TabularMDP) -> None:
    """`validate_mdp`'s checks of the features `[S, F]` and the reward `[S]` or `[S, A]`."""
    num_states, num_actions = mdp.num_states, mdp.num_actions
    if mdp.features is not None:
        f = np.asarray(mdp.features)
        if f.ndim != 2 or f.shape[0] != num_states:
            raise ConfigError(f"features must have shape [{num_states}, F], got {f.shape}")
        if not np.isfinite(f).all():
            raise ConfigError("features contain NaN or inf; every feature must be finite")
    if mdp.reward is not None:
        r = np.asarray(mdp.reward)
        if r.shape not in ((num_states,), (num_states, num_actions)):
            raise ConfigError(
                f"reward must have shape [{num_states}] or [{num_states}, {num_actions}], "
                f"got {r.shape}"
            )
        if not np.isfinite(r).all():
            raise ConfigError("reward contains NaN or inf; every reward must be finite")


def _check_successors(idx: np.ndarray, num_states: int) -> None:
    """Refuse a successor index outside [0, num_states) (`idx`: [S, A, K] integers)."""
    bad = (idx < 0) | (idx >= num_states)
    if bad.any():
        s, a, k = np.argwhere(bad)[0]
        raise ConfigError(
            f"next_state[{s}, {a}, {k}] = {idx[s, a, k]} is not a state index in "
            f"[0, {num_states}); fix the successor table"
        )


def _real(name: str, x) -> np.ndarray:
    """`x` as a float32 array, refusing what float32 would not hold faithfully (complex numbers
    lost their imaginary part; strings, objects)."""
    raw = np.asarray(x)
    if raw.dtype.kind not in "biuf":
        raise ConfigError(f"{name} must hold real numbers, got dtype {raw.dtype}")
    return raw.astype(np.float32, copy=False)


def _normalised(name: str, p, axis: int) -> np.ndarray:
    """`p` as float32, checked by `check_distribution`, then divided by its sums along `axis`
    (summed in float64): distributions within the tolerance of 1 are made to sum to 1, so that mass
    does not drift over long horizons (rows of 1.00009: visitation mass 1.2 at t = 2,000)."""
    p = _real(name, p)
    if p.ndim != axis + 1 or p.size == 0:  # a wrong shape: `validate_mdp` says which
        return p
    check_distribution(name, p, axis)
    return p / p.sum(axis=axis, dtype=np.float64, keepdims=True).astype(np.float32)


def check_distribution(name: str, p: np.ndarray, axis: int) -> None:
    """ConfigError naming the first entry of `p` that is not finite or is negative, or the
    first distribution along `axis` whose sum is more than `ROW_TOL` from 1."""
    if not np.isfinite(p).all():
        raise ConfigError(f"{name} contains NaN or inf; probabilities must be finite")
    if (p < 0).any():
        where = tuple(int(i) for i in np.argwhere(p < 0)[0])
        raise ConfigError(
            f"{name}{list(where)} = {p[where]:.4g} is negative; probabilities must be >= 0"
        )
    sums = p.sum(axis=axis)
    bad = np.abs(sums - 1.0) > ROW_TOL
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0]) if sums.ndim else ()
        total = sums[where] if sums.ndim else float(sums)
        raise ConfigError(
            f"{name} row {list(where)} sums to {total:.6g}, not 1; normalise each distribution"
        )


# --------------------------------------------------------------------------- conversions


def to_dense(mdp: TabularMDP) -> TabularMDP:
    """The same MDP with dense `[S, A, S]` transitions (host-side; for tests and small MDPs)."""
    if mdp.format == "dense":
        return mdp
    next_state, prob = _successors(mdp)
    num_states, num_actions, _ = next_state.shape
    dense = np.zeros((num_states, num_actions, num_states), np.float64)
    s_idx, a_idx, _ = np.indices(next_state.shape)
    np.add.at(dense, (s_idx, a_idx, next_state), prob)
    t_sa = dense.reshape(-1, num_states).astype(np.float32)
    return mdp.replace(
        transition=jnp.asarray(dense, jnp.float32),
        transition_t=jnp.asarray(np.ascontiguousarray(t_sa.T)),
        next_state=None,
        prob=None,
        pred_sa=None,
        pred_prob=None,
        band_prob=None,
        band_offsets=None,
        move_prob=None,
        moves=None,
    )


def to_sparse(
    mdp: TabularMDP, *, predecessors: bool = True, max_bands: int | None = None
) -> TabularMDP:
    """The same MDP in the sparse format (grid: K = number of moves; dense: K = S)."""
    if mdp.format == "sparse":
        return mdp
    next_state, prob = _successors(mdp)
    out = sparse_mdp(
        next_state,
        prob,
        mdp.initial,
        features=mdp.features,
        reward=mdp.reward,
        predecessors=predecessors,
        max_bands=max_bands,
    )
    return out.replace(grid_shape=mdp.grid_shape)


def _successors(mdp: TabularMDP) -> tuple[np.ndarray, np.ndarray]:
    if mdp.format == "sparse":
        return np.asarray(mdp.next_state), np.asarray(mdp.prob)
    if mdp.format == "dense":
        t = np.asarray(mdp.transition)
        num_states, num_actions, _ = t.shape
        idx = np.broadcast_to(np.arange(num_states), t.shape).astype(np.int32)
        return idx, t
    rows, cols = mdp.grid_shape
    r, c = np.divmod(np.arange(rows * cols), cols)
    dest = np.stack(
        [
            np.clip(r + dr, 0, rows - 1) * cols + np.clip(c + dc, 0, cols - 1)
            for dr, dc in mdp.moves
        ],
        axis=-1,
    )  # [S, D]
    move_prob = np.asarray(mdp.move_prob)
    num_actions = move_prob.shape[0]
    next_state = np.broadcast_to(dest[:, None, :], (rows * cols, num_actions, len(mdp.moves)))
    prob = np.broadcast_to(move_prob[None], next_state.shape)
    return next_state.astype(np.int32), prob.astype(np.float32)


def state_action_features(features: Array, num_actions: int, *, per_action: bool) -> Array:
    """φ(s, a) `[S, A, F']` from state features `[S, F]`.

    `per_action=False`: φ(s, a) = f(s) (a state reward, F' = F). `per_action=True`: one copy of
    f per action, φ(s, a) = f(s) ⊗ e_a (a state-action reward, F' = F·A), as in maximum causal
    entropy IRL with action-dependent rewards.
    """
    num_states, num_features = features.shape
    if not per_action:
        return jnp.broadcast_to(features[:, None, :], (num_states, num_actions, num_features))
    eye = jnp.eye(num_actions, dtype=features.dtype)
    return jnp.einsum("sf,ab->sabf", features, eye).reshape(
        num_states, num_actions, num_actions * num_features
    )


# --------------------------------------------------------------------------- builders


def grid_move_prob(slip: float, num_moves: int = len(GRID_MOVES)) -> np.ndarray:
    """`[A, D]` with A = D: the intended move with 1 − slip, a uniformly random one with slip."""
    return (1.0 - slip) * np.eye(num_moves) + slip / num_moves


def gridworld(
    size: int,
    *,
    slip: float = 0.1,
    goal: int | tuple[int, int] | None = None,
    absorbing: bool = False,
    format: str = "sparse",  # noqa: A002 - the user-facing name of the transition format
    features: str = "onehot",
    block: int = 2,
) -> TabularMDP:
    """A `size × size` gridworld with 5 actions (stay, up, down, left, right) and slip.

    With probability `slip` the agent moves in a uniformly random one of the 5 directions instead
    of the intended one; a move off the grid stays put. Start: uniform over all cells. The true
    reward is 1 at `goal` (default: the bottom-right cell) and 0 elsewhere; with `absorbing=True`
    every action at the goal stays there (so its reward is collected until the horizon).

    Args:
      format: `"sparse"` (default; K = 5 successors, duplicates merged), `"dense"` or `"grid"`
        (the stencil format; not with `absorbing`, which breaks translation invariance).
      features: `"onehot"` (`[S, S]`, the reward table itself), `"blocks"` (`[S, B]`:
        indicators of `block × block` macro-cells, as in Ng & Russell 2000) or `"none"` (no
        features: for large grids, where one-hot features would take S² floats).
    """
    _check_builder_args(size=size, slip=slip, absorbing=absorbing, format=format, block=block)
    num_states = size * size
    goal_cell = goal_index(goal, size)
    reward = np.zeros(num_states, np.float32)
    reward[goal_cell] = 1.0
    feats = _grid_features(size, features, block)
    initial = np.full(num_states, 1.0 / num_states)
    move_prob = grid_move_prob(slip)
    if format == "grid":
        if absorbing:
            raise ConfigError("format='grid' cannot have an absorbing goal; use format='sparse'")
        return grid_mdp((size, size), move_prob, initial, features=feats, reward=reward)
    grid = grid_mdp((size, size), move_prob, initial)
    next_state, prob = _successors(grid)
    next_state, prob = _merge_duplicates(next_state, prob)
    if absorbing:
        next_state[goal_cell] = goal_cell
        prob[goal_cell] = 0.0
        prob[goal_cell, :, 0] = 1.0
    mdp = sparse_mdp(next_state, prob, initial, features=feats, reward=reward)
    mdp = mdp.replace(grid_shape=(size, size))
    return to_dense(mdp) if format == "dense" else mdp


def _merge_duplicates(next_state: np.ndarray, prob: np.ndarray):
    """Sum the probabilities of repeated successors (off-grid moves that stay) into one entry.

    The emptied entries keep probability 0 and point at the first successor, so the predecessor
    table (which drops zero entries) stays small.
    """
    next_state = next_state.copy()
    prob = prob.astype(np.float64).copy()
    branching = next_state.shape[-1]
    for k in range(1, branching):
        for j in range(k):
            same = (next_state[..., k] == next_state[..., j]) & (prob[..., j] > 0)
            prob[..., j] += np.where(same, prob[..., k], 0.0)
            prob[..., k] = np.where(same, 0.0, prob[..., k])
            next_state[..., k] = np.where(same, next_state[..., 0], next_state[..., k])
    return next_state.astype(np.int32), prob.astype(np.float32)


def goal_index(goal, size: int) -> int:
    """The flat cell of a gridworld goal: None (the last cell), a cell index in [0, size²), or
    [row, col] inside the grid. Anything else is refused: `True` was cell 1, `3.7` cell 3 (the
    one check of a goal; `options.goal_cell` keeps the form the user wrote)."""

    def index(g) -> int | None:
        if isinstance(g, (bool, np.bool_)):
            return None
        try:
            return operator.index(g)
        except TypeError:
            return None

    if goal is None:
        return size * size - 1
    cell = index(goal)
    if cell is not None and 0 <= cell < size * size:
        return cell
    if isinstance(goal, (list, tuple)) and len(goal) == 2:
        row, col = index(goal[0]), index(goal[1])
        if row is not None and col is not None and 0 <= row < size and 0 <= col < size:
            return row * size + col
    raise ConfigError(
        f"goal must be a cell index in [0, {size * size}) or [row, col] inside the "
        f"{size}x{size} grid, got {short(goal)}"
    )


def feature_count(world: str, size: int, features: str, *, num_colours: int = 2, block: int = 2):
    """F, the width of the `[S, F]` features that `gridworld` or `objectworld` (`world`) builds
    with these arguments, without building them (for a memory check before the build).

    Gridworld: `"onehot"` S, `"blocks"` ⌈size/block⌉², `"none"` 0. Objectworld, with 2C nearest
    distances (outer and inner colour): `"continuous"` 2C, `"discrete"` 2C·size (one indicator per
    threshold 1..size), `"both"` 2C·(size + 1).
    """
    if world == "objectworld":
        distances = 2 * num_colours
        return {"continuous": 1, "discrete": size, "both": size + 1}[features] * distances
    if features == "blocks":
        return _blocks_per_side(size, block) ** 2
    return {"onehot": size * size, "none": 0}[features]


def _blocks_per_side(size: int, block: int) -> int:
    return -(-size // block)


def check_block(block: int, size: int) -> None:
    """A gridworld's `block` (features: blocks) in [1, size − 1]: a block of the whole grid is
    one feature, the same in every state, from which nothing can be learned."""
    if not 1 <= block < size:
        raise ConfigError(
            f"block must be in [1, size - 1 = {size - 1}] (a block of the whole grid is one "
            f"feature, the same in every state: nothing to learn from), got {block}"
        )


def _grid_features(size: int, kind: str, block: int) -> np.ndarray | None:
    if kind == "none":
        return None
    if kind == "onehot":
        return np.eye(size * size, dtype=np.float32)
    if kind == "blocks":
        check_block(block, size)
        per_side = _blocks_per_side(size, block)
        r, c = np.divmod(np.arange(size * size), size)
        cell = (r // block) * per_side + c // block
        return np.eye(per_side * per_side, dtype=np.float32)[cell]
    raise ConfigError(f"features must be 'onehot', 'blocks' or 'none', got {kind!r}")


def _check_builder_args(**args) -> None:
    """The builders' arguments: `size` an int >= 2, the other counts given ints (ranges are
    each builder's), `slip` a probability, `absorbing` a bool, `format` a transition format."""
    size = args.pop("size", None)
    if size is not None and (not is_int(size) or size < 2):
        raise ConfigError(f"size must be an integer >= 2, got {short(size)}")
    slip = args.pop("slip", None)
    if slip is not None and not (
        is_real(slip) and np.ndim(slip) == 0 and 0.0 <= float(slip) <= 1.0
    ):
        raise ConfigError(f"slip must be a probability in [0, 1], got {short(slip)}")
    absorbing = args.pop("absorbing", None)
    if absorbing is not None and not isinstance(absorbing, (bool, np.bool_)):
        raise ConfigError(f"absorbing must be True or False, got {short(absorbing)}")
    fmt = args.pop("format", None)
    if fmt is not None and fmt not in ("sparse", "dense", "grid"):
        raise ConfigError(f"format must be 'sparse', 'dense' or 'grid', got {short(fmt)}")
    for name, value in args.items():
        if not is_int(value):
            raise ConfigError(f"{name} must be an integer, got {short(value)}")


def objectworld(
    size: int,
    num_colours: int,
    num_objects: int,
    key: Array,
    *,
    slip: float = 0.3,
    features: str = "both",
    format: str = "sparse",  # noqa: A002 - the user-facing name of the transition format
) -> TabularMDP:
    """Levine et al. (2011) objectworld: a gridworld with coloured objects.

    Each object has an outer and an inner colour drawn from `num_colours` (the first objects take
    every outer colour once, so that the reward is never trivially zero). Features, for every
    colour c: the Euclidean distance to the nearest object of outer colour c and of inner colour c
    (continuous, divided by `size`), and the indicators "that distance is ≤ d" for d = 1..size
    (discrete). True reward (needs ≥ 2 colours): +1 within distance 3 of outer colour 0 and within
    2 of outer colour 1; −1 within 3 of outer colour 0 only; 0 elsewhere.

    Args:
      key: PRNG key for the object layout.
      features: `"continuous"` `[S, 2C]`, `"discrete"` `[S, 2C·size]` or `"both"` (concatenated).
      format: transition format, `"sparse"`, `"dense"` or `"grid"`.
    """
    _check_builder_args(
        size=size, slip=slip, format=format, num_colours=num_colours, num_objects=num_objects
    )
    if num_colours < 2:
        raise ConfigError(f"objectworld needs num_colours >= 2, got {num_colours}")
    if not num_colours <= num_objects <= size * size:
        raise ConfigError(
            f"num_objects must be in [num_colours={num_colours}, size*size={size * size}], "
            f"got {num_objects}"
        )
    if features not in ("continuous", "discrete", "both"):
        raise ConfigError(f"features must be 'continuous', 'discrete' or 'both', got {features!r}")
    key_cell, key_outer, key_inner = jax.random.split(key, 3)
    cells = np.asarray(jax.random.choice(key_cell, size * size, (num_objects,), replace=False))
    outer = np.array(jax.random.randint(key_outer, (num_objects,), 0, num_colours))
    outer[:num_colours] = np.arange(num_colours)
    inner = np.asarray(jax.random.randint(key_inner, (num_objects,), 0, num_colours))

    r, c = np.divmod(np.arange(size * size), size)
    orow, ocol = np.divmod(cells, size)

    def nearest_of(mask: np.ndarray) -> np.ndarray:
        """[S] distance from each cell to the nearest object in `mask` (2·size if none), a few
        hundred objects at a time: the whole [S, objects] table is S²/10 at the default."""
        best = np.full(size * size, 2.0 * size)
        rows, cols = orow[mask], ocol[mask]
        for i in range(0, rows.size, 256):
            d = np.hypot(r[:, None] - rows[None, i : i + 256], c[:, None] - cols[None, i : i + 256])
            np.minimum(best, d.min(axis=1), out=best)
        return best

    # [S] per (outer colour, inner colour) pair, distance to the nearest object
    nearest = [nearest_of(colours == k) for colours in (outer, inner) for k in range(num_colours)]
    nearest = np.stack(nearest, axis=1)  # [S, 2C]
    continuous = nearest / size
    thresholds = np.arange(1, size + 1)
    discrete = (nearest[:, :, None] <= thresholds).reshape(size * size, -1)
    feats = {
        "continuous": continuous,
        "discrete": discrete,
        "both": np.concatenate([continuous, discrete], axis=1),
    }[features].astype(np.float32)
    near0, near1 = nearest[:, 0] <= 3.0, nearest[:, 1] <= 2.0
    reward = np.where(near0 & near1, 1.0, np.where(near0, -1.0, 0.0)).astype(np.float32)

    base = gridworld(
        size, slip=slip, format="grid" if format == "grid" else "sparse", features="none"
    )
    base = base.replace(features=jnp.asarray(feats), reward=jnp.asarray(reward))
    _check_features_and_reward(base)  # (the transitions `gridworld` validated, tables and all)
    return to_dense(base) if format == "dense" else base


def garnet(
    num_states: int,
    num_actions: int,
    branching: int,
    key: Array,
    *,
    num_features: int = 0,
    dense: bool = False,
) -> TabularMDP:
    """A random Garnet MDP: each (s, a) has `branching` distinct successors, Dirichlet(1) probs.

    Start: uniform. Reward: standard normal `[S]`. With `num_features > 0`, features are standard
    normal `[S, F]` and the reward is linear in them. `dense=True` returns dense transitions.
    """
    _check_builder_args(
        num_states=num_states,
        num_actions=num_actions,
        branching=branching,
        num_features=num_features,
    )
    if num_states < 1 or num_actions < 1 or not 1 <= branching <= num_states:
        raise ConfigError(
            "garnet needs num_states >= 1, num_actions >= 1 and 1 <= branching <= num_states, "
            f"got {num_states}, {num_actions}, {branching}"
        )
    key_next, key_prob, key_feat, key_w = jax.random.split(key, 4)
    scores = jax.random.uniform(key_next, (num_states, num_actions, num_states))
    next_state = np.asarray(jnp.argsort(scores, axis=-1)[..., :branching], np.int32)
    prob = np.asarray(
        jax.random.dirichlet(key_prob, jnp.ones(branching), (num_states, num_actions)), np.float64
    )
    prob = (prob / prob.sum(-1, keepdims=True)).astype(np.float32)
    initial = np.full(num_states, 1.0 / num_states)
    if num_features > 0:
        feats = np.asarray(jax.random.normal(key_feat, (num_states, num_features)))
        reward = feats @ np.asarray(jax.random.normal(key_w, (num_features,)))
    else:
        feats, reward = None, np.asarray(jax.random.normal(key_w, (num_states,)))
    mdp = sparse_mdp(next_state, prob, initial, features=feats, reward=reward)
    return to_dense(mdp) if dense else mdp
