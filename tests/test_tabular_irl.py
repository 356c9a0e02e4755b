"""Tabular IRL: recovery, exact gradients, the max-margin QP, MWAL, deep vs linear MaxEnt."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import minimize

from jirl.errors import ConfigError, DataError
from jirl.tabular import (
    DeepMaxEntConfig,
    MaxEntConfig,
    MaxMarginConfig,
    MWALConfig,
    deep_maxent_irl,
    max_margin_irl,
    maxent_gradient,
    maxent_irl,
    metrics,
    mwal_irl,
    planning,
    solve_margin_qp,
)
from jirl.tabular import mdp as mdp_lib
from jirl.tabular.maxent import reward_features
from jirl.tabular.mwal import complemented_features

HORIZON = 10


@functools.lru_cache
def linear_gridworld():
    """5×5 gridworld whose true reward is linear in 3×3 macro-cell features."""
    mdp = mdp_lib.gridworld(5, slip=0.1, features="blocks", block=2)
    weights = jax.random.normal(jax.random.PRNGKey(1), (mdp.num_features,))
    return mdp.replace(reward=mdp.features @ weights)


def expert_demos(mdp, num_demos, soft=True, seed=2):
    planner = planning.soft_value_iteration if soft else planning.value_iteration
    policy = planner(mdp, mdp.reward, horizon=HORIZON).policy
    return metrics.sample_demos(jax.random.PRNGKey(seed), mdp, policy, num_demos, HORIZON)


def test_maxent_recovers_a_linear_gridworld_reward():
    mdp = linear_gridworld()
    demos = expert_demos(mdp, 1000)
    config = MaxEntConfig(horizon=HORIZON, num_iterations=200, learning_rate=0.1)
    result = jax.jit(maxent_irl, static_argnums=3)(jax.random.PRNGKey(0), mdp, demos, config)
    evd = metrics.expected_value_difference(mdp, mdp.reward, result.reward, horizon=HORIZON)
    gap = metrics.random_policy_gap(mdp, mdp.reward, horizon=HORIZON)
    assert float(evd) < 0.01 * float(gap)
    assert float(metrics.reward_correlation(result.reward, mdp.reward)) >= 0.9
    assert result.metrics["feature_gap"][-1] < 0.1 * result.metrics["feature_gap"][0]


def test_narrow_integer_demos_count_as_int32_ones_and_constant_features_keep_weight_zero():
    """(A review: s·A + a overflowed in uint8 demos' own dtype, miscounting the visitation;
    a constant feature column, whose exact gradient is 0, took Adam steps from float32's
    residue, so the learned reward moved with the number of seeds vmapped.)"""
    mdp = mdp_lib.gridworld(8, slip=0.1)  # S·A = 320 > 255
    demos = expert_demos(mdp.replace(reward=jnp.arange(64.0) / 64), 40)
    narrow = demos.replace(states=demos.states.astype(jnp.uint8))
    np.testing.assert_array_equal(
        metrics.empirical_visitation(narrow, 64, 5), metrics.empirical_visitation(demos, 64, 5)
    )
    ones = jnp.ones((64, 1))
    mdp = mdp.replace(features=jnp.concatenate([mdp.features, ones, 2 * ones], axis=1))
    config = MaxEntConfig(horizon=HORIZON, num_iterations=30, learning_rate=0.1)
    keys = jax.random.split(jax.random.PRNGKey(0), 8)
    alone = maxent_irl(keys[0], mdp, demos, config)
    batch = jax.vmap(maxent_irl, in_axes=(0, None, None, None))(keys, mdp, demos, config)
    np.testing.assert_array_equal(alone.weights[-2:], 0.0)
    np.testing.assert_allclose(batch.reward[0], alone.reward, atol=1e-4)


def test_maxent_with_a_state_reward_never_builds_features_per_action():
    """A state reward's features stay `[S, F]`: broadcast to `[S, A, F]`, the compiled MaxEnt
    took three such tables (a 64x64 one-hot gridworld: 972 MB; 128x128 would not fit the
    memory its run's check allowed). Here S·A·F floats are 20 MB; the program needs far less."""
    mdp = mdp_lib.gridworld(32, features="onehot")
    demos = expert_demos(mdp, 4)
    config = MaxEntConfig(horizon=HORIZON, num_iterations=2)
    compiled = (
        jax.jit(lambda key, demos: maxent_irl(key, mdp, demos, config))
        .lower(jax.random.PRNGKey(0), demos)
        .compile()
    )
    table = 4 * mdp.num_states * mdp.num_actions * mdp.num_features
    assert compiled.memory_analysis().temp_size_in_bytes < table / 4


@pytest.mark.parametrize("causal", [False, True])
def test_maxent_gradient_vanishes_at_the_truth_and_one_pass_agrees(causal):
    mdp = linear_gridworld()
    feats = reward_features(mdp, causal)
    weights = jax.random.normal(jax.random.PRNGKey(3), (feats.shape[-1],))
    # Exact demo counts: the expected counts of the soft-optimal policy of θ*.
    plan = planning.soft_value_iteration(mdp, feats @ weights, horizon=HORIZON)
    vis = planning.visitation(mdp, plan.policy)
    counts = metrics.feature_counts(vis.state_action, feats)
    grad, _ = maxent_gradient(mdp, weights, feats, counts, horizon=HORIZON)
    np.testing.assert_allclose(grad, 0.0, atol=1e-4)
    other = weights + 0.3
    two, dual_two = maxent_gradient(mdp, other, feats, counts, horizon=HORIZON)
    one, dual_one = maxent_gradient(mdp, other, feats, counts, horizon=HORIZON, one_pass=True)
    np.testing.assert_allclose(one, two, atol=1e-4)
    np.testing.assert_allclose(dual_one, dual_two, atol=1e-4)
    # The gradient is the gradient of the dual objective θ·μ_E − log Z(θ).
    auto = jax.grad(lambda w: maxent_gradient(mdp, w, feats, counts, horizon=HORIZON)[1])(other)
    np.testing.assert_allclose(two, auto, atol=1e-4)
    with pytest.raises(ConfigError, match="one_pass counts features backwards over a finite"):
        maxent_gradient(mdp, other, feats, counts, horizon=None, discount=0.9, one_pass=True)


def test_maxent_vmaps_over_seeds_and_over_problems_sharing_dynamics():
    mdp = linear_gridworld()
    config = MaxEntConfig(horizon=HORIZON, num_iterations=5)
    demos = jax.vmap(
        lambda k: metrics.sample_demos(
            k,
            mdp,
            planning.soft_value_iteration(mdp, mdp.reward, horizon=HORIZON).policy,
            8,
            HORIZON,
        )
    )(jax.random.split(jax.random.PRNGKey(0), 3))
    keys = jax.random.split(jax.random.PRNGKey(1), 3)
    run = jax.jit(jax.vmap(lambda k, d: maxent_irl(k, mdp, d, config)))
    batched = run(keys, demos)
    single = maxent_irl(keys[1], mdp, jax.tree.map(lambda x: x[1], demos), config)
    assert batched.weights.shape == (3, mdp.num_features)
    np.testing.assert_allclose(batched.weights[1], single.weights, atol=1e-5)
    assert not np.allclose(batched.weights[0], batched.weights[1])  # each seed its own demos


def _random_qp():
    rng = np.random.default_rng(0)
    mask = np.array([True, True, True, True, False])
    return rng.uniform(size=3), rng.uniform(size=(5, 3)), rng.uniform(0.2, 1.0, size=5), mask, 1.0


def _opposed_qp():
    """The expert halfway between two policies (g₁ = −g₂): power iteration from the all-ones
    vector saw a Gram matrix with no top eigenvalue, and FISTA overshot to w = (5, 0)."""
    mu_policies = np.array([[1.0, 0.5], [0.0, 0.5]])
    return np.array([0.5, 0.5]), mu_policies, np.array([0.3, 0.1]), np.array([True, True]), 10.0


@pytest.mark.parametrize("problem", [_random_qp, _opposed_qp])
def test_max_margin_qp_matches_scipy(problem):
    mu_expert, mu_policies, losses, mask, c = problem()
    dim = mu_expert.size
    w, slack, _ = solve_margin_qp(
        jnp.asarray(mu_expert),
        jnp.asarray(mu_policies),
        jnp.asarray(losses),
        jnp.asarray(mask),
        c,
        num_steps=3000,
    )
    g = (mu_expert - mu_policies)[mask]
    cons = [
        {"type": "ineq", "fun": lambda x, i=i: x[:dim] @ g[i] - losses[mask][i] + x[dim]}
        for i in range(len(g))
    ]
    cons.append({"type": "ineq", "fun": lambda x: x[dim]})
    ref = minimize(
        lambda x: 0.5 * x[:dim] @ x[:dim] + c * x[dim],
        np.zeros(dim + 1),
        constraints=cons,
        method="SLSQP",
        options={"ftol": 1e-12, "maxiter": 500},
    )
    assert ref.success
    np.testing.assert_allclose(w, ref.x[:dim], atol=1e-3)
    np.testing.assert_allclose(slack, ref.x[dim], atol=1e-3)


@pytest.mark.parametrize("method", ["projection", "planning"])
def test_max_margin_learns_a_good_policy(method):
    mdp = linear_gridworld()
    demos = expert_demos(mdp, 300, soft=False)
    config = MaxMarginConfig(method=method, horizon=HORIZON, num_iterations=15, qp_steps=300)
    result = jax.jit(max_margin_irl, static_argnums=3)(jax.random.PRNGKey(0), mdp, demos, config)
    gap = metrics.random_policy_gap(mdp, mdp.reward, horizon=HORIZON)
    evd = metrics.policy_value_difference(mdp, mdp.reward, result.policy, horizon=HORIZON)
    assert float(evd) < 0.05 * float(gap)
    if method == "projection":
        # The projection never moves μ̄ away from μ_E.
        assert bool(jnp.all(jnp.diff(result.metrics["margin"]) <= 1e-6))


def test_mwal_mixed_policy_matches_the_experts_feature_expectations():
    mdp = linear_gridworld()
    demos = expert_demos(mdp, 300, soft=False)
    phi = complemented_features(mdp.features)[:, : mdp.num_features]
    gaps = []
    for rounds in (5, 200):
        result = mwal_irl(
            jax.random.PRNGKey(0), mdp, demos, MWALConfig(horizon=HORIZON, num_iterations=rounds)
        )
        gaps.append(float(metrics.feature_expectation_gap(mdp, result.policy, demos, phi)))
        np.testing.assert_allclose(
            metrics.feature_expectation_gap(mdp, result.policy, demos, phi),
            jnp.linalg.norm(
                result.feature_expectations
                - metrics.empirical_visitation(demos, mdp.num_states, mdp.num_actions).sum(-1)
                @ phi
                / HORIZON
            ),
            atol=1e-5,
        )
    uniform = jnp.full((mdp.num_states, mdp.num_actions), 0.2)
    random_gap = float(metrics.feature_expectation_gap(mdp, uniform, demos, phi))
    assert gaps[1] < 0.5 * gaps[0] and gaps[1] < 0.1 * random_gap
    # counts that the demos do not cover are refused, not compared
    with pytest.raises(ConfigError, match="hold only"):
        metrics.feature_expectation_gap(mdp, uniform, demos, phi, discount=0.99)
    with pytest.raises(ConfigError, match=f"pass horizon={HORIZON}"):
        metrics.feature_expectation_gap(mdp, uniform, demos, phi, horizon=HORIZON + 1)


def test_deep_maxent_beats_linear_maxent_on_objectworld():
    mdp = mdp_lib.objectworld(10, 2, 8, jax.random.PRNGKey(0), features="continuous")
    horizon = 20
    policy = planning.soft_value_iteration(mdp, mdp.reward, horizon=horizon).policy
    demos = metrics.sample_demos(jax.random.PRNGKey(2), mdp, policy, 128, horizon)
    linear = maxent_irl(
        jax.random.PRNGKey(0),
        mdp,
        demos,
        MaxEntConfig(horizon=horizon, num_iterations=200, learning_rate=0.05),
    )
    deep = deep_maxent_irl(
        jax.random.PRNGKey(0),
        mdp,
        demos,
        DeepMaxEntConfig(
            horizon=horizon,
            hidden_sizes=(16, 16),
            num_iterations=300,
            learning_rate=3e-3,
            weight_decay=1e-2,
        ),
    )
    evd = lambda r: float(metrics.expected_value_difference(mdp, mdp.reward, r, horizon=horizon))
    assert evd(deep.reward) < 0.7 * evd(linear.reward)
    assert metrics.reward_correlation(deep.reward, mdp.reward) > metrics.reward_correlation(
        linear.reward, mdp.reward
    )


def test_demos_must_cover_the_visitation_the_model_counts():
    """Demos of H steps hold Σ_{t<H} γ^t of visitation; a model counting another horizon (or
    an infinite one that H steps do not nearly cover) would see a gradient even at the truth."""
    mdp = linear_gridworld()
    demos = expert_demos(mdp, 4)
    key = jax.random.PRNGKey(0)
    with pytest.raises(ConfigError, match=f"the demos have {HORIZON} steps but horizon=12"):
        maxent_irl(key, mdp, demos, MaxEntConfig(horizon=12, num_iterations=1))
    with pytest.raises(ConfigError, match="hold only 65% .* demos of >= 44 steps"):
        maxent_irl(key, mdp, demos, MaxEntConfig(horizon=None, discount=0.9, num_iterations=1))
    for irl, config in (
        (deep_maxent_irl, DeepMaxEntConfig(horizon=None, discount=0.9, num_iterations=1)),
        (max_margin_irl, MaxMarginConfig(horizon=None, discount=0.9, num_iterations=1)),
        (mwal_irl, MWALConfig(horizon=None, discount=0.9, num_iterations=1)),
    ):
        with pytest.raises(ConfigError, match="of the discounted visitation"):
            irl(key, mdp, demos, config)
    # demos long enough for γ^H <= 1%: accepted
    long = metrics.sample_demos(key, mdp, jnp.full((25, 5), 0.2), 2, 44)
    maxent_irl(key, mdp, long, MaxEntConfig(horizon=None, discount=0.9, num_iterations=1))
    for discount in (1.0, np.float32(1.0), jnp.float32(1.5)):  # NumPy and JAX scalars too
        with pytest.raises(ConfigError, match="needs 0 <= discount < 1, got 1.[05]"):
            planning.value_iteration(mdp, mdp.reward, horizon=None, discount=discount)


def test_mwal_gives_the_same_answer_in_every_transition_format():
    """Greedy ties are broken within `planning.TIE_TOLERANCE`: an exact comparison split equal
    Q values that the formats sum an ulp apart, and MWAL's EVD on this gridworld was 6.13
    (sparse), 6.12 (dense) and 5.05 (grid) from the same demonstrations (now 6.09, 6.13, 6.04)."""
    from jirl.tabular import planning

    worlds = {f: mdp_lib.gridworld(6, slip=0.1, format=f) for f in ("sparse", "dense", "grid")}
    base = worlds["sparse"]
    expert = planning.soft_value_iteration(base, base.reward, horizon=12).policy
    demos = metrics.sample_demos(jax.random.PRNGKey(0), base, expert, 32, 12)
    config = MWALConfig(horizon=12, num_iterations=30)
    evd = {
        f: float(metrics.expected_value_difference(
            m, m.reward, mwal_irl(jax.random.PRNGKey(0), m, demos, config).reward, horizon=12
        ))
        for f, m in worlds.items()
    }  # fmt: skip
    assert max(evd.values()) - min(evd.values()) < 0.03 * max(evd.values()), evd


def test_demos_out_of_the_mdps_range_are_refused_and_never_counted_elsewhere():
    """A state or action index outside the MDP once wrapped into another state's count (a
    negative state into the last, action A into the next state's action 0): every IRL refuses
    such demos; traced inside `jit`, where it cannot raise, the step is left out."""

    mdp = mdp_lib.gridworld(3, features="onehot")
    zeros = jnp.zeros((2, 4), jnp.int32)
    key = jax.random.PRNGKey(0)
    for bad, match in (
        (metrics.Demos(states=zeros, actions=zeros + mdp.num_actions), r"actions\[0, 0\] = 5"),
        (metrics.Demos(states=zeros - 1, actions=zeros), r"states\[0, 0\] = -1"),
        # shapes and dtypes too (they were a TypeError, a broadcast ValueError, an IndexError)
        (metrics.Demos(states=zeros.astype(float), actions=zeros), "must hold integer indices"),
        (metrics.Demos(states=zeros, actions=zeros[:1]), "must have the same shape"),
        (metrics.Demos(states=zeros[0], actions=zeros[0]), r"must have shape \[N, H\]"),
    ):
        for irl, config in (
            (maxent_irl, MaxEntConfig(horizon=4, num_iterations=1)),
            (deep_maxent_irl, DeepMaxEntConfig(horizon=4, num_iterations=1)),
            (max_margin_irl, MaxMarginConfig(horizon=4, num_iterations=1)),
            (mwal_irl, MWALConfig(horizon=4, num_iterations=1)),
        ):
            with pytest.raises(DataError, match=match):
                irl(key, mdp, bad, config)
    mixed = metrics.Demos(states=zeros.at[0, 1].set(-1), actions=zeros.at[1, 2].set(5))
    counts = jax.jit(lambda d: metrics.empirical_visitation(d, 9, 5))(mixed)
    np.testing.assert_allclose(counts.sum(), 6 / 2)  # 8 steps, 2 out of range, over 2 demos
    assert float(counts[0, 0]) == 3.0


def test_deep_maxent_vmapped_over_seeds_is_each_seed_alone():
    """The reward network has no output bias: a constant reward changes no policy, so its
    gradient was rounding noise that Adam turned into an offset differing between a vmapped
    seed and the same seed alone (0.004 here); now they agree to float32 rounding."""
    mdp = mdp_lib.gridworld(4)
    horizon = 6
    expert = planning.soft_value_iteration(mdp, mdp.reward, horizon=horizon).policy
    keys = jax.random.split(jax.random.PRNGKey(1), 3)
    demos = jax.vmap(lambda k: metrics.sample_demos(k, mdp, expert, 8, horizon))(keys)
    config = DeepMaxEntConfig(horizon=horizon, num_iterations=5, hidden_sizes=(8,))
    both = jax.jit(jax.vmap(lambda k, d: deep_maxent_irl(k, mdp, d, config)))(keys, demos)
    alone = deep_maxent_irl(keys[0], mdp, jax.tree.map(lambda x: x[0], demos), config)
    np.testing.assert_allclose(both.reward[0], alone.reward, atol=1e-5)


def test_every_tabular_irl_algorithm_runs_under_x64_as_in_float32():
    """(A review: under `jax_enable_x64` every tabular IRL crashed: weights made float32 met
    counts from a `jnp.zeros` without a dtype, float64 there; and `sample_demos` carried an
    int64 start state into a loop whose sparse successors are int32.) They compute in float32
    either way; MaxEnt learns the same reward (compiling each twice would double the test)."""
    mdp = mdp_lib.gridworld(4, features="onehot")
    policy = planning.soft_value_iteration(mdp, mdp.reward, horizon=6).policy
    demos = metrics.sample_demos(jax.random.PRNGKey(0), mdp, policy, 8, 6)
    key = jax.random.PRNGKey(1)
    runs = (
        (maxent_irl, MaxEntConfig(horizon=6, num_iterations=3, causal=True, one_pass=True)),
        (deep_maxent_irl, DeepMaxEntConfig(horizon=6, num_iterations=3, hidden_sizes=(8,))),
        (
            max_margin_irl,
            MaxMarginConfig(method="planning", horizon=6, num_iterations=3, qp_steps=20),
        ),
        (mwal_irl, MWALConfig(horizon=6, num_iterations=3)),
    )
    single = maxent_irl(key, mdp, demos, runs[0][1]).reward
    with jax.enable_x64(True):
        double = [irl(key, mdp, demos, config).reward for irl, config in runs]
        world = mdp_lib.gridworld(4, format="sparse")  # int32 successors
        sampled = metrics.sample_demos(key, world, policy, 2, 6)
        metrics.validate_demos(world, sampled)
        assert sampled.states.dtype == sampled.actions.dtype == jnp.int32
        gap = metrics.random_policy_gap(mdp, jnp.asarray(mdp.reward, jnp.float64), horizon=6)
        assert gap.dtype == jnp.float64
    for (irl, config), got in zip(runs, double, strict=True):
        assert got.dtype == jnp.float32 and bool(jnp.isfinite(got).all()), (irl.__name__, config)
    np.testing.assert_allclose(double[0], single, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: MWALConfig(num_iterations=0), r"^mwal.num_iterations must be >= 1, got 0$"),
        (lambda: MWALConfig(discount=float("nan")), "mwal.discount must be a finite number"),
        (lambda: MWALConfig(discount=-0.1), r"mwal.discount must be in \[0, 1\], got -0.1"),
        (lambda: MWALConfig(horizon=0), "mwal.horizon must be >= 1"),
        (lambda: MaxMarginConfig(margin_c=-1.0), "max_margin.margin_c must be > 0, got -1.0"),
        (lambda: MaxMarginConfig(margin_c=0), "max_margin.margin_c must be > 0"),
        (lambda: MaxMarginConfig(loss_scale=0.0), "max_margin.loss_scale must be > 0"),
        (lambda: MaxMarginConfig(qp_steps=0), "max_margin.qp_steps must be >= 1"),
        (lambda: MaxMarginConfig(method="projecton"), "max_margin.method must be one of"),
        (lambda: MaxMarginConfig(num_iterations=2.5), "max_margin.num_iterations must be an int"),
        (lambda: MaxEntConfig(num_iterations=-1), "maxent.num_iterations must be >= 1, got -1"),
        (lambda: MaxEntConfig(learning_rate=-0.1), "maxent.learning_rate must be > 0"),
        (lambda: MaxEntConfig(l2=-1.0), "maxent.l2 must be >= 0"),
        (lambda: MaxEntConfig(causal=True, l2=-1.0), "maxcausalent.l2 must be >= 0"),
        (lambda: MaxEntConfig(horizon=8.0), "maxent.horizon must be an integer, got 8.0"),
        (lambda: MaxEntConfig(discount=1.5), r"maxent.discount must be in \[0, 1\], got 1.5"),
        (lambda: MaxEntConfig(horizon=None), "maxent.horizon: null .* maxent.discount < 1"),
        (
            lambda: MaxEntConfig(horizon=None, discount=0.9, one_pass=True),
            "maxent.one_pass needs a finite maxent.horizon",
        ),
        (lambda: MaxEntConfig(causal="yes"), "maxent.causal must be true or false"),
        (lambda: DeepMaxEntConfig(hidden_sizes=(0,)), "deep_maxent.hidden_sizes must list"),
        (lambda: DeepMaxEntConfig(hidden_sizes=(8.5,)), "deep_maxent.hidden_sizes must be a"),
        (lambda: DeepMaxEntConfig(weight_decay=-1.0), "deep_maxent.weight_decay must be >= 0"),
        (lambda: DeepMaxEntConfig(learning_rate=0.0), "deep_maxent.learning_rate must be > 0"),
        (lambda: DeepMaxEntConfig(num_iterations=0), "deep_maxent.num_iterations must be >= 1"),
    ],
)
def test_bad_tabular_configs_raise_one_line_config_errors(make, match):
    """(A review: MWAL with 0 rounds returned NaN weights, max-margin with C <= 0 kept no
    margin, MaxEnt with -1 iterations raised an MLIRError and took a negative learning rate,
    descending the likelihood.)"""
    from jirl.errors import ConfigError

    with pytest.raises(ConfigError, match=match) as err:
        make()
    assert "\n" not in str(err.value)


def test_a_list_of_hidden_sizes_is_kept_as_a_tuple():
    """A config is static (`jit`'s static argument): a list left it unhashable."""
    config = DeepMaxEntConfig(hidden_sizes=[8, 8])
    assert config.hidden_sizes == (8, 8) and hash(config) == hash(
        DeepMaxEntConfig(hidden_sizes=(8, 8))
    )


def test_each_tabular_irl_function_refuses_another_ones_config():
    """(`maxent_irl(..., MWALConfig())`: AttributeError 'MWALConfig' has no attribute 'causal'.)"""
    mdp = linear_gridworld()
    demos = expert_demos(mdp, 2)
    key = jax.random.PRNGKey(0)
    irls = {
        maxent_irl: MaxEntConfig,
        deep_maxent_irl: DeepMaxEntConfig,
        max_margin_irl: MaxMarginConfig,
        mwal_irl: MWALConfig,
    }
    for irl, cls in irls.items():
        other = MWALConfig if cls is not MWALConfig else MaxEntConfig
        expected = f"expected a config of type {cls.__name__}, got"
        with pytest.raises(ConfigError, match=f"{expected} {other.__name__}"):
            irl(key, mdp, demos, other(num_iterations=1))
        with pytest.raises(ConfigError, match=f"{expected} dict"):
            irl(key, mdp, demos, {"num_iterations": 1})
