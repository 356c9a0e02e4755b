"""SMILe: the closed-form mixture weights, the expert's sampling probability, stacked members,
config errors and the CLI boundary. (Learning on cartpole is asserted in test_dagger.py, in the
one test that reports BC beside DAgger and SMILe.)"""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jirl
from jirl import cli, data, envs
from jirl.algos import smile
from jirl.errors import ConfigError


def recursive_weights(beta: float, rounds: int, max_rounds: int) -> np.ndarray:
    """The paper's update π_k = π_{k−1} + β(1−β)^(k−1)(π̂_k − π*), applied k times."""
    w = np.zeros(max_rounds + 1)
    w[0] = 1.0
    for k in range(1, min(rounds, max_rounds) + 1):
        step = beta * (1 - beta) ** (k - 1)
        w[k] += step
        w[0] -= step
    return w


@pytest.mark.parametrize("beta", [0.1, 0.3, 0.5, 1.0])
def test_mixture_weights_closed_form(beta):
    max_rounds = 6
    for k in range(max_rounds + 3):
        w = np.asarray(smile.mixture_weights(beta, k, max_rounds))
        assert w.shape == (max_rounds + 1,)
        np.testing.assert_allclose(w, recursive_weights(beta, k, max_rounds), atol=1e-6)
        kk = min(k, max_rounds)
        np.testing.assert_allclose(w[0], (1 - beta) ** kk, atol=1e-6)
        i = np.arange(1, max_rounds + 1)
        np.testing.assert_allclose(
            w[1:], np.where(i <= kk, beta * (1 - beta) ** (i - 1), 0.0), atol=1e-6
        )
        np.testing.assert_allclose(w.sum(), 1.0, atol=1e-6)
    # Traced rounds and beta give the same weights (a sweep may vmap over them).
    got = jax.vmap(lambda k: smile.mixture_weights(beta, k, max_rounds))(jnp.arange(4))
    np.testing.assert_allclose(got[3], recursive_weights(beta, 3, max_rounds), atol=1e-6)


def test_expert_chosen_with_probability_one_minus_beta_to_the_k():
    beta, rounds, max_rounds, n = 0.3, 3, 5, 40_000
    weights = smile.mixture_weights(beta, rounds, max_rounds)
    keys = jax.random.split(jax.random.PRNGKey(42), n)
    members = np.asarray(jax.vmap(smile.sample_member, in_axes=(0, None))(keys, weights))
    freq = np.bincount(members, minlength=max_rounds + 1) / n
    p = np.asarray(weights)
    tol = 4 * np.sqrt(p * (1 - p) / n) + 1e-9  # 4 standard errors
    assert abs(freq[0] - (1 - beta) ** rounds) <= tol[0]
    assert (np.abs(freq - p) <= tol).all(), (freq, p)
    assert freq[rounds + 1 :].sum() == 0  # untrained members are never drawn


def test_learner_mixture_excludes_the_expert():
    w = smile.mixture_weights(0.3, 2, 4)
    lw = np.asarray(smile.learner_weights(w))
    np.testing.assert_allclose(lw, np.array([0.3, 0.21, 0, 0]) / 0.51, atol=1e-6)
    np.testing.assert_allclose(
        smile.learner_weights(smile.mixture_weights(0.3, 0, 4)), [1, 0, 0, 0]
    )


def cartpole_controller(obs, key):
    """A scripted cartpole oracle (a user's function, not a jirl Expert)."""
    del key
    x, x_dot, theta, theta_dot = obs
    return (theta + 0.5 * theta_dot + 0.05 * x + 0.1 * x_dot > 0).astype(jnp.int32)


def test_rounds_stack_new_members_and_stop_at_max_rounds():
    env = envs.make("cartpole", horizon=16)  # a round: one 16-step episode per environment
    config = smile.SMILeConfig(beta=0.5, max_rounds=2, num_envs=2, sgd_steps=5, batch_size=16)
    algo = smile.make(config, env, expert=cartpole_controller)
    state0 = algo.init(jax.random.PRNGKey(0))
    state, metrics = jax.jit(jirl.make_train(algo, 3))(jax.random.PRNGKey(0))
    leaves = jax.tree.leaves(state.params)
    assert all(x.shape[0] == 2 for x in leaves)
    assert state.normalizers.mean.shape == (2, 4)
    np.testing.assert_array_equal(metrics["rounds"], [1, 2, 2])
    # the expert's weight in the mixture that ran the round: π_0 = π*, then π_1, π_2
    np.testing.assert_allclose(metrics["expert_weight"], [1.0, 0.5, 0.25])
    np.testing.assert_array_equal(metrics["expert_queries"], [32, 64, 64])
    # Each member is a new policy, trained from its own initialisation on its own data.
    first, second = (jax.tree.map(lambda x, i=i: x[i], state.params) for i in range(2))
    differs = [
        not np.allclose(a, b)
        for a, b in zip(jax.tree.leaves(first), jax.tree.leaves(second), strict=True)
    ]
    assert all(differs)
    assert not np.allclose(jax.tree.leaves(state0.params)[0][0], jax.tree.leaves(first)[0])
    action = algo.act(state, jnp.zeros(4), jax.random.PRNGKey(3))
    assert action.shape == () and action.dtype == jnp.int32


def test_demonstrations_add_a_member_so_every_round_adds_one():
    """With demos the first member is theirs, and `max_rounds` rounds each add one more: the
    mixture held `max_rounds` members, so the run's last round fit one and discarded it."""
    env = envs.make("cartpole", horizon=16)
    demos = data.collect(env, cartpole_controller, jax.random.PRNGKey(1), 2)
    config = smile.SMILeConfig(beta=0.5, max_rounds=2, num_envs=2, sgd_steps=5, batch_size=16)
    algo = smile.make(config, env, demos, expert=cartpole_controller)
    state, metrics = jax.jit(jirl.make_train(algo, 3))(jax.random.PRNGKey(0))
    assert state.normalizers.mean.shape == (3, 4)
    np.testing.assert_array_equal(metrics["rounds"], [2, 3, 3])
    np.testing.assert_array_equal(metrics["expert_queries"], [32, 64, 64])


@pytest.mark.parametrize(
    "bad",
    [
        {"beta": 0.0},
        {"beta": 1.2},
        {"max_rounds": 0},
        {"max_rounds": 10_001},
        {"num_envs": 0},
        {"steps_per_round": 0},
        {"sgd_steps": 0},
        {"batch_size": 0},
        {"learning_rate": -1.0},
        {"l2_coef": -1.0},
        {"hidden": (0,)},
        {"activation": "sine"},
    ],
)
def test_bad_config_raises(bad):
    (field,) = bad
    with pytest.raises(ConfigError, match=field):  # the message names the field
        smile.SMILeConfig(**bad)


def test_cli_train_smile_without_expert_exits_2(tmp_path, capsys):
    code = cli.main(["train", "smile", "--env", "cartpole", "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and "--expert" in err


def test_cli_smile_takes_num_demos_of_its_demos(tmp_path, capsys, cartpole_expert):
    """SMILe clones its first member from --demos when given, so --num-demos applies to it
    (it was refused as "learns from no demonstrations"); without --demos it takes them from
    the expert's directory, as DAgger does (it was refused: "pass that too")."""
    base = ["train", "smile", "--env", "cartpole", "--expert", str(cartpole_expert)]
    demos = ["--demos", str(cartpole_expert / "demos.npz")]
    quick = ["--updates", "1", "--set", "smile.sgd_steps=2", "--quiet"]
    for name, given in (("a", []), ("b", demos)):
        code = cli.main([*base, *given, "--num-demos", "1", *quick, "--out", str(tmp_path / name)])
        assert code == 0, capsys.readouterr().err
    rows = [json.loads((tmp_path / n / "metrics.jsonl").read_text()) for n in "ab"]
    assert rows[0]["rounds"] == [2.0]  # the demonstrations were round 1 (without them: 1.0)
    assert {**rows[0], "wall_time": 0} == {**rows[1], "wall_time": 0}  # the same run


@pytest.mark.parametrize("algo", ["smile", "dagger"])
def test_a_round_past_int32_states_is_refused_before_anything_is_written(
    algo, tmp_path, capsys, cartpole_expert
):
    """`num_envs * steps_per_round` past int32 failed in the first trace with an OverflowError
    traceback; it is one line now, exit 2, and no run directory."""
    out = tmp_path / "run"
    sets = [f"{algo}.num_envs=200", f"{algo}.steps_per_round=20000000"]
    argv = ["train", algo, "--env", "cartpole", "--expert", str(cartpole_expert), "--quiet"]
    code = cli.main([*argv, "--out", str(out), *[a for s in sets for a in ("--set", s)]])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert f"{algo}.num_envs * steps per round (200 * 20,000,000) must be at most" in err
    assert not out.exists()
