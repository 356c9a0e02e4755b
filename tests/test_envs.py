import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jirl import EnvError, envs


def test_unknown_env_lists_known_names():
    with pytest.raises(
        EnvError, match="unknown environment 'cartpol'.*Did you mean 'cartpole'.*Known: "
    ):
        envs.make("cartpol")


def test_bad_options_raise():
    with pytest.raises(EnvError, match="takes no options"):
        envs.make("cartpole", backend="spring")
    with pytest.raises(EnvError, match="unknown Brax backend"):
        envs.make("hopper", backend="nope")
    with pytest.raises(EnvError, match="horizon"):
        envs.make("cartpole", horizon=0)


@pytest.mark.parametrize(
    "name", ["cartpole", "acrobot", "mountaincar", "mountaincar_continuous", "pendulum"]
)
def test_classic_batch_reset_step(name):
    env = envs.make(name)
    state = envs.batch_reset(env, jax.random.PRNGKey(0), 3)
    action = jnp.zeros((3, *env.spec.action_shape), env.spec.action_dtype)
    state = jax.jit(lambda s, a: envs.batch_step(env, s, a))(state, action)
    assert state.obs.shape == (3, *env.spec.obs_shape)
    assert state.reward.shape == (3,)
    assert np.isfinite(np.asarray(state.obs)).all()


@pytest.mark.parametrize(
    "name", ["cartpole", "acrobot", "mountaincar_continuous", "pendulum", "gridworld", "hopper"]
)
def test_a_step_keeps_the_types_reset_gave(name):
    """gymnax's pendulum reset a weak-typed `last_u` that its step made strong: every
    `jax.jit(algo.update)` on pendulum compiled twice. Traced only (`eval_shape`)."""
    env = envs.make(name)
    action = jnp.zeros(env.spec.action_shape, env.spec.action_dtype)
    reset = jax.eval_shape(env.reset, jax.random.PRNGKey(0))
    step = jax.eval_shape(env.step_autoreset, reset, action)
    types = lambda tree: jax.tree.map(lambda x: (x.shape, x.dtype, x.weak_type), tree)  # noqa: E731
    assert types(step) == types(reset)


def test_brax_inverted_pendulum_batch_on_cpu():
    env = envs.make("inverted_pendulum")
    # Brax's own box: its step rescales [-1, 1] to the actuator's ±3
    assert (env.spec.action_low, env.spec.action_high) == (-1.0, 1.0)
    assert not env.spec.discrete and env.spec.action_dim == 1
    state = envs.batch_reset(env, jax.random.PRNGKey(0), 4)
    step = jax.jit(lambda s, a: envs.batch_step(env, s, a))
    for _ in range(3):
        state = step(state, jnp.zeros((4, 1)))
    assert state.obs.shape == (4, 4)
    np.testing.assert_array_equal(np.asarray(state.time), 3)


def test_autoreset_keeps_final_obs_and_return():
    env = envs.make("cartpole", horizon=5)
    state = envs.batch_reset(env, jax.random.PRNGKey(0), 2)
    step = jax.jit(lambda s: envs.batch_step(env, s, jnp.zeros(2, jnp.int32)))
    for _ in range(5):
        state = step(state)
    # horizon reached: truncated, not terminated; obs is a fresh episode's, final_obs the last.
    assert bool(state.truncated.all()) and not bool(state.terminated.any())
    np.testing.assert_array_equal(np.asarray(state.episode_return), 5.0)
    np.testing.assert_array_equal(np.asarray(state.time), 0)
    assert not np.allclose(np.asarray(state.obs), np.asarray(state.final_obs))
    state = step(state)
    np.testing.assert_array_equal(np.asarray(state.episode_return), 1.0)


def test_fixed_horizon_never_terminates_and_masks_reward():
    env = envs.make("cartpole", horizon=200, fixed_horizon=True)
    state = env.reset(jax.random.PRNGKey(0))
    step = jax.jit(env.step)
    ended_early, total = False, 0.0
    for t in range(200):
        state = step(state, jnp.int32(0))  # always push left: the pole falls quickly
        total += float(state.reward)
        ended_early |= bool(state.done) and t < 199
    assert not ended_early and bool(state.truncated)
    assert bool(state.failed)
    assert 5 < total < 100  # reward stopped counting after the pole fell


def test_a_non_finite_state_ends_the_episode_and_its_return_shows_it():
    """Brax's health checks compare with < and >, false for NaN: a NaN policy on
    inverted_pendulum was paid the alive bonus for the whole horizon (100 of 100, a full score;
    a random policy gets 15-56). Now its episode ends on the first step; on pendulum, whose
    reward is computed from the state, the return is NaN, never a good-looking 0."""
    from jirl.evaluation import episode_returns

    env = envs.make("inverted_pendulum", backend="positional", horizon=100)
    nan_policy = lambda o, k: jnp.full(env.spec.action_shape, jnp.nan)
    returns = episode_returns(env, nan_policy, jax.random.PRNGKey(0), 4)
    np.testing.assert_array_equal(returns, 1.0)
    pendulum = envs.make("pendulum")
    state = pendulum.step(pendulum.reset(jax.random.PRNGKey(0)), jnp.full((1,), jnp.nan))
    assert bool(state.terminated) and not bool(state.truncated) and jnp.isnan(state.reward)


def _breaking_env(fixed_horizon: bool):
    """A counter whose observation turns NaN on its third step (physics that blew up), with a
    finite reward of 1 per step."""
    from jirl.envs import Env, Spec

    def reset(key):
        return jnp.zeros((), jnp.int32), jnp.zeros((1,))

    def step(key, t, action):
        t = t + 1
        obs = jnp.where(t >= 3, jnp.nan, t.astype(jnp.float32))[None]
        return t, obs, jnp.ones(()), jnp.zeros((), bool)

    return Env("breaks", Spec((1,), True, num_actions=2), 6, reset, step, fixed_horizon)


@pytest.mark.parametrize("fixed_horizon", [False, True])
def test_a_broken_step_keeps_the_last_finite_observation(fixed_horizon):
    """The step that turns non-finite ends the episode with the last finite observation (read
    by AIRL's h(s') and GAIL's (s, a, s') features, masked or not); under a fixed horizon the
    episode stays at that state, failed and unpaid, to the horizon, never stepping NaN on."""
    env = _breaking_env(fixed_horizon)
    state = env.reset(jax.random.PRNGKey(0))
    observations, rewards = [], []
    for _ in range(6 if fixed_horizon else 3):
        state = env.step(state, jnp.int32(0))
        observations.append(float(state.final_obs[0]))
        rewards.append(float(state.reward))
    if fixed_horizon:
        assert observations == [1.0, 2.0, 2.0, 2.0, 2.0, 2.0]
        assert rewards == [1.0, 1.0, 1.0, 0.0, 0.0, 0.0]
        assert bool(state.failed) and bool(state.truncated) and not bool(state.terminated)
    else:
        assert observations == [1.0, 2.0, 2.0] and rewards == [1.0, 1.0, 1.0]
        assert bool(state.terminated)


def test_make_takes_numpy_horizons_and_refuses_what_only_looks_like_one():
    """`horizon=True` made a 1-step environment and `fixed_horizon="no"` (truthy) fixed the
    horizon; a NumPy integer, a horizon like any other, was refused."""
    assert envs.make("cartpole", horizon=np.int64(10)).horizon == 10
    for kwargs, match in (
        ({"horizon": True}, "horizon must be a positive integer, got True"),
        ({"horizon": 2.5}, "horizon must be a positive integer"),
        ({"fixed_horizon": "no"}, "fixed_horizon must be True or False, got 'no'"),
    ):
        with pytest.raises(EnvError, match=match):
            envs.make("cartpole", **kwargs)
    # per-dimension bounds, as `Spec` documents them, clip each dimension to its own
    from jirl.envs.base import Spec

    spec = Spec((2,), False, action_dim=2, action_low=(-1.0, -2.0), action_high=(1.0, 2.0))
    np.testing.assert_array_equal(spec.executed(jnp.array([5.0, 5.0])), [1.0, 2.0])
