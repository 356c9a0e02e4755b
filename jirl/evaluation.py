"""Scores: mean true return of a policy over whole episodes, and the normalized score."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from jirl.envs.base import Env, batch_reset
from jirl.run import seed_map
from jirl.types import Algorithm, Array

#: `act_fn(obs [*obs_shape], key) -> action`, one unbatched observation.
ActFn = Callable[[Array, Array], Array]


def episode_returns(env: Env, act_fn: ActFn, key: Array, num_episodes: int) -> Array:
    """True undiscounted returns `[num_episodes]` of whole episodes, run in one batch.

    Each episode runs from reset until it terminates or reaches `env.horizon`; rewards after
    the end are masked, so every episode counts exactly once.
    """
    key_reset, key_act = jax.random.split(key)
    state = batch_reset(env, key_reset, num_episodes)

    def step(carry, key_t):
        state, total, running = carry
        actions = jax.vmap(act_fn)(state.obs, jax.random.split(key_t, num_episodes))
        state = jax.vmap(env.step)(state, actions)
        total = total + jnp.where(running, state.reward, 0.0)
        running = running & ~state.done
        return (state, total, running), None

    init = (state, jnp.zeros(num_episodes), jnp.ones(num_episodes, bool))
    (_, total, _), _ = jax.lax.scan(step, init, jax.random.split(key_act, env.horizon))
    return total


def mean_returns(algo: Algorithm, env: Env, episodes: int, sharding=None) -> Callable:
    """`f(states, keys) -> [seeds]`, jitted once: each seed's mean true return over `episodes`
    episodes of its `algo.act` (`states` and `keys` with a leading seed axis, over `sharding`,
    `jirl.run.seed_sharding`; None: one device). Build it once to evaluate repeatedly."""

    def mean_return(state, key):
        return episode_returns(env, lambda o, k: algo.act(state, o, k), key, episodes).mean()

    return jax.jit(seed_map(mean_return, sharding))


def random_act_fn(env: Env) -> ActFn:
    """A uniformly random policy over `env`'s action space (the 0 of the normalized score)."""
    spec = env.spec

    def act(obs, key):
        del obs
        if spec.discrete:
            return jax.random.randint(key, (), 0, spec.num_actions)
        low = jnp.broadcast_to(jnp.asarray(spec.action_low, jnp.float32), spec.action_shape)
        high = jnp.broadcast_to(jnp.asarray(spec.action_high, jnp.float32), spec.action_shape)
        return jax.random.uniform(key, spec.action_shape, minval=low, maxval=high)

    return act


def normalized_score(ret, expert_return: float, random_return: float):
    """(return − random) / (expert − random): 1 is the expert, 0 a uniformly random policy."""
    return (ret - random_return) / (expert_return - random_return)
