"""Episode outcomes (returns and terminations) and the expert's seed choice."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jirl import envs
from jirl.errors import RunError
from jirl.evaluation import episode_outcomes, random_act_fn
from jirl.expert_run import MAX_FALL_RATE, check_beats_random, choose_seed


def _upright(obs, key):
    """CartPole: push toward the side the pole leans to (keeps it up for the whole horizon)."""
    del key
    return (obs[2] + obs[3] > 0).astype(jnp.int32)


def test_episode_outcomes_count_each_fall_once_and_only_falls():
    """A random CartPole policy falls in every episode, a balancing one in none, with or
    without a fixed horizon (where the fall is kept by `failed`), and returns are unchanged.
    CartPole pays 1 a step, so an episode's length is its return until it ends, and the
    whole horizon under a fixed one."""
    key = jax.random.PRNGKey(0)
    outcomes = {}
    for fixed_horizon in (False, True):
        env = envs.make("cartpole", horizon=100, fixed_horizon=fixed_horizon)
        fall = jax.jit(lambda k, env=env: episode_outcomes(env, random_act_fn(env), k, 8))(key)
        stay = jax.jit(lambda k, env=env: episode_outcomes(env, _upright, k, 8))(key)
        assert np.asarray(fall.terminated).all()
        assert (np.asarray(fall.returns) < 100).all()
        assert not np.asarray(stay.terminated).any()
        np.testing.assert_allclose(stay.returns, 100.0)
        np.testing.assert_array_equal(stay.lengths, 100)
        expected = 100 if fixed_horizon else np.asarray(fall.returns)
        np.testing.assert_array_equal(fall.lengths, expected)
        outcomes[fixed_horizon] = fall
    np.testing.assert_array_equal(outcomes[True].returns, outcomes[False].returns)


def test_episode_outcomes_do_not_count_the_horizon_as_a_termination():
    """Pendulum never terminates: every episode runs to its horizon, none terminated."""
    env = envs.make("pendulum", horizon=20)
    out = episode_outcomes(env, random_act_fn(env), jax.random.PRNGKey(1), 4)
    assert not np.asarray(out.terminated).any()
    assert out.returns.shape == (4,)
    np.testing.assert_array_equal(out.lengths, 20)


def test_an_evaluation_stops_when_its_episodes_end_not_at_the_horizon():
    """`--set horizon=200000000` on cartpole kept `jirl train` evaluating the random policy for
    over 14 minutes (3.6 GB): every step's key was split up front and every step scanned,
    long after each episode had ended. No array of the program is horizon-sized now, and the
    batch stops once its episodes have ended (their lengths, far below the horizon)."""
    horizon = 123_457  # a size no other array has
    env = envs.make("cartpole", horizon=horizon)
    fn = lambda k: episode_outcomes(env, random_act_fn(env), k, 4)  # noqa: E731
    jaxpr = jax.make_jaxpr(fn)(jax.random.PRNGKey(0))

    shapes = [v.aval.shape for eqn in jaxpr.jaxpr.eqns for v in eqn.outvars]
    assert all(horizon not in shape for shape in shapes)
    out = jax.jit(fn)(jax.random.PRNGKey(0))
    assert int(out.lengths.max()) < 1000 and bool(out.terminated.all())


def test_envs_say_whether_a_termination_is_a_fall():
    assert envs.make("cartpole").terminal_failure
    assert not envs.make("acrobot").terminal_failure
    assert not envs.make("mountaincar").terminal_failure


def test_choose_seed_prefers_the_best_seed_that_stays_up():
    returns = np.array([2000.0, 1500.0, 900.0])
    falls = np.array([1.0, MAX_FALL_RATE, 0.0])
    assert choose_seed(returns, falls, terminal_failure=True) == 1
    # a termination that is a goal reached does not count against a seed
    assert choose_seed(returns, falls, terminal_failure=False) == 0
    # when every seed falls, the best return is kept (and `jirl expert` warns)
    assert choose_seed(returns, np.ones(3), terminal_failure=True) == 0
    # a seed whose evaluation went NaN never wins (argmax takes NaN for the largest)
    assert choose_seed(np.array([100.0, np.nan, 50.0]), np.zeros(3), terminal_failure=True) == 0
    with pytest.raises(RunError, match="every expert seed's evaluation return is NaN"):
        choose_seed(np.array([np.nan, np.inf]), np.zeros(2), terminal_failure=True)


def test_an_expert_must_beat_the_random_policy_by_more_than_noise():
    """A policy trained at a learning rate of 1e-12 was kept as an expert when its 64
    episodes' mean beat the random policy's by chance (24.2 against 22.9 on cartpole), and
    every score normalized by it was noise (BC −2.60 in a quickstart that reused it)."""
    rng = np.random.default_rng(0)
    random = rng.normal(22.9, 12.0, 64)
    with pytest.raises(RunError, match=r"does not beat the random policy's \(.*\) by 3 standard"):
        check_beats_random(random + 1.3, random[::-1].copy())  # the same spread, 1.3 above
    with pytest.raises(RunError, match="does not beat"):  # mountaincar: -200 both, every time
        check_beats_random(np.full(64, -200.0), np.full(64, -200.0))
    check_beats_random(np.full(64, 500.0), random)  # a clear expert
    check_beats_random(random + 10.0, random)  # 10 above, where the standard error is about 2


def test_an_evaluation_refuses_a_count_or_states_it_cannot_use():
    """`mean_returns(algo, env, 0)` gave NaN means, -1 and 2.0 tracebacks from inside JAX, and
    one unbatched state vmap's "rank should be at least 1" (a Python-API review)."""
    from jirl.errors import ConfigError
    from jirl.evaluation import mean_returns, seed_outcomes
    from jirl.types import Algorithm

    env = envs.make("cartpole")
    algo = Algorithm(
        lambda key: {"w": jnp.zeros(2)}, lambda s: (s, {}), lambda s, obs, key: jnp.int32(0)
    )
    for episodes, said in ((0, "episodes must be >= 1, got 0"), (2.0, "an integer >= 1")):
        for build in (mean_returns, seed_outcomes):
            with pytest.raises(ConfigError, match=said):
                build(algo, env, episodes)
    with pytest.raises(ConfigError, match="num_episodes must be >= 1, got -1"):
        episode_outcomes(env, lambda obs, key: jnp.int32(0), jax.random.PRNGKey(0), -1)
    keys = jax.random.split(jax.random.PRNGKey(0), 3)  # (3 seeds: one raw key is [2])
    states = jax.vmap(algo.init)(keys)
    evaluate = mean_returns(algo, env, 2)
    assert evaluate(states, keys).shape == (3,)
    for bad_states, bad_keys in ((algo.init(keys[0]), keys), (states, keys[:1]), (states, keys[0])):
        with pytest.raises(ConfigError, match="need one leading seed axis each"):
            evaluate(bad_states, bad_keys)
