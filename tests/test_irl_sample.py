"""Sample-based IRL: guided cost learning's importance weights, GAN-GCL's log Z identity, and
GCL, GAN-GCL, FEM and GTAL learning cartpole from a few demonstrations."""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jirl import algos, data, envs
from jirl.algos import apprenticeship, gan_gcl, gcl
from jirl.config import experiment_config, read_yaml
from jirl.errors import ConfigError
from jirl.nets import Normalizer
from jirl.rewards import (
    DiscriminatorBatch,
    TrajectoryReward,
    gan_gcl_loss,
    gcl_loss,
    importance_log_partition,
    importance_log_weights,
    mixture_log_partition,
)
from jirl.tabular.maxmargin import projection_step
from jirl.types import Transition

NUM_DEMOS = 4


# --------------------------------------------------------------------------- importance weights


def test_importance_weights_match_the_exact_expectation():
    # Known densities on 5 points: q proposes, p ∝ exp(r) is the target. With the sample counts
    # exactly proportional to q the self-normalised estimator is exact.
    q = np.array([0.1, 0.2, 0.3, 0.25, 0.15])
    r = np.array([0.3, -1.2, 2.0, 0.1, -0.4])
    f = np.array([1.0, -2.0, 0.5, 3.0, 4.0])
    counts = (q * 20).round().astype(int)  # [2, 4, 6, 5, 3]
    idx = np.repeat(np.arange(5), counts)
    log_ratio = jnp.asarray(r[idx] - np.log(q[idx]))
    weights = jnp.exp(importance_log_weights(log_ratio))
    p = np.exp(r) / np.exp(r).sum()
    np.testing.assert_allclose(float(weights @ f[idx]), p @ f, rtol=1e-5)
    np.testing.assert_allclose(
        float(importance_log_partition(log_ratio)), np.log(np.exp(r).sum()), rtol=1e-5
    )

    # Continuous, Monte Carlo: q = N(0, 2²), p ∝ exp(−(x − 1)²/2) = N(1, 1), Z = sqrt(2π).
    x = 2.0 * jax.random.normal(jax.random.PRNGKey(0), (200_000,))
    log_q = -0.5 * (x / 2.0) ** 2 - jnp.log(2.0 * jnp.sqrt(2.0 * jnp.pi))
    log_ratio = -0.5 * (x - 1.0) ** 2 - log_q
    weights = jnp.exp(importance_log_weights(log_ratio))
    np.testing.assert_allclose(float(weights @ x), 1.0, atol=0.02)
    np.testing.assert_allclose(float(weights @ x**2), 2.0, atol=0.04)
    np.testing.assert_allclose(
        float(importance_log_partition(log_ratio)), 0.5 * np.log(2 * np.pi), atol=0.01
    )


def test_importance_weights_do_not_overflow_with_returns_of_1e3():
    base = jnp.array([0.3, -1.2, 2.0, 0.1])
    expected = importance_log_weights(base)
    for shift in (1e3, -1e3):
        np.testing.assert_allclose(importance_log_weights(base + shift), expected, atol=1e-4)
        assert np.isfinite(float(importance_log_partition(base + shift)))
    spread = jnp.array([1e3, -1e3, 999.0, 0.0])
    weights = jnp.exp(importance_log_weights(spread))
    assert np.all(np.isfinite(weights))
    np.testing.assert_allclose(float(weights.sum()), 1.0, rtol=1e-6)
    np.testing.assert_allclose(weights[:3], [1 / (1 + np.exp(-1)), 0.0, 1 / (1 + np.e)], atol=1e-6)
    log_q = jnp.array([-5.0, -3.0, -4.0, -2.0])
    log_z = mixture_log_partition(spread, log_q)
    assert np.isfinite(float(log_z))


# --------------------------------------------------------------------------- GCL / GAN-GCL losses


def _segments(key, spec, n: int, length: int) -> Transition:
    key_obs, key_action, key_log_prob = jax.random.split(key, 3)
    obs = jax.random.normal(key_obs, (n, length, spec.obs_dim))
    return Transition(
        obs=obs,
        action=jax.random.randint(key_action, (n, length), 0, spec.num_actions),
        reward=jnp.zeros((n, length)),
        next_obs=obs,
        terminated=jnp.zeros((n, length), bool),
        truncated=jnp.zeros((n, length), bool),
        log_prob=-jax.random.uniform(key_log_prob, (n, length), minval=0.1, maxval=1.5),
    )


def _small_batch():
    spec = envs.make("cartpole").spec
    model = TrajectoryReward(spec, "sa", (16,), "tanh")
    key_params, key_expert, key_policy = jax.random.split(jax.random.PRNGKey(3), 3)
    params = model.init(key_params)
    params["reward"] = jax.tree.map(lambda w: 3.0 * w, params["reward"])  # spread the returns
    batch = DiscriminatorBatch(
        expert=_segments(key_expert, spec, 8, 4), policy=_segments(key_policy, spec, 8, 4)
    )
    return model, params, Normalizer.create(spec.obs_shape), batch


def test_gan_gcl_optimal_log_z_is_the_importance_sampling_estimate():
    model, params, norm, batch = _small_batch()
    loss = gan_gcl_loss(model)

    def loss_of(log_z):
        return loss({**params, "log_z": log_z}, norm, batch, None)[0]

    # The loss is convex in log Z: bisection on its derivative finds the minimiser.
    grad = jax.jit(jax.grad(loss_of))
    low, high = -50.0, 50.0
    assert float(grad(jnp.asarray(low))) < 0 < float(grad(jnp.asarray(high)))
    for _ in range(60):
        mid = 0.5 * (low + high)
        low, high = (mid, high) if float(grad(jnp.asarray(mid))) < 0 else (low, mid)
    log_z = 0.5 * (low + high)

    both = jax.tree.map(lambda e, p: jnp.concatenate([e, p]), batch.expert, batch.policy)
    returns = model.segment_returns(params, norm, both)
    log_q = both.log_prob.sum(-1)
    assert float(returns.max() - returns.min()) > 1.0  # a batch where the weights differ
    estimate = mixture_log_partition(returns, log_q)
    np.testing.assert_allclose(log_z, float(estimate), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("mixture_density", [False, True])
def test_gcl_gradient_is_demo_mean_minus_importance_weighted_mean(mixture_density):
    model, params, norm, batch = _small_batch()
    grads, metrics = jax.grad(gcl_loss(model, mixture_density), has_aux=True)(
        params, norm, batch, None
    )
    both = jax.tree.map(lambda e, p: jnp.concatenate([e, p]), batch.expert, batch.policy)
    returns = model.segment_returns(params, norm, both)
    log_q = both.log_prob.sum(-1)
    if mixture_density:
        log_z = mixture_log_partition(returns, log_q)
        log_density = jnp.logaddexp(returns - log_z, log_q) - jnp.log(2.0)
    else:
        log_density = log_q
    weights = jax.nn.softmax(returns - log_density)
    jac = jax.jacobian(lambda p: model.segment_returns({**params, "reward": p}, norm, both))(
        params["reward"]
    )
    expected = jax.tree.map(lambda j: -j[:8].mean(0) + jnp.tensordot(weights, j, 1), jac)
    # atol: the output bias's gradient is 0 exactly (−1 + Σ w = 0), a difference of O(1) terms
    # that float32 leaves at ~1e-6 either side of it (jax 0.7 and 0.10 round differently)
    for g, e in zip(jax.tree.leaves(grads["reward"]), jax.tree.leaves(expected), strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-5)
    if mixture_density:
        assert float(weights.max()) <= 2.0 / 16 + 1e-6  # no sample weighs more than 2/M


def test_projection_step_is_the_orthogonal_projection_onto_the_segment():
    mu_expert, mu_bar, mu_new = jnp.array([1.0, 1.0]), jnp.array([0.0, 0.0]), jnp.array([2.0, 0.0])
    projected, alpha = projection_step(mu_expert, mu_bar, mu_new)
    np.testing.assert_allclose(projected, [1.0, 0.0])
    np.testing.assert_allclose(alpha, 0.5)
    _, alpha = projection_step(mu_expert, mu_bar, mu_bar)
    assert float(alpha) == 0.0


def test_fem_feature_expectations_of_whole_episodes():
    # Two fixed-horizon episodes of 3 steps in one environment, constant features per episode.
    phi = jnp.concatenate([jnp.ones((3, 1, 1)), 3.0 * jnp.ones((3, 1, 1))])
    mu = apprenticeship.discounted_feature_expectations(phi, 0.5, horizon=3)
    np.testing.assert_allclose(mu, [2.0])
    phi_demo = jnp.array([[1.0], [0.0], [0.0], [1.0]])  # episodes of lengths 3 and 1
    mu_e = apprenticeship.demo_feature_expectations(phi_demo, [3, 1], 0.5, horizon=3)
    np.testing.assert_allclose(mu_e, [(1.0 + 1.0) / (2 * 1.75)], rtol=1e-6)


# --------------------------------------------------------------------------- configs


@pytest.mark.parametrize(
    "cls,values,match",
    [
        (gcl.GCLConfig, {"segment_length": 0}, "segment_length must be >= 1"),
        (gcl.GCLConfig, {"segment_length": 48}, "must divide num_steps"),
        (gcl.GCLConfig, {"reward_inputs": "a"}, "reward_inputs"),
        (gcl.GCLConfig, {"generator": "sac"}, "generator"),
        (gan_gcl.GANGCLConfig, {"log_z_learning_rate": 0.0}, "log_z_learning_rate"),
        (gan_gcl.GANGCLConfig, {"disc_updates": 0}, "disc_updates"),
        (gcl.GCLConfig, {"replay_rounds": 4}, "replay_rounds must be 1 for GCL and GAN-GCL"),
        (gan_gcl.GANGCLConfig, {"replay_rounds": 2}, "replay_rounds must be 1"),
        (gcl.GCLConfig, {"reward_map": "log_d"}, "reward_map must be 'logit' for GCL"),
        (gan_gcl.GANGCLConfig, {"log_pi_weight": 0.5}, "log_pi_weight must be 1 for GCL"),
        (apprenticeship.FEMConfig, {"features": "cubic"}, "features"),
        (apprenticeship.FEMConfig, {"fixed_horizon": False}, "fixed_horizon"),
        (apprenticeship.FEMConfig, {"feature_gamma": 0.0}, r"feature_gamma must be in \(0, 1\]"),
        (apprenticeship.GTALConfig, {"num_rounds": 0}, "num_rounds"),
        (apprenticeship.GTALConfig, {"num_envs": 0}, "num_envs"),
    ],
)
def test_config_rejects_bad_values(cls, values, match):
    with pytest.raises(ConfigError, match=match) as info:
        cls(**values)
    assert "\n" not in str(info.value)


def test_registered_configs_load_and_fem_needs_whole_episodes(cartpole_expert):
    for name in ("gcl", "gan_gcl", "fem", "gtal"):
        spec = algos.get(name)
        assert spec.needs_demos
        cfg = experiment_config(read_yaml(f"{name}-cartpole"), spec.config_cls)
        assert cfg.algo_config.fixed_horizon
    demos, _ = _demos(cartpole_expert)
    with pytest.raises(ConfigError, match="multiple of the cartpole horizon"):
        apprenticeship.make_fem(
            apprenticeship.FEMConfig(num_steps=250), envs.make("cartpole"), demos
        )


# --------------------------------------------------------------------------- learning


def _demos(expert_dir):
    loaded = data.load(expert_dir / "demos.npz", env=envs.make("cartpole"))
    return data.take_episodes(loaded.trajectories, NUM_DEMOS), loaded.header


@pytest.mark.slow
@pytest.mark.parametrize(
    "name,updates,seeds",
    # FEM's seeds end between 0.75 and 1.0 (8 seeds, 200 updates: 0.91), not at 0 or 1 like
    # the adversarial learners', so more seeds narrow its mean instead.
    [("gcl", 250, 5), ("gan_gcl", 120, 5), ("fem", 200, 8), ("gtal", 150, 5)],
)
def test_learns_cartpole(cartpole_expert, score_seeds, name, updates, seeds):
    """The median seed reaches 0.8 normalized (FEM: the mean). The adversarial learners' seeds
    end near 1 or collapse near 0, one in 12 to 36 of them (24 seeds, twenty-fourth session:
    GCL after 250 updates 0.93 with 2 collapsed, after 150 a mean of 0.78 on 12; GAN-GCL 1.00;
    GTAL 0.99): a 3-seed mean, what this test took before, failed whenever the machine's
    rounding moved one seed into a collapse. A broken learner stays near 0 on every seed."""
    demos, header = _demos(cartpole_expert)
    spec = algos.get(name)
    config = spec.config_cls(num_rounds=updates) if name == "gtal" else spec.config_cls()
    algo = spec.build(config, envs.make("cartpole"), algos.Inputs(demos=demos))
    _, _, scores = score_seeds(algo, updates, header, seeds)
    summary = scores.mean() if name == "fem" else np.median(scores)
    assert summary >= 0.8, scores


@pytest.mark.parametrize("spread", [1.0, 150.0, 1600.0, 5000.0])
def test_mixture_log_partition_solves_its_equation_at_any_spread(spread):
    """log Z solves Z = (1/M) Σ exp(r_j) / (½ exp(r_j)/Z + ½ q_j), i.e. mean σ(ρ_j − log Z) = ½
    with ρ = r − log q, and then no importance weight exceeds 2/M (`gcl_loss`'s bound). With ρ
    spread over more than ~400 nats the fixed-point iteration this replaced stopped hundreds of
    nats short (830.7 for a 417.3 root at a 1,600-nat spread): every D_j near 0, one sample
    taking all the weight. (Where the D_j saturate, the equation holds to float precision on a
    whole interval of log Z, and any point of it gives the same weights.)"""
    from scipy.special import expit, log_expit

    key_r, key_q = jax.random.split(jax.random.PRNGKey(0))
    returns = spread * jax.random.normal(key_r, (16,))
    log_q = -jax.random.uniform(key_q, (16,), minval=1.0, maxval=20.0)
    log_z = float(mixture_log_partition(returns, log_q))
    rho = np.asarray(returns, np.float64) - np.asarray(log_q, np.float64)
    assert abs(expit(rho - log_z).mean() - 0.5) < 1e-5
    log_w = np.log(2.0) + log_z + log_expit(rho - log_z)  # log exp(r_j) / μ̃(τ_j)
    weights = np.exp(log_w - np.logaddexp.reduce(log_w))
    assert weights.max() <= 2 / 16 + 1e-6


def test_gcl_reward_sees_the_sampled_actions_with_disc_actions_sampled():
    """With `disc_actions: sampled` log q weighs the sampled, unclipped action; r_θ must see
    that action too (it clipped it to the box, flat outside, before)."""
    env = envs.make("pendulum")
    high = float(np.max(env.spec.action_high))

    def step(action):  # one segment of one step at the origin
        zeros = jnp.zeros((1, 1))
        return Transition(
            obs=jnp.zeros((1, 1, 3)),
            action=jnp.full((1, 1, 1), action),
            reward=zeros,
            next_obs=jnp.zeros((1, 1, 3)),
            terminated=zeros.astype(bool),
            truncated=zeros.astype(bool),
            log_prob=zeros,
        )

    for cls in (gcl.GCLConfig, gan_gcl.GANGCLConfig):
        model = gcl.trajectory_reward(cls(disc_actions="sampled"), env)
        params = model.init(jax.random.PRNGKey(0))
        norm = Normalizer.create((3,))
        inside, outside = (model.reward(params, norm, step(a)) for a in (high, 5 * high))
        assert float(jnp.abs(inside - outside).max()) > 1e-4


@pytest.mark.parametrize("method", ["projection", "mw"])
def test_fem_and_gtal_refuse_demos_shorter_than_the_horizon(acrobot_expert, method):
    """Acrobot's expert reaches the goal in 104-174 of 500 steps: its μ_E would count nothing
    after that, the fixed-horizon learner's μ every step, and no policy could match it."""
    env = envs.make("acrobot")
    demos = data.load(acrobot_expert / "demos.npz", env=env).trajectories
    config = apprenticeship.FEMConfig() if method == "projection" else apprenticeship.GTALConfig()
    with pytest.raises(data.DataError, match="episode 0 ends after 104 steps; record the demos"):
        apprenticeship.make(config, env, demos, method)


def test_policy_segments_cut_by_a_reset_are_left_out():
    """A segment that an automatic reset cuts sums over the ends of two episodes: weight 0,
    never drawn for the discriminator (GCL, GAN-GCL); a fixed horizon that the segment length
    divides cuts none."""
    from jirl.algos import adversarial
    from jirl.rl.rollout import rollout

    def batch(horizon):  # 2 envs, 12 steps of a random policy, fixed horizon
        env = envs.make("cartpole", horizon=horizon, fixed_horizon=True)
        state = jax.vmap(env.reset)(jax.random.split(jax.random.PRNGKey(0), 2))
        act = lambda obs, key: (jax.random.randint(key, (2,), 0, 2), jnp.zeros(2))  # noqa: E731
        return rollout(env, act, state, jax.random.PRNGKey(1), 12)[1]

    # resets after steps 6 and 12: segments [0:4] whole, [4:8] cut, [8:12] whole; step-major
    cut = adversarial.segment_weights(adversarial.rollout_segments(batch(6), 4))
    np.testing.assert_array_equal(cut, [1, 1, 0, 0, 1, 1])
    whole = adversarial.segment_weights(adversarial.rollout_segments(batch(4), 4))
    np.testing.assert_array_equal(whole, np.ones(6))
    # the discriminator's policy minibatches hold no cut segment (a loss that counts them)
    env = envs.make("cartpole", horizon=6)
    policy = lambda obs, key: jax.random.randint(key, (), 0, 2)  # noqa: E731
    demos = data.collect(env, policy, jax.random.PRNGKey(2), num_episodes=2)
    config = gcl.GCLConfig(num_envs=2, num_steps=12, disc_batch_size=32, disc_updates=2)
    model = gcl.trajectory_reward(config, env)
    inner = gcl_loss(model)

    def counting(params, normalizer, mb, key):
        loss, metrics = inner(params, normalizer, mb, key)
        ends = mb.policy.terminated[:, :-1] | mb.policy.truncated[:, :-1]
        return loss, {**metrics, "cut": ends.any(axis=1).mean()}

    algo = adversarial.make(config, env, demos, model, counting, "gcl", segment_length=4)
    _, metrics = jax.jit(algo.update)(algo.init(jax.random.PRNGKey(3)))
    assert float(metrics["cut"]) == 0.0
    np.testing.assert_allclose(metrics["disc_whole_segments"], 4 / 6)  # 2 of 6 cut
    # segments longer than every episode are all cut: the reward is left as it was (it was
    # trained on them, drawn uniformly, without a word: a review)
    longer = data.collect(envs.make("cartpole", horizon=12), policy, jax.random.PRNGKey(4), 2)
    algo = adversarial.make(config, env, longer, model, inner, "gcl", segment_length=12)
    state = algo.init(jax.random.PRNGKey(3))
    new, metrics = jax.jit(algo.update)(state)
    assert float(metrics["disc_whole_segments"]) == 0.0
    chex.assert_trees_all_equal(new.disc_params, state.disc_params)
    chex.assert_trees_all_equal(new.disc_opt_state, state.disc_opt_state)
