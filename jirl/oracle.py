"""The expert oracle of interactive imitation (DAgger, SMILe): a function that labels states.

An oracle is any pure, jittable `act(obs, key) -> action` on one unbatched observation: a
`jirl.algos.expert.Expert` (its greedy `mode` by default, what DAgger's analysis assumes), or a
user's own function (a scripted controller, a planner, another library's policy). Interactive
methods call it inside jit on the states their learner visits, so it must be traceable.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jirl.envs.base import Env, Spec, batch_reset
from jirl.errors import MAX_INT, ConfigError
from jirl.rl.rollout import EpisodeStats, merge_leading, rollout_with
from jirl.types import Array

#: `oracle(obs [*obs_shape], key) -> action [*action_shape]`, unbatched and jittable.
Oracle = Callable[[Array, Array], Array]


def as_oracle(expert: Any, *, greedy: bool = True) -> Oracle:
    """The labelling function of `expert`.

    Args:
      expert: an object with `mode(obs, key)` / `act(obs, key)` (a jirl `Expert`), or any
        callable `act(obs, key) -> action`.
      greedy: for an `Expert`, label with its most likely action (`mode`) rather than a sample.

    Raises:
      ConfigError: `expert` is neither.
    """
    if hasattr(expert, "mode") and hasattr(expert, "act"):
        return expert.mode if greedy else expert.act
    if callable(expert):
        return expert
    raise ConfigError(
        f"an expert oracle must be a jirl Expert or a function act(obs, key) -> action, "
        f"got {type(expert).__name__}"
    )


def check_acts_in(oracle: Oracle, spec: Spec, env_name: str) -> None:
    """Raise ConfigError unless `oracle` takes one observation of `spec` and returns one action
    of it, traced abstractly (nothing runs): an expert of another environment failed inside
    the first update's jit with a shape error."""
    obs = jax.ShapeDtypeStruct(tuple(spec.obs_shape), jnp.float32)
    key = jax.eval_shape(jax.random.PRNGKey, 0)
    try:
        action = jax.eval_shape(oracle, obs, key)
    except (TypeError, ValueError) as e:
        raise ConfigError(
            f"the expert cannot act on {env_name}'s observations of shape {obs.shape} "
            f"({type(e).__name__}: {str(e).splitlines()[0][:200]}): an expert of another "
            "environment, or one that is not traceable?"
        ) from None
    shape = getattr(action, "shape", None)
    if shape is None:
        fits = False
    else:
        fits = shape == () if spec.discrete else math.prod(shape) == spec.action_dim
    dtype = getattr(action, "dtype", None)
    if fits and spec.discrete and not jnp.issubdtype(dtype, jnp.integer) and dtype != jnp.bool_:
        raise ConfigError(  # `label` cast 1.5 to 1 without a word (a bool is taken: 0 or 1)
            f"the expert returns {dtype} actions; {env_name}'s are action indices: return an "
            f"integer in [0, {spec.num_actions})"
        )
    if not fits:  # (`label` takes one index, or a vector it reshapes)
        raise ConfigError(
            f"the expert returns actions of shape {shape}, "
            f"{env_name}'s are of shape {spec.action_shape}: an expert of another environment?"
        )


def label(oracle: Oracle, spec: Spec, obs: Array, key: Array) -> Array:
    """Ask the oracle for the actions of a batch of states.

    Continuous labels are clipped to the action bounds, as executed actions and recorded
    demonstrations are (`jirl.data`).

    Args:
      obs: [N, *obs_shape].
      key: one key; split into N.

    Returns:
      actions [N] int32 (discrete) or [N, action_dim] float32.
    """
    actions = jax.vmap(oracle)(obs, jax.random.split(key, obs.shape[0]))
    if spec.discrete:
        return actions.astype(jnp.int32)
    actions = actions.astype(jnp.float32).reshape((obs.shape[0], *spec.action_shape))
    return spec.executed(actions)


def labelled_round(
    env: Env,
    mixture: Callable[[Array, Array], tuple[Array, Array, Array]],
    num_envs: int,
    num_steps: int,
    key_env: Array,
    key_rollout: Array,
) -> tuple[Array, Array, EpisodeStats]:
    """One round of DAgger or SMILe: `num_envs` fresh episodes run `mixture` for `num_steps`
    steps, every visited state labelled with the expert's action, whoever acted.

    Args:
      mixture: `(obs [B, *obs_shape], key) -> (action, log_prob [B], label)`, the round's
        policy and the oracle's label of each state (`label`).

    Returns:
      obs [T·B, *obs_shape], labels [T·B, *action_shape] (one query per visited state), and
      the rollout's episode statistics (every env starts afresh: `first_episodes` is the
      unbiased return).
    """
    fresh = batch_reset(env, key_env, num_envs)
    _, batch, stats, labels = rollout_with(env, mixture, fresh, key_rollout, num_steps)
    obs, labels = merge_leading((batch.obs, labels))
    return obs, labels, stats


def round_steps(steps_per_round: int | None, env, section: str, num_envs: int = 1) -> int:
    """Steps per environment of one interactive round: `steps_per_round`, or the horizon.

    Each round of DAgger and SMILe rolls its current policy out from fresh episodes, as the
    papers run it for T steps: fewer steps than the horizon would leave the later part of every
    episode out of the round's data, so they are refused.

    Raises:
      ConfigError: `steps_per_round` is below the horizon of `env`, or a round of `num_envs`
        environments would hold more states than int32 counts (XLA's sizes: the first trace
        failed with an OverflowError traceback).
    """
    steps = env.horizon if steps_per_round is None else steps_per_round
    if num_envs * steps > MAX_INT:
        raise ConfigError(
            f"{section}.num_envs * steps per round ({num_envs:,} * {steps:,}) must be at most "
            f"{MAX_INT:,}: lower num_envs or steps_per_round"
        )
    if steps < env.horizon:  # (only a given steps_per_round can be)
        raise ConfigError(
            f"{section}.steps_per_round ({steps}) is shorter than the episode horizon "
            f"({env.horizon}): each round rolls out whole episodes from their start; leave it "
            "unset (the horizon) or lower num_envs to collect fewer states per round"
        )
    return steps
