"""DAgger: dataset aggregation (Ross, Gordon & Bagnell 2011, "A Reduction of Imitation Learning
and Structured Prediction to No-Regret Online Learning", Algorithm 3.1).

Round i (one `update`):

1. roll out the β-mixture π_i = β_i π* + (1 − β_i) π̂_i in the batched env (the shared
   `jirl.rl.rollout`) from fresh episodes, at least one whole episode per environment
   (`steps_per_round` ≥ the horizon: the paper samples T-step trajectories of π_i); the mixture
   is drawn per step and per environment: the expert's action with probability β_i, else a
   sample of the learner;
2. label every visited state with the expert oracle (`jirl.oracle`, the expert's greedy
   action by default);
3. aggregate: append the labelled states to a fixed-capacity device buffer (no host round trip);
4. retrain the learner on the whole buffer with the BC loss (`jirl.algos.bc.sgd_steps`).

The buffer is seeded with the demonstrations and the first learner π̂_1 is behavioural cloning on
them (done in `init`): the demonstrations are round 0, the paper's first round, whose β_1 = 1
makes it the expert's alone, so the first `update` is round 1 (without demonstrations, round 0:
with `first`, the expert acts on it, and π̂ is fit on its labels). The buffer then holds two
kinds of label: a jirl demo file records the expert's *sampled* actions, the oracle answers
every later round with its most likely one (`jirl.oracle.as_oracle`; on the quickstart's
cartpole expert the two differ on 26% of the demonstrated states), as SMILe's demonstrations
do; the demonstrations are the first rows to leave a full buffer. The learner keeps its
parameters and Adam state across rounds (a warm start; the paper retrains from scratch, which
the no-regret analysis does not need).

Buffer semantics (documented on purpose): a ring buffer of `buffer_capacity` rows. While it
fills, rows `[0, size)` hold every labelled state in order. Once full, each new row overwrites the
oldest one, so the buffer always holds the newest `buffer_capacity` labelled states (the seed
demonstrations are the first to go). The observation normaliser is a running estimate over
every state ever added.

β schedules (`round` i counts from 0, `beta` is β_0; with demonstrations, updates start at i = 1):

* `constant`: β_i = β;
* `linear`: β_i = β · max(0, 1 − i / `beta_rounds`);
* `exponential`: β_i = β · `beta_decay`^i (the paper's β_i = p^(i−1));
* `first`: β on round 0, then 0 (the lecture's "expert only on the first round"; the paper's
  β_i = I(i = 1), which it found best in practice).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import optax
from flax import struct

from jirl.algos.bc import make_policy, sgd_steps, validate_policy_fit
from jirl.data import check_fits
from jirl.envs.base import Env
from jirl.errors import ConfigError, check_config, check_state, check_types, require
from jirl.nets import Normalizer, acting
from jirl.oracle import Oracle, as_oracle, check_acts_in, label, labelled_round, round_steps
from jirl.types import Algorithm, Array, Metrics, Trajectories, owned

BETA_SCHEDULES = ("constant", "linear", "exponential", "first")


@dataclass(frozen=True)
class DAggerConfig:
    """DAgger hyperparameters. One `update` is one round of `num_envs * steps_per_round` steps.

    Attributes:
      beta_schedule: one of `constant`, `linear`, `exponential`, `first` (see module doc).
      beta: β_0, the expert's share of round 0's actions, in [0, 1] (with demonstrations,
        round 0 is theirs and updates start at round 1).
      beta_decay: factor per round of the `exponential` schedule, in [0, 1].
      beta_rounds: rounds for the `linear` schedule to reach 0.
      num_envs: parallel environments of the rollout.
      steps_per_round: steps per environment per round, at least the environment's horizon;
        None (default): the horizon, one whole episode per environment (more after early
        terminations, the auto-reset starting new ones).
      buffer_capacity: rows of the aggregated dataset (ring buffer, keeps the newest).
      sgd_steps: Adam steps of the BC loss per round (and for the initial fit on demos).
      batch_size: minibatch size of those steps.
      learning_rate, ent_coef, l2_coef: BC optimiser and loss settings.
      hidden, activation: learner network.
      normalize_obs: normalise observations with running statistics of the buffer.
    """

    beta_schedule: str = "first"
    beta: float = 1.0
    beta_decay: float = 0.5
    beta_rounds: int = 10
    num_envs: int = 8
    steps_per_round: int | None = None
    buffer_capacity: int = 50_000
    sgd_steps: int = 200
    batch_size: int = 256
    learning_rate: float = 1e-3
    ent_coef: float = 0.0
    l2_coef: float = 0.0
    hidden: tuple[int, ...] = (64, 64)
    activation: str = "tanh"
    normalize_obs: bool = True

    def __post_init__(self):
        check_types(self, "dagger.")
        require(
            self.beta_schedule in BETA_SCHEDULES,
            f"dagger.beta_schedule must be one of {', '.join(BETA_SCHEDULES)}, "
            f"got '{self.beta_schedule}'",
        )
        require(
            (0.0 <= self.beta) & (self.beta <= 1.0),
            f"dagger.beta must be in [0, 1], got {self.beta}",
        )
        require(
            (0.0 <= self.beta_decay) & (self.beta_decay <= 1.0),
            f"dagger.beta_decay must be in [0, 1], got {self.beta_decay}",
        )
        require(self.beta_rounds >= 1, f"dagger.beta_rounds must be >= 1, got {self.beta_rounds}")
        for name in ("num_envs", "sgd_steps", "batch_size", "buffer_capacity"):
            value = getattr(self, name)
            require(value >= 1, f"dagger.{name} must be >= 1, got {value}")
        require(
            self.steps_per_round is None or self.steps_per_round >= 1,
            f"dagger.steps_per_round must be >= 1 (or unset), got {self.steps_per_round}",
        )
        validate_policy_fit(self, "dagger")


def beta_at(config: DAggerConfig, round_index: Array) -> Array:
    """β of round `round_index` (0-based, may be traced) under `config`'s schedule; `[]`."""
    i = jnp.asarray(round_index, jnp.float32)
    if config.beta_schedule == "constant":
        beta = jnp.full_like(i, config.beta)
    elif config.beta_schedule == "linear":
        beta = config.beta * jnp.maximum(0.0, 1.0 - i / config.beta_rounds)
    elif config.beta_schedule == "exponential":
        beta = config.beta * jnp.power(config.beta_decay, i)
    else:  # "first"
        beta = jnp.where(i == 0, config.beta, 0.0)
    return beta.astype(jnp.float32)


@struct.dataclass
class Buffer:
    """Fixed-capacity ring buffer of labelled states (lives on device, inside the state).

    Attributes:
      obs: [C, *obs_shape].
      actions: [C] int32 or [C, action_dim] float32, the oracle's labels.
      size: [] int32, valid rows (`min(added, C)`); rows `[0, size)` are valid.
      added: [] int32, rows ever added; the next write goes to row `added % C`.
    """

    obs: Array
    actions: Array
    size: Array
    added: Array

    @property
    def capacity(self) -> int:
        return int(self.obs.shape[0])


def buffer_init(capacity: int, obs_shape: tuple[int, ...], action_shape, action_dtype) -> Buffer:
    """An empty buffer of `capacity` rows."""
    return Buffer(
        obs=jnp.zeros((capacity, *obs_shape), jnp.float32),
        actions=jnp.zeros((capacity, *action_shape), action_dtype),
        size=jnp.zeros((), jnp.int32),
        added=jnp.zeros((), jnp.int32),
    )


def buffer_add(buffer: Buffer, obs: Array, actions: Array) -> Buffer:
    """Append `N` rows, overwriting the oldest once full (the newest `C` rows are kept).

    Args:
      obs: [N, *obs_shape]; actions: [N, *action_shape]. If N > C only the last C are written.
    """
    capacity = buffer.capacity
    if obs.shape[0] > capacity:
        obs, actions = obs[-capacity:], actions[-capacity:]
    n = obs.shape[0]
    rows = (buffer.added + jnp.arange(n)) % capacity
    return Buffer(
        obs=buffer.obs.at[rows].set(obs.astype(buffer.obs.dtype)),
        actions=buffer.actions.at[rows].set(actions.astype(buffer.actions.dtype)),
        size=jnp.minimum(buffer.size + n, capacity),
        added=buffer.added + n,
    )


@struct.dataclass
class DAggerState:
    """Learner, aggregated buffer, batched environments, counters, key and round count.

    Attributes:
      params: learner policy parameters; opt_state: its Adam state.
      normalizer: running observation statistics of every state added to the buffer.
      buffer: the aggregated dataset.
      expert_queries: [] int32, labelled states so far (demonstrations not counted).
      last_return: [] mean true return of the last round's first episodes (one per environment).
      key: PRNG key; step: [] int32, rounds done (the demonstrations count as round 0).
    """

    params: dict
    opt_state: optax.OptState
    normalizer: Normalizer
    buffer: Buffer
    expert_queries: Array
    last_return: Array
    key: Array
    step: Array


def make(
    config: DAggerConfig,
    env: Env,
    demos: Trajectories | None = None,
    *,
    expert: Oracle | object,
) -> Algorithm:
    """DAgger for `env`, seeded with `demos` (None: round 0 is rolled out), querying `expert`
    (keyword-only, as in `smile.make`: the two take the same arguments).

    Args:
      expert: a jirl `Expert` (labels with its greedy action) or any `act(obs, key) -> action`.
    """
    check_config(config, DAggerConfig)
    oracle = as_oracle(expert)
    spec = env.spec
    check_acts_in(oracle, spec, env.name)
    if demos is not None:
        check_fits(demos, spec, env.name)
    policy = make_policy(config, env)
    optimizer = optax.inject_hyperparams(optax.adam)(learning_rate=config.learning_rate)
    steps = round_steps(config.steps_per_round, env, "dagger", config.num_envs)
    per_round = config.num_envs * steps
    if config.buffer_capacity < per_round:
        raise ConfigError(
            f"dagger.buffer_capacity ({config.buffer_capacity}) must hold at least one round, "
            f"num_envs * steps per round = {config.num_envs} * {steps} = {per_round}"
        )
    seed_obs = seed_actions = None
    if demos is not None:
        if demos.num_transitions > config.buffer_capacity:
            raise ConfigError(
                f"dagger.buffer_capacity ({config.buffer_capacity}) is smaller than the "
                f"{demos.num_transitions} demonstration steps; raise it or use --num-demos"
            )
        seed_obs = jnp.asarray(demos.obs, jnp.float32)
        seed_actions = jnp.asarray(demos.actions, spec.action_dtype)

    def fit(params, opt_state, normalizer, buffer, key):
        return sgd_steps(
            params,
            opt_state,
            optimizer,
            policy,
            normalizer,
            buffer.obs,
            buffer.actions,
            jnp.maximum(buffer.size, 1),
            key,
            config.sgd_steps,
            config.batch_size,
            config.ent_coef,
            config.l2_coef,
        )

    def observe(normalizer: Normalizer, obs: Array) -> Normalizer:
        return normalizer.update(obs) if config.normalize_obs else normalizer

    def init(key: Array) -> DAggerState:
        key, key_params, key_fit = jax.random.split(key, 3)
        params = policy.init(key_params)
        opt_state = optimizer.init(params)
        normalizer = Normalizer.create(spec.obs_shape)
        buffer = buffer_init(
            config.buffer_capacity, spec.obs_shape, spec.action_shape, spec.action_dtype
        )
        if seed_obs is not None:
            buffer = buffer_add(buffer, seed_obs, seed_actions)
            normalizer = observe(normalizer, seed_obs)
            params, opt_state, _ = fit(params, opt_state, normalizer, buffer, key_fit)
        return DAggerState(
            params=params,
            opt_state=opt_state,
            normalizer=normalizer,
            buffer=buffer,
            expert_queries=jnp.zeros((), jnp.int32),
            last_return=jnp.zeros((), jnp.float32),
            key=key,
            # demonstrations are the expert's round: the first update is the learner's
            step=jnp.asarray(0 if seed_obs is None else 1, jnp.int32),
        )

    # the demonstrations are round 0, the only one where `first` gives the expert a share:
    # every update's β is 0 and `beta` is never read (so a sweep of it is refused, `jirl.sweep`)
    expert_never_acts = seed_obs is not None and config.beta_schedule == "first"

    def update(state: DAggerState) -> tuple[DAggerState, Metrics]:
        check_state(state, DAggerState, "dagger")
        key, key_env, key_rollout, _, key_fit = jax.random.split(state.key, 5)
        beta = jnp.zeros((), jnp.float32) if expert_never_acts else beta_at(config, state.step)

        def mixture(obs: Array, key: Array) -> tuple[Array, Array, Array]:
            """β-mixture on `obs [B, *obs_shape]`; per step and env, expert w.p. β. The
            expert's action is every visited state's label, whoever acts."""
            key_mix, key_learner, key_expert = jax.random.split(key, 3)
            learner_action, _ = policy.sample(state.params, state.normalizer, obs, key_learner)
            expert_action = label(oracle, spec, obs, key_expert)
            use_expert = jax.random.bernoulli(key_mix, beta, (obs.shape[0],))
            use_expert = use_expert.reshape((-1,) + (1,) * len(spec.action_shape))
            action = jnp.where(use_expert, expert_action, learner_action.astype(spec.action_dtype))
            return action, jnp.zeros(obs.shape[0]), expert_action

        obs, labels, stats = labelled_round(
            env, mixture, config.num_envs, steps, key_env, key_rollout
        )
        buffer = buffer_add(state.buffer, obs, labels)
        normalizer = observe(state.normalizer, obs)
        params, opt_state, fit_metrics = fit(
            state.params, state.opt_state, normalizer, buffer, key_fit
        )
        # every env starts afresh: its first episode, unbiased by the window's length
        episodes, last_return = stats.first_episodes().metrics_carried(state.last_return)
        expert_queries = state.expert_queries + per_round
        metrics = {
            **fit_metrics,
            **episodes,
            "beta": beta,
            "expert_queries": expert_queries.astype(jnp.float32),
            "buffer_size": buffer.size.astype(jnp.float32),
        }
        new_state = DAggerState(
            params=params,
            opt_state=opt_state,
            normalizer=normalizer,
            buffer=buffer,
            expert_queries=expert_queries,
            last_return=last_return,
            key=key,
            step=state.step + 1,
        )
        return new_state, metrics

    # the learner alone (no expert): π̂
    act, mode = acting(policy, lambda state: (state.params, state.normalizer))
    return Algorithm(owned(init), update, act, "dagger", per_round, mode)
