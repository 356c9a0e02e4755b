"""The one rollout: `lax.scan` over steps of a batch of auto-resetting environments."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from jirl.envs.base import Env, EnvState, batch_step
from jirl.types import Array, Metrics, Transition

#: `act_fn(obs [B, *obs_shape], key) -> (action [B, ...], log_prob [B])`
ActFn = Callable[[Array, Array], tuple[Array, Array]]


@struct.dataclass
class EpisodeStats:
    """Per-step episode bookkeeping of a rollout.

    Attributes:
      ended: [T, B] bool, an episode ended at this step.
      returns: [T, B] true undiscounted return of the episode the step belongs to (final when
        `ended`).
      lengths: [T, B] int32, length of that episode so far.
    """

    ended: Array
    returns: Array
    lengths: Array

    def metrics(self) -> Metrics:
        """Mean return and length of the episodes that ended in this rollout (0 when none)."""
        ended = self.ended.astype(jnp.float32)
        count = ended.sum()
        safe = jnp.maximum(count, 1.0)
        return {
            "episode_return": (self.returns * ended).sum() / safe,
            "episode_length": (self.lengths * ended).sum() / safe,
            "episodes": count,
        }

    def first_episodes(self) -> EpisodeStats:
        """These stats with `ended` kept at each environment's first end only.

        For a rollout that starts every environment afresh and runs at least the horizon
        (DAgger's and SMILe's rounds): each first episode ends inside it, but of the episodes
        after an early end only the short ones do, so averaging every ended episode would
        lean towards failures (episodes of 10 or 500 steps, half each, return 1 per step:
        174 instead of 255 over a 500-step window).
        """
        first = self.ended & (jnp.cumsum(self.ended, axis=0) == 1)
        return self.replace(ended=first)

    def metrics_carried(self, last_return: Array) -> tuple[Metrics, Array]:
        """`metrics()` with `episode_return` carried over from `last_return` ([]) when no
        episode ended in this rollout, so the curve holds its value between long episodes.

        Returns (metrics, the return to carry into the next rollout []).
        """
        metrics = self.metrics()
        carried = jnp.where(metrics["episodes"] > 0, metrics["episode_return"], last_return)
        return {**metrics, "episode_return": carried}, carried


def rollout(
    env: Env, act_fn: ActFn, env_state: EnvState, key: Array, num_steps: int
) -> tuple[EnvState, Transition, EpisodeStats]:
    """Run `num_steps` steps of a batch of environments.

    Args:
      env: the environment (unbatched protocol; batching is `vmap` here).
      act_fn: the acting policy on a batch of observations.
      env_state: EnvState with leading axis [B].
      key: PRNG key for the policy's sampling.
      num_steps: T, static.

    Returns:
      (env_state after T steps, Transition [T, B], EpisodeStats [T, B]).
    """
    act_with = lambda obs, key: (*act_fn(obs, key), None)  # noqa: E731
    env_state, transitions, stats, _ = rollout_with(env, act_with, env_state, key, num_steps)
    return env_state, transitions, stats


def rollout_with(
    env: Env,
    act_fn: Callable[[Array, Array], tuple[Array, Array, Any]],
    env_state: EnvState,
    key: Array,
    num_steps: int,
) -> tuple[EnvState, Transition, EpisodeStats, Any]:
    """`rollout` whose `act_fn(obs [B, ...], key)` returns `(action, log_prob, extra)`, `extra`
    a pytree of `[B, ...]` arrays computed while acting (DAgger's expert labels of the visited
    states), returned stacked as `[T, B, ...]` after the Transition and the EpisodeStats."""

    def step(env_state: EnvState, key_t: Array):
        obs_t, length_t = env_state.obs, env_state.time + 1
        action_t, log_prob_t, extra_t = act_fn(obs_t, key_t)
        env_state = batch_step(env, env_state, action_t)
        transition = Transition(
            obs=obs_t,
            action=action_t,
            reward=env_state.reward,
            next_obs=env_state.final_obs,
            terminated=env_state.terminated,
            truncated=env_state.truncated,
            log_prob=log_prob_t,
        )
        stats = EpisodeStats(env_state.done, env_state.episode_return, length_t)
        return env_state, (transition, stats, extra_t)

    env_state, (transitions, stats, extras) = jax.lax.scan(
        step, env_state, jax.random.split(key, num_steps)
    )
    return env_state, transitions, stats, extras


def merge_leading(tree):
    """Every leaf `[A, B, ...]` as `[A·B, ...]`: a rollout's steps × envs, or a replay
    buffer's rounds × samples, as one flat pool."""
    return jax.tree.map(lambda x: x.reshape((-1, *x.shape[2:])), tree)
