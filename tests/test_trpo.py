"""TRPO: conjugate gradient, the trust region on every accepted step, learning cartpole."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jirl import envs
from jirl.envs.base import batch_reset
from jirl.errors import ConfigError
from jirl.evaluation import episode_returns
from jirl.rl import trpo
from jirl.rl.agent import sampler
from jirl.rl.rollout import rollout


def test_conjugate_gradient_matches_solve():
    rng = np.random.default_rng(0)
    m = rng.normal(size=(6, 6))
    a = m @ m.T + 0.5 * np.eye(6)
    b = rng.normal(size=6)
    x = trpo.conjugate_gradient(lambda v: jnp.asarray(a, jnp.float32) @ v, jnp.asarray(b), 20)
    np.testing.assert_allclose(np.asarray(x), np.linalg.solve(a, b), rtol=1e-3, atol=1e-4)
    # the stopping rule is relative: a right-hand side 1e-8 as large is solved as well
    tiny = trpo.conjugate_gradient(lambda v: jnp.asarray(a, jnp.float32) @ v, 1e-8 * b, 20)
    np.testing.assert_allclose(np.asarray(tiny) * 1e8, np.asarray(x), rtol=1e-3, atol=1e-4)
    zero = trpo.conjugate_gradient(lambda v: jnp.asarray(a, jnp.float32) @ v, jnp.zeros(6), 5)
    np.testing.assert_array_equal(np.asarray(zero), 0.0)


@pytest.mark.parametrize(
    "env_name, squash", [("cartpole", False), ("pendulum", False), ("pendulum", True)]
)
def test_fisher_vector_product_is_the_kl_hessian(env_name, squash):
    """The Gauss-Newton product Jᵀ H_o J v equals ∇²_θ KL(π_old ‖ π_θ) v at θ_old (a jvp of
    the KL's gradient), for a categorical, a Gaussian and a tanh-squashed Gaussian policy away
    from their initialisation."""
    from jax.flatten_util import ravel_pytree

    from jirl.nets import Normalizer, Policy

    env = envs.make(env_name)
    policy = Policy(env.spec, (32, 32), "tanh", -0.5, squash)
    params = policy.init(jax.random.PRNGKey(0))
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(jax.random.PRNGKey(1), len(leaves))
    noise = [0.3 * jax.random.normal(k, x.shape) for k, x in zip(keys, leaves, strict=True)]
    params = jax.tree.unflatten(tree, [x + n for x, n in zip(leaves, noise, strict=True)])
    obs = jax.random.normal(jax.random.PRNGKey(2), (256, *env.spec.obs_shape))
    normalizer = Normalizer.create(env.spec.obs_shape)
    config = trpo.TRPOConfig(cg_damping=0.1)
    flat, unravel = ravel_pytree(params)
    kl = lambda f: trpo.mean_kl(unravel(f), params, policy, normalizer, obs)
    v = jax.random.normal(jax.random.PRNGKey(3), flat.shape)
    hessian_v = jax.jvp(jax.grad(kl), (flat,), (v,))[1]
    product = trpo.fisher_vector_product(policy, params, normalizer, obs, config)(v)
    assert float(jnp.abs(hessian_v).max()) > 0.1  # a product worth comparing
    np.testing.assert_allclose(product, hessian_v + 0.1 * v, rtol=1e-4, atol=1e-5)


def test_natural_step_estimates_the_fisher_on_every_kth_sample():
    """With `fisher_subsample: k` the step is the CG direction of F on every k-th sample
    (`fisher_samples`) against the whole batch's gradient, scaled to the KL boundary under that
    F, and differs from the step with F on every sample."""
    from jax.flatten_util import ravel_pytree

    from jirl.nets import Normalizer, Policy
    from jirl.rl.ppo import PPOBatch

    env = envs.make("cartpole")
    policy = Policy(env.spec, (32, 32), "tanh", -0.5)
    params = policy.init(jax.random.PRNGKey(0))
    normalizer = Normalizer.create(env.spec.obs_shape)
    keys = jax.random.split(jax.random.PRNGKey(1), 3)
    obs = jax.random.normal(keys[0], (240, *env.spec.obs_shape))
    action = jax.random.randint(keys[1], (240,), 0, 2)
    advantage = jax.random.normal(keys[2], (240,))
    batch = PPOBatch(obs, action, jnp.zeros(240), advantage, jnp.zeros(240))
    old_log_prob = policy.dist(params, normalizer, obs).log_prob(action)
    config = trpo.TRPOConfig(fisher_subsample=4, cg_iters=10, max_kl=0.01)
    new, metrics = trpo.natural_step(policy, params, normalizer, batch, old_log_prob, config)
    full, _ = trpo.natural_step(
        policy, params, normalizer, batch, old_log_prob, trpo.TRPOConfig(fisher_subsample=1)
    )

    flat, _ = ravel_pytree(params)
    grad = jax.grad(
        lambda p: trpo.surrogate_loss(p, policy, normalizer, batch, old_log_prob, 0.0)[0]
    )(params)
    fisher = trpo.fisher_vector_product(
        policy, params, normalizer, obs[trpo.fisher_samples(240, config)], config
    )
    direction = trpo.conjugate_gradient(fisher, -ravel_pytree(grad)[0], 10)
    step = jnp.sqrt(2 * 0.01 / jnp.dot(direction, fisher(direction))) * direction
    assert float(metrics["step_accepted"]) == 1.0
    expected = flat + metrics["step_fraction"] * step
    np.testing.assert_allclose(ravel_pytree(new)[0], expected, rtol=1e-4, atol=1e-6)
    assert float(jnp.abs(ravel_pytree(full)[0] - expected).max()) > 1e-3


def test_a_rejected_step_keeps_the_policy_exactly():
    """A radius so large that the full step overflows float32 fails every trial of the line
    search; the policy is then the old one, bit for bit (0 · inf made it NaN)."""
    from jax.flatten_util import ravel_pytree

    from jirl.nets import Normalizer, Policy
    from jirl.rl.ppo import PPOBatch

    env = envs.make("cartpole")
    policy = Policy(env.spec, (16,), "tanh", -0.5)
    params = policy.init(jax.random.PRNGKey(0))
    normalizer = Normalizer.create(env.spec.obs_shape)
    keys = jax.random.split(jax.random.PRNGKey(1), 3)
    obs = jax.random.normal(keys[0], (64, *env.spec.obs_shape))
    action = jax.random.randint(keys[1], (64,), 0, 2)
    batch = PPOBatch(obs, action, jnp.zeros(64), jax.random.normal(keys[2], (64,)), jnp.zeros(64))
    old_log_prob = policy.dist(params, normalizer, obs).log_prob(action)
    new, metrics = trpo.natural_step(
        policy, params, normalizer, batch, old_log_prob, trpo.TRPOConfig(), max_kl=jnp.inf
    )
    assert float(metrics["step_accepted"]) == 0.0
    assert float(metrics["expected_improvement"]) == 0.0
    np.testing.assert_array_equal(ravel_pytree(new)[0], ravel_pytree(params)[0])


def test_fisher_samples_reach_every_environment():
    """Every k-th sample of a time-major [T·B] batch, moved along where k shares a factor with
    B (a plain stride would sample B / gcd(k, B) environments only)."""

    def envs_of(index, config):
        return set((np.arange(config.batch_size)[index] % config.num_envs).tolist())

    config = trpo.TRPOConfig(num_envs=64, num_steps=64)
    plain = trpo.fisher_samples(config.batch_size, config)
    assert plain == slice(None, None, 5)  # k = 5 and B = 64 share no factor: the old stride
    assert envs_of(plain, config) == set(range(64))
    for width, steps, k in ((10, 400, 5), (16, 256, 4), (6, 256, 4), (8, 512, 8)):
        config = trpo.TRPOConfig(num_envs=width, num_steps=steps, fisher_subsample=k)
        index = trpo.fisher_samples(config.batch_size, config)
        stride = np.arange(config.batch_size)[::k]
        assert len(index) == len(stride)
        assert np.all(np.diff(index) > 0) and index[-1] < config.batch_size
        per_env = np.bincount(np.asarray(index) % width, minlength=width)
        assert per_env.min() >= per_env.max() - 1  # every environment, evenly
        assert len(envs_of(slice(None, None, k), config)) < width  # what the stride missed


def test_config_validation():
    with pytest.raises(ConfigError, match="max_kl"):
        trpo.TRPOConfig(max_kl=0.0)
    with pytest.raises(ConfigError, match=r"max_kl must be in \(0, 10\]"):
        trpo.TRPOConfig(max_kl=1e38)  # δ / sᵀFs overflows float32
    with pytest.raises(ConfigError, match="backtrack_coef"):
        trpo.TRPOConfig(backtrack_coef=1.0)
    with pytest.raises(ConfigError, match="vf_minibatches"):
        trpo.TRPOConfig(num_envs=3, num_steps=5, vf_minibatches=4)
    with pytest.raises(ConfigError, match="anneal_updates"):
        trpo.TRPOConfig(anneal_updates=-1)
    with pytest.raises(ConfigError, match="fisher_subsample"):
        trpo.TRPOConfig(fisher_subsample=0)
    with pytest.raises(ConfigError, match="fisher_subsample"):
        trpo.TRPOConfig(num_envs=2, num_steps=4, vf_minibatches=1, fisher_subsample=9)


def test_kl_radius_decays_linearly_over_anneal_updates():
    """δ of update u is max_kl · (1 − u / anneal_updates), u counted from the value fit's Adam
    steps (vf_epochs × vf_minibatches = 8 per update), and 0 from then on."""
    config = trpo.TRPOConfig(max_kl=0.02, anneal_updates=4, vf_epochs=2, vf_minibatches=4)
    learner = trpo.trpo_learner(config, envs.make("cartpole"))
    opt_state = learner.init(jax.random.PRNGKey(0)).opt_state
    radii = []
    for update in range(6):
        counted = optax.tree_utils.tree_set(opt_state, count=jnp.asarray(8 * update, jnp.int32))
        radii.append(float(trpo.kl_radius(config, counted)))
    np.testing.assert_allclose(radii, [0.02, 0.015, 0.01, 0.005, 0.0, 0.0], atol=1e-8)
    constant = trpo.TRPOConfig(max_kl=0.02)
    assert float(trpo.kl_radius(constant, counted)) == pytest.approx(0.02)


@pytest.mark.parametrize("squash", [False, True])
def test_one_step_stays_in_trust_region(squash):
    """The KL between the policies before and after `learn`, recomputed here, is ≤ δ."""
    env_name = "pendulum"
    config = trpo.TRPOConfig(num_envs=4, num_steps=32, max_kl=0.01, vf_epochs=1, squash=squash)
    env = envs.make(env_name)
    learner = trpo.trpo_learner(config, env)

    @jax.jit
    def one_update(key):
        key_init, key_env, key_roll, key_learn = jax.random.split(key, 4)
        state = learner.init(key_init)
        acting = sampler(learner.policy, state)
        _, batch, _ = rollout(env, acting, batch_reset(env, key_env, 4), key_roll, 32)
        new_state, metrics = learner.learn(state, batch, key_learn)
        return state, new_state, batch, metrics

    state, new_state, batch, metrics = one_update(jax.random.PRNGKey(3))
    obs = batch.obs.reshape((-1, *env.spec.obs_shape))
    kl = trpo.mean_kl(
        new_state.params["policy"], state.params["policy"], learner.policy, state.normalizer, obs
    )
    assert float(metrics["step_accepted"]) == 1.0
    np.testing.assert_allclose(float(kl), float(metrics["kl"]), rtol=1e-4, atol=1e-7)
    assert 0.0 < float(kl) <= config.max_kl
    assert np.isfinite(float(metrics["value_loss"]))


@pytest.mark.slow
def test_trpo_learns_cartpole_within_trust_region():
    """TRPO reaches the 500 cap on cartpole: the median of 5 seeds ≥ 475 after 60 updates (and
    the mean ≥ 425: one collapsed seed at most).

    Some seeds are still short of it then (16 seeds, δ = 0.02: mean 461 with 5 below 475
    after 45 updates, 494 with one at 411 after 60; twenty-fourth session); the 3-seed mean
    after 45 updates that this test asked for passed or failed with the machine's rounding.
    A broken step (wrong sign, no step accepted) stays near the random policy's 20."""
    config = trpo.TRPOConfig(max_kl=0.02)
    env = envs.make("cartpole")
    algo = trpo.make(config, env)
    seeds = 5
    keys = jax.random.split(jax.random.PRNGKey(0), seeds)
    states = jax.jit(jax.vmap(algo.init))(keys)
    run = lambda s: jax.lax.scan(lambda c, _: algo.update(c), s, None, length=60)
    state, metrics = jax.jit(jax.vmap(run))(states)
    kl = np.asarray(metrics["kl"])  # [seeds, updates]
    accepted = np.asarray(metrics["step_accepted"]) > 0
    assert accepted.mean() > 0.5
    # (the KL the line search measured and accepted; that it is the KL of the parameters the
    # step returns is checked independently, one update per env, in the test above)
    assert kl[accepted].max() <= 1.5 * config.max_kl

    def evaluate(state, key):
        return episode_returns(env, lambda o, k: algo.act(state, o, k), key, 16).mean()

    returns = jax.jit(jax.vmap(evaluate))(state, jax.random.split(jax.random.PRNGKey(1), seeds))
    returns = np.asarray(returns)
    assert np.median(returns) >= 475.0 and returns.mean() >= 425.0, returns
