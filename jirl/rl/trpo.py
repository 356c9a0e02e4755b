"""Trust region policy optimisation (Schulman et al. 2015, "Trust Region Policy Optimization").

One update solves the KL-constrained problem of eq. 14,

    maximise_θ  L(θ) = E[π_θ(a|s) / π_old(a|s) · Â]  +  λ·H(π_θ)     s.t.  E_s[KL(π_old ‖ π_θ)] ≤ δ,

as in appendix C: the natural-gradient direction s ≈ F⁻¹g by conjugate gradient on
Fisher-vector products F·v = ∇²KL·v (plus damping; `fisher_vector_product`), the step scaled
to the boundary β = sqrt(2δ / sᵀFs), then a backtracking line search that accepts the first
fraction whose mean KL is ≤ δ and whose surrogate improves; when none does the policy is kept.
The value function is fitted separately (Adam minibatches on the GAE(γ, λ) targets of
`jirl.rl.advantages`). The entropy weight λ is `ent_coef` (GAIL's causal entropy weight).

The trust region holds the observation normaliser fixed (`normalize_obs`): it is updated with
the batch after the step, as PPO's is, so the policy that acts next moves by more than δ from
the one that collected, by the normaliser's change (measured on cartpole and pendulum, δ =
0.01, 8 × 64 steps: about 2δ on the first update, when the statistics replace the identity,
1.1–1.7δ after). GAIL's and AIRL's generators scale by the demonstrations' fixed statistics,
so there the bound is the policy's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree

from jirl.envs.base import Env
from jirl.errors import MAX_INT, check_config, check_types, require
from jirl.nets import ACTIVATIONS, Normalizer, Policy, ValueFn, check_hidden, check_policy_config
from jirl.rl.advantages import standardize
from jirl.rl.agent import Learner, LearnerState, RewardFn, make_agent, sgd_epochs
from jirl.rl.ppo import PPOBatch, advantage_batch, value_regression
from jirl.types import Algorithm, Array, Metrics, Transition

#: Largest trust-region radius δ a config may ask for, in nats of mean KL: far above the
#: 0.01–0.1 of the papers, and small enough that δ/sᵀFs stays finite in float32.
MAX_KL = 10.0


@dataclass(frozen=True)
class TRPOConfig:
    """TRPO hyperparameters. `batch_size = num_envs * num_steps` per update.

    Attributes:
      max_kl: δ, the trust region radius on the mean KL(π_old ‖ π_new).
      anneal_updates: decay δ linearly to 0 over that many updates (0: constant), as PPO
        decays its rate; a generator against a moving reward keeps drifting without it.
      cg_iters: conjugate gradient iterations; cg_damping: added to F (F + damping·I).
      fisher_subsample: F is estimated on every k-th sample of the batch (1: all of them;
        `fisher_samples`). Schulman et al. 2015, appendix C: the products on ~10% of the data
        cost little next to the gradient; OpenAI baselines' TRPO takes every 5th. The
        gradient, the line search's KL and its surrogate always use the whole batch.
      backtrack_iters: line-search trials at fractions backtrack_coef**i of the full step.
      ent_coef: λ, weight of the entropy bonus in the surrogate.
      vf_learning_rate, vf_epochs, vf_minibatches: the separate Adam fit of V(s).
      squash: a tanh-squashed Gaussian in the action box (`jirl.nets.TanhNormal`); its KL, the
        trust region's, is its Gaussian's.

    `fisher_subsample` 5 and `vf_epochs` 5 (were 1 and 10) made GAIL (TRPO)'s update 2.2×
    cheaper and learned as well or better: on cartpole, fixed horizon, 100 updates, two sets
    of 32 seeds, 1 demo 0.986 (was 0.955), 4 demos 0.980 (0.943); absorbing states, 4 demos,
    32 seeds, 0.985 (0.959). TRPO alone on cartpole (45 updates, δ = 0.02, two sets of 16
    seeds): 1.00 and 0.97 before, 1.00 and 0.96 after.
    """

    num_envs: int = 16
    num_steps: int = 128
    gamma: float = 0.99
    gae_lambda: float = 0.95
    max_kl: float = 0.01
    anneal_updates: int = 0
    cg_iters: int = 10
    cg_damping: float = 0.1
    fisher_subsample: int = 5
    backtrack_iters: int = 10
    backtrack_coef: float = 0.8
    ent_coef: float = 0.0
    vf_learning_rate: float = 3e-3
    vf_epochs: int = 5
    vf_minibatches: int = 4
    max_grad_norm: float = 0.5
    normalize_advantages: bool = True
    hidden: tuple[int, ...] = (64, 64)
    activation: str = "tanh"
    normalize_obs: bool = True
    init_log_std: float = -0.5
    squash: bool = False

    def __post_init__(self):
        check_types(self, "trpo.")
        for name in (
            "num_envs",
            "num_steps",
            "cg_iters",
            "fisher_subsample",
            "backtrack_iters",
            "vf_epochs",
            "vf_minibatches",
        ):
            value = getattr(self, name)
            require(value >= 1, f"trpo.{name} must be >= 1, got {value}")
        require(  # (XLA's sizes are int32: past it the first trace failed with a traceback)
            self.batch_size <= MAX_INT,
            f"trpo.num_envs * trpo.num_steps ({self.batch_size:,}) must be at most {MAX_INT:,}",
        )
        require(
            self.fisher_subsample <= self.batch_size,
            f"trpo.fisher_subsample ({self.fisher_subsample}) must be <= num_envs * num_steps "
            f"({self.batch_size})",
        )
        require(
            self.batch_size % self.vf_minibatches == 0,
            f"trpo.num_envs * trpo.num_steps ({self.batch_size}) must be divisible by "
            f"trpo.vf_minibatches ({self.vf_minibatches})",
        )
        require(
            (0.0 <= self.gamma) & (self.gamma <= 1.0),
            f"trpo.gamma must be in [0, 1], got {self.gamma}",
        )
        require(
            (0.0 <= self.gae_lambda) & (self.gae_lambda <= 1.0), "trpo.gae_lambda must be in [0, 1]"
        )
        require(
            (0.0 < self.max_kl) & (self.max_kl <= MAX_KL),
            f"trpo.max_kl must be in (0, {MAX_KL:g}] nats, got {self.max_kl}",
        )
        require(
            self.anneal_updates >= 0, f"trpo.anneal_updates must be >= 0, got {self.anneal_updates}"
        )
        require(self.cg_damping >= 0, f"trpo.cg_damping must be >= 0, got {self.cg_damping}")
        require(
            (0.0 < self.backtrack_coef) & (self.backtrack_coef < 1.0),
            f"trpo.backtrack_coef must be in (0, 1), got {self.backtrack_coef}",
        )
        require(self.ent_coef >= 0, f"trpo.ent_coef must be >= 0, got {self.ent_coef}")
        require(self.vf_learning_rate > 0, "trpo.vf_learning_rate must be > 0")
        require(self.max_grad_norm > 0, "trpo.max_grad_norm must be > 0")
        check_hidden("trpo.hidden", self.hidden)
        require(
            self.activation in ACTIVATIONS, f"trpo.activation must be one of {sorted(ACTIVATIONS)}"
        )

    @property
    def batch_size(self) -> int:
        return self.num_envs * self.num_steps


def surrogate_loss(
    policy_params,
    policy: Policy,
    normalizer: Normalizer,
    batch: PPOBatch,
    old_log_prob: Array,
    ent_coef: float,
) -> tuple[Array, Metrics]:
    """−(importance-weighted surrogate + λ·entropy), eq. 14's objective negated.

    Args:
      batch: flat samples, obs [N, *obs_shape], action [N, ...], advantage [N] (already
        normalised if wanted).
      old_log_prob: [N] log π_old(a|s), the policy before this update.
    """
    chex.assert_rank([batch.advantage, old_log_prob], 1)
    dist = policy.dist(policy_params, normalizer, batch.obs)
    ratio = jnp.exp(dist.log_prob(batch.action) - old_log_prob)
    surrogate = jnp.mean(ratio * batch.advantage)
    entropy = dist.entropy().mean()
    return -(surrogate + ent_coef * entropy), {"surrogate": surrogate, "entropy": entropy}


def mean_kl(policy_params, old_params, policy: Policy, normalizer: Normalizer, obs: Array) -> Array:
    """E_s[KL(π_old(·|s) ‖ π_θ(·|s))] over `obs: [N, *obs_shape]`; π_old is held constant."""
    old = policy.dist(jax.lax.stop_gradient(old_params), normalizer, obs)
    new = policy.dist(policy_params, normalizer, obs)
    return jnp.mean(old.kl_divergence(new))


def conjugate_gradient(matvec, b: Array, iters: int, tol: float = 1e-10) -> Array:
    """Solve A x = b for symmetric positive definite A given as `matvec`, `iters` steps.

    Args:
      b: [P]. Returns x: [P]. Iterations stop updating once the squared residual is below
      `tol` times ‖b‖² (relative, so that a small gradient, a reward of small scale with
      unnormalised advantages, is solved as a large one is, down to ‖b‖² underflowing float32
      at ‖b‖ ~ 1e-19; b = 0 gives x = 0), or once p·Ap ≤ 0.
    """
    chex.assert_rank(b, 1)
    threshold = tol * jnp.dot(b, b)

    def body(_, carry):
        x, r, p, rr = carry
        ap = matvec(p)
        p_ap = jnp.dot(p, ap)
        active = (rr > threshold) & (p_ap > 0)  # p·Ap ≤ 0: A is not positive definite there
        alpha = rr / jnp.where(active, p_ap, 1.0)
        x_new = x + alpha * p
        r_new = r - alpha * ap
        rr_new = jnp.dot(r_new, r_new)
        p_new = r_new + (rr_new / jnp.where(active, rr, 1.0)) * p
        keep = lambda new, old: jnp.where(active, new, old)
        return keep(x_new, x), keep(r_new, r), keep(p_new, p), keep(rr_new, rr)

    init = (jnp.zeros_like(b), b, b, jnp.dot(b, b))
    x, *_ = jax.lax.fori_loop(0, iters, body, init)
    return x


def fisher_vector_product(
    policy: Policy, policy_params, normalizer: Normalizer, obs: Array, config: TRPOConfig
):
    """`v -> (F + damping·I) v` on flat `[P]` vectors, F = ∇²_θ E_s[KL(π_old ‖ π_θ)] at
    θ = θ_old = `policy_params`, over `obs [N, *obs_shape]`.

    At θ = θ_old the KL's gradient with respect to the head's outputs o(θ) is zero, so its
    Hessian is exactly the Gauss-Newton product F = Jᵀ H_o J (J = ∂o/∂θ, H_o the KL's Hessian in
    o; Schulman et al. 2015, appendix C.1). J v and Jᵀ u use one linearisation of the network,
    made once for all the conjugate-gradient iterations, where differentiating ∇KL again would
    re-run the network forward and backward in every one.
    """
    flat_old, unravel = ravel_pytree(policy_params)
    outputs_of = lambda flat: policy.outputs(unravel(flat), normalizer, obs)
    outputs, jvp = jax.linearize(outputs_of, flat_old)
    vjp = jax.linear_transpose(jvp, flat_old)
    old = policy.dist_of(jax.lax.stop_gradient(outputs))
    kl_of = lambda o: jnp.mean(old.kl_divergence(policy.dist_of(o)))
    grad_kl = jax.grad(kl_of)

    def product(v: Array) -> Array:
        h_jv = jax.jvp(grad_kl, (outputs,), (jvp(v),))[1]
        return vjp(h_jv)[0] + config.cg_damping * v

    return product


def fisher_samples(size: int, config: TRPOConfig) -> np.ndarray | slice:
    """The samples of a `[T·B]` batch (time-major, B = `num_envs`) that F is estimated on:
    every k-th (k = `fisher_subsample`), ceil(size / k) of them.

    Where k shares a factor with B, every k-th sample would come back to the same environments
    at every step (B = 10, k = 5: environments 0 and 5 only, a fifth of the trajectories); then
    the stride runs over the batch in environment-major order instead, so that each environment
    gives every k-th of its own steps. Otherwise it is the plain stride `[::k]`, which does the
    same (and for a batch that is not whole steps of B, which has no environment axis to keep).
    """
    k, width = config.fisher_subsample, config.num_envs
    if math.gcd(k, width) == 1 or size % width:
        return slice(None, None, k)
    steps = size // width
    env_major = np.arange(0, size, k)  # b · T + t
    return np.sort((env_major % steps) * width + env_major // steps)  # t · B + b


def natural_step(
    policy: Policy,
    policy_params,
    normalizer: Normalizer,
    batch: PPOBatch,
    old_log_prob: Array,
    config: TRPOConfig,
    max_kl: Array | float | None = None,
) -> tuple[object, Metrics]:
    """One TRPO policy step (appendix C): CG direction, step to the KL boundary, line search.

    `max_kl` is this step's δ (default `config.max_kl`; `kl_radius` anneals it).

    Returns `(new policy params, metrics)`; metrics include `kl`, the mean KL of the accepted
    step (0 when no fraction was accepted and the policy is kept).
    """
    flat_old, unravel = ravel_pytree(policy_params)

    def loss_flat(flat):
        return surrogate_loss(
            unravel(flat), policy, normalizer, batch, old_log_prob, config.ent_coef
        )

    def kl_flat(flat):
        return mean_kl(unravel(flat), policy_params, policy, normalizer, batch.obs)

    (loss_old, aux_old), grad = jax.value_and_grad(loss_flat, has_aux=True)(flat_old)
    g = -grad  # ascent direction of the objective
    fisher_obs = batch.obs[fisher_samples(batch.obs.shape[0], config)]
    fisher_vector = fisher_vector_product(policy, policy_params, normalizer, fisher_obs, config)

    direction = conjugate_gradient(fisher_vector, g, config.cg_iters)
    shs = jnp.dot(direction, fisher_vector(direction))
    max_kl = config.max_kl if max_kl is None else max_kl
    step_size = jnp.sqrt(2.0 * max_kl / jnp.where(shs > 0, shs, 1.0))  # shs = 0: no direction
    full_step = step_size * direction
    expected = jnp.dot(g, full_step)

    def trial(fraction):
        flat = flat_old + fraction * full_step
        loss, _ = loss_flat(flat)
        kl = kl_flat(flat)
        improve = loss_old - loss
        ok = (kl <= max_kl) & (improve > 0) & jnp.isfinite(loss) & jnp.isfinite(kl)
        return ok, kl, improve

    def cond(carry):
        i, accepted, *_ = carry
        return (i < config.backtrack_iters) & ~accepted

    def body(carry):
        i, _, _, _, _ = carry
        fraction = config.backtrack_coef ** i.astype(jnp.float32)
        ok, kl, improve = trial(fraction)
        return i + 1, ok, jnp.where(ok, fraction, 0.0), kl, improve

    zero = jnp.zeros((), jnp.float32)
    _, accepted, fraction, kl, improve = jax.lax.while_loop(
        cond, body, (jnp.zeros((), jnp.int32), jnp.zeros((), bool), zero, zero, zero)
    )
    # a rejected step keeps the old policy exactly (0 · inf would be NaN)
    new_flat = jnp.where(accepted, flat_old + fraction * full_step, flat_old)
    metrics = {
        "kl": jnp.where(accepted, kl, 0.0),
        "step_accepted": accepted.astype(jnp.float32),
        "step_fraction": fraction,
        "surrogate_improvement": jnp.where(accepted, improve, 0.0),
        "expected_improvement": jnp.where(accepted, fraction * expected, 0.0),
        "entropy": aux_old["entropy"],
    }
    return unravel(new_flat), metrics


def kl_radius(config: TRPOConfig, opt_state) -> Array:
    """δ of the coming update: `max_kl`, decayed linearly to 0 over `anneal_updates` updates.

    The update's index is the value function's Adam step count (`opt_state`) over its steps per
    update, `vf_epochs × vf_minibatches`.
    """
    if not config.anneal_updates:
        return jnp.asarray(config.max_kl, jnp.float32)
    count = optax.tree_utils.tree_get(opt_state, "count")
    update = count // (config.vf_epochs * config.vf_minibatches)
    return config.max_kl * jnp.clip(1.0 - update / config.anneal_updates, 0.0, 1.0)


def trpo_learner(config: TRPOConfig, env: Env) -> Learner:
    """The TRPO `Learner` for `env`'s spaces; `opt_state` is the value function's Adam state."""
    check_policy_config(config, env.name, env.spec)
    policy = Policy.of(env.spec, config)
    value_fn = ValueFn(env.spec.obs_shape, config.hidden, config.activation)
    optimizer = optax.chain(
        optax.clip_by_global_norm(config.max_grad_norm),
        optax.adam(config.vf_learning_rate, eps=1e-5),
    )

    def init(key: Array) -> LearnerState:
        key_policy, key_value = jax.random.split(key)
        params = {"policy": policy.init(key_policy), "value": value_fn.init(key_value)}
        return LearnerState(
            params, optimizer.init(params["value"]), Normalizer.create(env.spec.obs_shape)
        )

    def learn(state: LearnerState, batch: Transition, key: Array) -> tuple[LearnerState, Metrics]:
        data = advantage_batch(state, value_fn, batch, config.gamma, config.gae_lambda)
        if config.normalize_advantages:
            data = data.replace(advantage=standardize(data.advantage))
        old_params = state.params["policy"]
        old_log_prob = jax.lax.stop_gradient(
            policy.dist(old_params, state.normalizer, data.obs).log_prob(data.action)
        )
        max_kl = kl_radius(config, state.opt_state)
        policy_params, metrics = natural_step(
            policy, old_params, state.normalizer, data, old_log_prob, config, max_kl
        )
        metrics["max_kl"] = max_kl

        grad_fn = jax.grad(value_regression, has_aux=True)

        def sgd_step(carry, minibatch: PPOBatch):
            params, opt_state = carry
            grads, m = grad_fn(params, value_fn, state.normalizer, minibatch)
            updates, opt_state = optimizer.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), m

        (value_params, opt_state), value_metrics = sgd_epochs(
            sgd_step,
            (state.params["value"], state.opt_state),
            data,
            key,
            config.vf_epochs,
            config.vf_minibatches,
        )
        normalizer = (
            state.normalizer.update(batch.obs) if config.normalize_obs else state.normalizer
        )
        metrics = {**metrics, **jax.tree.map(jnp.mean, value_metrics)}
        params = {"policy": policy_params, "value": value_params}
        return LearnerState(params, opt_state, normalizer), metrics

    return Learner(policy, value_fn, init, learn)


def make(config: TRPOConfig, env: Env, reward_fn: RewardFn | None = None) -> Algorithm:
    """TRPO as an `Algorithm`, optimising the env's reward or `reward_fn`."""
    check_config(config, TRPOConfig)
    return make_agent(
        env, trpo_learner(config, env), config.num_envs, config.num_steps, reward_fn, "trpo"
    )
