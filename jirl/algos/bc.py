"""Behavioural cloning: maximum likelihood of the demonstrated actions (Pomerleau 1991),
with optional entropy bonus and L2 penalty, minibatch Adam inside jit.

`bc_loss` and `sgd_steps` are shared with DAgger and SMILe, which fit the same objective on
data they aggregate themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import optax
from flax import struct

from jirl.data import check_fits
from jirl.envs.base import Env
from jirl.errors import check_config, check_state, check_types, require
from jirl.nets import ACTIVATIONS, Normalizer, Policy, acting, check_hidden
from jirl.types import Algorithm, Array, Metrics, Trajectories, owned


@dataclass(frozen=True)
class BCConfig:
    """Behavioural cloning hyperparameters; one `update` is `steps_per_update` minibatches."""

    learning_rate: float = 1e-3
    batch_size: int = 256
    steps_per_update: int = 50
    ent_coef: float = 0.0
    l2_coef: float = 0.0
    hidden: tuple[int, ...] = (64, 64)
    activation: str = "tanh"
    normalize_obs: bool = True

    def __post_init__(self):
        check_types(self, "bc.")
        validate_policy_fit(self, "bc")
        require(self.batch_size >= 1, f"bc.batch_size must be >= 1, got {self.batch_size}")
        require(self.steps_per_update >= 1, "bc.steps_per_update must be >= 1")


def validate_policy_fit(config, prefix: str) -> None:
    """Range checks shared by every config that fits a policy with `sgd_steps` (BC, DAgger,
    SMILe)."""
    require(
        config.learning_rate > 0, f"{prefix}.learning_rate must be > 0, got {config.learning_rate}"
    )
    for name in ("ent_coef", "l2_coef"):
        value = getattr(config, name)
        require(value >= 0, f"{prefix}.{name} must be >= 0, got {value}")
    check_hidden(f"{prefix}.hidden", config.hidden)
    require(
        config.activation in ACTIVATIONS,
        f"{prefix}.activation must be one of {sorted(ACTIVATIONS)}",
    )


@struct.dataclass
class BCState:
    """Policy parameters, optimiser state, fixed observation statistics, key and step."""

    params: dict
    opt_state: optax.OptState
    normalizer: Normalizer
    key: Array
    step: Array


def bc_loss(
    params,
    policy: Policy,
    normalizer: Normalizer,
    obs: Array,
    actions: Array,
    ent_coef: float = 0.0,
    l2_coef: float = 0.0,
) -> tuple[Array, Metrics]:
    """−mean log π(a|s) − ent_coef·H(π(·|s)) + l2_coef·½‖θ‖².

    θ: the network's weights and biases, not a Gaussian's state-independent log σ (imitation's
    BC penalises that too, which pulls σ towards 1 and makes the evaluated policy noisier).

    Args:
      obs: [N, *obs_shape]; actions: [N] (discrete) or [N, dim].
    """
    dist = policy.dist(params, normalizer, obs)
    nll = -dist.log_prob(actions).mean()
    entropy = dist.entropy().mean()
    weights = [
        w
        for path, w in jax.tree_util.tree_leaves_with_path(params)
        if "log_std" not in jax.tree_util.keystr(path)
    ]
    l2 = 0.5 * sum(jnp.sum(w**2) for w in weights)
    loss = nll - ent_coef * entropy + l2_coef * l2
    metrics = {"bc_loss": loss, "neg_log_likelihood": nll, "entropy": entropy}
    if policy.spec.discrete:
        metrics["accuracy"] = jnp.mean(dist.mode() == actions)
    return loss, metrics


def sgd_steps(
    params,
    opt_state,
    optimizer: optax.GradientTransformation,
    policy: Policy,
    normalizer: Normalizer,
    obs: Array,
    actions: Array,
    size: Array,
    key: Array,
    num_steps: int,
    batch_size: int,
    ent_coef: float = 0.0,
    l2_coef: float = 0.0,
):
    """`num_steps` Adam steps of `bc_loss` on minibatches drawn uniformly from `obs[:size]`.

    `size` may be traced (a filling buffer), the arrays keep a fixed capacity.
    Returns `(params, opt_state, metrics averaged over the steps)`.
    """
    grad_fn = jax.grad(bc_loss, has_aux=True)

    def step(carry, key_step):
        params, opt_state = carry
        idx = jax.random.randint(key_step, (batch_size,), 0, size)
        grads, metrics = grad_fn(
            params, policy, normalizer, obs[idx], actions[idx], ent_coef, l2_coef
        )
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), metrics

    (params, opt_state), metrics = jax.lax.scan(
        step, (params, opt_state), jax.random.split(key, num_steps)
    )
    return params, opt_state, jax.tree.map(jnp.mean, metrics)


def make_policy(config, env: Env) -> Policy:
    """The categorical or Gaussian policy of a BC, DAgger or SMILe config (`hidden`,
    `activation`) for `env`'s spaces."""
    return Policy(env.spec, config.hidden, config.activation)


def make(config: BCConfig, env: Env, demos: Trajectories) -> Algorithm:
    """Behavioural cloning on `demos` for `env`'s spaces (no environment steps while training)."""
    check_config(config, BCConfig)
    check_fits(demos, env.spec, env.name)
    policy = make_policy(config, env)
    optimizer = optax.inject_hyperparams(optax.adam)(learning_rate=config.learning_rate)
    obs = jnp.asarray(demos.obs)
    actions = jnp.asarray(demos.actions)
    size = obs.shape[0]
    normalizer = Normalizer.create(env.spec.obs_shape)
    if config.normalize_obs:
        normalizer = normalizer.update(obs)

    def init(key: Array) -> BCState:
        key, key_params = jax.random.split(key)
        params = policy.init(key_params)
        return BCState(params, optimizer.init(params), normalizer, key, jnp.zeros((), jnp.int32))

    def update(state: BCState) -> tuple[BCState, Metrics]:
        check_state(state, BCState, "bc")
        key, key_sgd = jax.random.split(state.key)
        params, opt_state, metrics = sgd_steps(
            state.params,
            state.opt_state,
            optimizer,
            policy,
            state.normalizer,
            obs,
            actions,
            size,
            key_sgd,
            config.steps_per_update,
            config.batch_size,
            config.ent_coef,
            config.l2_coef,
        )
        return state.replace(
            params=params, opt_state=opt_state, key=key, step=state.step + 1
        ), metrics

    act, mode = acting(policy, lambda state: (state.params, state.normalizer))
    return Algorithm(owned(init), update, act, "bc", 0, mode)
