"""Learned rewards: discriminator networks, their losses, and logit → reward maps.

Convention (as in AIRL, imitation and acme): the discriminator's logit ℓ is large on *expert*
transitions, D = σ(ℓ) is the probability that a transition came from the expert.

* GAIL (Ho & Ermon 2016, algorithm 1): D(s, a) on state-action pairs, trained by binary
  cross-entropy, expert label 1 and policy label 0; the policy minimises the cost log(1 − D) of
  our convention (the paper's log D with labels swapped), i.e. maximises the reward
  −log(1 − D) = softplus(ℓ). The alternative log D = −softplus(−ℓ) is always ≤ 0 (a per-step
  penalty), −log(1 − D) ≥ 0 (a survival bonus): with variable-length episodes they carry opposite
  termination biases, which is why adversarial training here defaults to fixed horizons.
* AIRL (Fu, Luo & Levine 2018, eqs. 2-4): D = exp f / (exp f + π(a|s)), so ℓ = f(s, a, s') −
  log π(a|s), with the shaped form f = g(s) + γ h(s') − h(s) (g on s, the disentangled reward,
  or on (s, a)). The policy's reward is log D − log(1 − D) = ℓ = f − log π; the reward that
  transfers to a new policy or dynamics is g (or f).

* GCL and GAN-GCL (Finn, Levine & Abbeel 2016; Finn, Christiano, Abbeel & Levine 2016): a
  reward r_θ(s, a) summed over trajectory segments (`TrajectoryReward`); GCL minimises the
  importance-sampled MaxEnt objective (`gcl_loss`), GAN-GCL the cross-entropy of the logit
  r_θ(τ) − log Z − log q(τ) with log Z learned (`gan_gcl_loss`); both give the policy the
  per-step reward r_θ − log π. The importance weights are computed in log space.

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
    """Equal-sized minibatches of expert and policy transitions, each `Transition [N]` (or, for a
    trajectory-level discriminator, segments `Transition [N, L]`).

    `log_prob` of both must hold log π(a|s) of the *current* policy (AIRL's logit uses it).
    """

    expert: Transition
    policy: Transition


# ---------------------------------------------------------------------------------------------
# logit -> reward maps


def log_d(logit: Array) -> Array:
    """log D = log σ(ℓ) = −softplus(−ℓ) (≤ 0)."""
    return jax.nn.log_sigmoid(logit)


def neg_log_one_minus_d(logit: Array) -> Array:
    """−log(1 − D) = −log σ(−ℓ) = softplus(ℓ) (≥ 0); GAIL's reward (Ho & Ermon's cost log D,
    labels swapped)."""
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
    """One-hot `[..., n]` for a discrete action `[...]`, otherwise the float vector as executed
    (`Spec.executed`: clipped to the bounds, as demonstrations record it; a sampled action
    outside them would tell the policy's samples from the expert's by that alone). A reward
    model's spec has no bounds under `disc_actions: sampled` (`adversarial.model_spec`), and
    the vector is then taken as drawn."""
    if spec.discrete:
        return jax.nn.one_hot(action, spec.num_actions, dtype=jnp.float32)
    return spec.executed(action.astype(jnp.float32))


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
        return self.net.init(key, jnp.zeros((_input_dim(self.spec, self.inputs),), jnp.float32))

    def logits(self, params, normalizer: Normalizer, t: Transition) -> Array:
        """Logits `[...]` for transitions of any leading shape."""
        return self.net.apply(params, features(self.spec, normalizer, t, self.inputs))[..., 0]


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
        obs = jnp.zeros((self.spec.obs_dim,), jnp.float32)
        inputs = jnp.zeros((_input_dim(self.spec, self.g_inputs),), jnp.float32)
        return self.net.init(key, inputs, obs, obs)

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
    """GAIL's discriminator loss (Ho & Ermon 2016, algorithm 1's discriminator step,
    labels as above)."""
    return discriminator_loss(discriminator.logits)


def airl_loss(shaped: ShapedReward) -> DiscLoss:
    """AIRL's discriminator loss (Fu et al. 2018, eq. 3): cross-entropy on ℓ = f − log π."""
    return discriminator_loss(shaped.logits)


def with_gradient_penalty(
    loss_fn: DiscLoss, logit_fn: LogitFn, coef: float, target: float = 1.0
) -> DiscLoss:
    """`loss_fn` plus coef·E[(‖∇_x ℓ(x̂)‖ − target)²] on random interpolates x̂ of expert and
    policy transitions (Gulrajani et al. 2017). Float fields are mixed; integer (discrete)
    actions are taken from the expert or the policy side at random.

    The gradient is taken with respect to the continuous actions and the *normalised*
    observations z = (s − μ)/σ that the network sees (∇_z ℓ = σ ⊙ ∇_s ℓ), so that the penalty
    bounds the logit's slope per standard deviation of the demonstrations in every coordinate
    alike. With respect to raw observations it would bound it per unit: on cartpole, whose
    pole angle has σ = 0.05, a slope of 1 per radian is 0.05 per σ, a discriminator nearly
    flat along the angle. GAIL (PPO) on cartpole (4 demos, 8 seeds, 150 updates), coefficient
    10, target 1: 0.77 normalized this way, 0.33 in raw units, 0.98 without a penalty; target 0
    (zero-centred, as R1): 0.39 at coefficient 10, 0.98 at 1. Keep the coefficient small.

    AIRL's log π(a|s) is a field of the transitions (the policy's log-density, stored), mixed
    like the other floats and held constant in the gradient: there the penalty bounds the
    slope of f(s, a, s'), the learned part of ℓ = f − log π, not of log π."""

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

        def logit_one(obs, next_obs, action, rest):
            t = rest.replace(
                obs=obs, action=action if float_action else rest.action, next_obs=next_obs
            )
            return logit_fn(params, normalizer, t)

        def grad_norm(t):
            grads = jax.grad(logit_one, argnums=(0, 1, 2) if float_action else (0, 1))(
                t.obs, t.next_obs, t.action, t
            )
            d_obs, d_next = (g * normalizer.std for g in grads[:2])  # ∇_z = σ ⊙ ∇_s
            return jnp.sqrt(sum(jnp.sum(g**2) for g in (d_obs, d_next, *grads[2:])) + 1e-12)

        norms = jax.vmap(grad_norm)(mixed)
        penalty = jnp.mean((norms - target) ** 2)
        return value + coef * penalty, {**metrics, "grad_penalty": penalty}

    return loss


# ---------------------------------------------------------------------------------------------
# trajectory-level rewards: guided cost learning and GAN-GCL


def importance_log_weights(log_ratio: Array) -> Array:
    """Self-normalised importance weights in log space: log w_j = ℓ_j − logsumexp(ℓ).

    With ℓ_j = r_θ(τ_j) − log q(τ_j), w_j ∝ exp(r_θ(τ_j)) / q(τ_j) (Finn, Levine & Abbeel 2016,
    eq. 3-4), finite for any ℓ (returns of ±1e3 included).

    Args:
      log_ratio: [M] unnormalised log-weights ℓ_j.
    Returns:
      [M] log w_j, logsumexp(log w) = 0.
    """
    chex.assert_rank(log_ratio, 1)
    return jax.nn.log_softmax(log_ratio)


def importance_log_partition(log_ratio: Array) -> Array:
    """log Ẑ = log (1/M) Σ_j exp(r_θ(τ_j)) / q(τ_j): the importance-sampling estimate of the
    partition function (Finn, Levine & Abbeel 2016, eq. 4), in log space. `log_ratio: [M]`."""
    chex.assert_rank(log_ratio, 1)
    return jax.nn.logsumexp(log_ratio) - jnp.log(log_ratio.shape[0])


def mixture_log_partition(returns: Array, log_q: Array, num_iterations: int = 64) -> Array:
    """The importance-sampling estimate of log Z with the mixture density
    μ̃(τ) = ½ exp(r_θ(τ)) / Z + ½ q(τ) of GAN-GCL (Finn, Christiano, Abbeel & Levine 2016, §3):

        Z = (1/M) Σ_j exp(r_θ(τ_j)) / μ̃(τ_j),

    an equation in Z. Divided by Z it reads mean_j D_j = ½ with D_j = σ(ρ_j − log Z) and
    ρ_j = r_θ(τ_j) − log q(τ_j) (GAN-GCL's discriminator): decreasing in log Z, with its root
    between min ρ and max ρ, found by bisection (`num_iterations` halvings of that bracket; 64
    reach float32's resolution for any spread). At this Z the GAN-GCL discriminator loss is
    stationary in log Z when the M samples are half demonstrations, half policy samples.
    (A fixed-point iteration on Z, used before, has slope → 1 when the D_j saturate, and stopped
    hundreds of nats short when the ρ_j spread over more than ~400 nats.)

    Args:
      returns: [M] r_θ(τ_j). log_q: [M] log q(τ_j).
    Returns:
      [] log Z.
    """
    chex.assert_rank([returns, log_q], 1)
    rho = returns - log_q

    def halve(_, bracket):
        low, high = bracket
        mid = 0.5 * (low + high)
        root_above = jax.nn.sigmoid(rho - mid).mean() > 0.5
        return jnp.where(root_above, mid, low), jnp.where(root_above, high, mid)

    low, high = jax.lax.fori_loop(0, num_iterations, halve, (rho.min(), rho.max()))
    return 0.5 * (low + high)


@dataclass(frozen=True)
class TrajectoryReward:
    """A reward r_θ(s, a) summed along trajectory segments, for GCL and GAN-GCL.

    Per step the logit is r_θ(s, a) − log π(a|s) (from `t.log_prob`); summed over a segment it is
    r_θ(τ) − log q(τ), the log importance ratio of GCL and, minus log Z, the logit of GAN-GCL's
    discriminator D(τ) = exp(r_θ(τ)) / (exp(r_θ(τ)) + Z q(τ)). The dynamics' factors of q(τ)
    cancel against those of the MaxEnt model p(τ) ∝ p(dynamics) exp(r_θ(τ)), so only the
    policy's log-probabilities appear. That is exact for whole episodes from the initial
    distribution. A segment that starts mid-episode starts from the sampler's state marginal
    for policy samples and the expert's for demonstrations; q(τ) leaves that density out (as
    common to both), so segments shorter than the horizon give biased weights and a biased
    GAN-GCL D, less so the closer those marginals are. Parameters: `{"reward": MLP,
    "log_z": []}`; log Z is learned by GAN-GCL only.
    """

    spec: Spec
    inputs: str = "sa"
    hidden: tuple[int, ...] = (64, 64)
    activation: str = "tanh"

    @property
    def net(self) -> MLP:
        return MLP(tuple(self.hidden), 1, self.activation, out_scale=1.0)

    def init(self, key: Array) -> dict:
        x = jnp.zeros((_input_dim(self.spec, self.inputs),), jnp.float32)
        return {"reward": self.net.init(key, x), "log_z": jnp.zeros((), jnp.float32)}

    def reward(self, params, normalizer: Normalizer, t: Transition) -> Array:
        """r_θ `[...]` per step, for transitions of any leading shape."""
        x = features(self.spec, normalizer, t, self.inputs)
        return self.net.apply(params["reward"], x)[..., 0]

    def logits(self, params, normalizer: Normalizer, t: Transition) -> Array:
        """r_θ(s, a) − log π(a|s) `[...]` per step: the generator's max-ent reward."""
        return self.reward(params, normalizer, t) - t.log_prob

    def segment_returns(self, params, normalizer: Normalizer, segments: Transition) -> Array:
        """r_θ(τ) `[M]` of segments `Transition [M, L]`."""
        return self.reward(params, normalizer, segments).sum(-1)

    def segment_log_ratio(self, params, normalizer: Normalizer, segments: Transition) -> Array:
        """r_θ(τ) − log q(τ) `[M]` of segments `Transition [M, L]`."""
        return self.logits(params, normalizer, segments).sum(-1)

    def transfer_reward(self, params, normalizer: Normalizer, t: Transition) -> Array:
        """The learned reward r_θ."""
        return self.reward(params, normalizer, t)


def gcl_loss(model: TrajectoryReward, mixture_density: bool = True) -> DiscLoss:
    """Guided cost learning's IOC objective (Finn, Levine & Abbeel 2016, eq. 3-4, reward = −cost):

        L(θ) = −(1/N) Σ_demo r_θ(τ_i) + log (1/M) Σ_j exp(r_θ(τ_j)) / μ̃(τ_j),

    the second sum over the mixture of the batch's demonstration and policy segments (§4.1), so
    ∇L = −mean_demo ∇r + Σ_j w_j ∇r(τ_j) with self-normalised weights w_j ∝ exp(r_θ(τ_j))/μ̃(τ_j)
    computed in log space (`importance_log_weights`); μ̃ is held fixed in the gradient.

    The samples come from the mixture ½ p_demo + ½ q, but the demonstrations' density is
    unknown. With `mixture_density` (default) it is estimated by the current model
    exp(r_θ)/Z, μ̃ = ½ exp(r_θ)/Z + ½ q with Z its own importance-sampling estimate
    (`mixture_log_partition`, the estimator GAN-GCL's discriminator reproduces): exp(r)/μ̃ ≤ 2Z
    and the weights sum to M·Z, so no sample weighs more than 2/M and a few well-rewarded
    demonstrations cannot take all the weight. Without it μ̃ = q, the policy's density, for
    every sample.
    q(τ) = Π_t π(a_t|s_t) of the current policy (`t.log_prob`).

    The batch holds segments `Transition [N, L]` on both sides.
    """

    def loss(params, normalizer: Normalizer, batch: DiscriminatorBatch, key: Array):
        del key
        mixture = jax.tree.map(lambda e, p: jnp.concatenate([e, p]), batch.expert, batch.policy)
        returns = model.segment_returns(params, normalizer, mixture)  # [N + N]
        n = batch.expert.log_prob.shape[0]
        demo_return = returns[:n]
        log_q = mixture.log_prob.sum(-1)
        log_density = log_q
        if mixture_density:
            r = jax.lax.stop_gradient(returns)
            log_p = r - mixture_log_partition(r, log_q)
            log_density = jnp.logaddexp(log_p, log_q) - jnp.log(2.0)
        log_ratio = returns - jax.lax.stop_gradient(log_density)
        log_z = importance_log_partition(log_ratio)
        value = -demo_return.mean() + log_z
        weights = jnp.exp(importance_log_weights(jax.lax.stop_gradient(log_ratio)))
        return value, {
            "disc_loss": value,
            "log_z": log_z,
            "demo_return": demo_return.mean(),
            "policy_return": returns[n:].mean(),
            "demo_weight": weights[:n].sum(),
            "effective_samples": 1.0 / jnp.sum(weights**2),
        }

    return loss


def gan_gcl_loss(model: TrajectoryReward) -> DiscLoss:
    """GAN-GCL's discriminator loss (Finn, Christiano, Abbeel & Levine 2016, §3): the
    cross-entropy of D(τ) = exp(r_θ(τ)) / (exp(r_θ(τ)) + Z q(τ)), i.e. of the logit
    r_θ(τ) − log Z − log q(τ), with log Z a learned parameter (`params["log_z"]`). At the
    optimum in log Z, Z is the importance-sampling estimate of `mixture_log_partition`.

    The batch holds segments `Transition [N, L]` on both sides.
    """

    def loss(params, normalizer: Normalizer, batch: DiscriminatorBatch, key: Array):
        del key
        logit = lambda t: model.segment_log_ratio(params, normalizer, t) - params["log_z"]
        value, metrics = bce_loss(logit(batch.expert), logit(batch.policy))
        return value, {**metrics, "log_z": params["log_z"]}

    return loss
