import jax.numpy as jnp
import numpy as np

from jirl.rl.advantages import batched_gae, gae


def reference(r, v, v_next, term, done, gamma, lam):
    adv = np.zeros_like(r)
    nxt = 0.0
    for t in reversed(range(len(r))):
        delta = r[t] + gamma * (1 - term[t]) * v_next[t] - v[t]
        nxt = delta + gamma * lam * (1 - done[t]) * nxt
        adv[t] = nxt
    return adv


def test_gae_by_hand():
    # two steps, no ending: delta_1 = 1 + 0.5*3 - 2 = 0.5; delta_0 = 1 + 0.5*2 - 1 = 1
    # A_1 = 0.5; A_0 = 1 + 0.5*0.5*0.5 = 1.125
    adv, target = gae(
        jnp.array([1.0, 1.0]),
        jnp.array([1.0, 2.0]),
        jnp.array([2.0, 3.0]),
        jnp.array([False, False]),
        jnp.array([False, False]),
        0.5,
        0.5,
    )
    np.testing.assert_allclose(adv, [1.125, 0.5])
    np.testing.assert_allclose(target, [2.125, 2.5])


def test_truncation_bootstraps_but_stops_recursion():
    r = jnp.array([1.0, 1.0, 1.0])
    v = jnp.array([0.0, 0.0, 0.0])
    v_next = jnp.array([10.0, 10.0, 10.0])
    done = jnp.array([False, True, False])
    term = jnp.array([False, False, False])
    adv, _ = gae(r, v, v_next, term, done, 0.9, 1.0)
    # step 1 was truncated: bootstrap from v_next but do not look past it
    np.testing.assert_allclose(adv[1], 1 + 0.9 * 10)
    adv_term, _ = gae(r, v, v_next, done, done, 0.9, 1.0)
    np.testing.assert_allclose(adv_term[1], 1.0)


def test_batched_matches_reference():
    rng = np.random.default_rng(0)
    T, B = 7, 3
    r, v, vn = (rng.normal(size=(T, B)).astype(np.float32) for _ in range(3))
    done = rng.random((T, B)) < 0.3
    term = done & (rng.random((T, B)) < 0.5)
    adv, _ = batched_gae(r, v, vn, term, done, 0.99, 0.95)
    for b in range(B):
        np.testing.assert_allclose(
            adv[:, b],
            reference(r[:, b], v[:, b], vn[:, b], term[:, b], done[:, b], 0.99, 0.95),
            rtol=1e-5,
            atol=1e-5,
        )


def test_values_past_an_ending_never_reach_the_advantages():
    """V of the state after a termination, and the advantage after an episode's end, are
    dropped, not multiplied by 0: an inf there (a diverged state) leaves the rest finite."""
    r, v = jnp.ones(3), jnp.zeros(3)
    ended = jnp.array([False, False, True])
    adv, _ = gae(r, v, jnp.array([0.0, 0.0, jnp.inf]), ended, ended, 0.99, 0.95)
    np.testing.assert_allclose(adv[2], 1.0)
    assert bool(jnp.all(jnp.isfinite(adv)))
    # the next episode's NaN advantage does not flow back across the boundary
    adv, _ = gae(
        jnp.array([1.0, jnp.nan]),
        jnp.zeros(2),
        jnp.zeros(2),
        jnp.array([True, False]),
        jnp.array([True, False]),
        0.99,
        0.95,
    )
    np.testing.assert_allclose(adv[0], 1.0)
