"""Planners against an independent float64 NumPy reference written with plain loops."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jirl.errors import ConfigError
from jirl.tabular import mdp as mdp_lib
from jirl.tabular import metrics, planning

NUM_STATES, NUM_ACTIONS, BRANCHING, HORIZON, DISCOUNT = 7, 3, 3, 6, 0.8


# --------------------------------------------------------------------------- reference


def ref_dense(mdp):
    return np.asarray(mdp_lib.to_dense(mdp).transition, np.float64)


def ref_reward(reward, num_actions):
    r = np.asarray(reward, np.float64)
    return np.repeat(r[:, None], num_actions, axis=1) if r.ndim == 1 else r


def ref_backup(q, soft):
    num_states, num_actions = q.shape
    v = np.zeros(num_states)
    pi = np.zeros((num_states, num_actions))
    for s in range(num_states):
        if soft:
            m = max(q[s])
            v[s] = m + np.log(sum(np.exp(q[s, a] - m) for a in range(num_actions)))
            for a in range(num_actions):
                pi[s, a] = np.exp(q[s, a] - v[s])
        else:
            best = int(np.argmax(q[s]))
            v[s] = q[s, best]
            pi[s, best] = 1.0
    return v, pi


def ref_bellman(t, r, v_next, discount):
    num_states, num_actions, _ = t.shape
    q = np.zeros((num_states, num_actions))
    for s in range(num_states):
        for a in range(num_actions):
            q[s, a] = r[s, a] + discount * sum(t[s, a, s2] * v_next[s2] for s2 in range(num_states))
    return q


def ref_plan(t, r, horizon, discount, soft):
    if horizon is None:
        v = np.zeros(t.shape[0])
        for _ in range(400):  # 0.8**400: converged far below 1e-12
            v, _ = ref_backup(ref_bellman(t, r, v, discount), soft)
        q = ref_bellman(t, r, v, discount)
        v, pi = ref_backup(q, soft)
        return v, q, pi
    vs, qs, pis = [None] * horizon, [None] * horizon, [None] * horizon
    qs[-1] = r
    vs[-1], pis[-1] = ref_backup(r, soft)
    for step in reversed(range(horizon - 1)):
        qs[step] = ref_bellman(t, r, vs[step + 1], discount)
        vs[step], pis[step] = ref_backup(qs[step], soft)
    return np.stack(vs), np.stack(qs), np.stack(pis)


def ref_visitation(t, initial, pi, horizon, discount):
    num_states, num_actions, _ = t.shape
    steps = horizon if horizon is not None else 400
    d = np.asarray(initial, np.float64)
    states, flows = [], []
    for step in range(steps):
        p = pi[step] if pi.ndim == 3 else pi
        flow = np.zeros((num_states, num_actions))
        nxt = np.zeros(num_states)
        for s in range(num_states):
            for a in range(num_actions):
                flow[s, a] = d[s] * p[s, a]
                for s2 in range(num_states):
                    nxt[s2] += flow[s, a] * t[s, a, s2]
        states.append(d)
        flows.append(flow)
        d = nxt
    weights = discount ** np.arange(steps)
    summed_sa = sum(w * f for w, f in zip(weights, flows, strict=True))
    return np.stack(states), np.stack(flows), summed_sa


# --------------------------------------------------------------------------- fixtures


def random_mdp(fmt, seed=0):
    key = jax.random.PRNGKey(seed)
    if fmt == "grid":
        rng = np.random.default_rng(seed)
        move_prob = rng.dirichlet(np.ones(5), size=4)
        initial = rng.dirichlet(np.ones(12))
        return mdp_lib.grid_mdp((3, 4), move_prob, initial)
    mdp = mdp_lib.garnet(NUM_STATES, NUM_ACTIONS, BRANCHING, key, dense=fmt == "dense")
    initial = np.random.default_rng(seed).dirichlet(np.ones(mdp.num_states))
    if fmt.startswith("sparse"):
        # One sparse MDP in its three planning paths: band table, predecessor gather, scatter.
        mdp = mdp_lib.sparse_mdp(
            mdp.next_state,
            mdp.prob,
            initial,
            max_bands=2 * NUM_STATES if fmt == "sparse_band" else 0,
            predecessors=fmt != "sparse_scatter",
        )
        assert (mdp.band_prob is not None) == (fmt == "sparse_band")
    return mdp.replace(initial=jnp.asarray(initial, jnp.float32))


def random_reward(mdp, state_action, seed=1):
    shape = (mdp.num_states, mdp.num_actions) if state_action else (mdp.num_states,)
    return jax.random.uniform(jax.random.PRNGKey(seed), shape)


FORMATS = ["dense", "sparse", "sparse_band", "sparse_scatter", "grid"]


# The scatter variant differs from "sparse" only in the forward (visitation) pass.
@pytest.mark.parametrize("fmt", ["dense", "sparse", "sparse_band", "grid"])
@pytest.mark.parametrize("horizon", [HORIZON, None])
@pytest.mark.parametrize("state_action", [False, True])
@pytest.mark.parametrize("soft", [True, False])
def test_value_iteration_matches_reference(fmt, horizon, state_action, soft):
    mdp = random_mdp(fmt)
    reward = random_reward(mdp, state_action)
    discount = 1.0 if horizon else DISCOUNT
    planner = planning.soft_value_iteration if soft else planning.value_iteration
    plan = jax.jit(lambda m, r: planner(m, r, horizon=horizon, discount=discount, tol=1e-7))(
        mdp, reward
    )
    v, q, pi = ref_plan(
        ref_dense(mdp), ref_reward(reward, mdp.num_actions), horizon, discount, soft
    )
    np.testing.assert_allclose(plan.values, v, atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(plan.q_values, q, atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(plan.policy, pi, atol=1e-5)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("horizon", [HORIZON, None])
def test_visitation_matches_reference(fmt, horizon):
    mdp = random_mdp(fmt)
    discount = 0.9 if horizon else DISCOUNT
    pi = planning.soft_value_iteration(
        mdp, random_reward(mdp, True), horizon=horizon, discount=DISCOUNT
    ).policy
    t = ref_dense(mdp)
    states, flows, summed = ref_visitation(
        t, mdp.initial, np.asarray(pi, np.float64), horizon, discount
    )
    vis = planning.visitation(mdp, pi, horizon=horizon, discount=discount, tol=1e-7)
    np.testing.assert_allclose(vis.state_action, summed, atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(vis.state, summed.sum(-1), atol=1e-5, rtol=1e-5)
    if horizon:
        timed = planning.visitation(mdp, pi, time_indexed=True)
        np.testing.assert_allclose(timed.state, states, atol=1e-5)
        np.testing.assert_allclose(timed.state_action, flows, atol=1e-5)
        # A stationary policy with a horizon: same recursion with π_t = π.
        stat = planning.visitation(mdp, pi[0], horizon=horizon, discount=discount)
        _, _, summed_stat = ref_visitation(t, mdp.initial, np.asarray(pi[0]), horizon, discount)
        np.testing.assert_allclose(stat.state_action, summed_stat, atol=1e-5)


@pytest.mark.parametrize("fmt", ["dense", "sparse", "sparse_band", "grid"])
@pytest.mark.parametrize("horizon", [HORIZON, None])
def test_policy_evaluation_matches_reference(fmt, horizon):
    mdp = random_mdp(fmt)
    reward = random_reward(mdp, True)
    discount = 0.95 if horizon else DISCOUNT
    pi = jax.nn.softmax(jax.random.normal(jax.random.PRNGKey(3), (mdp.num_states, mdp.num_actions)))
    plan = planning.policy_evaluation(mdp, reward, pi, horizon=horizon, discount=discount, tol=1e-7)
    t, r, p = ref_dense(mdp), ref_reward(reward, mdp.num_actions), np.asarray(pi, np.float64)
    steps = horizon or 400
    v = (p * r).sum(-1)
    for _ in range(steps - 1):
        v = (p * ref_bellman(t, r, v, discount)).sum(-1)
    values = plan.values[0] if horizon else plan.values
    np.testing.assert_allclose(values, v, atol=1e-5, rtol=1e-5)
    # Policy evaluation of the soft-optimal policy with the entropy bonus equals soft VI's value.
    soft = planning.soft_value_iteration(mdp, reward, horizon=horizon, discount=discount, tol=1e-7)
    bonus = reward - jnp.log(soft.policy if horizon is None else soft.policy[0])
    if horizon is None:
        ent = planning.policy_evaluation(
            mdp, bonus, soft.policy, discount=discount, tol=1e-7
        ).values
        np.testing.assert_allclose(ent, soft.values, atol=1e-4, rtol=1e-5)


@pytest.mark.parametrize("fmt", ["dense", "sparse", "sparse_band", "grid"])
def test_one_pass_feature_expectations_match_visitation(fmt):
    """State-action features φ(s, a) `[S, A, F]`, and state features f(s) `[S, F]` (a state
    reward's, never broadcast over actions) counted as their broadcast would be."""
    mdp = random_mdp(fmt)
    reward = random_reward(mdp, True)
    feats = jax.random.normal(jax.random.PRNGKey(5), (mdp.num_states, mdp.num_actions, 4))
    state_feats = feats[:, 0]
    plan = planning.soft_value_iteration(mdp, reward, horizon=HORIZON, discount=0.9)
    vis = planning.visitation(mdp, plan.policy, discount=0.9)
    broadcast = jnp.broadcast_to(state_feats[:, None], feats.shape)
    for phi, want in ((feats, feats), (state_feats, broadcast)):
        counts, log_z = planning.soft_expected_features(
            mdp, reward, phi, horizon=HORIZON, discount=0.9
        )
        expected = jnp.einsum("sa,saf->f", vis.state_action, want)
        np.testing.assert_allclose(counts, expected, atol=1e-5)
        np.testing.assert_allclose(
            metrics.feature_counts(vis.state_action, phi), expected, atol=1e-5
        )
        np.testing.assert_allclose(log_z, mdp.initial @ plan.values[0], atol=1e-5)


def test_log_partition_gradient_is_visitation():
    """∂(initial · V_0)/∂r = Σ_t D_t π_t: the MaxEnt identity the IRL gradient relies on."""
    mdp = random_mdp("sparse")
    reward = random_reward(mdp, True)
    grad = jax.grad(
        lambda r: mdp.initial @ planning.soft_value_iteration(mdp, r, horizon=HORIZON).values[0]
    )(reward)
    plan = planning.soft_value_iteration(mdp, reward, horizon=HORIZON)
    np.testing.assert_allclose(grad, planning.visitation(mdp, plan.policy).state_action, atol=1e-5)


def test_visitation_vmaps_over_policies():
    mdp = random_mdp("sparse")
    rewards = jax.random.uniform(jax.random.PRNGKey(0), (4, mdp.num_states))
    plans = jax.vmap(lambda r: planning.soft_value_iteration(mdp, r, horizon=HORIZON))(rewards)
    vis = jax.vmap(lambda p: planning.visitation(mdp, p))(plans.policy)
    assert vis.state.shape == (4, mdp.num_states)
    np.testing.assert_allclose(vis.state.sum(-1), HORIZON, rtol=1e-5)


@pytest.mark.parametrize("fmt", FORMATS)
def test_operators_are_transposes(fmt):
    """push is the transpose of expect, in every format: <flow, expect(v)> = <push(flow), v>."""
    mdp = random_mdp(fmt)
    ops = planning.transition_operators(mdp)
    v = jax.random.normal(jax.random.PRNGKey(7), (mdp.num_states,))
    flow = jax.random.uniform(jax.random.PRNGKey(8), (mdp.num_states, mdp.num_actions))
    t = ref_dense(mdp)
    np.testing.assert_allclose(ops.expect(v), t @ np.asarray(v, np.float64), atol=1e-5)
    np.testing.assert_allclose(
        ops.push(flow), np.einsum("sa,sat->t", np.asarray(flow, np.float64), t), atol=1e-5
    )


@pytest.mark.parametrize("fmt", ["dense", "sparse_band", "grid"])
def test_vmapped_planning_matches_one_by_one(fmt):
    """A batch of rewards over one closed-over MDP gives each problem's own answer."""
    mdp = random_mdp(fmt)
    rewards = jax.random.normal(jax.random.PRNGKey(9), (3, mdp.num_states))

    def grad(r):
        plan = planning.soft_value_iteration(mdp, r, horizon=HORIZON)
        return planning.visitation(mdp, plan.policy).state

    batched = jax.jit(jax.vmap(grad))(rewards)
    for i in range(3):
        np.testing.assert_allclose(batched[i], grad(rewards[i]), atol=1e-5)


# --------------------------------------------------------------------------- soft_visitation


def soft_visitation_reference(mdp, reward, horizon, discount):
    """The same quantities from soft VI + visitation (each already checked against NumPy)."""
    plan = planning.soft_value_iteration(mdp, reward, horizon=horizon, discount=discount, tol=1e-7)
    vis = planning.visitation(mdp, plan.policy, horizon=horizon, discount=discount, tol=1e-7)
    return mdp.initial @ (plan.values[0] if horizon else plan.values), vis.state_action


#: `soft_visitation`'s cases: every format and horizon with π_t stored, and π_t recomputed from
#: the values where `soft_visitation` can do that (finite horizons on shift formats).
SOFT_VISITATION_CASES = [
    (fmt, horizon, discount, "stored")
    for fmt in FORMATS
    for horizon, discount in [(HORIZON, 1.0), (HORIZON, 0.9), (None, DISCOUNT)]
] + [
    (fmt, HORIZON, discount, "recomputed")
    for fmt in ["sparse_band", "grid"]
    for discount in [1.0, 0.9]
]


@pytest.mark.parametrize("fmt, horizon, discount, store", SOFT_VISITATION_CASES)
def test_soft_visitation_vmapped_matches_one_by_one(fmt, horizon, discount, store, monkeypatch):
    """vmap over rewards (batch carried as trailing columns) = the per-problem loop = reference,
    with π_t stored or (`POLICY_STORE_BYTES` = 0) recomputed in the forward pass."""
    recomputed, real = [], planning._recomputed_policy
    spy = lambda *a, **k: recomputed.append(1) or real(*a, **k)
    monkeypatch.setattr(planning, "_recomputed_policy", spy)
    monkeypatch.setattr(planning, "MIN_SHIFT_COLUMNS", 0)  # 3 problems as columns, every format
    if store == "recomputed":
        monkeypatch.setattr(planning, "POLICY_STORE_BYTES", 0)
    mdp = random_mdp(fmt)
    rewards = jax.random.normal(jax.random.PRNGKey(9), (3, mdp.num_states, mdp.num_actions))

    def solve(r):
        log_z, vis = planning.soft_visitation(mdp, r, horizon=horizon, discount=discount, tol=1e-7)
        return log_z, vis.state_action

    batched = jax.jit(jax.vmap(solve))(rewards)
    for i in range(3):
        one = jax.jit(solve)(rewards[i])
        ref = soft_visitation_reference(mdp, rewards[i], horizon, discount)
        for got_batched, got_one, want in zip(batched, one, ref, strict=True):
            np.testing.assert_allclose(got_batched[i], got_one, atol=1e-5, rtol=1e-5)
            np.testing.assert_allclose(got_one, want, atol=1e-5, rtol=1e-5)
    assert bool(recomputed) == (store == "recomputed")  # the path the case names was taken


@pytest.mark.parametrize("fmt", ["sparse_band", "grid"])
@pytest.mark.parametrize("problems", [3, 10, 17])
def test_few_problems_of_a_shift_format_run_one_by_one_or_padded(fmt, problems):
    """Band and grid shifts over fewer than `MIN_SHIFT_COLUMNS` columns compile to slow loops
    on the CPU (4 problems vmapped: 22.2 ms against 4.7 ms one by one, 32x32 gridworld): below
    half of it they run one after another (3), from half on padded to that many columns (10),
    and from it on as columns (17). Each way gives what the problem alone gives."""
    mdp = random_mdp(fmt)
    rewards = jax.random.normal(jax.random.PRNGKey(4), (problems, mdp.num_states))

    def solve(r):
        log_z, vis = planning.soft_visitation(mdp, r, horizon=HORIZON)
        return log_z, vis.state_action

    batched = jax.jit(jax.vmap(solve))(rewards)
    assert batched[1].shape == (problems, mdp.num_states, mdp.num_actions)
    for i in (0, problems - 1):
        for got, want in zip(batched, jax.jit(solve)(rewards[i]), strict=True):
            np.testing.assert_allclose(got[i], want, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("fmt", ["dense", "sparse_band", "grid"])
@pytest.mark.parametrize("min_columns", [0, planning.MIN_SHIFT_COLUMNS])
def test_soft_visitation_nested_vmap_and_batched_dynamics(fmt, min_columns, monkeypatch):
    """seeds × problems nest columns (or, few, run one by one); a batched initial distribution
    falls back to plain vmap."""
    monkeypatch.setattr(planning, "MIN_SHIFT_COLUMNS", min_columns)
    mdp = random_mdp(fmt)
    rewards = jax.random.normal(jax.random.PRNGKey(3), (2, 3, mdp.num_states))

    def log_z(m, r):
        return planning.soft_visitation(m, r, horizon=HORIZON)[0]

    nested = jax.jit(jax.vmap(jax.vmap(log_z, in_axes=(None, 0)), in_axes=(None, 0)))(mdp, rewards)
    initials = jnp.stack([mdp.initial, jnp.roll(mdp.initial, 1)])
    own = jax.vmap(lambda i, r: log_z(mdp.replace(initial=i), r))(initials, rewards[:, 0])
    for i in range(2):
        own_i = log_z(mdp.replace(initial=initials[i]), rewards[i, 0])
        np.testing.assert_allclose(own[i], own_i, atol=1e-5, rtol=1e-6)
        for j in range(3):
            np.testing.assert_allclose(nested[i, j], log_z(mdp, rewards[i, j]), rtol=1e-6)


@pytest.mark.parametrize("horizon, discount", [(HORIZON, 0.9), (None, DISCOUNT)])
def test_soft_visitation_log_partition_gradient_is_visitation(horizon, discount):
    """The custom VJP: ∂ log Z / ∂r = the visitation, also under vmap; the visitation's raises."""
    mdp = random_mdp("sparse_band")
    rewards = random_reward(mdp, True)[None] + jnp.arange(2.0)[:, None, None]

    def log_z(r):
        return planning.soft_visitation(mdp, r, horizon=horizon, discount=discount, tol=1e-7)[0]

    grads = jax.vmap(jax.grad(log_z))(rewards)
    for i in range(2):
        want = soft_visitation_reference(mdp, rewards[i], horizon, discount)[1]
        np.testing.assert_allclose(grads[i], want, atol=1e-5)
    with pytest.raises(NotImplementedError, match="log partition only"):
        jax.grad(lambda r: planning.soft_visitation(mdp, r, horizon=HORIZON)[1].state.sum())(
            rewards[0]
        )
    # a traced discount: a ConcretizationTypeError from `float` (the other planners take one)
    with pytest.raises(ValueError, match="takes discount as a Python float, not a traced"):
        jax.vmap(lambda d: planning.soft_visitation(mdp, rewards[0], horizon=3, discount=d))(
            jnp.asarray([0.9, 0.99])
        )


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("materialised_flow", [False, True])
def test_operators_take_trailing_columns(fmt, materialised_flow):
    """expect and push on [S, C] / [S, A, C] act column by column, in both band push forms."""
    mdp = random_mdp(fmt)
    ops = planning.transition_operators(mdp, materialised_flow=materialised_flow)
    v = jax.random.normal(jax.random.PRNGKey(7), (mdp.num_states, 2))
    flow = jax.random.uniform(jax.random.PRNGKey(8), (mdp.num_states, mdp.num_actions, 2))
    t = ref_dense(mdp)
    np.testing.assert_allclose(ops.expect(v), np.einsum("sat,tc->sac", t, v), atol=1e-5)
    np.testing.assert_allclose(ops.push(flow), np.einsum("sac,sat->tc", flow, t), atol=1e-5)


def test_a_numpy_integer_horizon_is_taken_and_a_bool_or_float_is_refused():
    """A horizon read from an array (`np.int64`) plans as the int it is; True, 5.0 and 0 are
    refused with the planners' one message."""
    mdp = mdp_lib.gridworld(3)
    reward = jnp.arange(mdp.num_states, dtype=jnp.float32)
    want = planning.soft_value_iteration(mdp, reward, horizon=5).policy
    got = planning.soft_value_iteration(mdp, reward, horizon=np.int64(5)).policy
    np.testing.assert_array_equal(got, want)
    _, visits = planning.soft_visitation(mdp, reward, horizon=np.int32(5))
    np.testing.assert_allclose(visits.state.sum(), 5.0, rtol=1e-5)
    for bad in (True, 5.0, 0):
        with pytest.raises(ConfigError, match="horizon must be a positive int"):
            planning.soft_value_iteration(mdp, reward, horizon=bad)


def test_a_reward_of_another_shape_or_a_bad_discount_is_refused_and_an_int_reward_plans():
    """(A review: `[A, S]`, one state short, a scalar gave chex's or broadcasting's errors; an
    int reward a scan-carry TypeError; a finite horizon took a discount of 1.5 or NaN.)"""
    mdp = mdp_lib.gridworld(3)
    s, a = mdp.num_states, mdp.num_actions
    for bad in (jnp.zeros((a, s)), jnp.zeros(s - 1), jnp.zeros(()), jnp.zeros((s, a, 1))):
        with pytest.raises(ConfigError, match=r"reward must have shape \[S\] = \(9,\) or"):
            planning.soft_value_iteration(mdp, bad, horizon=4)
    with pytest.raises(ConfigError, match="reward must hold real numbers"):
        planning.value_iteration(mdp, jnp.zeros(s, jnp.complex64), horizon=4)
    whole = jnp.arange(s)
    np.testing.assert_array_equal(
        planning.value_iteration(mdp, whole, horizon=4).policy,
        planning.value_iteration(mdp, whole.astype(jnp.float32), horizon=4).policy,
    )
    policy = planning.soft_value_iteration(mdp, whole * 1.0, horizon=4).policy
    plans = (
        lambda d: planning.soft_value_iteration(mdp, whole * 1.0, horizon=4, discount=d),
        lambda d: planning.visitation(mdp, policy, discount=d),
        lambda d: planning.policy_evaluation(mdp, whole * 1.0, policy, discount=d),
        lambda d: planning.soft_visitation(mdp, whole * 1.0, horizon=4, discount=d),
        lambda d: planning.soft_expected_features(
            mdp, whole * 1.0, mdp.features, horizon=4, discount=d
        ),
    )
    for bad in (1.5, -0.5, float("nan")):
        for plan in plans:
            with pytest.raises(ConfigError, match="discount must be in \\[0, 1\\], got"):
                plan(bad)


@pytest.mark.parametrize("horizon,discount", [(16, 1.0), (None, 0.95)])
def test_the_greedy_policy_does_not_depend_on_the_rewards_scale(horizon, discount):
    """Scaling a reward keeps its greedy policy: EVD(r, c·r) = 0 for c = 1e-7 too (the tie
    tolerance and the fixed point's stopping rule had an absolute floor of 1, so every action
    of a reward below ~1e-6 tied and the planner stayed put: EVD 7.66, the worst)."""
    from jirl.tabular import metrics

    mdp = mdp_lib.gridworld(8, slip=0.1)
    plan = dict(horizon=horizon, discount=discount)
    assert float(metrics.random_policy_gap(mdp, mdp.reward, **plan)) > 1.0
    for scale in (1.0, 1e-7):
        evd = metrics.expected_value_difference(mdp, mdp.reward, scale * mdp.reward, **plan)
        assert abs(float(evd)) < 1e-4, (scale, float(evd))
    # nor does one large penalty on an action the optimal policy never needs (a wall): the
    # floor is never above 1 (the largest |r| alone tied every action of every state)
    walled = jnp.broadcast_to(mdp.reward[:, None], (mdp.num_states, mdp.num_actions))
    walled = walled.at[0, 1].set(-1e6)  # state 0 moving up: into the border anyway
    evd = metrics.expected_value_difference(mdp, mdp.reward, walled, **plan)
    assert abs(float(evd)) < 1e-4, float(evd)
    policy = planning.value_iteration(mdp, walled, **plan).policy
    exact = planning.policy_evaluation(mdp, walled, policy, **plan, tol=1e-9).values
    loose = planning.policy_evaluation(mdp, walled, policy, **plan).values
    np.testing.assert_allclose(loose, exact, atol=1e-3)


def test_a_masked_action_has_probability_and_value_zero():
    """A reward of −inf masks an action: value iteration never takes it and evaluating the
    greedy policy gives the planner's own values (0·(−inf) was NaN)."""
    mdp = mdp_lib.gridworld(3, slip=0.1)
    r = np.zeros((mdp.num_states, mdp.num_actions), np.float32)
    r[:, 0] = -np.inf
    r[-1, 1:] = 1.0
    r = jnp.asarray(r)
    for plan in (dict(horizon=5), dict(discount=0.9)):
        best = planning.value_iteration(mdp, r, **plan)
        assert float(best.policy[..., 0].max()) == 0.0
        values = planning.policy_evaluation(mdp, r, best.policy, **plan).values
        np.testing.assert_allclose(values, best.values, rtol=1e-5, atol=1e-5)
        soft = planning.soft_value_iteration(mdp, r, **plan)
        assert np.isfinite(soft.values).all() and float(soft.policy[..., 0].max()) == 0.0


# --------------------------------------------------------------------------- dtypes and shapes


def _plans(mdp, reward, features):
    """Every planner's output on one reward, finite and infinite horizon: {name: array}."""
    out = {}
    for name, kw in (("finite", dict(horizon=HORIZON, discount=0.9)), ("inf", dict(discount=0.8))):
        soft = planning.soft_value_iteration(mdp, reward, **kw)
        log_z, vis = planning.soft_visitation(mdp, reward, **kw)
        out |= {
            f"{name} soft values": soft.values,
            f"{name} hard values": planning.value_iteration(mdp, reward, **kw).values,
            f"{name} log partition": log_z,
            f"{name} soft visitation": vis.state_action,
            f"{name} visitation": planning.visitation(mdp, soft.policy, **kw).state_action,
            f"{name} evaluation": planning.policy_evaluation(mdp, reward, soft.policy, **kw).values,
        }
    time_indexed = planning.visitation(mdp, soft.policy, horizon=HORIZON, time_indexed=True)
    out["time-indexed visitation"] = time_indexed.state
    out["one pass"] = planning.soft_expected_features(mdp, reward, features, horizon=HORIZON)[0]
    return out


@pytest.mark.parametrize("fmt", ["dense", "sparse"])  # (the shared loops: two formats suffice)
def test_a_float64_reward_plans_in_float64_under_x64_as_in_float32(fmt):
    """(A review: the planners' doc tells users to plan in float64 for γ ≳ 0.995, but under
    `jax_enable_x64` a float64 reward crashed `soft_visitation` and `visitation`: the start
    `mdp.initial` stayed float32 in a loop carry that the reward made float64.)"""
    mdp = random_mdp(fmt)
    reward = random_reward(mdp, False)
    features = jax.random.uniform(jax.random.PRNGKey(3), (mdp.num_states, 2))  # float32
    single = _plans(mdp, reward, features)
    with jax.enable_x64(True):
        double = _plans(mdp, jnp.asarray(reward, jnp.float64), features)
        gap = metrics.expected_value_difference(
            mdp, reward, jnp.asarray(reward, jnp.float64), horizon=HORIZON
        )
        assert float(gap) == pytest.approx(0.0, abs=1e-6)
    for name, value in double.items():
        assert value.dtype == jnp.float64, name
        assert single[name].dtype == jnp.float32, name
        np.testing.assert_allclose(value, single[name], rtol=1e-5, atol=1e-5, err_msg=name)


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16])
def test_a_half_precision_reward_plans_in_float32(dtype):
    """(A review: a bfloat16 or float16 reward crashed every value iteration, its values carried
    in the reward's dtype but updated in float32 by the float32 transitions.)"""
    mdp = mdp_lib.gridworld(4)
    reward = (mdp.reward * 0.7 + 0.1).astype(dtype)
    features = jnp.ones((mdp.num_states, 2), dtype)
    double = _plans(mdp, reward, features)
    single = _plans(mdp, reward.astype(jnp.float32), features.astype(jnp.float32))
    for name, value in double.items():
        assert value.dtype == jnp.float32, name
        np.testing.assert_allclose(value, single[name], rtol=1e-6, atol=1e-6, err_msg=name)
    grad = jax.grad(lambda r: planning.soft_visitation(mdp, r, horizon=4)[0])(reward)
    assert grad.dtype == dtype
    gap = metrics.expected_value_difference(mdp, mdp.reward, reward, horizon=4)
    assert float(gap) == pytest.approx(0.0, abs=1e-6)


def test_a_policy_of_another_shape_is_refused_in_one_line():
    """(A review: a `[S, A − 1]` or transposed `[A, S]` policy gave a broadcasting TypeError in
    `visitation`, `policy_evaluation` and `policy_value_difference`, and `sample_demos` drew
    actions out of range from it without a word.)"""
    mdp = mdp_lib.gridworld(4)
    s, a = mdp.num_states, mdp.num_actions
    key = jax.random.PRNGKey(0)
    uses = {
        "visitation": lambda p: planning.visitation(mdp, p, horizon=3),
        "policy_evaluation": lambda p: planning.policy_evaluation(mdp, mdp.reward, p, horizon=3),
        "policy_value_difference": lambda p: metrics.policy_value_difference(
            mdp, mdp.reward, p, horizon=3
        ),
        "sample_demos": lambda p: metrics.sample_demos(key, mdp, p, 2, 3),
    }
    bad = (
        jnp.full((s, a - 1), 1.0 / (a - 1)),
        jnp.full((a, s), 1.0 / s),
        jnp.full((3, a, s), 1.0 / s),
        jnp.full((s,), 1.0),
    )
    for name, use in uses.items():
        for policy in bad:
            with pytest.raises(
                ValueError, match=r"policy must have shape \[S, A\] = \(16, 5\) or "
            ) as err:
                use(policy)
            assert "\n" not in str(err.value), name
        use(jnp.full((s, a), 1.0 / a))  # the right shape still runs
        use(jnp.full((3, s, a), 1.0 / a))
    # the right shape but no distribution: a plan's q_values gave a value difference of
    # -1.5e8, a NaN policy sampled action 0 throughout (a Python-API review)
    q_values = planning.value_iteration(mdp, mdp.reward, horizon=3).q_values
    uniform = jnp.full((3, s, a), 1.0 / a)
    not_distributions = (
        (q_values, r"policy row \[0, 0\] sums to .*, not 1"),
        (uniform.at[2, 5].set(jnp.nan), "policy contains NaN or inf"),
        (uniform.at[1, 3, 0].set(-0.1).at[1, 3, 1].set(0.5), r"policy\[1, 3, 0\] = -0.1 is neg"),
        (jnp.zeros((s, a)), r"policy row \[0\] sums to 0, not 1"),
    )
    for use in uses.values():
        for policy, said in not_distributions:
            with pytest.raises(ValueError, match=said):
                use(policy)
    # traced, only its shape is checked: a jitted use compiles and runs
    jax.jit(uses["visitation"])(uniform)
    jax.jit(uses["policy_value_difference"])(uniform)
    # what jirl's own planners make passes: a half-precision soft policy (its rows sum to
    # 0.9985 in bfloat16), and the greedy policy of a finite reward whose values overflow
    # (inf − inf made its rows all zero: an EVD refused outside jit, 15.98 inside)
    soft = planning.soft_value_iteration(mdp, mdp.reward, horizon=3).policy
    for half in (jnp.bfloat16, jnp.float16):
        for use in uses.values():
            use(soft.astype(half))
    huge = jnp.full(s, 1e37, jnp.float32).at[3].set(-1e37)
    greedy = planning.value_iteration(mdp, huge, horizon=20).policy
    np.testing.assert_array_equal(greedy.sum(-1), 1.0)
    evd = lambda r: metrics.expected_value_difference(mdp, mdp.reward, r, horizon=20)  # noqa: E731
    assert np.isfinite(evd(huge)) and evd(huge) == jax.jit(evd)(huge)
