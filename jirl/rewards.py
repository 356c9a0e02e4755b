"""Learned rewards: discriminator networks, their losses, and logit → reward maps.

Convention (as in AIRL, imitation and acme): the discriminator's logit ℓ is large on *expert*
transitions, D = σ(ℓ) is the probability that a transition came from the expert.

* GAIL (Ho & Ermon 2016, eq. 17): D(s, a) on state-action pairs, trained by binary
  cross-entropy, expert label 1 and policy label 0; the policy minimises the cost log(1 − D) of
  our convention (the paper's log D with labels swapped), i.e. maximises the reward
  −log(1 − D) = softplus(ℓ). The alternative log D = −softplus(−ℓ) is always ≤ 0 (a per-step
  penalty), −log(1 − D) ≥ 0 (a survival bonus): with variable-length episodes they carry opposite
  termination biases, which is why adversarial training here defaults to fixed horizons.
* AIRL (Fu, Luo & Levine 2018, eqs. 2-4): D = exp f / (exp f + π(a|s)), so ℓ = f(s, a, s') −
  log π(a|s), with the shaped form f = g(s) + γ h(s') − h(s) (g on s, the disentangled reward,
  or on (s, a)). The policy's reward is log D − log(1 − D) = ℓ = f − log π; the reward that
  transfers to a new policy or dynamics is g (or f).

Everything is numerically stable at any logit: log D = −softplus(−ℓ), −log(1 − D) = softplus(ℓ),
and the cross-entropy is written with softplus, so ℓ = ±50 gives finite values and gradients.

A loss is `loss(params, normalizer, batch: DiscriminatorBatch, key) -> (scalar, metrics)`, built
by a factory that closes over the network (`gail_loss`, `airl_loss`); a gradient penalty
(Gulrajani et al. 2017, on interpolates of expert and policy inputs) is added by wrapping a loss
(`with_gradient_penalty`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
from flax import struct

from jirl.envs.base import Spec
from jirl.nets import MLP, Normalizer
from jirl.types import Array, Metrics, Transition

INPUTS = ("s", "sa", "sas")

#: `logit_fn(params, normalizer, transitions [...]) -> logits [...]`
LogitFn = Callable[[dict, Normalizer, Transition], Array]


@struct.dataclass
class DiscriminatorBatch:
    """Equal-sized minibatches of expert and policy transitions, each `Transition [N]`.

    `log_prob` of both must hold log π(a|s) of the *current* policy (AIRL's logit uses it).
    """

    expert: Transition
    policy: Transition


# ---------------------------------------------------------------------------------------------
# logit -> reward maps


def log_d(logit: Array) -> Array:
    """log D = log σ(ℓ) = −softplus(−ℓ) (≤ 0)."""
    return -jax.nn.softplus(-logit)


def neg_log_one_minus_d(logit: Array) -> Array:
    """−log(1 − D) = −log σ(−ℓ) = softplus(ℓ) (≥ 0); GAIL's reward, Ho & Ermon eq. 17."""
    return jax.nn.softplus(logit)


def airl_logit_reward(logit: Array) -> Array:
    """log D − log(1 − D) = ℓ = f − log π: AIRL's policy reward (Fu et al. 2018, sec. 5)."""
    return logit


REWARD_MAPS: dict[str, Callable[[Array], Array]] = {
    "log_d": log_d,
    "neg_log_one_minus_d": neg_log_one_minus_d,
    "logit": airl_logit_reward,
}


# ---------------------------------------------------------------------------------------------
# networks


def action_features(spec: Spec, action: Array) -> Array:
    """One-hot `[..., n]` for a discrete action `[...]`, the float vector itself otherwise."""
    if spec.discrete:
        return jax.nn.one_hot(action, spec.num_actions)
    return action.astype(jnp.float32)


def features(spec: Spec, normalizer: Normalizer, t: Transition, inputs: str) -> Array:
    """Concatenated discriminator inputs `[..., F]`: normalised s, then a, then normalised s'."""
    flat = lambda o: normalizer(o).reshape((*o.shape[: o.ndim - len(spec.obs_shape)], -1))
    parts = [flat(t.obs)]
    if "a" in inputs:
        parts.append(action_features(spec, t.action))
    if inputs == "sas":
        parts.append(flat(t.next_obs))
    return jnp.concatenate(parts, axis=-1)


def _input_dim(spec: Spec, inputs: str) -> int:
    size = spec.obs_dim
    if "a" in inputs:
        size += spec.num_actions if spec.discrete else spec.action_dim
    if inputs == "sas":
        size += spec.obs_dim
    return size


@dataclass(frozen=True)
class Discriminator:
    """GAIL's discriminator: an MLP logit on (s), (s, a) or (s, a, s').

    Attributes:
      spec: the environment's spaces.
      inputs: "s", "sa" or "sas".
    """

    spec: Spec
    inputs: str = "sa"
    hidden: tuple[int, ...] = (64, 64)
    activation: str = "tanh"

    @property
    def net(self) -> MLP:
        return MLP(tuple(self.hidden), 1, self.activation, out_scale=1.0)

    def init(self, key: Array) -> dict:
        return self.net.init(key, jnp.zeros((_input_dim(self.spec, self.inputs),)))

    def logits(self, params, normalizer: Normalizer, t: Transition) -> Array:
        """Logits `[...]` for transitions of any leading shape."""
        return self.net.apply(params, features(self.spec, normalizer, t, self.inputs))[..., 0]

    def transfer_reward(self, params, normalizer: Normalizer, t: Transition) -> Array:
        """The frozen reward a fresh agent optimises: −log(1 − D)."""
        return neg_log_one_minus_d(self.logits(params, normalizer, t))


class ShapedNet(nn.Module):
    """Two MLPs: the reward term g(x) and the potential h(s)."""

    hidden: tuple[int, ...]
    activation: str

    def setup(self):
        self.g = MLP(self.hidden, 1, self.activation, out_scale=1.0)
        self.h = MLP(self.hidden, 1, self.activation, out_scale=1.0)

    def __call__(self, g_in: Array, s: Array, s_next: Array):
        return self.g(g_in)[..., 0], self.h(s)[..., 0], self.h(s_next)[..., 0]


@dataclass(frozen=True)
class ShapedReward:
    """AIRL's discriminator: f(s, a, s') = g(x) + γ(1 − terminated) h(s') − h(s), logit f − log π.

    Attributes:
      g_inputs: "s" (state-only g, the disentangled reward of Fu et al. thm. 5.1) or "sa".
      gamma: the discount of the shaping term (the policy optimiser's γ).
    """

    spec: Spec
    g_inputs: str = "s"
    gamma: float = 0.99
    hidden: tuple[int, ...] = (64, 64)
    activation: str = "tanh"

    @property
    def net(self) -> ShapedNet:
        return ShapedNet(tuple(self.hidden), self.activation)

    def init(self, key: Array) -> dict:
        obs = jnp.zeros((self.spec.obs_dim,))
        return self.net.init(key, jnp.zeros((_input_dim(self.spec, self.g_inputs),)), obs, obs)

    def _terms(self, params, normalizer: Normalizer, t: Transition):
        g_in = features(self.spec, normalizer, t, self.g_inputs)
        s = features(self.spec, normalizer, t, "s")
        s_next = features(self.spec, normalizer, t.replace(obs=t.next_obs), "s")
        return self.net.apply(params, g_in, s, s_next)

    def g(self, params, normalizer: Normalizer, t: Transition) -> Array:
        """The learned reward g `[...]`."""
        return self._terms(params, normalizer, t)[0]

    def f(self, params, normalizer: Normalizer, t: Transition) -> Array:
        """The shaped reward f `[...]` = g + γ(1 − terminated) h(s') − h(s)."""
        g, h, h_next = self._terms(params, normalizer, t)
        return g + self.gamma * (1.0 - t.terminated.astype(g.dtype)) * h_next - h

    def logits(self, params, normalizer: Normalizer, t: Transition) -> Array:
        """ℓ = f − log π(a|s), with log π from `t.log_prob`."""
        return self.f(params, normalizer, t) - t.log_prob

    def transfer_reward(self, params, normalizer: Normalizer, t: Transition) -> Array:
        """The reward that transfers: g."""
        return self.g(params, normalizer, t)


# ---------------------------------------------------------------------------------------------
# losses


def bce_loss(logit_expert: Array, logit_policy: Array) -> tuple[Array, Metrics]:
    """Binary cross-entropy, expert label 1, policy label 0, averaged over both halves.

    ½(E_expert[−log D] + E_policy[−log(1 − D)]) = ½(E[softplus(−ℓ_E)] + E[softplus(ℓ_π)]).

    Args:
      logit_expert: [N]; logit_policy: [M].
    """
    chex.assert_rank([logit_expert, logit_policy], 1)
    expert_term = jnp.mean(jax.nn.softplus(-logit_expert))
    policy_term = jnp.mean(jax.nn.softplus(logit_policy))
    loss = 0.5 * (expert_term + policy_term)
    return loss, {
        "disc_loss": loss,
        "disc_expert_acc": jnp.mean(logit_expert > 0),
        "disc_policy_acc": jnp.mean(logit_policy < 0),
        "disc_expert_logit": jnp.mean(logit_expert),
        "disc_policy_logit": jnp.mean(logit_policy),
    }


#: `loss(params, normalizer, batch, key) -> (loss, metrics)`
DiscLoss = Callable[[dict, Normalizer, DiscriminatorBatch, Array], tuple[Array, Metrics]]


def discriminator_loss(logit_fn: LogitFn) -> DiscLoss:
    """The cross-entropy loss of any discriminator whose logit is `logit_fn`."""

    def loss(params, normalizer: Normalizer, batch: DiscriminatorBatch, key: Array):
        del key
        return bce_loss(
            logit_fn(params, normalizer, batch.expert), logit_fn(params, normalizer, batch.policy)
        )

    return loss


def gail_loss(discriminator: Discriminator) -> DiscLoss:
    """GAIL's discriminator loss (Ho & Ermon 2016, eq. 17's inner max, labels as above)."""
    return discriminator_loss(discriminator.logits)


def airl_loss(shaped: ShapedReward) -> DiscLoss:
    """AIRL's discriminator loss (Fu et al. 2018, eq. 3): cross-entropy on ℓ = f − log π."""
    return discriminator_loss(shaped.logits)


def with_gradient_penalty(
    loss_fn: DiscLoss, logit_fn: LogitFn, coef: float, target: float = 1.0
) -> DiscLoss:
    """`loss_fn` plus coef·E[(‖∇_x ℓ(x̂)‖ − target)²] on random interpolates x̂ of expert and
    policy transitions (Gulrajani et al. 2017). Float fields are mixed; integer (discrete)
    actions are taken from the expert or the policy side at random. The gradient is taken with
    respect to the observations and continuous actions."""

    def loss(params, normalizer: Normalizer, batch: DiscriminatorBatch, key: Array):
        key_loss, key_mix, key_pick = jax.random.split(key, 3)
        value, metrics = loss_fn(params, normalizer, batch, key_loss)
        n = batch.expert.reward.shape[0]
        alpha = jax.random.uniform(key_mix, (n,))
        pick = jax.random.uniform(key_pick, (n,)) < alpha

        def mix(e, p):
            shape = (n,) + (1,) * (e.ndim - 1)
            if jnp.issubdtype(e.dtype, jnp.floating):
                a = alpha.reshape(shape)
                return a * e + (1.0 - a) * p
            return jnp.where(pick.reshape(shape), e, p)

        mixed = jax.tree.map(mix, batch.expert, batch.policy)
        float_action = jnp.issubdtype(mixed.action.dtype, jnp.floating)

        def logit_one(obs, action, next_obs, rest):
            t = rest.replace(
                obs=obs, action=action if float_action else rest.action, next_obs=next_obs
            )
            return logit_fn(params, normalizer, t)

        def grad_norm(t):
            grads = jax.grad(logit_one, argnums=(0, 1, 2) if float_action else (0, 2))(
                t.obs, t.action, t.next_obs, t
            )
            return jnp.sqrt(sum(jnp.sum(g**2) for g in grads) + 1e-12)

        norms = jax.vmap(grad_norm)(mixed)
        penalty = jnp.mean((norms - target) ** 2)
        return value + coef * penalty, {**metrics, "grad_penalty": penalty}

    return loss
