"""SMILe: stochastic mixing iterative learning (Ross & Bagnell 2010, "Efficient Reductions for
Imitation Learning", AISTATS, Algorithm SMILe, section 4.2).

Start from π_0 = π* (the expert). Round k = 1, 2, ... (one `update`):

1. collect a fresh dataset by running the current mixture π_{k−1} in the batched env (the
   shared `jirl.rl.rollout`) from fresh episodes, at least one whole episode per environment
   (`steps_per_round` ≥ the horizon; the paper executes π_{k−1} for T steps), and label every
   visited state with the expert oracle;
2. train a NEW policy π̂_k by behavioural cloning on that dataset only (fresh parameters and
   optimiser; the BC loss of `jirl.algos.bc`, shared);
3. update the mixture: π_k = π_{k−1} + β(1 − β)^(k−1) (π̂_k − π*).

After k rounds the expert has weight (1 − β)^k and policy i ≤ k has weight β(1 − β)^(i−1)
(`mixture_weights`, the closed form): earlier policies, trained nearer the expert's
distribution, weigh more.

Members are stored as stacked parameters `[M, ...]` (each with its own observation
normaliser; M is `max_rounds`, plus one for the demonstrations' member if there are any);
rounds past the M-th member change nothing: the member they fit is discarded and no
query is counted (the fit still runs: under vmap a `cond` would run it anyway), and they roll
out the mixture for metrics, where the expert acts with weight (1 − β)^M.
`expert_queries` counts the states labelled, not the steps the expert acted in a roll-out.

Every round starts its environments from the initial distribution: carrying them over from the
previous round would train π̂_k on the later part of episodes that earlier mixtures drove, not
on π_{k−1}'s own state distribution.

Sampling a member is done **per step** (and per environment): at every step an independent
member is drawn from the mixture weights and acts. In data collection the expert is a member
(with weight (1 − β)^(k−1)); `act`, the policy a user evaluates and deploys, is the learned
mixture without the expert, renormalised, which is the paper's π̃_k = (π_k − (1 − β)^k π*) /
(1 − (1 − β)^k) and never queries the expert.

If demonstrations are given, the first policy π̂_1 is trained on them in `init` instead of on a
round of expert roll-outs (π_0 = π* acts alone on round 1, so both come from the expert's state
distribution); that round then costs no expert queries. The labels differ: a jirl demo file
records the expert's sampled actions, the oracle answers with its most likely one
(`jirl.oracle.as_oracle`).
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
from jirl.errors import check_config, check_state, check_types, require
from jirl.nets import Normalizer
from jirl.oracle import Oracle, as_oracle, check_acts_in, label, labelled_round, round_steps
from jirl.types import Algorithm, Array, Metrics, Trajectories, owned

#: One policy network per round is kept on the device, and every step samples a member among
#: them: beyond this many, a mixture is memory and time spent on members of weight ~0 (at β =
#: 0.3 the 100th round's weight is 1e-16).
MAX_ROUNDS = 10_000


@dataclass(frozen=True)
class SMILeConfig:
    """SMILe hyperparameters. One `update` is one round of `num_envs * steps_per_round` steps.

    Attributes:
      beta: mixing rate β in (0, 1]: the weight the first new policy takes from the expert.
      max_rounds: the rounds (updates) that each add a member, at most `MAX_ROUNDS`; static.
        The mixture stacks that many members, one more when demonstrations train the first.
        The default is `jirl train`'s default `updates`; it refuses fewer than its `updates`,
        and a config file's `max_rounds` equal to its `updates` follows `--updates`
        (`jirl.config.RUN_LENGTH_FIELDS`).
      num_envs: parallel environments of the rollout.
      steps_per_round: steps per environment per round (dataset = num_envs * steps_per_round),
        at least the environment's horizon; None (default): the horizon, one whole episode
        per environment (more after early terminations, the auto-reset starting new ones).
      sgd_steps: Adam steps of the BC loss that train each new policy.
      batch_size, learning_rate, ent_coef, l2_coef: BC settings.
      hidden, activation: each member's network.
      normalize_obs: each member normalises observations with its own dataset's statistics.
    """

    beta: float = 0.3
    max_rounds: int = 100
    num_envs: int = 8
    steps_per_round: int | None = None
    sgd_steps: int = 300
    batch_size: int = 256
    learning_rate: float = 1e-3
    ent_coef: float = 0.0
    l2_coef: float = 0.0
    hidden: tuple[int, ...] = (64, 64)
    activation: str = "tanh"
    normalize_obs: bool = True

    def __post_init__(self):
        check_types(self, "smile.")
        require(
            (0.0 < self.beta) & (self.beta <= 1.0), f"smile.beta must be in (0, 1], got {self.beta}"
        )
        for name in ("max_rounds", "num_envs", "sgd_steps", "batch_size"):
            value = getattr(self, name)
            require(value >= 1, f"smile.{name} must be >= 1, got {value}")
        require(
            self.steps_per_round is None or self.steps_per_round >= 1,
            f"smile.steps_per_round must be >= 1 (or unset), got {self.steps_per_round}",
        )
        require(
            self.max_rounds <= MAX_ROUNDS,
            f"smile.max_rounds must be at most {MAX_ROUNDS:,} (one network is kept per round), "
            f"got {self.max_rounds:,}",
        )
        validate_policy_fit(self, "smile")


def mixture_weights(beta: Array | float, rounds: Array | int, max_rounds: int) -> Array:
    """Weights of the SMILe mixture after `rounds` rounds (the closed form).

    Args:
      beta: mixing rate β, `[]` (may be traced).
      rounds: k, rounds done, `[]` int (may be traced); clipped to `max_rounds`.
      max_rounds: M, static.

    Returns:
      [M + 1]: entry 0 the expert, (1 − β)^k; entry i ∈ 1..M policy i, β(1 − β)^(i−1) for
      i ≤ k and 0 after. They sum to 1.
    """
    beta = jnp.asarray(beta, jnp.float32)
    k = jnp.minimum(jnp.asarray(rounds, jnp.int32), max_rounds)
    i = jnp.arange(1, max_rounds + 1)
    policies = jnp.where(i <= k, beta * (1.0 - beta) ** (i - 1), 0.0)
    expert = (1.0 - beta) ** k
    return jnp.concatenate([expert[None], policies]).astype(jnp.float32)


def learner_weights(weights: Array) -> Array:
    """The mixture without the expert, renormalised: `[M + 1] -> [M]` (π̃ of the paper).

    Before any round (no member yet) all weight goes to member 1.
    """
    policies = weights[1:]
    total = policies.sum()
    first = jnp.zeros_like(policies).at[0].set(1.0)
    return jnp.where(total > 0, policies / jnp.maximum(total, 1e-30), first)


def sample_member(key: Array, weights: Array) -> Array:
    """Draw a member index from `weights [K]` (unnormalised, non-negative); `[]` int32."""
    return jax.random.categorical(key, jnp.log(weights)).astype(jnp.int32)


@struct.dataclass
class SMILeState:
    """The mixture's members, batched environments, counters, key and round count.

    Attributes:
      params: member policy parameters, every leaf stacked `[M, ...]` (M members: `make`).
      normalizers: Normalizer with leaves `[M, *obs_shape]` (count `[M]`).
      expert_queries: [] int32, states labelled by the expert so far.
      last_return: [] mean true return of the last round's first episodes (one per environment).
      key: PRNG key; step: [] int32, rounds done (= members trained).
    """

    params: dict
    normalizers: Normalizer
    expert_queries: Array
    last_return: Array
    key: Array
    step: Array


def make(
    config: SMILeConfig,
    env: Env,
    demos: Trajectories | None = None,
    *,
    expert: Oracle | object,
) -> Algorithm:
    """SMILe for `env`, querying `expert` (keyword-only, as in `dagger.make`); `demos`
    (optional) train the first member.

    Args:
      expert: a jirl `Expert` (labels with its greedy action) or any `act(obs, key) -> action`.
    """
    check_config(config, SMILeConfig)
    oracle = as_oracle(expert)
    spec = env.spec
    check_acts_in(oracle, spec, env.name)
    if demos is not None:
        check_fits(demos, spec, env.name)
    policy = make_policy(config, env)
    optimizer = optax.inject_hyperparams(optax.adam)(learning_rate=config.learning_rate)
    num_members = config.max_rounds + (demos is not None)  # the demos' member is round 1's
    steps = round_steps(config.steps_per_round, env, "smile", config.num_envs)
    per_round = config.num_envs * steps

    def train_member(obs: Array, actions: Array, key: Array) -> tuple[dict, Normalizer, Metrics]:
        """A new policy fit by BC on `obs [N, *obs_shape]`, `actions [N, ...]` alone."""
        key_params, key_sgd = jax.random.split(key)
        params = policy.init(key_params)
        normalizer = Normalizer.create(spec.obs_shape)
        if config.normalize_obs:
            normalizer = normalizer.update(obs)
        params, _, metrics = sgd_steps(
            params,
            optimizer.init(params),
            optimizer,
            policy,
            normalizer,
            obs,
            actions,
            obs.shape[0],
            key_sgd,
            config.sgd_steps,
            config.batch_size,
            config.ent_coef,
            config.l2_coef,
        )
        return params, normalizer, metrics

    def member(state: SMILeState, index: Array):
        take = lambda x: x[index]
        return jax.tree.map(take, state.params), jax.tree.map(take, state.normalizers)

    def member_act(state: SMILeState, index: Array, obs: Array, key: Array) -> Array:
        params, normalizer = member(state, index)
        return policy.sample(params, normalizer, obs, key)[0].astype(spec.action_dtype)

    def init(key: Array) -> SMILeState:
        key, key_params, key_demo = jax.random.split(key, 3)
        one = policy.init(key_params)
        params = jax.tree.map(lambda x: jnp.broadcast_to(x, (num_members, *x.shape)), one)
        normalizers = jax.tree.map(
            lambda x: jnp.broadcast_to(x, (num_members, *x.shape)),
            Normalizer.create(spec.obs_shape),
        )
        step = jnp.zeros((), jnp.int32)
        if demos is not None:
            first, first_norm, _ = train_member(
                jnp.asarray(demos.obs, jnp.float32),
                jnp.asarray(demos.actions, spec.action_dtype),
                key_demo,
            )
            put = lambda stack, x: stack.at[0].set(x)
            params = jax.tree.map(put, params, first)
            normalizers = jax.tree.map(put, normalizers, first_norm)
            step = jnp.ones((), jnp.int32)
        return SMILeState(
            params=params,
            normalizers=normalizers,
            expert_queries=jnp.zeros((), jnp.int32),
            last_return=jnp.zeros((), jnp.float32),
            key=key,
            step=step,
        )

    def update(state: SMILeState) -> tuple[SMILeState, Metrics]:
        check_state(state, SMILeState, "smile")
        key, key_env, key_rollout, _, key_train = jax.random.split(state.key, 5)
        weights = mixture_weights(config.beta, state.step, num_members)  # π_{k−1}

        def mixture_one(obs: Array, key: Array) -> tuple[Array, Array]:
            """One step of the full mixture (expert included) on one observation: the action
            and the expert's, the state's label whoever acts."""
            key_member, key_expert, key_policy = jax.random.split(key, 3)
            index = sample_member(key_member, weights)  # 0: expert, i: policy i
            expert_action = label(oracle, spec, obs[None], key_expert)[0]
            learner_action = member_act(state, jnp.maximum(index - 1, 0), obs, key_policy)
            return jnp.where(index == 0, expert_action, learner_action), expert_action

        def mixture(obs: Array, key: Array) -> tuple[Array, Array, Array]:
            keys = jax.random.split(key, obs.shape[0])
            action, expert_action = jax.vmap(mixture_one)(obs, keys)
            return action, jnp.zeros(obs.shape[0]), expert_action

        obs, labels, stats = labelled_round(
            env, mixture, config.num_envs, steps, key_env, key_rollout
        )
        params, normalizer, fit_metrics = train_member(obs, labels, key_train)
        training = state.step < num_members
        slot = jnp.minimum(state.step, num_members - 1)

        def put(stack, x):
            return jnp.where(training, stack.at[slot].set(x), stack)

        step = state.step + training.astype(jnp.int32)
        expert_queries = state.expert_queries + training.astype(jnp.int32) * per_round
        # every env starts afresh: its first episode, unbiased by the window's length
        episodes, last_return = stats.first_episodes().metrics_carried(state.last_return)
        metrics = {
            **fit_metrics,
            **episodes,
            "beta": jnp.asarray(config.beta, jnp.float32),
            "expert_weight": weights[0],  # in π_{k−1}, the mixture this row's episodes ran
            "rounds": step.astype(jnp.float32),
            "expert_queries": expert_queries.astype(jnp.float32),
        }
        new_state = SMILeState(
            params=jax.tree.map(put, state.params, params),
            normalizers=jax.tree.map(put, state.normalizers, normalizer),
            expert_queries=expert_queries,
            last_return=last_return,
            key=key,
            step=step,
        )
        return new_state, metrics

    def act(state: SMILeState, obs: Array, key: Array) -> Array:
        """The learned mixture π̃ (no expert), one member drawn per call (per step)."""
        key_member, key_policy = jax.random.split(key)
        weights = learner_weights(mixture_weights(config.beta, state.step, num_members))
        return member_act(state, sample_member(key_member, weights), obs, key_policy)

    def mode(state: SMILeState, obs: Array) -> Array:
        """The learned mixture's most likely action: argmax_a Σ_k w_k π_k(a | s), over the
        members' categorical probabilities (discrete actions only: a mixture of Gaussians has
        no closed-form mode)."""
        weights = learner_weights(mixture_weights(config.beta, state.step, num_members))  # [M]
        probs = jax.vmap(lambda p, n: policy.dist(p, n, obs).probs)(
            state.params, state.normalizers
        )  # [M, A]
        return jnp.argmax(weights @ probs).astype(spec.action_dtype)

    mode_fn = mode if spec.discrete else None
    return Algorithm(owned(init), update, act, "smile", per_round, mode_fn)
