"""train_tabular: the run directory, and every bad option raises a one-line ConfigError."""

import json
import sys

import pytest
import yaml

from jirl.errors import ConfigError
from jirl.tabular_run import _check_seed_args, resolve_options, train_tabular


def test_train_tabular_writes_the_run_directory(tmp_path):
    options = {"size": 4, "num_iterations": 6, "num_demos": 8, "log_every": 4}
    summary = train_tabular("maxent", "gridworld", tmp_path, options, seeds=2, seed=3)
    for name in ("config.yaml", "metrics.jsonl", "summary.json", "reward.png"):
        assert (tmp_path / name).is_file() and (tmp_path / name).stat().st_size > 0
    config = yaml.safe_load((tmp_path / "config.yaml").read_text())
    assert config["algo"] == "maxent" and config["horizon"] == 8 and config["size"] == 4
    lines = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == [4, 6]
    assert len(lines[0]["feature_gap"]) == 2
    on_disk = json.loads((tmp_path / "summary.json").read_text())
    assert on_disk == summary
    assert summary["seeds"] == 2 and len(summary["evd"]["per_seed"]) == 2
    # the summary holds what the seeds' runs computed: seed i is fold_in(PRNGKey(seed), i)
    import jax

    from jirl.tabular.options import build_world
    from jirl.tabular_run import make_run

    opts = resolve_options("maxent", "gridworld", options)
    keys = jax.vmap(lambda i: jax.random.fold_in(jax.random.PRNGKey(3), i))(jax.numpy.arange(2))
    direct = make_run("maxent", build_world("gridworld", opts), opts)(keys)
    assert summary["evd"]["per_seed"] == pytest.approx([float(x) for x in direct["evd"]], 1e-5)
    assert summary["evd"]["mean"] < summary["random_policy_gap"]
    # the soft expert's own gap, measured as the learners' EVD is
    assert 0 < summary["expert_gap"] == pytest.approx(float(direct["expert_gap"]), 1e-5)
    assert summary["expert_gap"] < summary["random_policy_gap"]
    assert (tmp_path / "reward.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    "algo, env, options, match",
    [
        ("maxent", "gridworld", {"learning_rat": 0.1}, "did you mean 'learning_rate'"),
        ("maxent", "gridworld", {"learning_rate": -0.1}, "learning_rate must be > 0"),
        ("maxent", "gridworld", {"horizon": 0}, r"horizon must be an integer in \[1, "),
        ("maxent", "gridworld", {"horizon": 2**31}, r"horizon must be an integer in \[1, 2,147,"),
        ("maxent", "gridworld", {"hidden_sizes": [8]}, "is for deep_maxent"),
        ("maxent", "gridworld", {"num_colours": 3}, "is for objectworld"),
        ("deep_maxent", "objectworld", {"hidden_sizes": [0]}, "hidden_sizes"),
        ("deep_maxent", "objectworld", {"hidden_sizes": "32,wide"}, "hidden_sizes"),
        ("max_margin", "gridworld", {"loss_scale": 0}, "loss_scale must be > 0"),
        ("deep_maxent", "objectworld", {"weight_decay": -1.0}, "weight_decay must be >= 0"),
        ("max_margin", "gridworld", {"method": "projectin"}, "did you mean 'projection'"),
        ("mwal", "gridworld", {"discount": 1.5}, "discount"),
        ("maxent", "gridworld", {"discount": 1e-50}, r"discount must be in \[1.18e-38, 1\]"),
        ("mwal", "gridworld", {"slip": "high"}, "slip must be a number"),
        ("mwal", "gridworld", {"goal": [9, 9]}, "goal"),
        ("mwal", "objectworld", {"num_objects": 1}, "num_objects"),
        ("maxent", "objectworld", {"features": "pixels"}, "features must be one of"),
        ("maxent", "gridworld", {"absorbing": "maybe"}, "absorbing must be true or false"),
        ("maxent", "gridworld", {"absorbing": 2}, "absorbing must be true or false, got 2"),
        ("maxent", "objectworld", {"layout_seed": 2**32}, r"layout_seed must be .* in \[0, "),
        ("maxent", "objectworld", {"num_colours": 20, "size": 4}, "num_colours must be .* 16"),
        (
            "maxent",
            "gridworld",
            {"size": 200},
            "one-hot features over .*; use features: blocks",
        ),
        ("maxent", "gridworld", {"size": 5.7}, "size must be an integer"),
        ("maxnet", "gridworld", {}, "did you mean 'maxent'"),
        ("maxent", "gridworld", {"block": 3}, "block sets the size of features: blocks"),
        ("maxent", "gridworld", {"gail": {"learning_rate": 1}}, "'gail' is the section of another"),
        ("maxent", "gridwrld", {}, "did you mean 'gridworld'"),
    ],
)
def test_bad_options_raise_config_errors(algo, env, options, match):
    with pytest.raises(ConfigError, match=match) as err:
        resolve_options(algo, env, options)
    assert "\n" not in str(err.value)


def test_bad_seeds_raise_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="seeds"):
        train_tabular("maxent", "gridworld", tmp_path, {}, seeds=0)
    with pytest.raises(ConfigError, match=r"seeds must be an integer in \[1, 65,536\]"):
        train_tabular("maxent", "gridworld", tmp_path, {}, seeds=3_000_000_000)  # an XLA abort
    with pytest.raises(ConfigError, match=r"seed must be an integer in \[0, "):
        train_tabular("maxent", "gridworld", tmp_path, {}, seed=-1)
    with pytest.raises(ConfigError, match="seed must be an integer >= 0, got 'x'"):
        train_tabular("maxent", "gridworld", tmp_path, {}, seed="x")
    assert not (tmp_path / "summary.json").exists()
    assert _check_seed_args("2e0", "1e3") == (2, 1000)  # as the other algorithms' configs read it


def test_the_smallest_gridworld_takes_its_default_features():
    """`--set size=2` was refused for the default block of 2, which only features: blocks
    uses (and `--set block=1` alone was refused as setting one of the two)."""
    opts = resolve_options("maxent", "gridworld", {"size": 2})
    assert opts["features"] == "onehot" and opts["size"] == 2
    with pytest.raises(ConfigError, match=r"block must be in \[1, size - 1 = 1\]"):
        resolve_options("maxent", "gridworld", {"size": 2, "features": "blocks"})


def test_defaults_resolve_for_every_algorithm():
    for algo in ("maxent", "maxcausalent", "deep_maxent", "max_margin", "mwal"):
        for env in ("gridworld", "objectworld"):
            opts = resolve_options(algo, env, {})
            assert opts["horizon"] == 2 * opts["size"] and opts["num_iterations"] >= 1


@pytest.mark.parametrize("method", ["projection", "planning"])
def test_max_margin_is_scored_on_the_policy_it_returns(method):
    """The projection method's answer is its mixed policy (Abbeel & Ng 2004, sec. 3): EVD is
    that policy's value gap, not that of the greedy policy of its last, residual w (the two
    differ here). Max-margin planning's answer is its reward: the greedy policy's gap."""
    import jax

    from jirl.tabular import metrics as tab_metrics
    from jirl.tabular import planning
    from jirl.tabular.maxmargin import max_margin_irl
    from jirl.tabular.options import build_world
    from jirl.tabular_run import algo_config, make_run

    opts = resolve_options(
        "max_margin", "gridworld", {"size": 5, "num_demos": 16, "method": method}
    )
    mdp = build_world("gridworld", opts)
    key = jax.random.PRNGKey(4)
    evd = float(make_run("max_margin", mdp, opts)(key[None])["evd"][0])
    kw = dict(horizon=opts["horizon"], discount=opts["discount"])
    expert = planning.soft_value_iteration(mdp, mdp.reward, **kw).policy
    key_demos, key_fit = jax.random.split(key)
    demos = tab_metrics.sample_demos(key_demos, mdp, expert, 16, opts["horizon"])
    result = max_margin_irl(key_fit, mdp, demos, algo_config("max_margin", opts))
    of_policy = tab_metrics.policy_value_difference(mdp, mdp.reward, result.policy, **kw)
    of_reward = tab_metrics.expected_value_difference(mdp, mdp.reward, result.reward, **kw)
    expected = of_policy if method == "projection" else of_reward
    assert evd == pytest.approx(float(expected), rel=1e-4, abs=1e-4)
    if method == "projection":
        assert abs(float(of_policy) - float(of_reward)) > 0.1


@pytest.mark.parametrize(
    "name, options, match",
    [
        ("gridworld", {"absorbing": [False]}, "absorbing must be true or false"),
        ("gridworld", {"size": 5.7}, "size must be an integer"),  # int() made it 5
        ("gridworld", {"goal": "3"}, "goal must be a cell index"),
        (
            "gridworld",
            {"size": 200},
            "gridworld's one-hot states over size.size = 40000 states take a 6 GiB",
        ),
        ("objectworld", {"size": 200}, "one-hot observations over size.size = 40000 states"),
        ("objectworld", {"layout_seed": 2**32}, "layout_seed"),  # PRNGKey kept 32 bits: seed 0
        ("objectworld", {"num_objects": 10.0}, "num_objects must be an integer"),
        ("objectworld", {"observation": "pixels"}, "observation must be one of"),
    ],
)
def test_env_make_checks_the_world_options_it_used_to_convert(name, options, match):
    from jirl import envs
    from jirl.errors import EnvError

    with pytest.raises(EnvError, match=match) as err:
        envs.make(name, **options)
    assert "\n" not in str(err.value)


def test_num_demos_flag_sets_the_tabular_num_demos(capsys, tmp_path):
    from jirl import cli

    out = tmp_path / "run"
    argv = ["train", "maxent", "--env", "gridworld", "--out", str(out), "--num-demos", "8"]
    code = cli.main([*argv, "--updates", "2", "--set", "size=4", "--quiet"])
    assert code == 0, capsys.readouterr().err
    assert yaml.safe_load((out / "config.yaml").read_text())["num_demos"] == 8


def test_numbers_in_exponent_form_are_taken_as_the_other_commands_take_them():
    """YAML 1.1 reads `3e-4` as a string; `jirl train --help`'s own example wrote one."""
    opts = resolve_options("maxent", "gridworld", {"learning_rate": "3e-4", "num_demos": "1e2"})
    assert opts["learning_rate"] == 3e-4 and opts["num_demos"] == 100
    with pytest.raises(ConfigError, match="num_demos must be an integer"):
        resolve_options("maxent", "gridworld", {"num_demos": "1.5e0"})
    with pytest.raises(ConfigError, match="learning_rate must be a number, got 'nan'"):
        resolve_options("maxent", "gridworld", {"learning_rate": "nan"})


def test_a_non_finite_learned_reward_is_a_nan_score_and_a_failed_run(tmp_path):
    """A NaN reward plans to an all-zero greedy policy: its EVD read as a finite, merely poor
    score (1.83 on this grid) and its correlation as 0.0, and the run exited 0."""
    import jax.numpy as jnp
    import numpy as np

    from jirl.run import NonFiniteError
    from jirl.tabular import mdp as mdp_lib
    from jirl.tabular import metrics

    mdp = mdp_lib.gridworld(4, slip=0.1, features="none")
    nan = jnp.full(mdp.num_states, jnp.nan).at[0].set(1.0)
    assert jnp.isnan(metrics.expected_value_difference(mdp, mdp.reward, nan, horizon=8))
    assert jnp.isnan(metrics.reward_correlation(nan, mdp.reward))
    assert jnp.isnan(metrics.reward_correlation(nan.at[1].set(jnp.inf), mdp.reward))
    assert metrics.reward_correlation(jnp.ones(mdp.num_states), mdp.reward) == 0.0  # constant
    huge = metrics.reward_correlation(mdp.reward * 1e20, mdp.reward)  # squares beyond float32
    np.testing.assert_allclose(huge, 1.0, rtol=1e-5)
    options = {"size": 4, "horizon": 8, "num_iterations": 5, "learning_rate": 1e38}
    with pytest.raises(NonFiniteError, match="seed.s. 0, 1 is not finite .* lower learning_rate"):
        train_tabular("maxent", "gridworld", tmp_path / "run", options, seeds=2)
    assert not (tmp_path / "run").exists()


def test_a_horizon_beyond_the_devices_memory_is_refused_before_planning(tmp_path):
    """The expert's policy [H, S, A] was built eagerly and captured into the program as a
    constant: 18 GB for a 3x3 grid at H = 10⁸, and the run hung compiling. At H = 2·10⁹ it
    needs 1.4 TB with the demos, beyond any machine's memory."""
    with pytest.raises(ConfigError, match=r"9 states x 5 actions .* horizon 2,000,000,000"):
        train_tabular("maxent", "gridworld", tmp_path / "run", {"size": 3, "horizon": 2 * 10**9})
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "algo, env, options, match",
    [
        # 4·10⁶ states: the world alone (features [S, 4·2000] in float64) is 500 GB
        ("maxent", "objectworld", {"size": 2000}, r"4,000,000 states x 5 actions with 8,000 "),
        ("maxent", "gridworld", {"size": 2000, "features": "blocks", "block": 100}, "4,000,000"),
        # one policy [H, S, A] per seed, vmapped side by side: 21 MB each, for 65,536 seeds
        ("mwal", "gridworld", {"size": 64, "features": "blocks", "block": 8}, "of 65536 seed"),
        # deep MaxEnt's network: 10¹⁰ weights with Adam's moments, 149 GiB (it passed)
        ("deep_maxent", "gridworld", {"hidden_sizes": [100000, 100000]}, "a smaller world or net"),
        # three metrics per iteration, 26 GB (`--updates 2147483647` passed and was killed)
        ("maxent", "gridworld", {"num_iterations": 2**31 - 1}, "2,147,483,647 iterations"),
        # max-margin planning's QP over every policy found: a [10⁵, 10⁵] Gram matrix, 40 GB
        (
            "max_margin",
            "gridworld",
            {"method": "planning", "num_iterations": 100_000},
            "use fewer iterations",
        ),
    ],
)
def test_a_world_beyond_the_devices_memory_is_refused_before_it_is_built(
    tmp_path, monkeypatch, algo, env, options, match
):
    """`size: 2000` ran out of host memory building the world, before the memory check; and
    the check counted one learner's policy for any number of seeds."""
    import jirl.tabular_run as tabular_run

    def build_world(*args):
        raise AssertionError("the world was built")

    monkeypatch.setattr(tabular_run, "build_world", build_world)
    # a 24 GiB machine's (this CPU's): the rows of 26 and 40 GB fit a larger one
    monkeypatch.setattr(sys.modules["jirl.run"], "memory_limit", lambda devices: 24 * 2**30)
    seeds = 2**16 if algo == "mwal" else 1
    with pytest.raises(ConfigError, match=match):
        train_tabular(algo, env, tmp_path / "run", options, seeds=seeds)
    assert not (tmp_path / "run").exists()


def test_a_tabular_switch_is_read_as_the_other_configs_read_one():
    """`--set absorbing=1` (YAML's int) was refused on a tabular run while `--set
    eval_greedy=1` was taken; the text "false" is False (`bool("false")` was True once)."""
    for given, meant in ((1, True), (0, False), ("false", False), ("yes", True), (True, True)):
        opts = resolve_options("maxent", "gridworld", {"absorbing": given, "goal": 0})
        assert opts["absorbing"] is meant
