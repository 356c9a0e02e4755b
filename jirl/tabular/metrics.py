"""Demonstrations in a tabular MDP and the scores of tabular IRL.

* `sample_demos`: trajectories of a (soft-)optimal expert, a `lax.scan` over time.
* `expected_value_difference` (EVD; Levine, Popović & Koltun 2011, §6): the value of the optimal
  policy under the true reward minus the value, under the true reward, of the policy optimal for
  the learned reward, both from the initial distribution. `policy_value_difference` is the same
  gap for a given (e.g. mixed) policy.
* `reward_correlation`: Pearson correlation of the learned and true reward tables.
* `feature_expectation_gap`: ‖μ(π) − μ_E‖₂ between a policy's and the demos' feature counts.
"""

from __future__ import annotations

import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jirl.errors import (
    ConfigError,
    DataError,
    check_count,
    check_types,
    require,
    short,
    tracer_errors,
)
from jirl.tabular import planning
from jirl.tabular.mdp import TabularMDP

Array = jax.Array


@struct.dataclass
class Demos:
    """Trajectories sampled in a tabular MDP.

    Attributes:
      states: [N, H] int32 state indices s_t.
      actions: [N, H] int32 action indices a_t, taken in s_t.
    """

    states: Array
    actions: Array

    @property
    def num_demos(self) -> int:
        return self.states.shape[0]

    @property
    def horizon(self) -> int:
        return self.states.shape[1]


def validate_demos(mdp: TabularMDP, demos: Demos) -> None:
    """Check shapes and dtypes, and index ranges where the demos are concrete (traced ones,
    sampled inside `jit`, have only shapes: `empirical_visitation` leaves their out-of-range
    steps out). Every IRL function calls it first. Raises `DataError`."""
    if not isinstance(demos, Demos):
        raise DataError(f"demos must be tabular Demos (sample_demos' output), got {short(demos)}")
    for name in ("states", "actions"):  # (the IRL functions read .shape: a list had none)
        if not hasattr(getattr(demos, name), "shape"):
            raise DataError(
                f"demos.{name} must be an array (jnp.asarray it), got "
                f"{type(getattr(demos, name)).__name__}"
            )
    states, actions = demos.states, demos.actions
    for name, arr, bound in (
        ("states", states, mdp.num_states),
        ("actions", actions, mdp.num_actions),
    ):
        if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
            raise DataError(f"demos.{name} must have shape [N, H] with N, H >= 1, got {arr.shape}")
        if not np.issubdtype(arr.dtype, np.integer):
            raise DataError(f"demos.{name} must hold integer indices, got dtype {arr.dtype}")
        try:  # (jax.core.Tracer is not public API: a tracer refuses to become a NumPy array)
            host = np.asarray(arr)
        except tracer_errors():
            continue
        _check_range(name, host, bound)
    if states.shape != actions.shape:
        raise DataError(
            f"demos.states {states.shape} and demos.actions {actions.shape} must have the same "
            "shape"
        )


def _check_range(name: str, arr: np.ndarray, bound: int) -> None:
    """Every index of `demos.{name}` `[N, H]` in [0, bound), else `DataError` (the first)."""
    bad = (arr < 0) | (arr >= bound)
    if bad.any():
        n, t = np.argwhere(bad)[0]
        raise DataError(
            f"demos.{name}[{n}, {t}] = {arr[n, t]} is out of range [0, {bound}); "
            f"the demonstrations do not belong to this MDP"
        )


def sample_demos(key: Array, mdp: TabularMDP, policy: Array, num_demos: int, horizon: int) -> Demos:
    """Sample `num_demos` trajectories of length `horizon` (static ints >= 1).

    Args:
      policy: [H', S, A] time-indexed (H' ≥ horizon; step t uses π_t) or [S, A] stationary.
    Returns:
      `Demos` with states and actions [num_demos, horizon], int32.
    Raises:
      ConfigError: a policy of another shape, or counts that are no integers >= 1.
    """
    planning.check_policy(mdp, policy)
    num_demos, horizon = check_count("num_demos", num_demos), check_count("horizon", horizon)
    if policy.ndim == 3 and policy.shape[0] < horizon:
        raise ConfigError(f"policy covers {policy.shape[0]} steps, fewer than horizon={horizon}")
    successors, probs = successor_sampler(mdp)

    def one(key):
        key_start, key_steps = jax.random.split(key)
        # int32 like the successor tables (the choice is int64 under `jax_enable_x64`)
        s0 = jax.random.choice(key_start, mdp.num_states, p=mdp.initial).astype(jnp.int32)

        def step(s, inputs):
            t, key_t = inputs
            key_a, key_s = jax.random.split(key_t)
            pi = policy[t] if policy.ndim == 3 else policy
            a = jax.random.categorical(key_a, jnp.log(pi[s]))
            k = jax.random.categorical(key_s, jnp.log(probs(s, a)))
            return successors(s, a, k).astype(jnp.int32), (s, a)

        steps = (jnp.arange(horizon), jax.random.split(key_steps, horizon))
        _, (states, actions) = jax.lax.scan(step, s0, steps)
        return states, actions

    states, actions = jax.vmap(one)(jax.random.split(key, num_demos))
    return Demos(states=states.astype(jnp.int32), actions=actions.astype(jnp.int32))


def successor_sampler(mdp: TabularMDP):
    """(successor(s, a, k), probabilities(s, a) [K]) for any transition format."""
    fmt = mdp.format
    if fmt == "dense":
        return (lambda s, a, k: k), (lambda s, a: mdp.transition[s, a])
    if fmt == "sparse":
        return (lambda s, a, k: mdp.next_state[s, a, k]), (lambda s, a: mdp.prob[s, a])
    rows, cols = mdp.grid_shape
    moves = jnp.asarray(mdp.moves, jnp.int32)

    def successor(s, a, k):
        r, c = jnp.divmod(s, cols)
        return jnp.clip(r + moves[k, 0], 0, rows - 1) * cols + jnp.clip(
            c + moves[k, 1], 0, cols - 1
        )

    return successor, (lambda s, a: mdp.move_prob[a])


def empirical_visitation(demos: Demos, num_states: int, num_actions: int, discount: float = 1.0):
    """Mean discounted state-action counts of the demos: (1/N) Σ_n Σ_t γ^t [s_t, a_t] `[S, A]`.

    Concrete demos with a state or action out of range raise `DataError`; traced ones (sampled
    inside `jit`) have such steps left out, never counted at another index."""
    chex.assert_rank([demos.states, demos.actions], 2)
    states, actions = demos.states, demos.actions
    try:  # (jax.core.Tracer is not public API: a tracer refuses to become a NumPy array)
        concrete = {"states": np.asarray(states), "actions": np.asarray(actions)}
    except tracer_errors():
        concrete = {}
    for name, arr in concrete.items():
        _check_range(name, arr, num_states if name == "states" else num_actions)
    # int32 (checked in range above): s·A + a overflowed in the demos' own uint8 or int16
    states, actions = jnp.asarray(states, jnp.int32), jnp.asarray(actions, jnp.int32)
    inside = (states >= 0) & (states < num_states) & (actions >= 0) & (actions < num_actions)
    # float32 with `jax_enable_x64` on too, the dtype of the IRL weights that these counts meet
    steps = jnp.arange(demos.horizon, dtype=jnp.float32)
    weights = jnp.broadcast_to(discount**steps, states.shape) * inside
    flat = jnp.where(inside, states * num_actions + actions, 0)
    counts = jnp.zeros(num_states * num_actions, jnp.float32)
    counts = counts.at[flat.reshape(-1)].add(weights.reshape(-1))
    return (counts / demos.num_demos).reshape(num_states, num_actions)


def feature_counts(state_action_visitation: Array, features: Array) -> Array:
    """μ = Σ_{s, a} ρ(s, a) φ(s, a). `ρ: [S, A]`, `φ: [S, A, F]` or state features `[S, F]`
    (φ(s, a) = f(s)) -> `[F]`."""
    chex.assert_rank([state_action_visitation, features], [2, {2, 3}])
    if features.ndim == 2:
        return state_action_visitation.sum(axis=1) @ features
    return jnp.einsum("sa,saf->f", state_action_visitation, features)


def check_demo_horizon(demo_steps: int, horizon: int | None, discount: float) -> None:
    """Refuse demos whose `demo_steps` steps do not cover the visitation the model counts (its
    `horizon`, None: infinite and discounted); else the two feature counts differ even at the
    true reward. Static ints only, so it runs inside `jit`. Raises `ConfigError`."""
    if horizon is not None:
        if horizon != demo_steps:
            raise ConfigError(
                f"the demos have {demo_steps} steps but horizon={horizon}; pass "
                f"horizon={demo_steps} so the model counts the steps the demos do"
            )
        return
    if not discount < 1.0:
        raise ConfigError(f"horizon=None (infinite) needs discount < 1, got {discount}")
    if discount**demo_steps > 0.01:
        need = math.ceil(math.log(0.01) / math.log(discount))
        raise ConfigError(
            f"demos of {demo_steps} steps hold only {1 - discount**demo_steps:.0%} of the "
            f"discounted visitation an infinite horizon counts (discount {discount}); pass "
            f"horizon={demo_steps}, or sample demos of >= {need} steps"
        )


def check_irl_config(config, prefix: str) -> None:
    """The checks every tabular IRL config's `__post_init__` shares, each a one-line
    `ConfigError` naming the field as `{prefix}name` (`"mwal."`, the YAML section): the fields'
    annotated types, `horizon` >= 1 or None (infinite, which needs `discount` < 1), `discount`
    in [0, 1], `num_iterations` >= 1."""
    check_types(config, prefix)
    horizon, discount = config.horizon, config.discount
    if horizon is not None:
        require(horizon >= 1, f"{prefix}horizon must be >= 1, got {horizon}")
    require(
        (0.0 <= discount) & (discount <= 1.0), f"{prefix}discount must be in [0, 1], got {discount}"
    )
    require(
        (horizon is not None) | (discount < 1.0),
        f"{prefix}horizon: null (infinite) needs {prefix}discount < 1, got {discount}; or set a "
        f"finite {prefix}horizon",
    )
    require(
        config.num_iterations >= 1,
        f"{prefix}num_iterations must be >= 1, got {config.num_iterations}",
    )


def discounted_length(horizon: int | None, discount: float):
    """Σ_t γ^t over the horizon (1/(1−γ) when infinite): the scale of a visitation."""
    if horizon is None:
        return 1.0 / (1.0 - discount)
    if discount == 1.0:
        return float(horizon)
    return (1.0 - discount**horizon) / (1.0 - discount)


def policy_value(mdp: TabularMDP, reward: Array, policy: Array, *, horizon=None, discount=1.0):
    """initial · V^π_0 under `reward` `[S]`/`[S, A]`; `policy` `[H, S, A]` or `[S, A]`."""
    values = planning.policy_evaluation(mdp, reward, policy, horizon=horizon, discount=discount)
    v0 = values.values[0] if values.values.ndim == 2 else values.values
    return mdp.initial @ v0


def optimal_value(mdp: TabularMDP, reward: Array, *, horizon=None, discount=1.0):
    """initial · V*_0, the value of the optimal policy under `reward`."""
    plan = planning.value_iteration(mdp, reward, horizon=horizon, discount=discount)
    v0 = plan.values[0] if plan.values.ndim == 2 else plan.values
    return mdp.initial @ v0


def policy_value_difference(
    mdp: TabularMDP, true_reward: Array, policy: Array, *, horizon=None, discount=1.0
):
    """V*(true) − V^π(true) from the initial distribution (≥ 0); EVD of a given policy. A
    time-indexed policy `[H, S, A]` sets the horizon of both (V* over H steps too)."""
    planning.check_policy(mdp, policy)
    if policy.ndim == 3 and horizon is None:  # not an infinite-horizon V* against H steps
        horizon = policy.shape[0]
    best = optimal_value(mdp, true_reward, horizon=horizon, discount=discount)
    return best - policy_value(mdp, true_reward, policy, horizon=horizon, discount=discount)


def expected_value_difference(
    mdp: TabularMDP, true_reward: Array, learned_reward: Array, *, horizon=None, discount=1.0
):
    """EVD: V*(true) − V^{π*(learned)}(true), π*(learned) the optimal policy for the learned
    reward. Rewards `[S]` or `[S, A]`; returns a scalar, NaN if the learned reward holds a NaN
    or an infinity (its greedy policy would be all zeros there, and its value gap finite)."""
    finite = jnp.isfinite(learned_reward).all()
    try:  # a concrete one: its all-zero policy is no distribution (`check_policy` refuses it)
        if not bool(finite):
            return jnp.asarray(jnp.nan, planning.compute_dtype(mdp, true_reward, learned_reward))
    except tracer_errors():
        pass
    policy = planning.value_iteration(
        mdp, learned_reward, horizon=horizon, discount=discount
    ).policy
    gap = policy_value_difference(mdp, true_reward, policy, horizon=horizon, discount=discount)
    return jnp.where(finite, gap, jnp.nan)


def random_policy_gap(mdp: TabularMDP, true_reward: Array, *, horizon=None, discount=1.0):
    """V*(true) − V^{uniform}(true): the scale against which an EVD is small or large."""
    uniform = jnp.full((mdp.num_states, mdp.num_actions), 1.0 / mdp.num_actions, jnp.float32)
    return policy_value_difference(mdp, true_reward, uniform, horizon=horizon, discount=discount)


def reward_correlation(learned_reward: Array, true_reward: Array) -> Array:
    """Pearson correlation of two reward tables of the same shape (0 if one is constant, NaN if
    either holds a NaN or an infinity)."""
    chex.assert_equal_shape([learned_reward, true_reward])

    def centred(r):  # scaled by its largest entry: the squares of 1e20 overflow float32
        r = r.reshape(-1) - r.mean()
        top = jnp.max(jnp.abs(r))
        return r / jnp.where(top > 0, top, 1.0)

    x, y = centred(learned_reward), centred(true_reward)
    denom = jnp.sqrt(jnp.sum(x * x) * jnp.sum(y * y))
    corr = jnp.where(denom > 0, jnp.sum(x * y) / jnp.where(denom > 0, denom, 1.0), 0.0)
    return jnp.where(jnp.isnan(denom), jnp.nan, corr)


def feature_expectation_gap(
    mdp: TabularMDP, policy: Array, demos: Demos, features: Array, *, horizon=None, discount=1.0
):
    """‖μ(π) − μ_E‖₂ / Σ_t γ^t: the per-step feature gap between a policy and the demos.

    `features`: `[S, F]` or `[S, A, F]`. The policy's counts use the demos' horizon when
    `horizon` is None and the policy is stationary with `discount == 1`. Demos that do not
    cover the counted visitation (`check_demo_horizon`: another finite horizon, or too short
    for an infinite discounted one) raise `ConfigError`: the gap would not vanish at the
    expert's own policy.
    """
    planning.check_policy(mdp, policy)
    if horizon is None and policy.ndim == 2 and discount == 1.0:
        horizon = demos.horizon
    check_demo_horizon(demos.horizon, policy.shape[0] if policy.ndim == 3 else horizon, discount)
    vis = planning.visitation(mdp, policy, horizon=horizon, discount=discount)
    demo_vis = empirical_visitation(demos, mdp.num_states, mdp.num_actions, discount)
    gap = feature_counts(vis.state_action, features) - feature_counts(demo_vis, features)
    steps = discounted_length(policy.shape[0] if policy.ndim == 3 else horizon, discount)
    return jnp.linalg.norm(gap) / steps
