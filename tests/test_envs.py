import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jirl import DataError, EnvError, envs


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


def _custom_env(obs=(1,), reward=(), terminated=jnp.bool_, **spec):
    """A one-dimensional custom env whose reward is its (executed) action; `obs`, `reward` and
    `terminated` give the shapes and dtype its raw functions return."""
    from jirl.envs import Env, Spec

    spec = Spec(**{"obs_shape": (1,), "discrete": False, "action_dim": 1, **spec})

    def reset(key):
        return jnp.zeros(()), jnp.zeros(obs)

    def step(key, inner, action):
        return inner, jnp.zeros(obs), jnp.sum(action) * jnp.ones(reward), jnp.zeros((), terminated)

    return Env("custom", spec, 5, reset, step)


def test_a_custom_env_is_checked_against_its_spec():
    """A review found a user's `Env` never checked: an observation of another shape trained
    (the networks broadcast it), a reward of shape [1] failed deep inside a scan, a float
    termination of 0.3 read as True, a horizon of 0 ran episodes of no step."""
    from jirl.envs import Env, Spec

    run = lambda env: jax.jit(env.step)(env.reset(jax.random.PRNGKey(0)), jnp.ones(1))  # noqa: E731
    run(_custom_env())
    for env, match in (
        (_custom_env(obs=(3,)), "raw_reset returned an observation of shape \\(3,\\); its spec"),
        (_custom_env(reward=(1,)), "a reward of shape \\(1,\\) .* must be scalars"),
        (_custom_env(terminated=jnp.float32), "termination of dtype float32; it must be a bool"),
    ):
        with pytest.raises(EnvError, match=match):
            run(env)
    with pytest.raises(EnvError, match="integer in \\[1, 1,073,741,824\\], got 0"):
        envs.make("cartpole").with_options(horizon=0)
    with pytest.raises(EnvError, match="fixed_horizon must be True or False, got 'no'"):
        envs.make("cartpole").with_options(fixed_horizon="no")  # was kept, and truthy
    with pytest.raises(EnvError, match="with_options takes horizon and fixed_horizon, got"):
        envs.make("cartpole").with_options(horizn=5)
    with pytest.raises(EnvError, match="horizon must be an integer in .*, got 2147483648"):
        envs.make("cartpole", horizon=2**31)  # (overflowed at the first jitted step)
    discrete = Spec((1,), True, num_actions=2)
    with pytest.raises(EnvError, match="horizon must be an integer in .*, got 2.5"):
        Env("custom", discrete, 2.5, lambda k: None, lambda *a: None)
    with pytest.raises(EnvError, match="Env.spec must be a jirl.envs.Spec, got dict"):
        Env("custom", {"obs_shape": (1,)}, 5, lambda k: None, lambda *a: None)
    with pytest.raises(EnvError, match="custom: raw_step must be a function"):
        Env("custom", discrete, 5, lambda k: None, None)
    for spec, match in (
        ({"obs_shape": (0,), "discrete": True, "num_actions": 2}, "obs_shape must be"),
        ({"obs_shape": (), "discrete": True, "num_actions": 2}, "a scalar observation is"),
        ({"obs_shape": (1,), "discrete": True}, "num_actions must be an integer >= 1 for a"),
        ({"obs_shape": (1,), "discrete": True, "num_actions": 0}, "num_actions must be"),
        ({"obs_shape": (1,), "discrete": False}, "action_dim must be an integer >= 1"),
        ({"obs_shape": (1,), "discrete": True, "num_actions": 2, "action_dim": 1}, "leave them"),
        ({"obs_shape": (1,), "discrete": False, "action_dim": 1, "action_low": -1.0}, "together"),
        (
            {"obs_shape": (1,), "discrete": False, "action_dim": 1}
            | {"action_low": 1.0, "action_high": -1.0},
            "action_low must be below action_high",
        ),
        (
            {"obs_shape": (2,), "discrete": False, "action_dim": 2}
            | {"action_low": (-1.0, -1.0, -1.0), "action_high": 1.0},
            "must be numbers or 2 of them",
        ),
        (
            {"obs_shape": (1,), "discrete": False, "action_dim": 1}
            | {"action_low": -np.inf, "action_high": np.inf},
            "both finite.*leave both out for an unbounded space",
        ),
        ({"obs_shape": (1,), "discrete": "yes", "num_actions": 2}, "discrete must be True or"),
    ):
        with pytest.raises(EnvError, match=match):
            Spec(**spec)


def test_every_backend_executes_the_clipped_action_and_random_acts_without_bounds():
    """Clipping lived in each backend's `raw_step`: a custom bounded env that did not clip
    was evaluated on the raw action (return 25 for 5 steps of action 5 in [-1, 1]) while its
    demonstrations recorded the clipped one (return 5). The random policy of an unbounded
    space (`Spec` allows it) failed on `jnp.asarray(None)`."""
    from jirl import data
    from jirl.evaluation import episode_returns, random_act_fn

    env = _custom_env(action_low=-1.0, action_high=1.0)
    five = lambda obs, key: jnp.full((1,), 5.0)  # noqa: E731
    assert episode_returns(env, five, jax.random.PRNGKey(0), 2).tolist() == [5.0, 5.0]
    demos = data.collect(env, five, jax.random.PRNGKey(0), 2)
    assert float(demos.rewards.sum()) == 10.0 and set(demos.actions.ravel().tolist()) == {1.0}
    unbounded = _custom_env()
    act = random_act_fn(unbounded)
    samples = jax.vmap(act, (None, 0))(None, jax.random.split(jax.random.PRNGKey(0), 4000))
    assert samples.shape == (4000, 1) and abs(float(samples.std()) - 1.0) < 0.05
    assert np.isfinite(episode_returns(unbounded, act, jax.random.PRNGKey(1), 4)).all()


def test_action_kind_names_each_space_for_the_refusals_that_quote_it():
    """`Spec.action_kind` is what a refused option (`squash`, `disc_actions`) says the actions
    are: an unbounded box is not "discrete"."""
    assert envs.make("cartpole").spec.action_kind == "discrete"
    assert envs.make("pendulum").spec.action_kind == "bounded"
    assert _custom_env().spec.action_kind == "unbounded"
    assert _custom_env(action_low=-1.0, action_high=1.0).spec.action_kind == "bounded"


def test_a_score_cannot_be_normalized_by_an_expert_no_better_than_random():
    from jirl.evaluation import normalized_score

    assert normalized_score(-200.0, -150.0, -1200.0) == pytest.approx(1000 / 1050)
    with pytest.raises(DataError, match="expert's return equals the random policy's"):
        normalized_score(10.0, 20.0, 20.0)
    with pytest.raises(DataError, match="expert's return equals the random policy's"):
        normalized_score(10.0, jnp.float32(20.0), jnp.float32(20.0))  # was inf
    traced = jax.jit(normalized_score)(jnp.float32(3.0), 5.0, 1.0)  # (checked by its caller)
    assert float(traced) == pytest.approx(0.5)


def test_a_gymnax_box_keeps_each_dimensions_bounds():
    """The box's min and max were taken for every dimension (a review): [-1, -2]..[1, 2]
    widened to [-2, 2] in both. One shared bound stays one number, as headers record it."""
    from jirl.envs.classic import _bound

    assert _bound(np.array([-1.0, -2.0]), (2,)) == (-1.0, -2.0)
    assert _bound(np.array([-2.0]), (1,)) == -2.0 == envs.make("pendulum").spec.action_low
