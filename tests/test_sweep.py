"""Sweeps in one compile (`jirl.sweep`, `jirl train --sweep`)."""

from __future__ import annotations

import dataclasses
import json
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jirl
from jirl import envs, sweep
from jirl.cli import main
from jirl.errors import ConfigError
from jirl.rl import ppo

BASE = ppo.PPOConfig(
    num_envs=4, num_steps=16, num_epochs=2, num_minibatches=2, hidden=(16,), anneal_updates=8
)
RATES = (1e-3, 3e-4, 1e-4)
SEEDS = 4


def leaves(tree):
    return [np.asarray(x) for x in jax.tree.leaves(tree)]


def test_sweep_of_3_rates_by_4_seeds_compiles_once_and_equals_the_runs_made_one_by_one():
    env = envs.make("cartpole")
    swept = sweep.sweep_algorithm(lambda c: ppo.make(c, env), BASE, ("learning_rate",))
    traces = []

    def update(state):
        traces.append(1)
        return swept.algo.update(state)

    counted = swept.algo._replace(update=update)
    keys, values, settings = sweep.batch({"learning_rate": RATES}, jax.random.PRNGKey(0), SEEDS)
    assert [s["learning_rate"] for s in settings] == list(RATES)
    state = sweep.init_sweep(swept, keys, values)
    result = jirl.run(counted, None, 8, chunk_size=4, initial_state=state)
    assert len(traces) == 1  # one program for all 12 runs
    assert result.metrics["policy_loss"].shape == (8, len(RATES) * SEEDS)
    np.testing.assert_array_equal(
        np.asarray(result.state.hyperparams["learning_rate"]),
        np.repeat(np.float32(RATES), SEEDS),
    )
    finals = []
    for i in (0, len(RATES) - 1):  # the first and the last setting (each run alone compiles anew)
        rate = RATES[i]
        config = BASE.__class__(**{**BASE.__dict__, "learning_rate": rate})
        alone = jirl.run(ppo.make(config, env), jax.random.PRNGKey(0), 8, seeds=SEEDS, chunk_size=4)
        rows = slice(i * SEEDS, (i + 1) * SEEDS)
        # Equal up to XLA:CPU's rounding, which depends on the vmapped batch width (12 runs
        # here, 4 there): a few ulps, where a different learning rate moves parameters by 1e-3.
        for a, b in zip(leaves(alone.state), leaves(result.state.inner), strict=True):
            np.testing.assert_allclose(a, b[rows], rtol=1e-5, atol=1e-6)
        for k, v in alone.metrics.items():
            np.testing.assert_allclose(v, result.metrics[k][:, rows], rtol=1e-4, atol=1e-5)
        finals.append(max(leaves(alone.state), key=lambda x: x.size))
    assert np.abs(finals[0] - finals[1]).max() > 1e-3  # the settings really differ


def test_grid_is_the_cartesian_product_and_values_are_checked():
    grid = sweep.check_grid(
        {"ppo.learning_rate": ["1e-3", 3e-4], "ent_coef": [0.0, 0.01]}, BASE, "ppo"
    )
    assert grid == {"learning_rate": (1e-3, 3e-4), "ent_coef": (0.0, 0.01)}
    assert sweep.settings(grid) == [
        {"learning_rate": 1e-3, "ent_coef": 0.0},
        {"learning_rate": 1e-3, "ent_coef": 0.01},
        {"learning_rate": 3e-4, "ent_coef": 0.0},
        {"learning_rate": 3e-4, "ent_coef": 0.01},
    ]
    assert "learning_rate" in sweep.sweepable_fields(ppo.PPOConfig)
    assert "num_envs" not in sweep.sweepable_fields(ppo.PPOConfig)
    env = envs.make("cartpole")
    swept = sweep.sweep_algorithm(lambda c: ppo.make(c, env), BASE, ("learning_rate",))
    keys = jax.random.split(jax.random.PRNGKey(0), 2)
    with pytest.raises(ConfigError, match="learning_rate"):  # from Python, as from the CLI
        sweep.init_sweep(swept, keys, {"learning_rate": np.array([1e-3, -1e-3])})
    with pytest.raises(ConfigError, match="must be numbers"):  # YAML's true is no rate of 1.0
        sweep.check_grid({"learning_rate": [True, 1e-3]}, BASE, "ppo")
    with pytest.raises(ConfigError, match="names 'learning_rate' twice"):
        sweep.check_grid({"ppo.learning_rate": [1e-3, 3e-4], "learning_rate": [1e-4]}, BASE, "ppo")


@pytest.fixture(scope="module")
def bc_sweep(cartpole_expert, tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep") / "run"
    argv = ["train", "bc", "--env", "cartpole", "--demos", str(cartpole_expert / "demos.npz")]
    argv += ["--out", str(out), "--seeds", "2", "--updates", "4", "--quiet"]
    argv += ["--sweep", "bc.learning_rate=1e-3,1e-4", "--sweep", "l2_coef=0,0.001"]
    assert main(argv) == 0
    return out, argv


def test_cli_sweep_reports_each_setting(bc_sweep):
    out, _ = bc_sweep
    summary = json.loads((out / "summary.json").read_text())
    assert [s["setting"] for s in summary["sweep"]] == [
        {"learning_rate": 1e-3, "l2_coef": 0.0},
        {"learning_rate": 1e-3, "l2_coef": 1e-3},
        {"learning_rate": 1e-4, "l2_coef": 0.0},
        {"learning_rate": 1e-4, "l2_coef": 1e-3},
    ]
    assert all(len(s["return"]["per_seed"]) == 2 for s in summary["sweep"])
    assert summary["best_setting"] in [s["setting"] for s in summary["sweep"]]
    assert len(summary["return"]["per_seed"]) == 8
    first = json.loads((out / "metrics.jsonl").read_text().splitlines()[0])
    assert len(first["bc_loss"]) == 8
    assert (out / "curves.png").is_file()


def test_a_diverging_setting_is_named(cartpole_expert, tmp_path, capsys):
    argv = ["train", "bc", "--env", "cartpole", "--demos", str(cartpole_expert / "demos.npz")]
    argv += ["--out", str(tmp_path / "run"), "--seeds", "2", "--updates", "2", "--quiet"]
    assert main([*argv, "--sweep", "bc.learning_rate=1e-3,1e30"]) == 1
    err = capsys.readouterr().err
    assert "run(s) [2, 3] of the seed axis" in err
    assert "Diverged: {'learning_rate': 1e+30} seed 0, {'learning_rate': 1e+30} seed 1" in err


def test_a_sweep_stopped_half_way_resumes_bit_for_bit(tmp_path):
    env = envs.make("cartpole")
    swept = sweep.sweep_algorithm(lambda c: ppo.make(c, env), BASE, ("learning_rate",))
    keys, values, _ = sweep.batch({"learning_rate": RATES[:2]}, jax.random.PRNGKey(0), 2)
    start = sweep.init_sweep(swept, keys, values)
    full = jirl.run(swept.algo, None, 8, chunk_size=2, initial_state=start)
    jirl.run(swept.algo, None, 4, chunk_size=2, initial_state=start, checkpoint_dir=tmp_path)
    resumed = jirl.run(
        swept.algo, None, 8, chunk_size=2, initial_state=start, checkpoint_dir=tmp_path,
        resume=True,
    )  # fmt: skip
    assert resumed.updates_run == 4  # it continued from the checkpoint, not from `start`
    for a, b in zip(leaves(full.state), leaves(resumed.state), strict=True):
        np.testing.assert_array_equal(a, b)
    for k in full.metrics:
        np.testing.assert_array_equal(full.metrics[k], resumed.metrics[k])


def test_cli_resume_refuses_a_reordered_sweep(bc_sweep, capsys):
    out, argv = bc_sweep
    before = (out / "summary.json").read_text()
    i = argv.index("--sweep")
    reordered = argv[:i] + argv[i + 2 : i + 4] + argv[i : i + 2] + argv[i + 4 :]
    assert main([*reordered, "--resume"]) == 2
    assert "--resume needs the same config" in capsys.readouterr().err
    assert (out / "summary.json").read_text() == before


@pytest.mark.parametrize(
    "flag,message",
    [
        ("bc.batch_size=32,64", "cannot sweep 'bc.batch_size': it is static"),
        ("bc.learning_rte=1e-3,1e-4", "did you mean 'bc.learning_rate'"),
        ("bc.learning_rate=fast,slow", "must be numbers"),
        ("bc.learning_rate=1e-3,-1", "bc.learning_rate must be > 0"),
        ("bc.learning_rate=1e-3,1e-3", "distinct values"),
        ("bc.learning_rate=1e-3,1.00000001e-3", "distinct values"),  # one float32
        ("bc.learning_rate=1e39,1e-3", "must be finite float32 numbers"),  # inf in float32
        ("bc.learning_rate", "--sweep expects key=v1,v2"),
        ("seeds=1,2", "not a field of bc's config"),
    ],
)
def test_cli_refuses_bad_sweeps(cartpole_expert, tmp_path, capsys, flag, message):
    out = tmp_path / "run"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    argv = ["train", "bc", "--env", "cartpole", "--demos", str(cartpole_expert / "demos.npz")]
    code = main([*argv, "--out", str(out), "--sweep", flag, "--overwrite", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert message in err, err
    assert [p.name for p in out.iterdir()] == ["keep.txt"]  # nothing touched


def test_a_float_the_algorithm_branches_on_is_refused(tmp_path, capsys, cartpole_expert):
    argv = ["train", "gail", "--env", "cartpole", "--demos", str(cartpole_expert / "demos.npz")]
    argv += ["--out", str(tmp_path / "r"), "--sweep", "gail.grad_penalty=0,1", "--quiet"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "cannot sweep gail.grad_penalty: the algorithm branches on it" in err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    "set_,flag,message",
    [
        ([], "gail.max_kl=0.01,0.02", "the PPO generator does not read it"),
        (["gail.generator=trpo"], "gail.clip_eps=0.1,0.2", "the TRPO generator does not read it"),
        ([], "gail.log_pi_weight=0.5,1", "GAIL's discriminator does not use log π"),
    ],
)
def test_a_float_these_settings_never_read_is_refused(
    tmp_path, capsys, cartpole_expert, set_, flag, message
):
    """Every setting of such a sweep would train the same run under another name."""
    argv = ["train", "gail", "--env", "cartpole", "--demos", str(cartpole_expert / "demos.npz")]
    argv += ["--out", str(tmp_path / "r"), "--sweep", flag, "--quiet"]
    for item in set_:
        argv += ["--set", item]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"cannot sweep '{flag.split('=')[0]}': {message}" in err, err
    assert not (tmp_path / "r").exists()
    # the field the chosen generator reads is swept
    config = jirl.algos.gail.GAILConfig(generator="trpo")
    assert sweep.sweepable_field("max_kl", config, "gail") == "max_kl"


def test_tabular_algorithms_refuse_sweep_and_devices(tmp_path, capsys):
    for extra in (["--sweep", "learning_rate=0.1,0.2"], ["--devices", "1"]):
        code = main(["train", "maxent", "--env", "gridworld", "--out", str(tmp_path), *extra])
        assert code == 2
        assert "not for tabular IRL" in capsys.readouterr().err


def test_devices_out_of_range_is_a_user_error(tmp_path, capsys, cartpole_expert):
    argv = ["train", "bc", "--env", "cartpole", "--demos", str(cartpole_expert / "demos.npz")]
    code = main([*argv, "--out", str(tmp_path / "r"), "--devices", "64", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "--devices must be between 1 and" in err
    assert not (tmp_path / "r").exists()


def test_swept_float_used_by_numpy_is_refused_in_one_line():
    """A build that hands a traced value to NumPy (not just to `bool`) is refused too."""
    import dataclasses

    @dataclasses.dataclass(frozen=True)
    class Config:
        scale: float = 1.0

    def build(config):
        np.asarray(config.scale)  # needs a concrete value
        return ppo.make(BASE, envs.make("cartpole"))

    with pytest.raises(ConfigError, match="cannot sweep toy.scale: the algorithm branches"):
        sweep.sweep_algorithm(build, Config(), ("scale",), "toy")


def test_a_float_the_program_never_reads_is_refused(cartpole_expert):
    """Found by tracing, not listed per config: a discrete policy's `init_log_std`, DAgger's
    `beta_decay` but on the `exponential` schedule, and its `beta` once demonstrations are
    round 0 under `first` (each such sweep ran its settings bit for bit alike, and named one of
    them the best). A field read only by a range check (`require` skips traced values) counts
    as unread; one the program reads passes."""
    from jirl import data
    from jirl.algos import dagger

    cartpole = envs.make("cartpole", horizon=16)
    with pytest.raises(ConfigError, match="cannot sweep ppo.init_log_std: the algorithm never"):
        sweep.sweep_algorithm(lambda c: ppo.make(c, cartpole), BASE, ("init_log_std",), "ppo")
    pendulum = envs.make("pendulum")
    gaussian = lambda c: ppo.make(c, pendulum)  # noqa: E731
    assert sweep.sweep_algorithm(gaussian, BASE, ("init_log_std",)).fields == ("init_log_std",)

    def oracle(obs, key):  # a scripted cartpole controller
        return (obs[2] + 0.5 * obs[3] > 0).astype(jnp.int32)

    demos = data.load(cartpole_expert / "demos.npz").trajectories
    demos = data.take_episodes(demos, 1)
    base = dagger.DAggerConfig(num_envs=1, sgd_steps=2, batch_size=16)
    cases = [  # (schedule, with demos, field, read)
        ("first", False, "beta_decay", False),
        ("exponential", False, "beta_decay", True),
        ("first", True, "beta", False),
        ("first", False, "beta", True),
        ("linear", True, "beta", True),
    ]
    for schedule, with_demos, field, read in cases:
        config = dataclasses.replace(base, beta_schedule=schedule)
        seed_demos = demos if with_demos else None
        build = lambda c, d=seed_demos: dagger.make(c, cartpole, d, expert=oracle)  # noqa: E731
        if read:
            assert sweep.sweep_algorithm(build, config, (field,), "dagger").fields == (field,)
        else:
            with pytest.raises(ConfigError, match=f"cannot sweep dagger.{field}: .* never reads"):
                sweep.sweep_algorithm(build, config, (field,), "dagger")


def test_the_python_route_refuses_what_the_command_line_refuses(cartpole_expert):
    """`sweep_algorithm` itself refuses a field that is not a float (a size, a tuple), as
    `--sweep` does (a float the algorithm branches on: the test above); a plain float passes."""
    from jirl import data
    from jirl.algos import bc

    env = envs.make("cartpole")
    demos = data.load(cartpole_expert / "demos.npz", env=env).trajectories
    build = lambda c: bc.make(c, env, demos)  # noqa: E731
    with pytest.raises(ConfigError, match="cannot sweep 'batch_size': it is static"):
        sweep.sweep_algorithm(build, bc.BCConfig(), ("batch_size",))
    with pytest.raises(ConfigError, match="cannot sweep 'hidden': it is static"):
        sweep.sweep_algorithm(build, bc.BCConfig(), ("hidden",))
    swept = sweep.sweep_algorithm(build, bc.BCConfig(), ("learning_rate",))
    assert swept.fields == ("learning_rate",)
    # values for a field the sweep was not made for: BC swept ent_coef without a word
    keys, values, _ = sweep.batch({"ent_coef": (0.0, 0.1)}, jax.random.PRNGKey(0), 2)
    with pytest.raises(ConfigError, match=r"values give \['ent_coef'\], which the sweep was not"):
        sweep.init_sweep(swept, keys, values)


def test_a_batch_of_typed_keys_is_settings_by_seeds_like_raw_ones():
    """`jax.random.key`'s keys tiled to `[S, seeds]` instead of `[S·seeds]`, and typed keys in
    the states failed at the first checkpoint."""
    raw, _, _ = sweep.batch({"learning_rate": RATES}, jax.random.PRNGKey(0), SEEDS)
    typed, _, _ = sweep.batch({"learning_rate": RATES}, jax.random.key(0), SEEDS)
    np.testing.assert_array_equal(typed, raw)  # its data: a sweep's states checkpoint


def test_the_python_sweep_api_refuses_what_it_cannot_sweep_in_one_line():
    """(A Python-API review.) `batch` given a float for a list raised "object of type 'float'
    has no len()", and ran ("1e-3",) as 0.001 while its settings reported the string;
    `sweep_algorithm` given one field name as a string swept its letters ("cannot sweep 'l'")."""
    from jirl.algos import bc

    key = jax.random.PRNGKey(0)
    for bad in (1e-3, ("1e-3",), "1e-3", [True], [[1e-3]]):
        with pytest.raises(ConfigError, match="the grid's learning_rate must be a list of numb"):
            sweep.batch({"learning_rate": bad}, key, 2)
    _, values, settings = sweep.batch({"learning_rate": np.array([1, 2.5])}, key, 2)
    assert settings == [{"learning_rate": 1.0}, {"learning_rate": 2.5}]
    np.testing.assert_array_equal(values["learning_rate"], [1, 1, 2.5, 2.5])
    with pytest.raises(ConfigError, match="fields must be a list of field names, got the string"):
        sweep.sweep_algorithm(lambda c: None, bc.BCConfig(), "learning_rate")


def test_each_combination_of_a_grid_must_be_a_valid_config():
    from jirl.rl import trpo

    # each value alone is valid; together they break nothing here, so the grid is accepted
    sweep.check_grid({"gamma": [0.9, 0.99], "gae_lambda": [0.9, 1.0]}, trpo.TRPOConfig(), "trpo")
    with pytest.raises(ConfigError, match="trpo.gamma must be in"):
        sweep.check_grid({"gamma": [0.9, 1.5]}, trpo.TRPOConfig(), "trpo")


def test_values_must_print_apart_and_be_valid_as_float32_holds_them():
    """Settings are named by `{v:g}`: 0.999999 and 0.9999999 are distinct in float32 but both
    print as 1 beside 1.0, and two settings shared a TensorBoard tag and a table row. A rate
    of 1e-46 is 0 in float32, and is checked as such."""
    from jirl.rl import trpo

    with pytest.raises(ConfigError, match=r"print alike \(0.999999, 1, 1\)"):
        sweep.check_grid({"gamma": [0.999999, 0.9999999, 1.0]}, trpo.TRPOConfig(), "trpo")
    with pytest.raises(ConfigError, match="learning_rate must be > 0"):
        sweep.check_grid({"learning_rate": [1e-3, 1e-46]}, BASE, "ppo")
    long = list(range(1, 2001))
    with pytest.raises(ConfigError, match=r"must be numbers, got \[True, .*\]") as err:
        sweep.check_grid({"learning_rate": [True, *long]}, BASE, "ppo")
    assert len(str(err.value)) < 200  # the values shortened


def test_a_sweep_key_given_twice_is_refused():
    """`--sweep bc.learning_rate=1e-3,2e-3 --sweep bc.learning_rate=3e-3` ran one setting."""
    from jirl.sweep import parse_items

    with pytest.raises(ConfigError, match="bc.learning_rate is given twice"):
        parse_items(["bc.learning_rate=1e-3,2e-3", "bc.learning_rate=3e-3"])
    # an empty value (a typo) was dropped quietly: a grid of two where three were meant
    with pytest.raises(ConfigError, match="bc.learning_rate has an empty value in '1e-3,,2e-3'"):
        parse_items(["bc.learning_rate=1e-3,,2e-3"])


def test_a_key_both_set_and_swept_is_refused(capsys, tmp_path):
    """`--sweep bc.learning_rate=1e-3,2e-3 --set bc.learning_rate=5e-3` dropped the --set."""
    for set_key, sweep_key in (
        ("bc.learning_rate", "bc.learning_rate"),
        ("learning_rate", "bc.learning_rate"),
        ("bc.learning_rate", "learning_rate"),
    ):
        code = main([
            "train", "bc", "--env", "cartpole", "--demos", "x.npz", "--out", str(tmp_path / "r"),
            "--sweep", f"{sweep_key}=1e-3,2e-3", "--set", f"{set_key}=5e-3",
        ])  # fmt: skip
        err = capsys.readouterr().err
        assert code == 2 and f"--set {set_key} and --sweep {sweep_key} both give it" in err
    # the sweep's own values given by --set and by --sweep: --sweep's won without a word
    for item, said in (
        ("sweep.learning_rate=[5e-3]", "--set sweep.learning_rate and --sweep bc.learning_rate"),
        ("sweep={bc.learning_rate: [5e-3]}", "--set sweep.bc.learning_rate and --sweep bc.lea"),
    ):
        code = main([
            "train", "bc", "--env", "cartpole", "--demos", "x.npz", "--out", str(tmp_path / "r"),
            "--sweep", "bc.learning_rate=1e-3,2e-3", "--set", item,
        ])  # fmt: skip
        err = capsys.readouterr().err
        assert code == 2 and said in err and "both give its values" in err
        assert err.count("\n") == 1


def test_a_key_set_twice_is_refused(capsys, tmp_path):
    """`--set K=a --set K=b` ran with b, whichever was meant; `--set bc={K: a}` and
    `--set bc.K=b` too, and a tabular run's `--set size=4 --set maxent.size=5`."""
    from jirl.config import apply_overrides

    for items, said in (
        (["bc.learning_rate=1e-3", "bc.learning_rate=1e-2"], "both give bc.learning_rate"),
        (["bc={learning_rate: 1e-3, batch_size: 8}", "bc.batch_size=4"], "both give bc.batch"),
        (["seeds=2", "seeds=2"], "--set 'seeds=2' and --set 'seeds=2' both give seeds; keep one"),
        # a whole sweep after one of its keys dropped it; one of its keys after it, replaced
        (["sweep.x=[1]", "sweep={y: [2]}"], "both give sweep; keep one"),
        (["sweep={y: [2]}", "sweep.y=[3]"], "both give sweep.y; keep one"),
    ):
        with pytest.raises(ConfigError, match=re.escape(said)):
            apply_overrides({"algo": "bc"}, items)
    # keys of one section, and a sweep given whole then added to, are not repeats
    data = apply_overrides(
        {"algo": "bc"},
        ["bc.learning_rate=0.5", "bc.batch_size=4", "sweep={seed: [0, 1]}", "sweep.x=[1]"],
    )
    assert data["bc"] == {"learning_rate": 0.5, "batch_size": 4}
    for argv in (
        ["train", "bc", "--env", "cartpole", "--set", "bc.epochs=2", "--set", "bc.epochs=2"],
        ["train", "maxent", "--env", "gridworld", "--set", "size=4", "--set", "maxent.size=5"],
        ["train", "maxent", "--env", "gridworld", "--set", "maxent={size: 4}", "--set", "size=5"],
    ):
        code = main([*argv[:4], "--out", str(tmp_path / "r"), *argv[4:]])
        err = capsys.readouterr().err
        assert code == 2 and "both give" in err and "keep one" in err, err
        assert not (tmp_path / "r").exists()


def test_the_config_files_sweep_meets_set_and_sweep_flags_alike(capsys, tmp_path):
    """A `sweep:` in the config file: `--set` of a swept field is refused as against `--sweep`
    (it was dropped silently), and `--sweep` of its field replaces the file's values whatever
    the prefix (`bc.learning_rate` was refused as naming it twice, `learning_rate` replaced)."""
    import argparse

    from jirl.cli import _merged_sweep

    config = tmp_path / "sweep.yaml"
    config.write_text("algo: bc\nsweep: {learning_rate: [0.001, 0.0001]}\n")
    code = main([
        "train", "bc", "--config", str(config), "--env", "cartpole", "--demos", "x.npz",
        "--out", str(tmp_path / "r"), "--set", "bc.learning_rate=0.5",
    ])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "--set bc.learning_rate and the config's sweep:" in err, err
    # a mapping given to the section sets its keys too
    code = main([
        "train", "bc", "--config", str(config), "--env", "cartpole", "--demos", "x.npz",
        "--out", str(tmp_path / "r"), "--set", "bc={learning_rate: 0.5}",
    ])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "--set bc.learning_rate and the config's sweep: learning_rate" in err
    data = {"algo": "bc", "sweep": {"learning_rate": [1e-3, 1e-4], "bc.l2_coef": [0.0, 0.1]}}
    for flag in ("bc.learning_rate=0.01", "learning_rate=0.01"):
        args = argparse.Namespace(sweep=[flag], set=[])
        merged = _merged_sweep(data, args)
        assert merged == {"bc.l2_coef": [0.0, 0.1], flag.split("=")[0]: ["0.01"]}


def test_settings_times_seeds_is_capped_like_seeds():
    """3 values × 65,536 seeds passed the seeds cap, 196,608 runs in one compile."""
    from jirl import algos
    from jirl.config import experiment_config

    data = {"algo": "bc", "env": "cartpole", "seeds": 65536}
    data["sweep"] = {"bc.learning_rate": [1e-3, 3e-4, 1e-4]}
    with pytest.raises(ConfigError, match="3 settings × 65536 seeds is 196,608 runs"):
        experiment_config(data, algos.get("bc").config_cls)
    # counted before the grid's combinations are each built and checked (200³ took minutes)
    values = [float(v) for v in np.linspace(1e-4, 1e-2, 200)]
    keys = ("bc.learning_rate", "bc.ent_coef", "bc.l2_coef")
    data = {"algo": "bc", "env": "cartpole", "sweep": dict.fromkeys(keys, values)}
    with pytest.raises(ConfigError, match="8,000,000 settings × 1 seeds is 8,000,000 runs"):
        experiment_config(data, algos.get("bc").config_cls)


def test_a_setting_whose_return_is_nan_is_never_the_best():
    """`np.argmax` picks a NaN: a diverged setting was reported as the sweep's best."""
    from jirl.experiment import best_setting

    settings = [{"lr": 1.0}, {"lr": 0.1}, {"lr": 0.01}]
    returns = np.array([[np.nan, 500.0], [200.0, 210.0], [100.0, 90.0]])
    assert best_setting(settings, returns) == {"lr": 0.1}
    assert best_setting(settings, np.full((3, 2), np.nan)) is None


def test_plot_groups_a_sweep_still_running_by_its_config(tmp_path):
    """A sweep with no summary.json yet (running, or cut short) was drawn as one curve over
    all its settings: its config.yaml's grid gives the settings in the runs' order."""
    from jirl.plots import _groups

    run = tmp_path / "sweep"
    run.mkdir()
    (run / "config.yaml").write_text("algo: bc\nsweep:\n  learning_rate: [0.1, 0.2]\n")
    groups = _groups(run, 4, "sweep")
    assert [cols for _, cols in groups] == [slice(0, 2), slice(2, 4)]
    assert "0.1" in groups[0][0] and "0.2" in groups[1][0]
    (run / "config.yaml").write_text("algo: bc\n")  # no sweep: one curve
    assert _groups(run, 4, "sweep") == [("sweep", slice(None))]


def test_a_misspelt_field_is_answered_with_the_floats_these_settings_read():
    """The list after a misspelt field was every float field, "sweepable", among them the other
    generator's and the warm start's rate without a warm start, each then refused."""
    from jirl.algos import gail

    config = gail.GAILConfig(generator="ppo", bc_steps=0)
    with pytest.raises(ConfigError, match="did you mean 'gail.learning_rate'") as refused:
        sweep.sweepable_field("gail.learning_rat", config, "gail")
    listed = str(refused.value).split("its float fields: ")[1]
    assert "gail.ent_coef" in listed
    assert "max_kl" not in listed and "bc_learning_rate" not in listed
