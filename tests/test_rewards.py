"""Discriminators, their losses and the logit -> reward maps, against values worked out by hand."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jirl import envs
from jirl import rewards as R
from jirl.algos import adversarial, airl
from jirl.nets import Normalizer
from jirl.types import Transition

LOGITS = jnp.array([-50.0, -1.0, 0.0, 1.0, 50.0])
LOG2 = math.log(2.0)


def _sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


def test_reward_maps_match_hand_values_and_stay_finite():
    log_d = np.asarray(R.log_d(LOGITS))
    np.testing.assert_allclose(
        log_d, [-50.0, math.log(_sigmoid(-1.0)), -LOG2, math.log(_sigmoid(1.0)), 0.0], atol=1e-6
    )
    neg = np.asarray(R.neg_log_one_minus_d(LOGITS))
    np.testing.assert_allclose(
        neg,
        [0.0, -math.log(1 - _sigmoid(-1.0)), LOG2, -math.log(1 - _sigmoid(1.0)), 50.0],
        atol=1e-6,
    )
    np.testing.assert_array_equal(np.asarray(R.airl_logit_reward(LOGITS)), np.asarray(LOGITS))
    # log D − log(1 − D) is the logit itself.
    np.testing.assert_allclose(log_d + neg, np.asarray(LOGITS), atol=1e-5)
    for fn in R.REWARD_MAPS.values():
        grads = jax.vmap(jax.grad(fn))(LOGITS)
        assert np.isfinite(np.asarray(fn(LOGITS))).all() and np.isfinite(np.asarray(grads)).all()


def test_bce_loss_hand_values_at_extreme_logits():
    expert = jnp.array([0.0, 50.0, -50.0])
    policy = jnp.array([0.0, -50.0, 50.0])
    loss, metrics = R.bce_loss(expert, policy)
    # ½(mean softplus(−ℓ_E) + mean softplus(ℓ_π)) = ½·2·(log 2 + 0 + 50)/3
    np.testing.assert_allclose(float(loss), (LOG2 + 50.0) / 3.0, rtol=1e-6)
    assert float(metrics["disc_expert_acc"]) == pytest.approx(1 / 3)
    assert float(metrics["disc_policy_acc"]) == pytest.approx(1 / 3)
    grads = jax.grad(lambda e, p: R.bce_loss(e, p)[0], argnums=(0, 1))(expert, policy)
    np.testing.assert_allclose(np.asarray(grads[0]), [-0.25 / 3, 0.0, -0.5 / 3], atol=1e-7)
    np.testing.assert_allclose(np.asarray(grads[1]), [0.25 / 3, 0.0, 0.5 / 3], atol=1e-7)
    perfect, _ = R.bce_loss(jnp.array([50.0]), jnp.array([-50.0]))
    assert 0.0 <= float(perfect) < 1e-20


def _constant(params, values: dict):
    """Zero every weight, then set the last layer's bias of each named sub-network."""
    params = jax.tree.map(jnp.zeros_like, params)
    inner = params["params"]
    for name, value in values.items():
        layers = inner[name] if name else inner
        last = sorted(layers)[-1]
        layers[last]["bias"] = jnp.full_like(layers[last]["bias"], value)
    return params


def _transitions(n: int, env, terminated=False, log_prob=0.0) -> Transition:
    obs = jax.random.normal(jax.random.PRNGKey(0), (n, *env.spec.obs_shape))
    return Transition(
        obs=obs,
        action=jnp.zeros((n,), jnp.int32),
        reward=jnp.zeros(n),
        next_obs=obs + 1.0,
        terminated=jnp.full((n,), terminated),
        truncated=jnp.zeros(n, bool),
        log_prob=jnp.full((n,), log_prob),
    )


def test_gail_loss_with_a_constant_discriminator():
    env = envs.make("cartpole")
    disc = R.Discriminator(env.spec, "sa")
    params = {"params": _constant(disc.init(jax.random.PRNGKey(1)), {"": 2.0})["params"]}
    norm = Normalizer.create(env.spec.obs_shape)
    batch = R.DiscriminatorBatch(_transitions(8, env), _transitions(8, env))
    np.testing.assert_allclose(np.asarray(disc.logits(params, norm, batch.expert)), 2.0)
    loss, _ = R.gail_loss(disc)(params, norm, batch, jax.random.PRNGKey(0))
    expected = 0.5 * (math.log1p(math.exp(-2.0)) + math.log1p(math.exp(2.0)))
    np.testing.assert_allclose(float(loss), expected, rtol=1e-6)
    # With zero weights the logit has zero input gradient: the penalty is (0 − 1)² = 1.
    wrapped = R.with_gradient_penalty(R.gail_loss(disc), disc.logits, coef=10.0)
    loss_gp, metrics = wrapped(params, norm, batch, jax.random.PRNGKey(0))
    np.testing.assert_allclose(float(metrics["grad_penalty"]), 1.0, atol=1e-5)
    np.testing.assert_allclose(float(loss_gp), expected + 10.0, rtol=1e-5)


def test_gradient_penalty_is_taken_in_normalised_units():
    """A logit linear in the normalised observation, ℓ = w·z with z = (s − μ)/σ, has slope ‖w‖
    per σ whatever σ is: the zero-centred penalty is ‖w‖² (it would be ‖w/σ‖² in raw units)."""
    env = envs.make("cartpole")
    w = jnp.array([1.0, -2.0, 0.5, 3.0])
    logit_fn = lambda params, norm, t: norm(t.obs) @ w
    zero_loss = lambda params, norm, batch, key: (jnp.zeros(()), {})
    norm = Normalizer(jnp.zeros(4), jnp.array([4.0, 0.25, 1.0, 0.0025]), jnp.ones(()))
    batch = R.DiscriminatorBatch(_transitions(8, env), _transitions(8, env))
    batch = jax.tree.map(lambda x: x * 0.01 if x.dtype == jnp.float32 else x, batch)  # unclipped
    loss = R.with_gradient_penalty(zero_loss, logit_fn, coef=1.0, target=0.0)
    _, metrics = loss({}, norm, batch, jax.random.PRNGKey(0))
    np.testing.assert_allclose(float(metrics["grad_penalty"]), float(w @ w), rtol=1e-5)


@pytest.mark.parametrize("terminated", [False, True])
def test_airl_shaped_logit_hand_values(terminated):
    env = envs.make("cartpole")
    gamma = 0.9
    shaped = R.ShapedReward(env.spec, "s", gamma)
    params = _constant(shaped.init(jax.random.PRNGKey(2)), {"g": 1.5, "h": 2.0})
    norm = Normalizer.create(env.spec.obs_shape)
    t = _transitions(5, env, terminated=terminated, log_prob=math.log(0.25))
    f = 1.5 + (0.0 if terminated else gamma * 2.0) - 2.0
    np.testing.assert_allclose(np.asarray(shaped.g(params, norm, t)), 1.5, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(shaped.f(params, norm, t)), f, rtol=1e-6)
    logit = f - math.log(0.25)
    np.testing.assert_allclose(np.asarray(shaped.logits(params, norm, t)), logit, rtol=1e-6)
    loss, _ = R.airl_loss(shaped)(params, norm, R.DiscriminatorBatch(t, t), jax.random.PRNGKey(0))
    expected = 0.5 * (math.log1p(math.exp(-logit)) + math.log1p(math.exp(logit)))
    np.testing.assert_allclose(float(loss), expected, rtol=1e-6)


def test_networks_accept_every_input_kind_and_leading_shape():
    for name in ("cartpole", "pendulum"):
        env = envs.make(name)
        norm = Normalizer.create(env.spec.obs_shape)
        obs = jnp.ones((3, 2, *env.spec.obs_shape))
        action = (
            jnp.zeros((3, 2), jnp.int32) if env.spec.discrete else jnp.zeros((3, 2, 1), jnp.float32)
        )
        t = Transition(
            obs,
            action,
            jnp.zeros((3, 2)),
            obs,
            jnp.zeros((3, 2), bool),
            jnp.zeros((3, 2), bool),
            jnp.zeros((3, 2)),
        )
        for inputs in R.INPUTS:
            disc = R.Discriminator(env.spec, inputs, (8,))
            assert disc.logits(disc.init(jax.random.PRNGKey(0)), norm, t).shape == (3, 2)
        for g_inputs in ("s", "sa"):
            shaped = R.ShapedReward(env.spec, g_inputs, 0.99, (8,))
            assert shaped.logits(shaped.init(jax.random.PRNGKey(0)), norm, t).shape == (3, 2)
    onehot = R.action_features(envs.make("cartpole").spec, jnp.array([1, 0]))
    np.testing.assert_array_equal(np.asarray(onehot), [[0.0, 1.0], [1.0, 0.0]])


def test_discriminators_see_continuous_actions_as_executed():
    """A Gaussian policy samples outside the bounds; the env executes, and demonstrations
    record, the clipped action. The discriminator must see that one, or any sample outside
    the box would mark the policy's transitions by itself."""
    spec = envs.make("pendulum").spec  # torque in [-2, 2]
    sampled = jnp.array([[-6.5], [0.3], [7.1]])
    np.testing.assert_allclose(np.asarray(spec.executed(sampled)), [[-2.0], [0.3], [2.0]])
    np.testing.assert_allclose(np.asarray(R.action_features(spec, sampled)), [[-2.0], [0.3], [2.0]])
    discrete = envs.make("cartpole").spec
    np.testing.assert_array_equal(np.asarray(discrete.executed(jnp.array([1, 0]))), [1, 0])


def test_disc_actions_sampled_shows_the_discriminator_unclipped_actions():
    """`disc_actions: sampled`: the reward model's spec has no bounds, so its features take the
    policy's sample as drawn (outside the box), and its `Spec.executed`, the action at which the
    loop scores log π, leaves the sample as drawn. The default, "executed", clips both."""
    spec = envs.make("pendulum").spec
    sampled = jnp.array([[-6.5], [0.3], [7.1]])
    as_drawn = adversarial.model_spec(airl.AIRLConfig(disc_actions="sampled"), spec)
    assert not as_drawn.clips_actions and as_drawn.obs_shape == spec.obs_shape
    np.testing.assert_allclose(np.asarray(R.action_features(as_drawn, sampled)), sampled)
    np.testing.assert_allclose(np.asarray(as_drawn.executed(sampled)), sampled)
    clipped = adversarial.model_spec(airl.AIRLConfig(), spec)
    np.testing.assert_allclose(
        np.asarray(R.action_features(clipped, sampled)), [[-2.0], [0.3], [2.0]]
    )
    absorbing = airl.AIRLConfig(disc_actions="sampled", absorbing=True, fixed_horizon=False)
    both = adversarial.model_spec(absorbing, spec)
    assert both.obs_shape == (spec.obs_dim + 1,) and not both.clips_actions
