import jax
import numpy as np
import pytest

import jirl
from jirl import envs
from jirl.evaluation import episode_returns
from jirl.rl import ppo


@pytest.mark.slow
def test_ppo_solves_cartpole_within_500k_steps():
    env = envs.make("cartpole")
    updates = 480  # 480 * 16 envs * 64 steps = 491,520 env steps
    config = ppo.PPOConfig(anneal_updates=updates)
    algo = ppo.make(config, env)
    assert algo.env_steps_per_update * updates <= 500_000
    train = jirl.make_train(algo, updates)

    def train_and_score(key):
        state, metrics = train(key)
        returns = episode_returns(
            env, lambda o, k: algo.act(state, o, k), jax.random.PRNGKey(7), 32
        )
        return returns.mean(), metrics["episode_return"][-1]

    score, last = jax.jit(jax.vmap(train_and_score))(jax.random.split(jax.random.PRNGKey(0), 8))
    print("PPO cartpole evaluated return per seed:", score)
    # Per seed, not the mean: PPO loses a seed now and then (16 seeds on a Zen 3 CPU: 14 at
    # 475-500, two at 135 and 167; a 4-seed mean failed there and passed on the Zen 5 CPU the
    # test was written on, the same code). A broken PPO solves none.
    assert int((np.asarray(score) >= 475.0).sum()) >= 5, score


def test_seeds_vmapped_compile_once_and_match_single_runs():
    env = envs.make("cartpole")
    traces = []
    base = ppo.make(ppo.PPOConfig(num_envs=4, num_steps=16), env)

    def counting_update(state):
        traces.append(1)
        return base.update(state)

    algo = base._replace(update=counting_update)
    train = jax.jit(jax.vmap(jirl.make_train(algo, 3)))
    keys = jax.random.split(jax.random.PRNGKey(1), 8)
    state, metrics = train(keys)
    train(keys)
    assert len(traces) == 1  # one trace of update for 8 seeds and a second call
    finals = np.asarray(metrics["policy_loss"][:, -1])
    assert len(np.unique(finals)) == 8
    single = jax.jit(jirl.make_train(base, 3))
    for i in (0, 5):
        s_i, m_i = single(keys[i])
        np.testing.assert_allclose(
            m_i["policy_loss"], metrics["policy_loss"][i], rtol=1e-5, atol=1e-6
        )
        leaves = zip(
            jax.tree.leaves(s_i.learner.params), jax.tree.leaves(state.learner.params), strict=True
        )
        for a, b in leaves:
            np.testing.assert_allclose(a, b[i], rtol=1e-5, atol=1e-6)


def test_same_key_same_result():
    """Two separately built and compiled trainers agree bit for bit on one key (randomness
    drawn while tracing would be frozen into one program and differ between two), and
    another key gives other results."""
    env = envs.make("pendulum")

    def trained(seed):
        algo = ppo.make(ppo.PPOConfig(num_envs=4, num_steps=8), env)
        return jax.jit(jirl.make_train(algo, 2))(jax.random.PRNGKey(seed))[1]

    a, b, other = trained(3), trained(3), trained(4)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert not np.array_equal(a["policy_loss"], other["policy_loss"])


@pytest.mark.slow
def test_ppo_with_a_tanh_squashed_policy_swings_up_pendulum():
    """`squash: true` (`jirl.nets.TanhNormal`) learns as the clipped Gaussian does, on the expert
    config's settings (`configs/expert-pendulum.yaml`, which reaches about −130 in 600 updates).
    Random acting scores about −1200; a squash whose log-probabilities or entropy were wrong
    (a missing Jacobian term, say) keeps the policy near it."""
    env = envs.make("pendulum")
    updates = 400
    config = ppo.PPOConfig(
        num_envs=16, num_steps=128, gamma=0.95, learning_rate=1e-3, ent_coef=0.0,
        num_epochs=10, anneal_updates=updates, squash=True,
    )  # fmt: skip
    algo = ppo.make(config, env)
    train = jirl.make_train(algo, updates)

    def train_and_score(key):
        state, _ = train(key)
        return episode_returns(env, lambda o, k: algo.act(state, o, k), jax.random.PRNGKey(7), 16)

    returns = jax.jit(jax.vmap(train_and_score))(jax.random.split(jax.random.PRNGKey(0), 2))
    score = np.asarray(returns).mean(-1)
    print("squashed PPO pendulum evaluated return per seed:", score)
    assert (score >= -400.0).all(), score
