"""An on-policy agent: the one rollout, an optional reward relabelling, and a policy learner.

PPO and TRPO are `Learner`s: `learn(learner_state, transitions [T, B], key)`. `make_agent` turns
any learner into an `Algorithm` that optimises the environment's reward or a `reward_fn` passed
in (a frozen learned reward, say), so IRL plugs rewards in without touching the optimisers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from flax import struct

from jirl.envs.base import Env, EnvState, Spec, batch_reset
from jirl.errors import ConfigError, check_state, short
from jirl.nets import Normalizer, Policy, ValueFn, acting
from jirl.rl.rollout import rollout
from jirl.types import Algorithm, Array, Metrics, Transition, owned

#: `reward_fn(transitions [T, B]) -> rewards [T, B]` float: a rollout's `num_steps` × `num_envs`
#: transitions at once, a reward for each.
RewardFn = Callable[[Transition], Array]


def check_reward_fn(reward_fn: RewardFn, spec: Spec, num_steps: int, num_envs: int) -> None:
    """ConfigError unless `reward_fn` maps a rollout's transitions `[num_steps, num_envs]` in
    `spec`'s spaces to float rewards of that shape; checked on shapes only (`jax.eval_shape`),
    before a trace would fail deep in the advantages or the scan."""
    if not callable(reward_fn):
        raise ConfigError(
            f"reward_fn must be a function of transitions returning rewards, got {short(reward_fn)}"
        )
    lead = (num_steps, num_envs)

    def shaped(shape, dtype):
        return jax.ShapeDtypeStruct((*lead, *shape), dtype)

    batch = Transition(
        obs=shaped(spec.obs_shape, jnp.float32),
        action=shaped(spec.action_shape, spec.action_dtype),
        reward=shaped((), jnp.float32),
        next_obs=shaped(spec.obs_shape, jnp.float32),
        terminated=shaped((), jnp.bool_),
        truncated=shaped((), jnp.bool_),
        log_prob=shaped((), jnp.float32),
    )
    try:
        out = jax.eval_shape(reward_fn, batch)
    except Exception as e:  # the user's function, traced: its own error, said as one line
        first = (str(e).strip().splitlines() or [""])[0]
        raise ConfigError(
            f"reward_fn failed on transitions [T, B, ...] = {list(lead)} + each field's shape "
            f"(num_steps × num_envs): {type(e).__name__}: {short(first)}"
        ) from e
    shaped_like = hasattr(out, "shape") and hasattr(out, "dtype")
    if not (shaped_like and out.shape == lead and jnp.issubdtype(out.dtype, jnp.floating)):
        got = f"{out.dtype}{list(out.shape)}" if shaped_like else short(out)
        raise ConfigError(
            f"reward_fn must return one float reward per transition, [T, B] = {list(lead)} for "
            f"transitions [T, B, ...] (num_steps × num_envs), got {got}"
        )


@struct.dataclass
class LearnerState:
    """Parameters and optimiser state of a policy learner.

    Attributes:
      params: `{"policy": ..., "value": ...}` flax parameter trees.
      opt_state: optax state (over both for PPO, over the value function for TRPO).
      normalizer: running observation statistics shared by policy and value.
    """

    params: dict
    opt_state: object
    normalizer: Normalizer


class Learner(NamedTuple):
    """A policy optimiser: `init(key) -> LearnerState`, `learn(state, batch, key)`."""

    policy: Policy
    value: ValueFn
    init: Callable[[Array], LearnerState]
    learn: Callable[[LearnerState, Transition, Array], tuple[LearnerState, Metrics]]


def sgd_epochs(step, carry, data, key: Array, num_epochs: int, num_minibatches: int):
    """`num_epochs` passes of `step(carry, minibatch) -> (carry, metrics)` over `data`, a pytree
    of `[N, ...]` arrays, each pass a fresh permutation cut into `num_minibatches` minibatches
    `[N / num_minibatches, ...]`: PPO's updates and TRPO's value fit.
    Returns `(carry, metrics [num_epochs, num_minibatches, ...])`."""
    size = jax.tree.leaves(data)[0].shape[0]

    def epoch(carry, key_epoch):
        perm = jax.random.permutation(key_epoch, size)
        shuffle = lambda x: x[perm].reshape((num_minibatches, -1, *x.shape[1:]))  # noqa: E731
        return jax.lax.scan(step, carry, jax.tree.map(shuffle, data))

    return jax.lax.scan(epoch, carry, jax.random.split(key, num_epochs))


@struct.dataclass
class AgentState:
    """State of an RL agent: learner, batched environments, key, update count, and the mean
    true return of the episodes that ended most recently (kept when an update ends none)."""

    learner: LearnerState
    env_state: EnvState
    key: Array
    step: Array
    last_return: Array


def learner_policy(state) -> tuple[dict, Normalizer]:
    """`(params, normalizer)` of the policy of a state with a `learner` field."""
    return state.learner.params["policy"], state.learner.normalizer


def sampler(policy: Policy, learner_state: LearnerState):
    """The acting function of the current policy on a batch of observations."""
    return lambda obs, key: policy.sample(
        learner_state.params["policy"], learner_state.normalizer, obs, key
    )


class GeneratorRound(NamedTuple):
    """What one `generator_round` returns.

    Attributes:
      learner: the learner's state after its update.
      env_state: the environments after the rollout `[B]`.
      batch: the rollout `[T, B]` as collected (true rewards, the policy's log π).
      reward: `[T, B]` the rewards the learner optimised.
      last_return: `[]` the return to carry into the next round (`metrics_carried`).
      metrics: the learner's metrics and the episodes' (`episode_return`, ...).
      aux: whatever `relabel` returned beside the rewards.
    """

    learner: LearnerState
    env_state: EnvState
    batch: Transition
    reward: Array
    last_return: Array
    metrics: Metrics
    aux: Any


def generator_round(
    env: Env,
    learner: Learner,
    state,
    relabel: Callable[[Transition], tuple[Array, Any]],
    key_rollout: Array,
    key_learn: Array,
    num_steps: int,
) -> GeneratorRound:
    """The inner RL step that every on-policy learner shares: collect `num_steps` steps with
    the current policy, relabel their rewards, one `learner.learn` on the relabelled batch.

    `make_agent` (a fixed or no `reward_fn`), the adversarial loop (the discriminator updated
    inside `relabel`) and FEM/GTAL (the feature-matching reward) each call it once per update.

    Args:
      state: any state with `learner`, `env_state` `[B]` and `last_return` `[]` fields.
      relabel: `relabel(batch [T, B]) -> (rewards [T, B], aux)`, computed before the learner
        moves; `aux` is returned as it is.
    """
    env_state, batch, stats = rollout(
        env, sampler(learner.policy, state.learner), state.env_state, key_rollout, num_steps
    )
    reward, aux = relabel(batch)
    learner_state, metrics = learner.learn(state.learner, batch.replace(reward=reward), key_learn)
    episodes, last_return = stats.metrics_carried(state.last_return)
    return GeneratorRound(
        learner_state, env_state, batch, reward, last_return, {**metrics, **episodes}, aux
    )


def make_agent(
    env: Env,
    learner: Learner,
    num_envs: int,
    num_steps: int,
    reward_fn: RewardFn | None = None,
    name: str = "rl",
) -> Algorithm:
    """Build the `Algorithm` that alternates `rollout` and `learner.learn`.

    Args:
      env: environment; `num_envs` copies run in parallel for `num_steps` steps per update.
      learner: PPO or TRPO learner.
      reward_fn: reward to optimise instead of the environment's (metrics still report the
        true return): `RewardFn`, transitions `[num_steps, num_envs]` to float rewards of that
        shape (`check_reward_fn`).
    """
    if reward_fn is not None:
        check_reward_fn(reward_fn, env.spec, num_steps, num_envs)

    def init(key: Array) -> AgentState:
        key, key_learner, key_env = jax.random.split(key, 3)
        return AgentState(
            learner=learner.init(key_learner),
            env_state=batch_reset(env, key_env, num_envs),
            key=key,
            step=jnp.zeros((), jnp.int32),
            last_return=jnp.zeros((), jnp.float32),
        )

    def update(state: AgentState) -> tuple[AgentState, Metrics]:
        check_state(state, AgentState, name, num_envs)
        key, key_rollout, key_learn = jax.random.split(state.key, 3)

        def relabel(batch: Transition) -> tuple[Array, None]:
            return (batch.reward if reward_fn is None else reward_fn(batch)), None

        out = generator_round(env, learner, state, relabel, key_rollout, key_learn, num_steps)
        new_state = AgentState(out.learner, out.env_state, key, state.step + 1, out.last_return)
        return new_state, out.metrics

    act, mode = acting(learner.policy, learner_policy)
    return Algorithm(owned(init), update, act, name, num_envs * num_steps, mode)
