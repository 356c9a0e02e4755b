"""Scores: mean true return of a policy over whole episodes, and the normalized score."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jirl.devices import seed_map
from jirl.envs.base import Env, batch_reset
from jirl.errors import ConfigError, DataError, check_count
from jirl.types import Algorithm, Array

#: `act_fn(obs [*obs_shape], key) -> action`, one unbatched observation.
ActFn = Callable[[Array, Array], Array]


@struct.dataclass
class Outcomes:
    """What whole episodes of a policy came to, each field `[num_episodes]`.

    Attributes:
      returns: true undiscounted return.
      terminated: the episode reached a terminal state before the horizon (with a fixed
        horizon: it had a true termination, after which the true reward is masked). On an env
        whose `terminal_failure` is set this is a fall; elsewhere it is a goal reached.
      lengths: steps the episode ran, its last included (the horizon under a fixed horizon).
    """

    returns: Array
    terminated: Array
    lengths: Array


def episode_outcomes(env: Env, act_fn: ActFn, key: Array, num_episodes: int) -> Outcomes:
    """Returns and terminations of `num_episodes` whole episodes, run in one batch.

    Each episode runs from reset until it terminates or reaches `env.horizon`; rewards after
    the end are masked, so every episode counts exactly once. The batch stops stepping once
    every episode has ended (a `lax.while_loop`; step t's key is `fold_in(key, t)`), so the
    cost follows how long the episodes last, not the horizon they are allowed.
    """
    num_episodes = check_count("num_episodes", num_episodes)  # (0: a NaN mean, no error)
    key_reset, key_act = jax.random.split(key)
    state = batch_reset(env, key_reset, num_episodes)

    def step(carry):
        t, state, total, fell, length, running = carry
        keys = jax.random.split(jax.random.fold_in(key_act, t), num_episodes)
        state = jax.vmap(env.step)(state, jax.vmap(act_fn)(state.obs, keys))
        total = total + jnp.where(running, state.reward, 0.0)
        fell = fell | (running & state.terminated)
        length = length + running
        running = running & ~state.done
        return t + 1, state, total, fell, length, running

    def any_running(carry):
        t, *_, running = carry
        return (t < env.horizon) & running.any()

    false = jnp.zeros(num_episodes, bool)
    zero = jnp.zeros((), jnp.int32)
    init = (zero, state, jnp.zeros(num_episodes), false, jnp.zeros(num_episodes, jnp.int32), ~false)
    _, last, total, fell, length, _ = jax.lax.while_loop(any_running, step, init)
    # Under a fixed horizon nothing terminates; `failed` keeps the first true termination.
    return Outcomes(returns=total, terminated=fell | last.failed, lengths=length)


def episode_returns(env: Env, act_fn: ActFn, key: Array, num_episodes: int) -> Array:
    """True undiscounted returns `[num_episodes]` of whole episodes (`episode_outcomes`)."""
    return episode_outcomes(env, act_fn, key, num_episodes).returns


def check_greedy(algo: Algorithm, greedy: bool) -> None:
    """ConfigError where greedy evaluation is asked of an algorithm without `mode`."""
    if greedy and algo.mode is None:
        raise ConfigError(
            f"{algo.name}'s policy has no most likely action in closed form (a mixture of "
            "Gaussians): evaluate it by sampling (eval_greedy: false)"
        )


def policy_act_fn(algo: Algorithm, state, greedy: bool = False) -> ActFn:
    """`algo`'s current policy at `state` as an `ActFn`: `algo.act`, or with `greedy` its most
    likely action `algo.mode` (the key unused)."""
    check_greedy(algo, greedy)
    if greedy:
        return lambda obs, key: algo.mode(state, obs)
    return lambda obs, key: algo.act(state, obs, key)


def mean_returns(
    algo: Algorithm, env: Env, episodes: int, sharding=None, *, greedy: bool = False
) -> Callable:
    """`f(states, keys) -> [seeds]`, compiled once (a Python function that checks its
    arguments, then calls one jitted program): each seed's mean true return over `episodes`
    episodes of its `algo.act` (`algo.mode` with `greedy`; `states` and `keys` with a leading
    seed axis, over `sharding`, `jirl.run.SeedLayout.sharding`; None: one device). Build it once
    to evaluate repeatedly."""
    check_greedy(algo, greedy)
    episodes = check_count("episodes", episodes)

    def mean_return(state, key):
        return episode_returns(env, policy_act_fn(algo, state, greedy), key, episodes).mean()

    return _seed_batched(jax.jit(seed_map(mean_return, sharding)))


def seed_outcomes(
    algo: Algorithm, env: Env, episodes: int, sharding=None, *, greedy: bool = False
) -> Callable:
    """`f(states, keys) -> Outcomes` with `[seeds, episodes]` fields, compiled once: each seed's
    `episodes` episodes of its `algo.act` (`algo.mode` with `greedy`; leading seed axes as in
    `mean_returns`)."""
    check_greedy(algo, greedy)
    episodes = check_count("episodes", episodes)

    def outcomes(state, key):
        return episode_outcomes(env, policy_act_fn(algo, state, greedy), key, episodes)

    return _seed_batched(jax.jit(seed_map(outcomes, sharding)))


def _seed_batched(evaluate: Callable) -> Callable:
    """`evaluate(states, keys)`, refusing (ConfigError) states without the keys' leading seed
    axis (one unbatched state failed inside vmap: "rank should be at least 1")."""

    def call(states, keys):
        seeds = np.shape(keys)[:1]
        leaves = jax.tree.leaves(states)
        if not seeds or not leaves or any(np.shape(x)[:1] != seeds for x in leaves):
            raise ConfigError(
                f"states and keys need one leading seed axis each, keys {np.shape(keys)}: pass "
                "a batch of states [seeds, ...] (jirl.run's, or jax.vmap(algo.init)(keys)) and "
                "jax.random.split(key, seeds)"
            )
        return evaluate(states, keys)

    return call


def random_act_fn(env: Env) -> ActFn:
    """A uniformly random policy over `env`'s action space (the 0 of the normalized score);
    on an unbounded continuous space (a custom env's `Spec` without bounds), a standard normal
    in each dimension, as no uniform distribution exists there."""
    spec = env.spec

    def act(obs, key):
        del obs
        if spec.discrete:
            return jax.random.randint(key, (), 0, spec.num_actions)
        if spec.action_low is None:
            return jax.random.normal(key, spec.action_shape)
        low, high = spec.bounds
        return jax.random.uniform(key, spec.action_shape, minval=low, maxval=high)

    return act


def normalized_score(ret, expert_return: float, random_return: float):
    """(return − random) / (expert − random): 1 is the expert, 0 a uniformly random policy (a
    standard normal on an unbounded action space, `random_act_fn`).
    `DataError` where the two are equal (no scale: the score would be inf or NaN)."""
    gap = expert_return - random_return
    if not isinstance(gap, jax.core.Tracer) and np.size(gap) == 1 and float(np.asarray(gap)) == 0:
        raise DataError(
            f"the expert's return equals the random policy's ({expert_return}): a score "
            "cannot be normalized by it; train a better expert"
        )
    return (ret - random_return) / gap
