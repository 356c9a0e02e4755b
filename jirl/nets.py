"""Flax modules and distrax heads: MLP policies (categorical, diagonal Gaussian, or Gaussian
squashed by tanh into the action box), values, and a running observation normaliser carried in
state.

Action bounds (continuous), two conventions (`Policy.squash`):

- False (the default): the Gaussian is unbounded; the sampled action is stored and its
  log-probability is exact, and the environment clips it to the box before it reaches the
  physics (`jirl.envs`). This is the convention of PPO baselines. Its weakness: the Gaussian's
  entropy, and its density at an action clipped to the bounds, are not those of the action the
  environment executes, so an entropy bonus (or AIRL's −log π) can pay the policy to widen
  samples that the clipping then hides.
- True: `TanhNormal`, the Gaussian sample squashed into the box (Haarnoja et al. 2018,
  "Soft Actor-Critic", appendix C; Brax's PPO): every action is executed as sampled, and
  its density and entropy are the executed action's. An action on the bound (a clipped
  demonstration's) keeps a finite log-density: the inverse clips at `TANH_EDGE`. BC, DAgger
  and SMILe fit the clipped Gaussian only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import distrax
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jirl.envs.base import Spec
from jirl.errors import ConfigError, require, short

Array = jax.Array


def orthogonal(scale: float = 1.0):
    """Orthogonal initialiser (Saxe et al. 2014) computed without a QR decomposition.

    The polar factor of a Gaussian matrix is a Haar-random orthogonal matrix; we reach it with
    Newton–Schulz iterations (matrix products only). jax's QR-based initialiser calls LAPACK,
    whose batched form (what `vmap` over seeds produces) deadlocks XLA:CPU on small machines.
    """

    def init(key, shape, dtype=jnp.float32):
        rows, cols = shape[0], int(np.prod(shape[1:]))
        tall = (max(rows, cols), min(rows, cols))
        a = jax.random.normal(key, tall, jnp.float32)
        x = a / jnp.linalg.norm(a)  # singular values in (0, 1]: inside the basin of convergence

        def newton_schulz(_, x):
            return 1.5 * x - 0.5 * x @ (x.T @ x)

        x = jax.lax.fori_loop(0, 60, newton_schulz, x)
        q = x if rows >= cols else x.T
        return (scale * q).reshape(shape).astype(dtype)

    return init


ACTIVATIONS = {"tanh": nn.tanh, "relu": nn.relu, "gelu": nn.gelu, "swish": nn.swish}
#: the most hidden layers a network takes: compile time grows with depth (3,000 layers of
#: width 1 were still compiling after a minute, at 2.8 GB), and these methods use 2 or 3
MAX_LAYERS = 64


def check_hidden(name: str, hidden) -> None:
    """Refuse (ConfigError) hidden layer widths `hidden` that are not 1 to MAX_LAYERS positive
    integers; `name` is the config field, as the message names it."""
    require(
        1 <= len(hidden) <= MAX_LAYERS and min(hidden) >= 1,
        f"{name} must list 1 to {MAX_LAYERS} positive layer widths, got {short(list(hidden))}",
    )


class MLP(nn.Module):
    """Multi-layer perceptron with orthogonal initialisation; last layer scaled by `out_scale`."""

    hidden: Sequence[int]
    out_dim: int
    activation: str = "tanh"
    out_scale: float = 1.0

    @nn.compact
    def __call__(self, x: Array) -> Array:
        act = ACTIVATIONS[self.activation]
        for width in self.hidden:
            x = act(nn.Dense(width, kernel_init=orthogonal(float(np.sqrt(2.0))))(x))
        return nn.Dense(self.out_dim, kernel_init=orthogonal(self.out_scale))(x)


class PolicyNet(nn.Module):
    """Policy head: logits `[A]` (discrete) or Gaussian mean `[D]` plus a state-free log-std."""

    hidden: Sequence[int]
    action_size: int
    discrete: bool
    activation: str = "tanh"
    init_log_std: float = 0.0

    @nn.compact
    def __call__(self, obs: Array):
        out = MLP(self.hidden, self.action_size, self.activation, out_scale=0.01)(obs)
        if self.discrete:
            return out, None
        log_std = self.param(
            "log_std", nn.initializers.constant(self.init_log_std), (self.action_size,), jnp.float32
        )
        return out, jnp.broadcast_to(log_std, out.shape)


@struct.dataclass
class Normalizer:
    """Running mean and variance of observations (Chan et al. parallel update).

    Attributes:
      mean: [*obs_shape]; var: [*obs_shape]; count: [] number of observations seen.
    """

    mean: Array
    var: Array
    count: Array

    @classmethod
    def create(cls, obs_shape: Sequence[int]) -> Normalizer:
        f32 = jnp.float32  # (float32 under jax_enable_x64 too: the carries of every scan)
        return cls(jnp.zeros(obs_shape, f32), jnp.ones(obs_shape, f32), jnp.zeros((), f32))

    def update(self, batch: Array) -> Normalizer:
        """Merge a batch `[N, *obs_shape]` into the running statistics."""
        batch = batch.reshape((-1, *self.mean.shape))
        n = batch.shape[0]
        b_mean, b_var = batch.mean(0), batch.var(0)
        total = self.count + n
        delta = b_mean - self.mean
        mean = self.mean + delta * n / total
        m2 = self.var * self.count + b_var * n + delta**2 * self.count * n / total
        return Normalizer(mean, m2 / total, total)

    @property
    def std(self) -> Array:
        """[*obs_shape] the scale σ that `__call__` divides by."""
        return jnp.sqrt(self.var + 1e-8)

    def __call__(self, obs: Array) -> Array:
        """(obs − mean) / σ clipped to ±10; the identity before any statistics (count 0: a
        learner with `normalize_obs: false` sees its raw observations, unclipped)."""
        scaled = jnp.clip((obs - self.mean) / self.std, -10.0, 10.0)
        return jnp.where(self.count > 0, scaled, obs)


#: `TanhNormal.log_prob` clips squashed actions to ±(1 − TANH_EDGE) of the box before atanh, so
#: that an action on the bound (a demonstration recorded with clipping, or a sample whose tanh
#: rounded to ±1 in float32) has a finite pre-image (|u| ≤ 7.25).
TANH_EDGE = 1e-6

#: Probabilists' Gauss–Hermite rule: E_{z~N(0,1)} f(z) ≈ Σ_k w_k f(z_k), exact for polynomials
#: of degree < 2·64. `TanhNormal.entropy` integrates its tanh term with it: within 0.005 nats of
#: the exact integral per dimension for pre-squash scales σ ≤ 5 (0.1 with 16 nodes).
_HERMITE_NODES, _HERMITE_WEIGHTS = np.polynomial.hermite_e.hermegauss(64)
_HERMITE_WEIGHTS = (_HERMITE_WEIGHTS / np.sqrt(2.0 * np.pi)).astype(np.float32)
_HERMITE_NODES = _HERMITE_NODES.astype(np.float32)


class _EdgeTanh(distrax.Tanh):
    """tanh whose inverse clips to ±(1 − `TANH_EDGE`) first (finite at the bounds)."""

    def inverse_and_log_det(self, y: Array) -> tuple[Array, Array]:
        x = jnp.arctanh(jnp.clip(y, -1.0 + TANH_EDGE, 1.0 - TANH_EDGE))
        return x, -self.forward_log_det_jacobian(x)


class Gaussian(distrax.MultivariateNormalDiag):
    """distrax's diagonal Gaussian, its entropy in the dtype of its mean (distrax's is float64
    under `jax_enable_x64`, which TRPO's line search carried as float32)."""

    def entropy(self) -> Array:
        return super().entropy().astype(self.loc.dtype)


class TanhNormal(distrax.Transformed):
    """Diagonal Gaussian `N(loc, scale²)` over u `[..., D]`, executed as the action
    a = c + h·tanh(u) in the box [low, high] (c, h its centre and half-width).

    log π(a) = log N(u) − Σ_d log(h_d (1 − tanh² u_d)) with u = atanh((a − c)/h) clipped at
    ±(1 − `TANH_EDGE`), the change of variables; `sample_and_log_prob` scores its sample with the
    same `log_prob`, so a rollout's stored log π is the one PPO's ratio and AIRL's discriminator
    recompute. It is the density of the float32 action, which is not quite that of the drawn u:
    recovering u by atanh loses precision near the bound (measured against float64 at the
    drawn u, σ = 4: within 0.002 nats for |u| < 5, 0.02 below 6, 0.15 below 7.25; beyond 7.25
    float32's tanh has rounded to within `TANH_EDGE` of the bound). Both sides of a ratio take
    this path, but compiled apart (the rollout's program, the update's) they may round apart
    near the bound: up to 0.06 nats at σ ≈ 4.5, 1e-5 at σ ≈ 0.6 (forty-first session's audit);
    AIRL's and GCL's −log π carry the error. The entropy has no closed form:
    H = H(N) + Σ_d [log h_d + E_{z~N(0,1)} log(1 − tanh²(μ_d + σ_d z))], its expectation by
    64-node Gauss–Hermite quadrature per dimension: deterministic and differentiable, so
    PPO's and TRPO's entropy bonus needs no key. The KL between two of them with the same box is
    that of their Gaussians (KL is invariant under a shared bijection), what TRPO's trust region
    bounds. `mode` squashes the Gaussian's mode (the greedy action of SAC and Brax; not the
    maximum of the squashed density).

    Example (shapes): `TanhNormal(loc [B, D], scale [B, D], low, high)`; `sample_and_log_prob`
    → `([B, D], [B])`; `entropy()`, `kl_divergence(other)` → `[B]`.
    """

    def __init__(self, loc: Array, scale: Array, low, high):
        low, high = jnp.asarray(low, jnp.float32), jnp.asarray(high, jnp.float32)
        self._half = jnp.broadcast_to((high - low) / 2.0, loc.shape[-1:])
        squash = distrax.Chain([distrax.ScalarAffine((high + low) / 2.0, self._half), _EdgeTanh()])
        super().__init__(Gaussian(loc, scale), distrax.Block(squash, 1))

    def _sample_n_and_log_prob(self, key: Array, n: int) -> tuple[Array, Array]:
        """`n` samples `[n, ..., D]` and `log_prob` of each `[n, ...]` (class docstring)."""
        action = self._sample_n(key, n)
        return action, self.log_prob(action)

    def entropy(self) -> Array:
        """[...] entropy of the executed action (nats)."""
        base = self.distribution
        u = base.loc[..., None] + base.scale_diag[..., None] * _HERMITE_NODES  # [..., D, K]
        log_det = 2.0 * (jnp.log(2.0) - u - jax.nn.softplus(-2.0 * u))  # log(1 − tanh² u)
        expected = jnp.sum(log_det * _HERMITE_WEIGHTS, axis=-1)  # [..., D]
        return base.entropy() + jnp.sum(jnp.log(self._half) + expected, axis=-1)

    def kl_divergence(self, other_dist, **kwargs) -> Array:
        """KL(self ‖ other) `[...]` for another `TanhNormal` on the same box."""
        if not isinstance(other_dist, TanhNormal):
            raise TypeError(f"TanhNormal's KL needs another TanhNormal, got {type(other_dist)}")
        return self.distribution.kl_divergence(other_dist.distribution, **kwargs)

    def mode(self) -> Array:
        return self.bijector.forward(self.distribution.mode())


def check_policy_config(config, env_name: str, spec: Spec) -> None:
    """Refuse a PPO or TRPO config's `init_log_std` other than its default on discrete
    actions: a categorical policy has no log std, so the setting would change nothing, without
    a word (a sweep of it is refused there too, `jirl.sweep.check_read`). A traced value (a
    swept field) is left to the sweep's own checks."""
    default = {f.name: f.default for f in dataclasses.fields(config)}["init_log_std"]
    require(
        not spec.discrete or config.init_log_std == default,
        f"init_log_std: {short(config.init_log_std)} sets a Gaussian policy's initial log std; "
        f"{env_name}'s actions are discrete (a categorical policy, no std), so it would change "
        f"nothing: drop it",
    )


@dataclass(frozen=True)
class Policy:
    """A stochastic policy: a flax `PolicyNet` behind an observation normaliser.

    `params` is the flax parameter tree; the normaliser is passed separately because it is
    statistics, not something gradients flow into. `squash`: a continuous policy is a
    `TanhNormal` in the action box rather than a Gaussian the environment clips (module
    docstring); the parameters are the same either way.
    """

    spec: Spec
    hidden: tuple[int, ...] = (64, 64)
    activation: str = "tanh"
    init_log_std: float = 0.0
    squash: bool = False

    def __post_init__(self):
        if self.squash and not self.spec.clips_actions:
            raise ConfigError(
                "squash: true needs bounded continuous actions; this environment's are "
                f"{self.spec.action_kind} (set squash: false)"
            )

    @classmethod
    def of(cls, spec: Spec, config) -> Policy:
        """The policy a PPO or TRPO config describes (`hidden`, `activation`, `init_log_std`,
        `squash`) for the spaces `spec`."""
        return cls(spec, config.hidden, config.activation, config.init_log_std, config.squash)

    @property
    def net(self) -> PolicyNet:
        size = self.spec.num_actions if self.spec.discrete else self.spec.action_dim
        return PolicyNet(
            tuple(self.hidden), int(size), self.spec.discrete, self.activation, self.init_log_std
        )

    def init(self, key: Array):
        return self.net.init(key, jnp.zeros(self.spec.obs_shape, jnp.float32))

    def outputs(self, params, norm: Normalizer, obs: Array) -> tuple[Array, Array | None]:
        """The head's outputs for `obs: [..., *obs_shape]`: `(logits [..., A], None)` or
        `(mean [..., D], log_std [..., D])`, what `dist_of` turns into a distribution."""
        shape, per_step = tuple(np.shape(obs)), tuple(self.spec.obs_shape)
        if shape[len(shape) - len(per_step) :] != per_step or len(shape) < len(per_step):
            raise ConfigError(  # (at trace time; a broadcast error from the normaliser before)
                f"observations of shape {shape} for a policy of observations {per_step} (one "
                f"observation {per_step}, or a batch [..., *{per_step}])"
            )
        return self.net.apply(params, norm(obs))

    def dist_of(self, outputs: tuple[Array, Array | None]) -> distrax.Distribution:
        """The action distribution of head outputs (`outputs`)."""
        out, log_std = outputs
        if self.spec.discrete:
            return distrax.Categorical(logits=out)
        if self.squash:
            return TanhNormal(out, jnp.exp(log_std), self.spec.action_low, self.spec.action_high)
        return Gaussian(out, jnp.exp(log_std))

    def dist(self, params, norm: Normalizer, obs: Array) -> distrax.Distribution:
        """Action distribution for `obs: [..., *obs_shape]`."""
        return self.dist_of(self.outputs(params, norm, obs))

    def sample(self, params, norm: Normalizer, obs: Array, key: Array) -> tuple[Array, Array]:
        """Sample actions and their log-probabilities."""
        return self.dist(params, norm, obs).sample_and_log_prob(seed=key)

    def mode(self, params, norm: Normalizer, obs: Array) -> Array:
        """The most likely action (greedy evaluation)."""
        return self.dist(params, norm, obs).mode()


def acting(policy: Policy, params_of: Callable) -> tuple[Callable, Callable]:
    """`(act, mode)` of an `Algorithm` whose current policy is `policy` at
    `params_of(state) -> (params, normalizer)`: `act(state, obs, key)` samples an action,
    `mode(state, obs)` is the most likely one."""

    def act(state, obs: Array, key: Array) -> Array:
        return policy.sample(*params_of(state), obs, key)[0]

    def mode(state, obs: Array) -> Array:
        return policy.mode(*params_of(state), obs)

    return act, mode


@dataclass(frozen=True)
class ValueFn:
    """State-value MLP `V(s)` behind the same observation normaliser as the policy."""

    obs_shape: tuple[int, ...]
    hidden: tuple[int, ...] = (64, 64)
    activation: str = "tanh"

    @property
    def net(self) -> MLP:
        return MLP(tuple(self.hidden), 1, self.activation, out_scale=1.0)

    def init(self, key: Array):
        return self.net.init(key, jnp.zeros(self.obs_shape, jnp.float32))

    def __call__(self, params, norm: Normalizer, obs: Array) -> Array:
        """Values `[...]` for `obs: [..., *obs_shape]`."""
        return self.net.apply(params, norm(obs))[..., 0]
