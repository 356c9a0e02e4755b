"""MDP builders and validation, demos validation, and the tabular sampling environments."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jirl.envs
from jirl.errors import ConfigError, DataError, EnvError
from jirl.tabular import mdp as mdp_lib
from jirl.tabular import metrics, planning


def test_gridworld_formats_are_the_same_mdp():
    sparse = mdp_lib.gridworld(4, slip=0.2)
    grid = mdp_lib.gridworld(4, slip=0.2, format="grid")
    dense = mdp_lib.gridworld(4, slip=0.2, format="dense")
    assert (sparse.format, grid.format, dense.format) == ("sparse", "grid", "dense")
    assert sparse.next_state.shape == (16, 5, 5)
    t = np.asarray(dense.transition)
    np.testing.assert_allclose(mdp_lib.to_dense(sparse).transition, t, atol=1e-6)
    np.testing.assert_allclose(mdp_lib.to_dense(grid).transition, t, atol=1e-6)
    # Corner (0, 0), action "up": stays with 1 − slip + 3·slip/5 (up, left and stay slips).
    np.testing.assert_allclose(t[0, 1, 0], 0.8 + 3 * 0.2 / 5, atol=1e-6)
    np.testing.assert_allclose(t[0, 4, 1], 0.8 + 0.2 / 5, atol=1e-6)


@pytest.mark.parametrize("size", [3, 5])
def test_feature_count_is_the_width_the_builders_make(size):
    """The memory check counts features unbuilt (`mdp.feature_count`); it must count what the
    builders build, for every kind and an uneven block."""
    for kind in ("onehot", "blocks", "none"):
        built = mdp_lib.gridworld(size, features=kind, block=2).features
        width = 0 if built is None else built.shape[1]
        assert mdp_lib.feature_count("gridworld", size, kind, block=2) == width
    for kind in ("continuous", "discrete", "both"):
        built = mdp_lib.objectworld(size, 3, 4, jax.random.PRNGKey(0), features=kind).features
        assert mdp_lib.feature_count("objectworld", size, kind, num_colours=3) == built.shape[1]


def test_absorbing_goal_keeps_the_agent():
    mdp = mdp_lib.to_dense(mdp_lib.gridworld(3, goal=(1, 1), absorbing=True))
    np.testing.assert_allclose(mdp.transition[4, :, 4], 1.0)
    assert float(mdp.reward[4]) == 1.0 and float(mdp.reward.sum()) == 1.0


def test_objectworld_reward_and_features():
    mdp = mdp_lib.objectworld(8, 2, 6, jax.random.PRNGKey(0), features="both")
    assert mdp.features.shape == (64, 4 + 4 * 8)
    assert set(np.unique(mdp.reward)) <= {-1.0, 0.0, 1.0}
    near0 = np.asarray(mdp.features[:, 0]) * 8 <= 3.0  # continuous distance to outer colour 0
    np.testing.assert_array_equal(np.asarray(mdp.reward) != 0, near0)


def test_garnet_branching():
    mdp = mdp_lib.garnet(10, 3, 4, jax.random.PRNGKey(0), num_features=2)
    assert mdp.next_state.shape == (10, 3, 4) and mdp.features.shape == (10, 2)
    assert all(len(set(row)) == 4 for row in np.asarray(mdp.next_state).reshape(-1, 4))


def test_sparse_band_gather_and_scatter_agree():
    banded = mdp_lib.gridworld(5, slip=0.3, goal=(2, 2), absorbing=True)
    assert banded.band_offsets == (-5, -1, 0, 1, 5) and banded.pred_sa is None
    gathered = mdp_lib.sparse_mdp(banded.next_state, banded.prob, banded.initial, max_bands=0)
    scattered = gathered.replace(pred_sa=None, pred_prob=None)
    assert gathered.band_prob is None and gathered.pred_sa is not None
    flow = jax.random.uniform(jax.random.PRNGKey(0), (25, 5))
    v = jax.random.normal(jax.random.PRNGKey(1), (25,))
    for other in (gathered, scattered):
        np.testing.assert_allclose(
            planning.push_forward(banded, flow), planning.push_forward(other, flow), atol=1e-6
        )
        np.testing.assert_allclose(
            planning.expected_next(banded, v), planning.expected_next(other, v), atol=1e-6
        )


def test_sparse_tables_are_chosen_by_their_size():
    """A dense MDP made sparse (K = S) has 2S − 1 diagonals: no band table (each band is
    unrolled). A reset state every (s, a) may lead to pads the predecessor table to S × S·A:
    visitation scatter-adds instead. Either way the planners agree with the dense MDP."""
    dense = mdp_lib.garnet(40, 3, 40, jax.random.PRNGKey(0), dense=True)
    assert mdp_lib.to_sparse(dense).band_offsets is None
    num_states = 200
    rng = np.random.default_rng(0)
    successors = rng.integers(1, num_states, (num_states, 2, 2))
    next_state = np.concatenate([successors, np.zeros((num_states, 2, 1), int)], axis=-1)
    prob = np.broadcast_to(np.array([0.45, 0.45, 0.1], np.float32), next_state.shape)
    hub = mdp_lib.sparse_mdp(next_state, prob, np.full(num_states, 1 / num_states))
    assert hub.band_offsets is None and hub.pred_sa is None
    flow = jax.random.uniform(jax.random.PRNGKey(1), (num_states, 2))
    np.testing.assert_allclose(
        planning.push_forward(hub, flow),
        planning.push_forward(mdp_lib.to_dense(hub), flow),
        rtol=1e-5,
        atol=1e-6,
    )


def test_dense_transpose_is_checked():
    mdp = mdp_lib.gridworld(3, format="dense")
    assert mdp.transition_t.shape == (9, 45)
    assert mdp_lib.dense_mdp(mdp.transition, mdp.initial, transposed=False).transition_t is None
    with pytest.raises(ConfigError, match="transition_t is not the transpose"):
        mdp_lib.validate_mdp(mdp.replace(transition_t=mdp.transition_t[::-1]))


def test_sparse_derived_tables_are_checked():
    """The planners read the band or predecessor table, not `prob`: an MDP whose `prob` was
    replaced after they were built is refused (it planned with the old slip: values off by 1.8
    on a gridworld)."""
    band = mdp_lib.gridworld(4, slip=0.1, format="sparse")
    other = mdp_lib.gridworld(4, slip=0.9, format="sparse")
    assert band.band_prob is not None
    mdp_lib.validate_mdp(band)
    with pytest.raises(ConfigError, match="band_prob do not match next_state and prob"):
        mdp_lib.validate_mdp(band.replace(prob=other.prob))
    kept = band.replace(band_prob=None, band_offsets=None)  # the predecessor table instead
    pred_sa, pred_prob = mdp_lib.predecessor_table(
        np.asarray(band.next_state), np.asarray(band.prob)
    )
    preds = kept.replace(pred_sa=jnp.asarray(pred_sa), pred_prob=jnp.asarray(pred_prob))
    mdp_lib.validate_mdp(preds)
    with pytest.raises(ConfigError, match="pred_sa/pred_prob do not match"):
        mdp_lib.validate_mdp(preds.replace(prob=other.prob))


def dense_t():
    t = np.full((3, 2, 3), 1.0 / 3)
    return t


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: mdp_lib.dense_mdp(dense_t() * 1.1, np.ones(3) / 3), "sums to"),
        (lambda: mdp_lib.dense_mdp(dense_t(), [0.5, 0.6, -0.1]), "negative"),
        (
            lambda: mdp_lib.sparse_mdp(np.full((3, 2, 1), 3), np.ones((3, 2, 1)), np.ones(3) / 3),
            "not a state index",
        ),
        (
            lambda: mdp_lib.sparse_mdp(
                np.zeros((3, 2, 2), int),
                np.array([1.5, -0.5])[None, None].repeat(3, 0).repeat(2, 1),
                np.ones(3) / 3,
            ),
            "negative",
        ),
        (lambda: mdp_lib.dense_mdp(np.ones((3, 2, 4)) / 4, np.ones(3) / 3), "shape"),
        (lambda: mdp_lib.dense_mdp(dense_t(), np.ones(3) / 3, reward=np.ones(4)), "reward"),
        (lambda: mdp_lib.gridworld(4, slip=1.5), "slip"),
        (lambda: mdp_lib.gridworld(4, goal=(4, 0)), "inside the 4x4 grid, got \\(4, 0\\)"),
        # (found by a review; each was accepted, or failed later with another error)
        (  # int64 successors of 2**32 wrapped to 0 in int32, after the range check
            lambda: mdp_lib.sparse_mdp(
                np.full((3, 2, 1), 2**32, np.int64), np.ones((3, 2, 1)), np.ones(3) / 3
            ),
            "= 4294967296 is not a state index",
        ),
        (lambda: mdp_lib.dense_mdp(np.zeros((3, 0, 3)), np.ones(3) / 3), "S, A >= 1"),
        (lambda: mdp_lib.dense_mdp(np.zeros((0, 2, 0)), np.ones(0)), "S, A >= 1"),
        (lambda: mdp_lib.dense_mdp(dense_t() + 0j, np.ones(3) / 3), "real numbers, got dtype"),
        (
            lambda: mdp_lib.grid_mdp((-2, -2), np.eye(5), np.ones(4) / 4),
            r"grid_shape must be two sizes >= 1, got \(-2, -2\)",
        ),
        (lambda: mdp_lib.gridworld(4, slip="0.1"), "slip must be a probability"),
        (lambda: mdp_lib.gridworld(4, block=1.5), "block must be an integer, got 1.5"),
        (lambda: mdp_lib.gridworld(4, absorbing="yes"), "absorbing must be True or False"),
        (
            lambda: mdp_lib.objectworld(4, 2, 3, jax.random.PRNGKey(0), format="x"),
            "format must be 'sparse', 'dense' or 'grid', got 'x'",
        ),
        (
            lambda: mdp_lib.objectworld(4, 2.0, 3, jax.random.PRNGKey(0)),
            "num_colours must be an integer, got 2.0",
        ),
        (lambda: mdp_lib.garnet(4, 2, 2.0, jax.random.PRNGKey(0)), "branching must be an int"),
        # (a review: (3.9, 4) was a 3x4 grid, (3, 4, 1) "too many values to unpack", and a
        # complex reward or features lost their imaginary part in silence)
        (
            lambda: mdp_lib.grid_mdp((3.9, 4), np.eye(5), np.ones(12) / 12),
            r"grid_shape must be two sizes >= 1, got \(3.9, 4\); pass \(rows, cols\)",
        ),
        (
            lambda: mdp_lib.grid_mdp((3, 4, 1), np.eye(5), np.ones(12) / 12),
            r"grid_shape must be two sizes >= 1, got \(3, 4, 1\)",
        ),
        (lambda: mdp_lib.grid_mdp(12, np.eye(5), np.ones(12) / 12), "got 12"),
        (
            lambda: mdp_lib.dense_mdp(dense_t(), np.ones(3) / 3, features=np.ones((3, 2)) * 1j),
            "features must hold real numbers, got dtype complex128",
        ),
        (
            lambda: mdp_lib.dense_mdp(dense_t(), np.ones(3) / 3, reward=np.ones(3) * (1 + 2j)),
            "reward must hold real numbers, got dtype complex128",
        ),
        (
            lambda: mdp_lib.dense_mdp(dense_t(), np.ones(3) / 3, features=np.full((3, 1), "a")),
            "features must hold real numbers",
        ),
    ],
)
def test_bad_mdps_raise_one_line_errors(make, match):
    with pytest.raises(ConfigError, match=match) as err:
        make()
    assert isinstance(err.value, ValueError) and "\n" not in str(err.value)


def test_bad_demos_raise_data_errors():
    mdp = mdp_lib.gridworld(3)
    good = metrics.Demos(states=jnp.zeros((2, 4), jnp.int32), actions=jnp.zeros((2, 4), jnp.int32))
    metrics.validate_demos(mdp, good)
    with pytest.raises(DataError, match=r"states\[1, 2\] = 9"):
        metrics.validate_demos(mdp, good.replace(states=good.states.at[1, 2].set(9)))
    with pytest.raises(DataError, match="actions"):
        metrics.validate_demos(mdp, good.replace(actions=good.actions.at[0, 0].set(-1)))
    with pytest.raises(DataError, match="integer"):
        metrics.validate_demos(mdp, good.replace(states=good.states.astype(jnp.float32)))
    with pytest.raises(DataError, match="same shape"):
        metrics.validate_demos(mdp, good.replace(actions=good.actions[:, :3]))


def test_sampled_demos_follow_the_dynamics():
    mdp = mdp_lib.gridworld(4, slip=0.0)
    right = jnp.zeros((16, 5)).at[:, 4].set(1.0)
    demos = metrics.sample_demos(jax.random.PRNGKey(0), mdp, right, 8, 5)
    metrics.validate_demos(mdp, demos)
    cols = np.asarray(demos.states) % 4
    assert (np.diff(cols, axis=1) >= 0).all() and (cols[:, -1] == 3).all()
    assert (np.asarray(demos.actions) == 4).all()


def test_sample_demos_needs_counts_of_at_least_one():
    """(A review: `horizon=0` returned empty demos, which every IRL then refused.)"""
    mdp = mdp_lib.gridworld(3)
    policy = jnp.full((mdp.num_states, mdp.num_actions), 0.2)
    key = jax.random.PRNGKey(0)
    for kw, match in (
        (dict(num_demos=2, horizon=0), "horizon must be >= 1, got 0"),
        (dict(num_demos=0, horizon=3), "num_demos must be >= 1, got 0"),
        (dict(num_demos=2, horizon=3.0), "horizon must be an integer >= 1, got 3.0"),
        (dict(num_demos=True, horizon=3), "num_demos must be an integer >= 1, got True"),
    ):
        with pytest.raises(ConfigError, match=match):
            metrics.sample_demos(key, mdp, policy, **kw)
    assert metrics.sample_demos(key, mdp, policy, np.int64(2), 3).states.shape == (2, 3)


def test_make_gridworld_rejects_unknown_options():
    with pytest.raises(EnvError, match="bogus"):
        jirl.envs.make("gridworld", bogus=1)
    with pytest.raises(EnvError, match="slip"):
        jirl.envs.make("gridworld", slip=2.0)


def test_a_goal_is_a_cell_index_or_row_and_column_and_nothing_else():
    """The builder took `goal=True` for cell 1 and `3.7` for cell 3; `--set goal=...` refused
    both (one check now, `mdp.goal_index`)."""
    assert mdp_lib.goal_index((1, 2), 4) == 6 == mdp_lib.goal_index(np.int64(6), 4)
    assert mdp_lib.goal_index(None, 4) == 15
    for goal in (True, 3.7, [1, 2, 3], [True, 0], 16, "a"):
        with pytest.raises(ConfigError, match="goal must be a cell index in"):
            mdp_lib.gridworld(4, goal=goal)


def test_a_block_of_the_whole_grid_is_refused():
    """One block feature, alike in every state: MaxEnt and MWAL returned a reward
    uncorrelated with the truth, and no error said why."""
    assert mdp_lib.gridworld(4, features="blocks", block=3).features.shape == (16, 4)
    for block in (0, 4, 5):
        with pytest.raises(ConfigError, match=r"block must be in \[1, size - 1 = 3\]"):
            mdp_lib.gridworld(4, features="blocks", block=block)


def test_a_small_objectworld_env_takes_the_clis_object_count():
    """`num_objects` unset is max(num_colours, cells // 10), as on the command line: a fixed
    default of 10 refused `size=3` (9 cells) for an option the user never set."""
    env = jirl.envs.make("objectworld", size=3)
    assert dict(env.options)["num_objects"] == 2 and env.spec.obs_shape == (9,)  # max(2, 0)
    with pytest.raises(EnvError, match="num_objects must be an integer in"):
        jirl.envs.make("objectworld", size=3, num_objects=10)


@pytest.mark.parametrize("name", ["gridworld", "objectworld"])
def test_tabular_env_steps_in_a_vmapped_batch(name):
    env = jirl.envs.make(name, size=4, horizon=6)
    assert env.spec.discrete and env.spec.num_actions == 5 and env.spec.obs_shape == (16,)
    state = jirl.envs.batch_reset(env, jax.random.PRNGKey(0), 8)
    step = jax.jit(lambda s, a: jirl.envs.batch_step(env, s, a))
    for _ in range(6):
        state = step(state, jnp.full((8,), 4, jnp.int32))
    assert state.obs.shape == (8, 16)
    np.testing.assert_allclose(state.obs.sum(-1), 1.0)
    assert bool(state.truncated.all()) and not bool(state.terminated.any())


def test_gridworld_env_reward_is_the_true_reward_of_the_current_state():
    env = jirl.envs.make("gridworld", size=3, slip=0.0, goal=8, horizon=10)
    state = env.reset(jax.random.PRNGKey(0))
    returns = []
    for _ in range(5):  # move right, then down: reach the goal and stay
        state = env.step(state, jnp.int32(4 if int(state.inner) % 3 < 2 else 2))
        returns.append(float(state.reward))
    assert int(state.inner) == 8 and returns[-1] == 1.0


def test_value_difference_of_a_time_indexed_policy_takes_its_horizon():
    """The optimal 7-step policy loses nothing against the optimal 7-step value; with
    `horizon=None` it was compared with the infinite-horizon V* (EVD 5.8 instead of 0)."""
    mdp = mdp_lib.gridworld(5, slip=0.2, goal=(4, 4))
    plan = planning.value_iteration(mdp, mdp.reward, horizon=7, discount=0.9)
    assert plan.policy.shape[0] == 7
    gap = metrics.policy_value_difference(mdp, mdp.reward, plan.policy, discount=0.9)
    np.testing.assert_allclose(gap, 0.0, atol=1e-5)


def test_rows_within_the_tolerance_are_renormalised_so_mass_does_not_drift():
    """Rows of 1.00009 pass the check (1e-4) and were stored as given: the visitation mass of
    a 2,000-step horizon grew to 1.2 per step, the discounted one (γ = 0.999) to 1,099."""
    from jirl.tabular import planning

    rng = np.random.default_rng(0)
    transition = rng.dirichlet(np.ones(4), size=(4, 2)) * 1.00009
    successors = np.tile(np.arange(4), (4, 2, 1))
    policy = jnp.full((4, 2), 0.5)
    for mdp in (
        mdp_lib.dense_mdp(transition, np.full(4, 0.25) * 1.00009),
        mdp_lib.sparse_mdp(successors, transition, np.full(4, 0.25)),
    ):
        rows = mdp.transition if mdp.format == "dense" else mdp.prob
        np.testing.assert_allclose(np.asarray(rows).sum(-1), 1.0, atol=1e-6)
        np.testing.assert_allclose(np.asarray(mdp.initial).sum(), 1.0, atol=1e-6)
        mass = planning.visitation(mdp, policy, horizon=2000).state.sum() / 2000
        np.testing.assert_allclose(mass, 1.0, atol=1e-4)
        mass = planning.visitation(mdp, policy, horizon=None, discount=0.999).state.sum()
        np.testing.assert_allclose(mass, 1000.0, rtol=1e-3)
