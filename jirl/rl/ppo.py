"""Proximal policy optimisation (Schulman et al. 2017): clipped surrogate (eq. 7), value loss
and entropy bonus (eq. 9), epochs × minibatches of Adam with global-norm clipping. The value
term is `vf_coef` · ½ · mean squared error, unclipped (CleanRL's convention: the paper's c₁ is
`vf_coef` / 2), and advantages are normalised within each minibatch."""

from __future__ import annotations

from dataclasses import dataclass

import chex
import jax
import jax.numpy as jnp
import optax
from flax import struct

from jirl.envs.base import Env
from jirl.errors import MAX_INT, check_config, check_types, require
from jirl.nets import ACTIVATIONS, Normalizer, Policy, ValueFn, check_hidden, check_policy_config
from jirl.rl.advantages import batched_gae, standardize
from jirl.rl.agent import Learner, LearnerState, RewardFn, make_agent, sgd_epochs
from jirl.rl.rollout import merge_leading
from jirl.types import Algorithm, Array, Metrics, Transition


@dataclass(frozen=True)
class PPOConfig:
    """PPO hyperparameters (Schulman et al. 2017). `batch_size = num_envs * num_steps` per update.

    Attributes:
      num_envs: environments stepped in parallel (vmapped).
      num_steps: steps of each per update (the rollout's T).
      num_epochs: passes of SGD over each batch.
      num_minibatches: minibatches each pass is cut into.
      gamma: discount γ.
      gae_lambda: GAE's λ (Schulman et al. 2016).
      clip_eps: the clipped surrogate's ε (eq. 7).
      ent_coef: weight of the policy's entropy bonus (causal entropy weight λ under GAIL).
      vf_coef: weight of the value loss in the one loss both networks descend.
      max_grad_norm: global norm the gradient is clipped to.
      learning_rate: Adam's rate.
      anneal_updates: decay the rate linearly to 0 over this many updates (0: constant).
      hidden: hidden layer sizes of the policy and of the value network (separate MLPs).
      activation: their activation (`jirl.nets.ACTIVATIONS`: tanh, relu, gelu, swish).
      normalize_obs: scale observations by running statistics (updated after each update's SGD).
      init_log_std: initial log standard deviation of a Gaussian policy (continuous actions).
      squash: a tanh-squashed Gaussian inside the action box (`jirl.nets.TanhNormal`) instead
        of a Gaussian the environment clips.
    """

    num_envs: int = 16
    num_steps: int = 64
    num_epochs: int = 4
    num_minibatches: int = 4
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip_eps: float = 0.2
    ent_coef: float = 0.01
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    learning_rate: float = 2.5e-4
    anneal_updates: int = 0  # decay the learning rate linearly to 0 over this many updates
    hidden: tuple[int, ...] = (64, 64)
    activation: str = "tanh"
    normalize_obs: bool = True
    init_log_std: float = -0.5
    squash: bool = False  # a tanh-squashed Gaussian in the action box (`jirl.nets.TanhNormal`)

    def __post_init__(self):
        check_types(self, "ppo.")
        for name in ("num_envs", "num_steps", "num_epochs", "num_minibatches"):
            require(getattr(self, name) >= 1, f"ppo.{name} must be >= 1, got {getattr(self, name)}")
        # products of counts each in range: XLA's sizes and the schedule's count are int32, and
        # past it the first trace failed with an OverflowError traceback (after the run
        # directory was written)
        require(
            self.batch_size <= MAX_INT,
            f"ppo.num_envs * ppo.num_steps ({self.batch_size:,}) must be at most {MAX_INT:,}",
        )
        steps = self.anneal_updates * self.num_epochs * self.num_minibatches
        require(
            steps <= MAX_INT,
            f"ppo.anneal_updates * ppo.num_epochs * ppo.num_minibatches ({steps:,} optimiser "
            f"steps) must be at most {MAX_INT:,}: anneal over fewer updates",
        )
        require(
            self.batch_size % self.num_minibatches == 0,
            f"ppo.num_envs * ppo.num_steps ({self.batch_size}) must be divisible by "
            f"ppo.num_minibatches ({self.num_minibatches})",
        )
        # advantages are normalised per minibatch: one sample makes them 0, two only ±1
        require(
            self.batch_size >= 4 * self.num_minibatches,
            f"ppo.num_minibatches ({self.num_minibatches}) leaves fewer than 4 samples per "
            f"minibatch of the {self.batch_size}-step batch (advantages are normalised in each); "
            "use fewer minibatches",
        )
        require(
            (0.0 <= self.gamma) & (self.gamma <= 1.0),
            f"ppo.gamma must be in [0, 1], got {self.gamma}",
        )
        require(
            (0.0 <= self.gae_lambda) & (self.gae_lambda <= 1.0),
            f"ppo.gae_lambda must be in [0, 1], got {self.gae_lambda}",
        )
        require(self.clip_eps > 0, f"ppo.clip_eps must be > 0, got {self.clip_eps}")
        require(self.learning_rate > 0, f"ppo.learning_rate must be > 0, got {self.learning_rate}")
        require(self.max_grad_norm > 0, f"ppo.max_grad_norm must be > 0, got {self.max_grad_norm}")
        for name in ("ent_coef", "vf_coef"):
            value = getattr(self, name)
            require(value >= 0, f"ppo.{name} must be >= 0, got {value}")
        require(self.anneal_updates >= 0, "ppo.anneal_updates must be >= 0 (0: constant rate)")
        check_hidden("ppo.hidden", self.hidden)
        require(
            self.activation in ACTIVATIONS, f"ppo.activation must be one of {sorted(ACTIVATIONS)}"
        )

    @property
    def batch_size(self) -> int:
        return self.num_envs * self.num_steps


@struct.dataclass
class PPOBatch:
    """Flat training samples. obs: [N, *obs_shape]; action: [N, ...]; the rest [N]."""

    obs: Array
    action: Array
    log_prob: Array
    advantage: Array
    target: Array


def value_regression(value_params, value_fn: ValueFn, normalizer: Normalizer, batch: PPOBatch):
    """½ mean (V(s) − target)² on a minibatch `obs [N, ...]`, `target [N]`: PPO's value term
    and TRPO's separately fitted value function."""
    chex.assert_rank(batch.target, 1)
    loss = 0.5 * jnp.mean((value_fn(value_params, normalizer, batch.obs) - batch.target) ** 2)
    return loss, {"value_loss": loss}


def ppo_loss(
    params: dict,
    policy: Policy,
    value_fn: ValueFn,
    normalizer: Normalizer,
    batch: PPOBatch,
    clip_eps: float,
    ent_coef: float,
    vf_coef: float,
) -> tuple[Array, Metrics]:
    """Clipped surrogate + value regression − entropy bonus on one minibatch."""
    dist = policy.dist(params["policy"], normalizer, batch.obs)
    log_prob = dist.log_prob(batch.action)
    log_ratio = log_prob - batch.log_prob
    ratio = jnp.exp(log_ratio)
    adv = standardize(batch.advantage)
    surrogate = jnp.minimum(ratio * adv, jnp.clip(ratio, 1.0 - clip_eps, 1.0 + clip_eps) * adv)
    policy_loss = -surrogate.mean()
    value_loss, _ = value_regression(params["value"], value_fn, normalizer, batch)
    entropy = dist.entropy().mean()
    loss = policy_loss + vf_coef * value_loss - ent_coef * entropy
    return loss, {
        "policy_loss": policy_loss,
        "value_loss": value_loss,
        "entropy": entropy,
        "approx_kl": jnp.mean(ratio - 1.0 - log_ratio),
        "clip_fraction": jnp.mean(jnp.abs(ratio - 1.0) > clip_eps),
    }


def advantage_batch(
    learner_state: LearnerState, value_fn: ValueFn, batch: Transition, gamma, lam
) -> PPOBatch:
    """Values, GAE and value targets for a rollout `[T, B]`, flattened to `[T·B]`."""
    norm, value_params = learner_state.normalizer, learner_state.params["value"]
    v = value_fn(value_params, norm, batch.obs)
    v_next = value_fn(value_params, norm, batch.next_obs)
    adv, target = batched_gae(batch.reward, v, v_next, batch.terminated, batch.done, gamma, lam)
    return merge_leading(PPOBatch(batch.obs, batch.action, batch.log_prob, adv, target))


def make_optimizer(config: PPOConfig, steps_per_update: int) -> optax.GradientTransformation:
    lr = config.learning_rate
    if config.anneal_updates:
        lr = optax.linear_schedule(lr, 0.0, config.anneal_updates * steps_per_update)
    return optax.chain(
        optax.clip_by_global_norm(config.max_grad_norm),
        optax.inject_hyperparams(optax.adam)(learning_rate=lr, eps=1e-5),
    )


def current_learning_rate(opt_state) -> Array:
    """The rate `make_optimizer`'s Adam steps with now (`inject_hyperparams`), found by name:
    the array, not the schedule's state of the same name an annealed rate also keeps."""
    return optax.tree_utils.tree_get(
        opt_state, "learning_rate", filtering=lambda _, value: isinstance(value, jax.Array)
    )


def ppo_learner(config: PPOConfig, env: Env) -> Learner:
    """The PPO `Learner` for `env`'s spaces."""
    check_policy_config(config, env.name, env.spec)
    policy = Policy.of(env.spec, config)
    value_fn = ValueFn(env.spec.obs_shape, config.hidden, config.activation)
    optimizer = make_optimizer(config, config.num_epochs * config.num_minibatches)

    def init(key: Array) -> LearnerState:
        key_policy, key_value = jax.random.split(key)
        params = {"policy": policy.init(key_policy), "value": value_fn.init(key_value)}
        return LearnerState(params, optimizer.init(params), Normalizer.create(env.spec.obs_shape))

    def learn(state: LearnerState, batch: Transition, key: Array) -> tuple[LearnerState, Metrics]:
        data = advantage_batch(state, value_fn, batch, config.gamma, config.gae_lambda)
        grad_fn = jax.grad(ppo_loss, has_aux=True)

        def sgd_step(carry, minibatch: PPOBatch):
            params, opt_state = carry
            grads, metrics = grad_fn(
                params,
                policy,
                value_fn,
                state.normalizer,
                minibatch,
                config.clip_eps,
                config.ent_coef,
                config.vf_coef,
            )
            updates, opt_state = optimizer.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), metrics

        (params, opt_state), metrics = sgd_epochs(
            sgd_step,
            (state.params, state.opt_state),
            data,
            key,
            config.num_epochs,
            config.num_minibatches,
        )
        normalizer = (
            state.normalizer.update(batch.obs) if config.normalize_obs else state.normalizer
        )
        metrics = jax.tree.map(jnp.mean, metrics)
        metrics["learning_rate"] = current_learning_rate(opt_state)
        return LearnerState(params, opt_state, normalizer), metrics

    return Learner(policy, value_fn, init, learn)


def make(config: PPOConfig, env: Env, reward_fn: RewardFn | None = None) -> Algorithm:
    """PPO as an `Algorithm`, optimising the env's reward or `reward_fn`."""
    check_config(config, PPOConfig)
    return make_agent(
        env, ppo_learner(config, env), config.num_envs, config.num_steps, reward_fn, "ppo"
    )
