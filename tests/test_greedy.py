"""Greedy evaluation: `Algorithm.mode`, the most likely action of the policy `act` samples, for
every learner, and `eval_greedy` in `jirl train` (and the refusals around it)."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import yaml

from jirl import data, envs
from jirl.algos import apprenticeship, bc, expert, gail, smile
from jirl.cli import main
from jirl.config import experiment_config
from jirl.errors import ConfigError
from jirl.evaluation import mean_returns
from jirl.experiment import evaluate_seeds, prepare
from jirl.rl import ppo
from jirl.run import load_checkpoint, state_template
from jirl.sweep import sweep_algorithm

SAMPLES = 4000


def perturbed(state, key):
    """`state` with every network weight (flax `kernel`s and `bias`es) moved by N(0, 0.5²), so
    that a policy's mean is far from the near-zero one of its initialisation."""
    leaves, tree = jax.tree_util.tree_flatten_with_path(state)
    keys = jax.random.split(key, len(leaves))
    moved = [
        x + 0.5 * jax.random.normal(k, x.shape, x.dtype)
        if jax.tree_util.keystr(path).endswith(("['kernel']", "['bias']"))
        else x
        for (path, x), k in zip(leaves, keys, strict=True)
    ]
    return jax.tree_util.tree_unflatten(tree, moved)


def test_mode_is_the_centre_of_what_act_samples_for_every_learner(pendulum_expert):
    """On pendulum's Gaussian policies, `mode` is the mean of `act`'s samples at the parameters
    each learner acts with (FEM's chosen policy, a sweep's own setting; BC's and DAgger's
    `acting` is the swept BC's), for observations the learners' normalisers see differently."""
    env = envs.make("pendulum")
    loaded = data.load(pendulum_expert / "demos.npz", env=env)
    demos = data.take_episodes(loaded.trajectories, 1)
    small = dict(num_envs=2, num_steps=8)
    learners = {
        "ppo": ppo.make(ppo.PPOConfig(**small), env),
        "gail": gail.make(gail.GAILConfig(**small), env, demos),
        "fem": apprenticeship.make_fem(
            apprenticeship.FEMConfig(num_envs=2, num_steps=200), env, demos
        ),
        "swept bc": sweep_algorithm(
            lambda c: bc.make(c, env, demos), bc.BCConfig(), ["learning_rate"]
        ).algo,
    }
    obs = jnp.asarray(demos.obs[:3])  # [3, 3]
    keys = jax.random.split(jax.random.PRNGKey(2), SAMPLES)
    for name, algo in learners.items():
        state = perturbed(jax.jit(algo.init)(jax.random.PRNGKey(0)), jax.random.PRNGKey(1))

        @jax.jit
        def mode_and_samples(state, algo=algo):
            mode = jax.vmap(algo.mode, (None, 0))(state, obs)  # [3, 1]
            per_key = lambda k: jax.vmap(algo.act, (None, 0, None))(state, obs, k)
            return mode, jax.vmap(per_key)(keys)  # [SAMPLES, 3, 1]

        mode, samples = mode_and_samples(state)
        assert mode.shape == (3, 1), (name, mode.shape)
        # the std is 1 (log std 0, untouched): the sample mean's error is 1/√4000 ≈ 0.016
        np.testing.assert_allclose(samples.mean(0), mode, atol=0.08, err_msg=name)
        assert np.abs(np.asarray(mode)).max() > 0.3, (name, mode)  # not the init's near-zero


def test_smiles_mode_is_the_mixtures_most_likely_action_and_none_for_gaussians(
    pendulum_expert, capsys, tmp_path
):
    """SMILe's policy is a mixture: with discrete actions `mode` is the action the mixture
    (act's member draw, then its sample) takes most often; a mixture of Gaussians has no
    closed-form mode, so there `mode` is None and greedy evaluation is refused."""
    env = envs.make("cartpole", horizon=16)
    # β = 0.1: after 3 rounds the members weigh 0.37, 0.33, 0.30, so the later two outvote the
    # first wherever they agree
    config = smile.SMILeConfig(beta=0.1, max_rounds=3, num_envs=2, sgd_steps=5, batch_size=16)
    controller = lambda obs, key: (obs[2] + obs[3] > 0).astype(jnp.int32)  # noqa: E731
    algo = smile.make(config, env, expert=controller)
    state = perturbed(algo.init(jax.random.PRNGKey(0)), jax.random.PRNGKey(3))
    state = state.replace(step=jnp.asarray(3, jnp.int32))
    obs = jax.random.normal(jax.random.PRNGKey(3), (64, 4))
    modes = np.asarray(jax.vmap(algo.mode, (None, 0))(state, obs))
    keys = jax.random.split(jax.random.PRNGKey(4), SAMPLES)
    acts = jax.vmap(lambda k: jax.vmap(algo.act, (None, 0, None))(state, obs, k))(keys)
    ones = np.asarray(acts).mean(0)  # the mixture's P(a = 1 | s), ± 0.008
    clear = np.abs(ones - 0.5) > 0.05
    np.testing.assert_array_equal(modes[clear], (ones > 0.5)[clear])
    assert modes.dtype == np.int32
    # The test can tell the mixture's argmax from the first member's and from a weighted vote
    # of the members' argmaxes: each disagrees with it on some of these observations.
    policy = bc.make_policy(config, env)
    member = lambda i: jax.tree.map(lambda x: x[i], (state.params, state.normalizers))  # noqa: E731
    probs = np.stack([policy.dist(*member(i), obs).probs[:, 1] for i in range(3)])  # [3, 64]
    weights = np.asarray(smile.learner_weights(smile.mixture_weights(0.1, 3, 3)))
    votes = weights @ (probs > 0.5) > 0.5
    assert ((probs[0] > 0.5) != modes)[clear].any() and (votes != modes)[clear].any()
    pendulum = envs.make("pendulum")
    gaussian = smile.make(
        smile.SMILeConfig(), pendulum, expert=expert.load(pendulum_expert, pendulum)
    )
    assert gaussian.mode is None
    with pytest.raises(ConfigError, match="no most likely action in closed form"):
        mean_returns(gaussian, pendulum, 4, greedy=True)
    # and by `jirl train`, before it trains or writes anything
    out = tmp_path / "run"
    argv = ["train", "smile", "--env", "pendulum", "--expert", str(pendulum_expert)]
    code = main([*argv, "--out", str(out), "--quiet", "--set", "eval_greedy=true"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "(eval_greedy: false)" in err, err
    assert not out.exists()


def test_eval_greedy_scores_the_most_likely_actions_and_says_so(capsys, tmp_path, cartpole_expert):
    """`--set eval_greedy=true` scores the final policies by `mode` (another return than the
    sampled one, the same training) and summary.json says which; `jirl expert` refuses it, as
    its return is the normalizer of the sampled demonstrations."""
    demos = str(cartpole_expert / "demos.npz")
    base = ["train", "bc", "--env", "cartpole", "--demos", demos, "--seeds", "2"]
    base += ["--updates", "30", "--quiet"]
    summaries = {}
    for greedy in (False, True):
        out = tmp_path / f"greedy-{greedy}"
        code = main([*base, "--out", str(out), "--set", f"eval_greedy={str(greedy).lower()}"])
        assert code == 0, capsys.readouterr().err
        summaries[greedy] = json.loads((out / "summary.json").read_text())
    assert [summaries[g]["eval_greedy"] for g in (False, True)] == [False, True]
    sampled, greedy = (summaries[g]["return"]["per_seed"] for g in (False, True))
    assert sampled != greedy
    # the greedy figure is the run's checkpointed policies scored by `mode`
    run = tmp_path / "greedy-True"
    cfg = experiment_config(yaml.safe_load((run / "config.yaml").read_text()), bc.BCConfig)
    prepared = prepare(cfg)
    state, _, _ = load_checkpoint(run / "checkpoint", state_template(prepared.algo, 2))
    key = jax.random.PRNGKey(cfg.seed + 2)
    again = evaluate_seeds(prepared.algo, prepared.env, state, key, 32, 2, greedy=True)
    np.testing.assert_allclose(again, greedy, rtol=1e-6)
    capsys.readouterr()
    code = main(["expert", "--env", "cartpole", "--out", str(tmp_path / "e"), "--quiet",
                 "--set", "eval_greedy=true"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "eval_greedy is for `jirl train`" in err
    assert not (tmp_path / "e").exists()
