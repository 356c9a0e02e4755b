"""Pytrees shared by every layer: `Transition`, `Trajectories`, `Algorithm`, `Metrics`."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from flax import struct

Array = jax.Array
PRNGKey = jax.Array
Metrics = dict[str, Array]
State = Any


@struct.dataclass
class Transition:
    """A batch of environment steps, any leading shape (`[T, B]` from a rollout, `[N]` flat).

    Attributes:
      obs: [..., *obs_shape] observation the action was taken in.
      action: [..., *action_shape] action taken: an int32 index, or a float vector as the policy
        sampled it in a rollout (its `log_prob` is of it) and as executed (`Spec.executed`,
        clipped to the bounds) in demonstrations.
      reward: [...] true environment reward (replaced by a learned one where an IRL method
        relabels it).
      next_obs: [..., *obs_shape] observation reached, before any auto-reset.
      terminated: [...] bool, `next_obs` is terminal (no bootstrap).
      truncated: [...] bool, the episode was cut by the horizon after this step (bootstrap).
      log_prob: [...] log-probability of `action` under the policy that acted.
    """

    obs: Array
    action: Array
    reward: Array
    next_obs: Array
    terminated: Array
    truncated: Array
    log_prob: Array

    @property
    def done(self) -> Array:
        """[...] bool, the episode ended after this step."""
        return self.terminated | self.truncated


@struct.dataclass
class Trajectories:
    """Whole episodes stored flat: the demonstration format of jirl (DESIGN.md § Data).

    Episode `i` occupies rows `starts[i] : starts[i] + episode_lengths[i]`, in order; the
    observations of an episode are `obs[rows]` plus the last `next_obs`, one more than its
    actions (imitation's invariant).

    Attributes:
      obs: [N, *obs_shape] float32.
      actions: [N] int32 (discrete) or [N, action_dim] float32.
      rewards: [N] float32 true rewards.
      next_obs: [N, *obs_shape] float32.
      terminated: [N] bool.
      truncated: [N] bool.
      episode_lengths: [E] int32, sum equals N.
    """

    obs: Array
    actions: Array
    rewards: Array
    next_obs: Array
    terminated: Array
    truncated: Array
    episode_lengths: Array

    @property
    def num_transitions(self) -> int:
        return int(self.obs.shape[0])

    @property
    def num_episodes(self) -> int:
        return int(self.episode_lengths.shape[0])

    @property
    def num_terminated(self) -> int:
        """Episodes that end in a termination (the goal on acrobot, a fall on Brax robots)."""
        return int(self.terminated.sum())


class Algorithm(NamedTuple):
    """The one interface (DESIGN.md): an optax-style triple of pure functions.

    Attributes:
      init: `init(key) -> State`, all randomness from the key.
      update: `update(state) -> (state, metrics)`, one iteration (collect, learn); jittable.
      act: `act(state, obs, key) -> action`, the current policy on one unbatched observation,
        sampled.
      name: algorithm name (static).
      env_steps_per_update: environment steps one `update` takes (0 for offline methods).
      mode: `mode(state, obs) -> action`, the current policy's greedy action: the argmax of a
        categorical, a Gaussian's mean (under `squash: true` the squashed mean, the greedy
        action of SAC and Brax, not the maximum of the squashed density), as SB3's and Brax's
        deterministic evaluators act. None where the policy has none in closed form (SMILe's
        mixture of Gaussians).
    """

    init: Callable[[PRNGKey], State]
    update: Callable[[State], tuple[State, Metrics]]
    act: Callable[[State, Array, PRNGKey], Array]
    name: str = "algorithm"
    env_steps_per_update: int = 0
    mode: Callable[[State, Array], Array] | None = None


def owned(init: Callable[[PRNGKey], State]) -> Callable[[PRNGKey], State]:
    """`init` whose every call returns a state that owns its buffers, so that
    `jax.jit(algo.update, donate_argnums=0)` may donate a state `init` made outside jit.

    Outside jit a state can hold one array twice (an env's `obs` and `final_obs` after the
    reset; a policy's and a discriminator's normaliser fitted to the same demonstrations), which
    XLA refuses to donate twice, or an array `make` computed once and every `init` returns (BC's
    normaliser), which a donated update deletes from under later calls. Every array leaf is
    copied; under jit the copies are elided.
    """

    @functools.wraps(init)
    def fresh(key: PRNGKey) -> State:
        return jax.tree.map(lambda x: jnp.copy(x) if isinstance(x, jax.Array) else x, init(key))

    return fresh
