"""The one functional environment protocol, and the wrappers every algorithm uses.

An `Env` is a pair of pure functions on an *unbatched* state, like Brax:

    state = env.reset(key)            # EnvState
    state = env.step(state, action)   # EnvState

Batching is `vmap` (see `batch_reset` / `batch_step`), with automatic reset: when an episode
ends, `obs` is already the first observation of the next one and `final_obs` keeps the last
observation of the one that ended, so that truncated episodes can be bootstrapped correctly.

Termination semantics (documented on purpose, see DESIGN.md § Environments):

* `terminated`: the MDP reached a terminal state; the value of the next state is zero.
* `truncated`: the episode was cut by the horizon; the next state still has a value.
* With `fixed_horizon=True` (as the `seals` benchmark suite does) episodes never terminate
  early: the underlying physics keeps running, `terminated` is never set, and after the first
  true termination the *true* reward is masked to 0 (so returns stay comparable), while a learned
  reward sees every state. This removes the survival / early-termination bias of adversarial IRL.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jirl.errors import EnvError, is_int, short

Array = jax.Array


@dataclass(frozen=True)
class Spec:
    """Static description of an environment's spaces.

    Attributes:
      obs_shape: shape of one observation, e.g. `(4,)`.
      discrete: True for a categorical action space.
      num_actions: number of discrete actions (discrete only).
      action_dim: size of a continuous action vector (continuous only).
      action_low, action_high: bounds of a continuous action (scalars broadcast per dimension).
    """

    obs_shape: tuple[int, ...]
    discrete: bool
    num_actions: int | None = None
    action_dim: int | None = None
    action_low: float | tuple[float, ...] | None = None
    action_high: float | tuple[float, ...] | None = None

    def __post_init__(self):
        """EnvError for spaces no policy can act in (a user's `Spec` was never checked: a
        discrete space without actions built a 0-way categorical, bounds low > high sampled
        outside them). `obs_shape` is kept as a tuple of ints."""
        shape = self.obs_shape
        if not (
            isinstance(shape, tuple | list) and shape and all(is_int(n) and n >= 1 for n in shape)
        ):
            raise EnvError(
                f"Spec.obs_shape must be a non-empty tuple of integers >= 1 (a scalar observation "
                f"is (1,)), got {short(shape)}"
            )
        object.__setattr__(self, "obs_shape", tuple(int(n) for n in shape))
        if not isinstance(self.discrete, bool | np.bool_):
            raise EnvError(f"Spec.discrete must be True or False, got {short(self.discrete)}")
        count, other = ("num_actions", "action_dim")[:: 1 if self.discrete else -1]
        if not (is_int(getattr(self, count)) and getattr(self, count) >= 1):
            raise EnvError(
                f"Spec.{count} must be an integer >= 1 for a "
                f"{'discrete' if self.discrete else 'continuous'} action space, got "
                f"{short(getattr(self, count))}"
            )
        if getattr(self, other) is not None or (
            self.discrete and (self.action_low, self.action_high) != (None, None)
        ):
            raise EnvError(
                f"Spec.{other} and action bounds are for "
                f"{'continuous' if self.discrete else 'discrete'} actions; leave them out"
            )
        if (self.action_low is None) != (self.action_high is None):
            raise EnvError("Spec.action_low and action_high are given together, or neither")
        if self.action_low is not None:
            try:
                low, high = (
                    np.broadcast_to(np.asarray(b, np.float64), self.action_shape)
                    for b in (self.action_low, self.action_high)
                )
            except (TypeError, ValueError):
                raise EnvError(
                    f"Spec.action_low and action_high must be numbers or {self.action_dim} of "
                    f"them, got {short(self.action_low)} and {short(self.action_high)}"
                ) from None
            if not (np.isfinite(low).all() and np.isfinite(high).all() and (low < high).all()):
                raise EnvError(
                    f"Spec.action_low must be below action_high, both finite, got "
                    f"{short(self.action_low)} and {short(self.action_high)} (leave both out "
                    "for an unbounded space)"
                )

    @property
    def obs_dim(self) -> int:
        return int(np.prod(self.obs_shape))

    @property
    def action_shape(self) -> tuple[int, ...]:
        return () if self.discrete else (int(self.action_dim),)

    @property
    def action_dtype(self):
        return jnp.int32 if self.discrete else jnp.float32

    @property
    def clips_actions(self) -> bool:
        """Whether `executed` changes an action: continuous with bounds."""
        return not self.discrete and self.action_low is not None

    @property
    def action_kind(self) -> str:
        """`"discrete"`, `"bounded"` (continuous, clipped to bounds) or `"unbounded"`, for
        messages that refuse an option the space has no use for."""
        if self.discrete:
            return "discrete"
        return "bounded" if self.clips_actions else "unbounded"

    @property
    def bounds(self) -> tuple[Array, Array]:
        """(low, high) `[action_dim]` float32 each, of a bounded continuous space (per
        dimension: a scalar bound broadcast)."""
        return tuple(
            jnp.broadcast_to(jnp.asarray(b, jnp.float32), self.action_shape)
            for b in (self.action_low, self.action_high)
        )

    def executed(self, action: Array) -> Array:
        """The action the environment executes: a continuous one clipped to its bounds (a
        Gaussian policy samples outside them), a discrete one as it is. Demonstrations, oracle
        labels and discriminator inputs hold this, so that an expert's and a policy's actions
        are compared as executed."""
        if not self.clips_actions:
            return action
        low, high = self.bounds
        return jnp.clip(action, low, high)

    def to_dict(self) -> dict:
        """JSON form, as stored in demonstration headers."""
        if self.discrete:
            action = {"discrete": True, "n": int(self.num_actions)}
        else:
            action = {
                "discrete": False,
                "dim": int(self.action_dim),
                "low": _jsonable(self.action_low),
                "high": _jsonable(self.action_high),
            }
        return {"obs_shape": list(self.obs_shape), "action": action}


def _jsonable(x):
    if x is None:
        return None
    a = np.asarray(x, dtype=np.float64)
    return float(a) if a.ndim == 0 else [float(v) for v in a]


@struct.dataclass
class EnvState:
    """State of one (unbatched) environment.

    Attributes:
      inner: the backend's own state (gymnax state, Brax state, tabular state index, ...).
      obs: [*obs_shape] current observation (already the next episode's first after a reset).
      reward: [] reward of the last step (true reward; masked to 0 after a fixed-horizon
        termination).
      terminated: [] bool, the last step reached a terminal state.
      truncated: [] bool, the last step hit the horizon.
      final_obs: [*obs_shape] observation reached by the last step, before any auto-reset.
      time: [] int32, steps taken in the current episode.
      key: PRNG key of this environment (stochastic dynamics and auto-reset).
      episode_return: [] float, undiscounted true return of the episode the last step belongs
        to (when `done`, the return of the episode that just ended).
      failed: [] bool, a true termination happened in this fixed-horizon episode.
    """

    inner: Any
    obs: Array
    reward: Array
    terminated: Array
    truncated: Array
    final_obs: Array
    time: Array
    key: Array
    episode_return: Array
    failed: Array

    @property
    def done(self) -> Array:
        return jnp.logical_or(self.terminated, self.truncated)


def _strong(x):
    """`x` with a strong dtype where it is a weak-typed array or a Python scalar (gymnax
    pendulum's reset gives `last_u = jnp.array(0.0)`, strong after a step; gymnax 0.0.9's
    reset a Python `time = 0`): an env state whose types change between reset and step makes
    a jitted update compile twice. Applied to both reset and step."""
    if isinstance(x, bool | int | float) or getattr(x, "weak_type", False):
        return jnp.asarray(x, jnp.asarray(x).dtype)
    return x


#: The longest time limit: step counters are int32, and gymnax's own limit is set past it
#: (`horizon + 10**6`); 2**31 was accepted and overflowed at the first jitted step.
MAX_HORIZON = 2**30


@dataclass(frozen=True)
class Env:
    """A functional environment: pure `reset`/`step` on one unbatched `EnvState`.

    Backends provide two raw functions (`raw_reset(key) -> (inner, obs)` and
    `raw_step(key, inner, action) -> (inner, obs, reward, terminated)`); this class adds the
    horizon, the fixed-horizon option and the bookkeeping fields, so every backend behaves alike.
    The contract, checked when they are traced: `obs` of shape `spec.obs_shape`, a scalar
    reward and a scalar bool `terminated` (compare a 0/1 flag: `done > 0.5`); `raw_step` gets
    the action as executed (`spec.executed`: a continuous one already clipped to its bounds).

    Attributes:
      name: registered name, e.g. `"cartpole"`.
      spec: observation and action spaces.
      horizon: maximum episode length (time limit).
      fixed_horizon: if True episodes never terminate early (seals-style), see module doc.
      options: the resolved options that select the dynamics, as sorted `(name, value)` pairs:
        Brax's physics `backend`, a tabular world's layout. Demonstration files and experts
        record them, and loading checks them (`jirl.data.check_matches_env`), so that data
        from one physics backend is not used in another.
      terminal_failure: a termination means failure (the pole or the robot fell: CartPole and
        the Brax robots), not success (a goal reached: Acrobot, MountainCar, a gridworld goal).
        `jirl expert` uses it to prefer seeds that do not fall (`jirl.expert_run.choose_seed`).
    """

    name: str
    spec: Spec
    horizon: int
    raw_reset: Callable[[Array], tuple[Any, Array]]
    raw_step: Callable[[Array, Any, Array], tuple[Any, Array, Array, Array]]
    fixed_horizon: bool = False
    options: tuple[tuple[str, Any], ...] = ()
    terminal_failure: bool = False

    def __post_init__(self):
        """EnvError for a horizon that is no integer >= 1 (`with_options(horizon=0)` ran
        episodes of no step) or a spec that is no `Spec`; what `raw_reset` and `raw_step`
        return is checked against `spec` when they are traced (`_checked`)."""
        if not isinstance(self.spec, Spec):
            raise EnvError(f"Env.spec must be a jirl.envs.Spec, got {type(self.spec).__name__}")
        if not (is_int(self.horizon) and 1 <= self.horizon <= MAX_HORIZON):
            raise EnvError(
                f"{self.name}: horizon must be an integer in [1, {MAX_HORIZON:,}], got "
                f"{short(self.horizon)}"
            )
        object.__setattr__(self, "horizon", int(self.horizon))
        object.__setattr__(self, "fixed_horizon", check_fixed_horizon(self.fixed_horizon))
        for name in ("raw_reset", "raw_step"):
            if not callable(getattr(self, name)):
                raise EnvError(f"{self.name}: {name} must be a function")

    def _checked(self, where: str, obs, reward=None, terminated=None):
        """What a raw function returned, as float32 observation and reward and a bool
        termination, checked against `spec` at trace time (shapes are static: no cost when
        run): a custom env's observation of another shape was broadcast by the networks and
        trained on, a reward or flag of shape [1] failed deep inside a scan, and a float
        `terminated` of 0.3 read as True."""
        obs = jnp.asarray(obs)
        if obs.shape != self.spec.obs_shape:
            raise EnvError(
                f"{self.name}: {where} returned an observation of shape {obs.shape}; its spec "
                f"says {self.spec.obs_shape}"
            )
        if reward is None:
            return jnp.asarray(obs, jnp.float32)
        reward, terminated = jnp.asarray(reward), jnp.asarray(terminated)
        if reward.shape != () or terminated.shape != ():
            raise EnvError(
                f"{self.name}: {where} returned a reward of shape {reward.shape} and a "
                f"termination of shape {terminated.shape}; both must be scalars (shape ())"
            )
        if terminated.dtype != jnp.bool_:
            raise EnvError(
                f"{self.name}: {where} returned a termination of dtype {terminated.dtype}; it "
                "must be a bool (compare a 0/1 flag, e.g. `done > 0.5`)"
            )
        return jnp.asarray(obs, jnp.float32), jnp.asarray(reward, jnp.float32), terminated

    def options_dict(self) -> dict:
        """`options` as the JSON object that files record."""
        return json.loads(json.dumps(dict(self.options)))

    def reset(self, key: Array) -> EnvState:
        key, key_reset = jax.random.split(key)
        inner, obs = self.raw_reset(key_reset)
        inner = jax.tree.map(_strong, inner)
        obs = self._checked("raw_reset", obs)
        false = jnp.zeros((), bool)
        return EnvState(
            inner=inner,
            obs=obs,
            reward=jnp.zeros((), jnp.float32),
            terminated=false,
            truncated=false,
            final_obs=obs,
            time=jnp.zeros((), jnp.int32),
            key=key,
            episode_return=jnp.zeros((), jnp.float32),
            failed=false,
        )

    def step(self, state: EnvState, action: Array) -> EnvState:
        """One step without auto-reset; `obs == final_obs` afterwards. The action is executed
        as `spec.executed` gives it (a continuous one clipped to its bounds), here for every
        backend, so that what is evaluated is what demonstrations record."""
        key, key_step = jax.random.split(state.key)
        action = self.spec.executed(action)
        inner, obs, reward, terminated = self.raw_step(key_step, state.inner, action)
        inner = jax.tree.map(_strong, inner)
        obs, reward, terminated = self._checked("raw_step", obs, reward, terminated)
        # A state gone non-finite (a NaN action, physics that blew up) ends the episode: Brax's
        # health checks compare with < and >, false for NaN, so inverted_pendulum paid its
        # alive bonus to a NaN policy for the whole horizon (a full score). The reward is left
        # as it is, NaN included: a NaN return is seen, never one that reads as good.
        # Its observation is the last finite one, so that nothing downstream reads NaN from
        # a step whose value is masked (AIRL's h(s') at a termination: 0 * NaN is NaN); under
        # a fixed horizon the episode, failed and unpaid, goes on from that last finite state
        # (stepping on from NaN physics gave NaN observations that GAE spread to the weights).
        broken = jnp.logical_not(jnp.isfinite(obs).all() & jnp.isfinite(reward))
        terminated = jnp.logical_or(terminated, broken)
        obs = jnp.where(broken, state.obs, obs)
        time = state.time + 1
        if self.fixed_horizon:
            inner = jax.tree.map(lambda old, new: jnp.where(broken, old, new), state.inner, inner)
            reward = jnp.where(state.failed, 0.0, reward)
            failed = jnp.logical_or(state.failed, terminated)
            terminated = jnp.zeros((), bool)
        else:
            failed = state.failed
        truncated = jnp.logical_and(time >= self.horizon, jnp.logical_not(terminated))
        return EnvState(
            inner=inner,
            obs=obs,
            reward=reward,
            terminated=terminated,
            truncated=truncated,
            final_obs=obs,
            time=time,
            key=key,
            # After an auto-reset the previous step's `done` is still set: a new episode begins.
            episode_return=jnp.where(state.done, 0.0, state.episode_return) + reward,
            failed=failed,
        )

    def step_autoreset(self, state: EnvState, action: Array) -> EnvState:
        """One step; if the episode ended, `obs` is the next episode's first observation.

        `final_obs`, `reward`, `terminated`, `truncated` and `episode_return` still describe the
        step just taken, so statistics and bootstrapping read them from the returned state.
        """
        stepped = self.step(state, action)
        fresh = self.reset(stepped.key)
        done = stepped.done
        pick = lambda new, old: jnp.where(done, new, old)
        return stepped.replace(
            inner=jax.tree.map(pick, fresh.inner, stepped.inner),
            obs=pick(fresh.obs, stepped.obs),
            time=pick(fresh.time, stepped.time),
            key=fresh.key,
            failed=pick(fresh.failed, stepped.failed),
        )

    def with_options(self, **changes) -> Env:
        """A copy with other `horizon` / `fixed_horizon` (checked as `make` checks them);
        EnvError for any other key."""
        from dataclasses import replace

        unknown = sorted(set(changes) - {"horizon", "fixed_horizon"})
        if unknown:
            raise EnvError(
                f"{self.name}: with_options takes horizon and fixed_horizon, got {unknown}"
            )
        return replace(self, **changes)


def check_fixed_horizon(value) -> bool:
    """`value` as a bool; EnvError for anything but True or False ("no" is truthy)."""
    if not isinstance(value, bool | np.bool_):
        raise EnvError(f"fixed_horizon must be True or False, got {value!r}")
    return bool(value)


def batch_reset(env: Env, key: Array, num_envs: int) -> EnvState:
    """Reset `num_envs` independent environments. Returns an EnvState with leading axis [B]."""
    return jax.vmap(env.reset)(jax.random.split(key, num_envs))


def batch_step(env: Env, state: EnvState, action: Array) -> EnvState:
    """Step a batch [B] of environments with auto-reset. `action: [B, *action_shape]`."""
    return jax.vmap(env.step_autoreset)(state, action)
