"""The policy heads of `jirl.nets`: the tanh-squashed Gaussian (`TanhNormal`, `Policy.squash`)
against a NumPy change of variables, a Monte Carlo entropy and the Gaussian's KL."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jirl import envs
from jirl.algos import expert as experts
from jirl.errors import ConfigError, DataError
from jirl.nets import Normalizer, Policy, TanhNormal
from jirl.rl import ppo

LOC = np.array([[0.3, -1.0, 2.0], [0.0, 0.5, -3.0]], np.float32)
SCALE = np.array([[0.5, 1.0, 0.2], [2.0, 0.1, 1.5]], np.float32)
LOW, HIGH = np.array([-2.0, -1.0, 0.0], np.float32), np.array([2.0, 1.0, 3.0], np.float32)


def numpy_log_prob(action, loc, scale, low, high):
    """log π(a) by hand, float64: u = atanh((a − c)/h); log N(u) − Σ log(h (1 − tanh² u))."""
    a, loc, scale = (np.asarray(x, np.float64) for x in (action, loc, scale))
    c, h = (high + low) / 2.0, (high - low) / 2.0
    y = (a - c) / h
    u = np.arctanh(y)
    log_normal = -0.5 * ((u - loc) / scale) ** 2 - np.log(scale) - 0.5 * np.log(2 * np.pi)
    return np.sum(log_normal - np.log(h * (1.0 - y**2)), axis=-1)


def test_samples_lie_in_the_box_and_their_log_prob_is_the_change_of_variables():
    dist = TanhNormal(jnp.asarray(LOC), jnp.asarray(SCALE), LOW, HIGH)
    action, log_prob = dist.sample_and_log_prob(seed=jax.random.PRNGKey(0), sample_shape=(64,))
    action, log_prob = np.asarray(action), np.asarray(log_prob)
    assert action.shape == (64, 2, 3)
    assert ((action > LOW) & (action < HIGH)).all()
    unsaturated = (np.abs((action - (HIGH + LOW) / 2) / ((HIGH - LOW) / 2)) < 0.999).all(-1)
    reference = numpy_log_prob(action, LOC, SCALE, LOW, HIGH)
    np.testing.assert_allclose(log_prob[unsaturated], reference[unsaturated], rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(
        np.asarray(dist.log_prob(action))[unsaturated], reference[unsaturated], rtol=1e-4, atol=1e-3
    )


def test_a_sample_is_scored_as_log_prob_scores_it_even_when_tanh_saturates():
    """PPO divides the recomputed log π by the rollout's: at θ_old the ratio must be 1, also for
    a mean so far out (u ≈ 9) that float32's tanh rounds the sample onto the bound."""
    dist = TanhNormal(jnp.array([[9.0, 0.0]]), jnp.array([[0.6, 1.0]]), LOW[:2], HIGH[:2])
    action, log_prob = dist.sample_and_log_prob(seed=jax.random.PRNGKey(2), sample_shape=(256,))
    assert np.isfinite(np.asarray(log_prob)).all()
    np.testing.assert_array_equal(np.asarray(log_prob), np.asarray(dist.log_prob(action)))


def test_log_prob_is_finite_on_the_bounds():
    """A clipped demonstration's action on the bound has a finite density (TANH_EDGE)."""
    dist = TanhNormal(jnp.asarray(LOC), jnp.asarray(SCALE), LOW, HIGH)
    on_bounds = np.stack([LOW, HIGH])
    assert np.isfinite(np.asarray(dist.log_prob(on_bounds))).all()
    grads = jax.grad(
        lambda loc: TanhNormal(loc, jnp.asarray(SCALE), LOW, HIGH).log_prob(on_bounds).sum()
    )(jnp.asarray(LOC))
    assert np.isfinite(np.asarray(grads)).all()


def test_entropy_matches_monte_carlo_and_is_bounded_by_the_uniform_box():
    dist = TanhNormal(jnp.asarray(LOC), jnp.asarray(SCALE), LOW, HIGH)
    _, log_prob = dist.sample_and_log_prob(seed=jax.random.PRNGKey(1), sample_shape=(200_000,))
    monte_carlo, error = -log_prob.mean(0), log_prob.std(0) / np.sqrt(200_000)
    np.testing.assert_array_less(np.abs(dist.entropy() - monte_carlo), 4 * error + 1e-3)
    # However wide the Gaussian, the executed action's entropy stays below the box's (uniform):
    # the bonus that made clipped Gaussians widen without limit is bounded here.
    wide = TanhNormal(jnp.zeros(3), jnp.full(3, 50.0), LOW, HIGH).entropy()
    assert float(wide) < float(np.sum(np.log(HIGH - LOW)))
    widening = jax.grad(lambda s: TanhNormal(jnp.zeros(3), s, LOW, HIGH).entropy())
    assert (np.asarray(widening(jnp.full(3, 3.0))) < 0).all()  # past ~1, wider is less entropy


def test_kl_is_the_gaussians_and_mode_is_the_squashed_mean():
    other = TanhNormal(jnp.asarray(LOC + 0.2), jnp.asarray(SCALE * 1.3), LOW, HIGH)
    dist = TanhNormal(jnp.asarray(LOC), jnp.asarray(SCALE), LOW, HIGH)
    var, var_o = SCALE.astype(np.float64) ** 2, (SCALE * 1.3).astype(np.float64) ** 2
    kl = 0.5 * np.sum(var / var_o + 0.04 / var_o - 1 + np.log(var_o / var), -1)
    np.testing.assert_allclose(dist.kl_divergence(other), kl, rtol=1e-5)
    c, h = (HIGH + LOW) / 2, (HIGH - LOW) / 2
    np.testing.assert_allclose(dist.mode(), c + h * np.tanh(LOC), atol=1e-6)


def test_squash_needs_bounded_continuous_actions():
    with pytest.raises(ConfigError, match="this environment's are discrete"):
        Policy(envs.make("cartpole").spec, squash=True)
    spec = envs.make("pendulum").spec
    obs = jnp.full((64, 3), 3.0)

    def actions(squash: bool):
        policy = Policy(spec, init_log_std=2.0, squash=squash)  # σ = e² ≈ 7.4: wide
        params = policy.init(jax.random.PRNGKey(0))
        return policy.sample(params, Normalizer.create((3,)), obs, jax.random.PRNGKey(1))[0]

    assert (jnp.abs(actions(False)) > 2.0).any()  # the Gaussian's draws leave the box
    assert (jnp.abs(actions(True)) <= 2.0).all()  # squashed into pendulum's box, [-2, 2]


def saved_pendulum_expert(directory, config: ppo.PPOConfig) -> experts.Expert:
    """An untrained pendulum expert of `config`'s policy, written to `directory`."""
    env = envs.make("pendulum")
    policy = Policy.of(env.spec, config)
    expert = experts.Expert(
        policy, policy.init(jax.random.PRNGKey(0)), Normalizer.create((3,)), -150.0, -1200.0
    )
    experts.save(directory, expert, env, config)
    return expert


def test_an_expert_keeps_its_squash_through_save_and_load(tmp_path):
    expert = saved_pendulum_expert(tmp_path, ppo.PPOConfig(squash=True))
    loaded = experts.load(tmp_path, envs.make("pendulum"))
    assert loaded.policy.squash
    obs = jnp.ones((4, 3))
    np.testing.assert_allclose(loaded.mode(obs), expert.mode(obs))


def test_an_expert_header_with_a_squash_that_is_not_a_bool_is_refused(tmp_path):
    saved_pendulum_expert(tmp_path, ppo.PPOConfig())
    meta = json.loads((tmp_path / "expert.json").read_text())
    meta["ppo"]["squash"] = "yes"
    (tmp_path / "expert.json").write_text(json.dumps(meta))
    with pytest.raises(DataError, match="ppo.squash must be true or false"):
        experts.load(tmp_path, envs.make("pendulum"))


def test_normalizer_is_the_identity_until_it_has_statistics():
    """Learners with `normalize_obs: false` keep `Normalizer.create`; they used to see their
    observations clipped to ±10 (acrobot's second joint speed reaches 9π ≈ 28)."""
    raw = jnp.array([50.0, -3.0])
    np.testing.assert_array_equal(Normalizer.create((2,))(raw), raw)
    fitted = Normalizer.create((2,)).update(jnp.array([[0.0, 0.0], [2.0, 2.0]]))  # mean 1, σ 1
    np.testing.assert_allclose(fitted(raw), [10.0, -4.0], atol=1e-6)  # clipped once fitted
