import copy
import dataclasses
import functools
import json
import os
import pathlib
import shutil
import subprocess
import sys
import warnings

import jax.numpy as jnp
import numpy as np
import pytest
import yaml
from flax import serialization

from jirl import algos, data
from jirl.cli import main
from jirl.files import seal, unseal
from jirl.run import load_checkpoint, state_template
from jirl.types import Algorithm


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(code, err):
    assert code == 2
    assert err.startswith("jirl: error: ")
    assert err.count("\n") == 1 and "Traceback" not in err


def test_unknown_env(capsys, tmp_path):
    code, _, err = run_cli(
        capsys, "train", "bc", "--env", "cartpol", "--demos", "x.npz", "--out", str(tmp_path / "r")
    )
    one_line_error(code, err)
    assert "did you mean 'cartpole'" in err.lower()


def test_unknown_algorithm(capsys, tmp_path):
    code, _, err = run_cli(
        capsys, "train", "bcc", "--env", "cartpole", "--out", str(tmp_path / "r")
    )
    one_line_error(code, err)
    assert "unknown algorithm 'bcc'" in err


def test_missing_demos(capsys, tmp_path):
    code, _, err = run_cli(capsys, "train", "bc", "--env", "cartpole", "--out", str(tmp_path / "r"))
    one_line_error(code, err)
    assert "--demos" in err
    code, _, err = run_cli(
        capsys,
        "train",
        "bc",
        "--env",
        "cartpole",
        "--demos",
        str(tmp_path / "no.npz"),
        "--out",
        str(tmp_path / "r"),
    )
    one_line_error(code, err)
    assert "no such demonstration file" in err


def test_demos_from_another_physics_backend_are_a_user_error(capsys, tmp_path):
    from test_data import brax_demos

    from jirl import data, envs

    spring = envs.make("inverted_pendulum", backend="spring")
    demos = data.save(tmp_path / "d.npz", brax_demos(spring), spring)
    argv = ("train", "bc", "--env", "inverted_pendulum", "--demos", str(demos))
    code, _, err = run_cli(capsys, *argv, "--out", str(tmp_path / "r"))
    one_line_error(code, err)
    assert "backend='spring'" in err and "--set backend=spring" in err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    "argv, message",
    [
        (("train", "bc", "--env", "cartpole", "--out", "r", "--bogus"), "unrecognized arguments"),
        (("train", "bc", "--env", "cartpole", "--seeds", "many"), "invalid int value: 'many'"),
        (("train", "bc", "--env", "cartpole"), "the following arguments are required: --out"),
        (("frobnicate",), "invalid choice: 'frobnicate'"),
        ((), "the following arguments are required: COMMAND"),
    ],
)
def test_bad_flags(capsys, argv, message):
    code, _, err = run_cli(capsys, *argv)
    one_line_error(code, err)
    assert message in err


@pytest.mark.parametrize(
    "override, match",
    [
        ("bc.learnin_rate=0.1", "did you mean 'bc.learning_rate'"),
        ("learning_rate=0.1", "belongs to the algorithm: did you mean 'bc.learning_rate'"),
        ("zzz=1", "valid keys: algo, backend, "),  # the internal algo_config is not offered
        ("bc.learning_rate=-1", "bc.learning_rate must be > 0"),
        ("seeds=0", r"seeds must be in \[1, 65,536\]"),
        ("horizon=0", "horizon must be >= 1"),
        ("bc.batch_size=lots", "bc.batch_size must be of type int"),
        ("gail.x=1", "does not belong to algorithm 'bc'"),
    ],
)
def test_bad_config_values(capsys, tmp_path, cartpole_expert, override, match):
    code, _, err = run_cli(
        capsys,
        "train",
        "bc",
        "--env",
        "cartpole",
        "--demos",
        str(cartpole_expert / "demos.npz"),
        "--out",
        str(tmp_path / "r"),
        "--set",
        override,
    )
    one_line_error(code, err)
    assert __import__("re").search(match, err), err


def test_unknown_config_name(capsys, tmp_path):
    code, _, err = run_cli(
        capsys, "train", "bc", "--config", "no-such-config", "--out", str(tmp_path / "r")
    )
    one_line_error(code, err)
    assert "not found" in err


def test_train_bc_writes_run_directory_and_refuses_to_overwrite(capsys, tmp_path, cartpole_expert):
    out = tmp_path / "run"
    argv = [
        "train",
        "bc",
        "--env",
        "cartpole",
        "--demos",
        str(cartpole_expert / "demos.npz"),
        "--out",
        str(out),
        "--seeds",
        "2",
        "--updates",
        "4",
        "--set",
        "chunk=2",
        "--quiet",
    ]
    code, _, err = run_cli(capsys, *argv)
    assert code == 0, err
    for name in (
        "config.yaml",
        "metrics.jsonl",
        "summary.json",
        "curves.png",
        "checkpoint/state.msgpack",
    ):
        assert (out / name).exists(), name
    summary = json.loads((out / "summary.json").read_text())
    for key in (
        "algo",
        "env",
        "seeds",
        "return",
        "normalized_score",
        "expert_return",
        "random_return",
        "env_steps",
        "wall_seconds",
        "compile_seconds",
        "env_steps_per_second",
    ):
        assert key in summary
    assert len(summary["normalized_score"]["per_seed"]) == 2
    lines = (out / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 4 and len(json.loads(lines[0])["bc_loss"]) == 2
    code, _, err = run_cli(capsys, *argv)
    one_line_error(code, err)
    assert "--overwrite" in err
    code, _, err = run_cli(capsys, *argv, "--overwrite")
    assert code == 0, err
    # --resume where nothing was checkpointed; --num-demos N takes N episodes; --tensorboard
    fresh = [*argv[:7], str(tmp_path / "fresh"), *argv[8:]]
    code, _, err = run_cli(capsys, *fresh, "--resume")
    one_line_error(code, err)
    assert "no such run to resume; drop --resume" in err and not (tmp_path / "fresh").exists()
    code, _, err = run_cli(capsys, *fresh, "--num-demos", "2", "--tensorboard")
    assert code == 0, err
    saved = yaml.safe_load((tmp_path / "fresh" / "config.yaml").read_text())
    assert saved["num_demos"] == 2
    assert list((tmp_path / "fresh" / "tensorboard").glob("events.out.tfevents.*"))


def test_plot_command(capsys, tmp_path, cartpole_expert, monkeypatch):
    out = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "bc",
                "--env",
                "cartpole",
                "--demos",
                str(cartpole_expert / "demos.npz"),
                "--out",
                str(out),
                "--updates",
                "2",
                "--quiet",
            ]
        )
        == 0
    )
    code, printed, err = run_cli(
        capsys, "plot", str(out), str(out), "--out", str(tmp_path / "c.png")
    )
    assert code == 0, err
    assert (tmp_path / "c.png").stat().st_size > 1000
    code, _, err = run_cli(capsys, "plot", str(tmp_path / "nothing"))
    one_line_error(code, err)
    assert "no metrics.jsonl" in err
    chosen = tmp_path / "loss.png"
    code, _, err = run_cli(capsys, "plot", str(out), "--metric", "bc_loss", "--out", str(chosen))
    assert code == 0, err
    assert chosen.stat().st_size > 1000 and chosen.read_bytes() != (tmp_path / "c.png").read_bytes()
    code, _, err = run_cli(capsys, "plot", str(out), "--metric", "bogus")
    one_line_error(code, err)
    assert "no metric 'bogus'; it has [" in err and "'bc_loss'" in err
    monkeypatch.chdir(out)  # `jirl plot .` from inside the run: its curve had no legend label
    code, _, err = run_cli(capsys, "plot", ".", "--out", str(tmp_path / "here.png"))
    assert code == 0, err
    from jirl.plots import legend_labels

    here, up, other = pathlib.Path("."), pathlib.Path(".."), tmp_path / "x" / "run"
    assert legend_labels([here, up]) == {here: "run", up: tmp_path.name}
    assert legend_labels([here, other]) == {here: ".", other: str(other)}  # the same name


def test_retrain_without_a_run_is_a_user_error(capsys, tmp_path):
    code, _, err = run_cli(
        capsys, "retrain", "--reward", str(tmp_path / "none"), "--out", str(tmp_path / "o")
    )
    one_line_error(code, err)
    assert "no config.yaml" in err
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_bytes(b"\xff\xfe")  # not text: one line, not a traceback
    code, _, err = run_cli(capsys, "retrain", "--reward", str(run), "--out", str(tmp_path / "o"))
    one_line_error(code, err)
    assert "config.yaml is damaged (not a readable YAML mapping); pass a run directory" in err


@dataclasses.dataclass(frozen=True)
class ExplodingConfig:
    """A toy algorithm whose loss doubles each update and becomes NaN at update `nan_at`."""

    nan_at: int = 5


def exploding(config, env, inputs):
    def init(key):
        return {"x": jnp.ones(()), "step": jnp.zeros((), jnp.int32)}

    def update(state):
        step = state["step"] + 1
        x = jnp.where(step >= config.nan_at, jnp.nan, state["x"] * 2.0)
        return {"x": x, "step": step}, {"loss": x}

    return Algorithm(init, update, lambda s, o, k: jnp.zeros((), jnp.int32), "exploding", 0)


def test_nan_stops_the_cli_with_exit_1_and_keeps_the_last_good_checkpoint(
    capsys, tmp_path, monkeypatch
):
    monkeypatch.setitem(
        algos.REGISTRY, "exploding", algos.AlgoSpec("exploding", ExplodingConfig, exploding)
    )
    out = tmp_path / "run"
    code, _, err = run_cli(
        capsys, "train", "exploding", "--env", "cartpole", "--out", str(out),
        "--updates", "8", "--set", "chunk=2", "--quiet",
    )  # fmt: skip
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err
    assert "metric 'loss' became NaN or inf at update 5" in err
    template = state_template(exploding(None, None, None), 1)
    state, metrics, update = load_checkpoint(out / "checkpoint", template)
    assert update == 4 and float(state["x"][0]) == 16.0
    assert metrics["loss"].shape == (4, 1)
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 4


def test_a_resume_whose_algorithm_logs_other_metrics_writes_nothing(capsys, tmp_path, monkeypatch):
    """A run whose checkpoint holds metrics the algorithm no longer logs (another jirl's) is
    refused in one line before its directory is touched: config.yaml, inputs.json and the
    metrics lines stay as the run left them, for the version that wrote them to resume."""
    monkeypatch.setitem(
        algos.REGISTRY, "exploding", algos.AlgoSpec("exploding", ExplodingConfig, exploding)
    )
    out = tmp_path / "run"
    argv = ["train", "exploding", "--env", "cartpole", "--out", str(out), "--set", "chunk=2"]
    code, _, err = run_cli(capsys, *argv, "--updates", "4", "--quiet")
    assert code == 0, err
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}

    def renamed(config, env, inputs):  # the same algorithm, its metric renamed
        algo = exploding(config, env, inputs)
        update = lambda s: (algo.update(s)[0], {"objective": algo.update(s)[1]["loss"]})  # noqa: E731
        return algo._replace(update=update)

    monkeypatch.setitem(
        algos.REGISTRY, "exploding", algos.AlgoSpec("exploding", ExplodingConfig, renamed)
    )
    code, _, err = run_cli(capsys, *argv, "--updates", "4", "--resume", "--quiet")
    one_line_error(code, err)
    assert "holds the metrics loss, and the algorithm now logs objective" in err
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before


def test_bad_input_leaves_an_existing_run_directory_as_it_was(capsys, tmp_path, cartpole_expert):
    out = tmp_path / "run"
    out.mkdir()
    (out / "summary.json").write_text("{}")
    for extra in (
        ["--set", "bc.learning_rate=-1"],
        ["--set", "horizon=0"],
        ["--num-demos", "0"],
        ["--demos", str(tmp_path / "missing.npz")],
        ["--env", "pendulum"],  # demos recorded on cartpole
    ):
        argv = ["train", "bc", "--env", "cartpole", "--demos", str(cartpole_expert / "demos.npz")]
        code, _, err = run_cli(capsys, *argv, "--out", str(out), "--overwrite", *extra)
        one_line_error(code, err)
        assert [p.name for p in out.iterdir()] == ["summary.json"], extra
        assert (out / "summary.json").read_text() == "{}"


def test_ppo_batch_that_does_not_divide_is_refused(capsys, tmp_path):
    code, _, err = run_cli(
        capsys, "train", "ppo", "--env", "cartpole", "--out", str(tmp_path / "r"),
        "--set", "ppo.num_minibatches=3",
    )  # fmt: skip
    one_line_error(code, err)
    assert "must be divisible by ppo.num_minibatches (3)" in err


def test_plot_draws_a_tabular_run(capsys, tmp_path):
    from jirl.tabular_run import train_tabular

    options = {"size": 4, "num_iterations": 6, "num_demos": 8, "log_every": 2}
    train_tabular("maxent", "gridworld", tmp_path / "tab", options, seeds=2)
    png = tmp_path / "new" / "t.png"  # a folder that does not exist yet is created
    code, printed, err = run_cli(capsys, "plot", str(tmp_path / "tab"), "--out", str(png))
    assert code == 0, err
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_retrain_of_a_run_whose_algo_is_not_a_name_is_a_user_error(capsys, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text("algo: [1]\nenv: cartpole\n")
    code, _, err = run_cli(capsys, "retrain", "--reward", str(run), "--out", str(tmp_path / "o"))
    one_line_error(code, err)
    assert "has no reward network to retrain on" in err
    # a directory whose config names no algo (a retrain's own output): not "a 'None' run"
    (run / "config.yaml").write_text("env: cartpole\nkind: g\n")
    code, _, err = run_cli(capsys, "retrain", "--reward", str(run), "--out", str(tmp_path / "o"))
    one_line_error(code, err)
    assert "names no algo, so it is not a run of `jirl train`" in err


def test_an_out_that_holds_an_input_and_a_damaged_checkpoint_are_user_errors(
    capsys, tmp_path, cartpole_expert
):
    """Replacing --out would delete the demos, expert or run the command reads: refused even
    with --overwrite. Then a checkpoint that is empty, cut mid-way, or a msgpack map that is not
    a checkpoint: one line, exit 2, on --resume and on retrain."""
    run = tmp_path / "gail"
    train_briefly(capsys, "gail", "gail-cartpole", cartpole_expert, run)
    for out in (run, tmp_path):
        code, _, err = run_cli(
            capsys, "retrain", "--reward", str(run), "--out", str(out), "--overwrite"
        )
        one_line_error(code, err)
        assert "which replacing it would delete" in err and (run / "config.yaml").is_file()
    demos = str(cartpole_expert / "demos.npz")
    argv = ["train", "bc", "--env", "cartpole", "--demos", demos, "--overwrite", "--out"]
    code, _, err = run_cli(capsys, *argv, str(cartpole_expert.parent))
    one_line_error(code, err)
    assert "holds the input" in err and (cartpole_expert / "demos.npz").is_file()
    argv = ["train", "dagger", "--env", "cartpole", "--expert", str(cartpole_expert)]
    code, _, err = run_cli(capsys, *argv, "--overwrite", "--out", str(cartpole_expert))
    one_line_error(code, err)
    assert "holds the input" in err and (cartpole_expert / "expert.json").is_file()

    checkpoint = run / "checkpoint" / "state.msgpack"
    whole = checkpoint.read_bytes()
    argv = ["train", "gail", "--config", "gail-cartpole", "--demos", demos, "--out", str(run)]
    # (the last: a map nested 1,000 deep, a RecursionError in flax's msgpack_restore)
    deep = b"\x81\xa1x" * 1000 + b"\x01"
    for damage in (b"", whole[: len(whole) // 2], b"\x81\xa1x\x01", deep):
        checkpoint.write_bytes(damage)
        code, _, err = run_cli(capsys, *argv, "--seeds", "2", "--updates", "2", "--resume")
        one_line_error(code, err)
        assert "damaged or not a jirl checkpoint" in err
        out = str(tmp_path / "o")
        code, _, err = run_cli(capsys, "retrain", "--reward", str(run), "--out", out)
        one_line_error(code, err)
        assert "damaged or not a jirl checkpoint" in err
    # sealed, so no bit changed on disk, but numbers no run writes: a summary of NaN seconds
    # (invalid JSON), "trained on -1 device(s)", 2.5 updates read as 2
    raw = serialization.msgpack_restore(unseal(whole))
    for field, value, said in (
        (("timing", "compile_seconds"), np.nan, "compile_seconds nan"),
        (("update",), 2.5, "update 2.5"),
        (("devices",), -1, "devices -1"),
    ):
        edited = copy.deepcopy(raw)
        *parents, leaf = field
        functools.reduce(dict.__getitem__, parents, edited)[leaf] = np.asarray(value)
        checkpoint.write_bytes(seal(serialization.msgpack_serialize(edited)))
        code, _, err = run_cli(capsys, *argv, "--seeds", "2", "--updates", "2", "--resume")
        one_line_error(code, err)
        assert f"damaged or not a jirl checkpoint (ValueError: {said})" in err
    checkpoint.unlink()
    checkpoint.mkdir()  # ("nothing to resume (no checkpoint was written yet)")
    code, _, err = run_cli(capsys, *argv, "--seeds", "2", "--updates", "2", "--resume")
    one_line_error(code, err)
    assert "state.msgpack is not a checkpoint file: restore it" in err
    checkpoint.rmdir()
    checkpoint.write_bytes(whole)
    (run / "inputs.json").write_text("[" * 100_000 + "]" * 100_000)  # (a RecursionError)
    code, _, err = run_cli(capsys, *argv, "--seeds", "2", "--updates", "2", "--resume")
    one_line_error(code, err)
    assert "inputs.json is damaged: restore it, or pass --overwrite" in err
    code, _, err = run_cli(capsys, "retrain", "--reward", str(run), "--out", out)
    one_line_error(code, err)
    assert err.rstrip().endswith("inputs.json is damaged: restore it")


def test_retrain_refusal_leaves_the_output_directory_as_it_was(capsys, tmp_path):
    run = tmp_path / "run"
    (run / "checkpoint").mkdir(parents=True)
    (run / "checkpoint" / "state.msgpack").write_bytes(b"")
    sweep = "sweep: {learning_rate: [0.001, 0.0003]}\n"
    (run / "config.yaml").write_text(f"algo: gail\nenv: cartpole\n{sweep}")
    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.json").write_text("{}")  # an earlier retrain's output: --overwrite may go
    argv = ["retrain", "--reward", str(run), "--out", str(out), "--overwrite"]
    code, _, err = run_cli(capsys, *argv)
    one_line_error(code, err)
    assert "is a sweep" in err
    assert [p.name for p in out.iterdir()] == ["summary.json"]


@pytest.mark.parametrize("line", ["demos: 5", "demos: [a, b]", "demos: true", "expert: [x]"])
def test_retrain_of_a_run_whose_config_has_a_bad_input_path_is_a_user_error(capsys, tmp_path, line):
    """An edited config.yaml's `demos: 5` reached `os.fspath` before the config was checked:
    a TypeError's traceback, exit 1."""
    run = tmp_path / "run"
    (run / "checkpoint").mkdir(parents=True)
    (run / "checkpoint" / "state.msgpack").write_bytes(b"")
    (run / "config.yaml").write_text(f"algo: gail\nenv: cartpole\n{line}\n")
    code, _, err = run_cli(capsys, "retrain", "--reward", str(run), "--out", str(tmp_path / "o"))
    one_line_error(code, err)
    assert f"{run / 'config.yaml'}: " in err and not (tmp_path / "o").exists()


def test_retrain_of_a_run_whose_demos_moved_says_how_to_point_at_them(capsys, tmp_path):
    """A run's demonstrations moved away: the error told the user to record new ones with
    `jirl expert`, not that the run's config.yaml can name their new place."""
    run = tmp_path / "run"
    (run / "checkpoint").mkdir(parents=True)
    (run / "checkpoint" / "state.msgpack").write_bytes(b"")
    gone = tmp_path / "moved" / "demos.npz"
    (run / "config.yaml").write_text(f"algo: gail\nenv: cartpole\ndemos: {gone}\n")
    code, _, err = run_cli(capsys, "retrain", "--reward", str(run), "--out", str(tmp_path / "o"))
    one_line_error(code, err)
    assert f"the run's demos {gone} are gone (moved or deleted)" in err
    assert f"demos: in {run / 'config.yaml'}" in err and "jirl expert" not in err


def test_overwrite_never_replaces_the_other_commands_output_of_the_same_names(
    capsys, tmp_path, cartpole_expert
):
    """A retrain writes config.yaml and summary.json, both among a run's names: `jirl train
    --overwrite` deleted a retrain's output; and a retrain's --overwrite a run that stopped
    before its first checkpoint. Which command wrote a directory is read from its config.yaml."""
    retrained = tmp_path / "retrained"
    retrained.mkdir()
    (retrained / "config.yaml").write_text("reward_run: /runs/airl\nenv: cartpole\nkind: g\n")
    (retrained / "summary.json").write_text('{"algo": "retrain"}')
    demos = str(cartpole_expert / "demos.npz")
    argv = ["train", "bc", "--env", "cartpole", "--demos", demos, "--out", str(retrained)]
    code, _, err = run_cli(capsys, *argv, "--overwrite", "--updates", "1")
    one_line_error(code, err)
    assert "holds the output of jirl retrain, not of jirl train" in err
    assert json.loads((retrained / "summary.json").read_text()) == {"algo": "retrain"}

    run = tmp_path / "run"  # the retrain's own input, a run to take a reward from
    (run / "checkpoint").mkdir(parents=True)
    (run / "checkpoint" / "state.msgpack").write_bytes(b"")
    (run / "config.yaml").write_text("algo: gail\nenv: cartpole\n")
    started = tmp_path / "started"  # a run stopped before it wrote anything but its config
    started.mkdir()
    (started / "config.yaml").write_text("algo: bc\nenv: cartpole\n")
    argv = ["retrain", "--reward", str(run), "--out", str(started), "--overwrite"]
    code, _, err = run_cli(capsys, *argv)
    one_line_error(code, err)
    assert "holds the output of jirl train, not of jirl retrain" in err
    assert [p.name for p in started.iterdir()] == ["config.yaml"]
    # a retrain's output is the retrain's to replace: past the check, to the run's own flaw
    # (this run's config.yaml is terse: the retrain warns of the settings it lacks)
    with pytest.warns(UserWarning, match="added to jirl since the run started"):
        code, _, err = run_cli(capsys, "retrain", "--reward", str(run), "--out", str(retrained),
                               "--overwrite")  # fmt: skip
    one_line_error(code, err)
    assert "holds" not in err and "learns from demonstrations: pass --demos" in err


def train_briefly(capsys, algo: str, config: str, expert_dir, run) -> None:
    """`jirl train ALGO --config CONFIG` on the expert's demos: 2 seeds, 2 updates, into `run`."""
    demos = str(expert_dir / "demos.npz")
    train = ["train", algo, "--config", config, "--demos", demos, "--out", str(run)]
    code, _, err = run_cli(capsys, *train, "--seeds", "2", "--updates", "2", "--quiet")
    assert code == 0, err


def test_retrain_takes_a_gcl_reward_and_refuses_another_kind(
    capsys, tmp_path, cartpole_expert, monkeypatch
):
    run, out, experts = tmp_path / "gcl", tmp_path / "retrain", tmp_path / "expert"
    experts.mkdir()
    shutil.copy(cartpole_expert / "demos.npz", experts / "demos.npz")
    train_briefly(capsys, "gcl", "gcl-cartpole", experts, run)
    argv = ["retrain", "--reward", str(run), "--out", str(out)]
    code, _, err = run_cli(capsys, *argv, "--kind", "g")
    one_line_error(code, err)
    assert "--kind for a run of gcl must be 'reward', got 'g'" in err and not out.exists()
    # an --out that holds the run's demonstrations is refused, even with --overwrite
    code, _, err = run_cli(capsys, "retrain", "--reward", str(run), "--out", str(experts),
                           "--overwrite")  # fmt: skip
    one_line_error(code, err)
    assert "holds the input" in err and (experts / "demos.npz").is_file()
    # a run that stopped before its last update (killed; the NaN guard) is not retrained
    config = (run / "config.yaml").read_text()
    (run / "config.yaml").write_text(config.replace("updates: 2\n", "updates: 4\n"))
    code, _, err = run_cli(capsys, *argv)
    one_line_error(code, err)  # an edited config is told apart from the one the run started
    assert "the config differs from the one the run started with" in err
    (run / "inputs.json").unlink()  # as a run from before inputs.json: trusted, with a word
    with pytest.warns(UserWarning, match="inputs.json is missing, so this retrain cannot check"):
        code, _, err = run_cli(capsys, *argv)
    one_line_error(code, err)
    assert "stopped at update 2 of 4: finish it first" in err and not out.exists()
    (run / "config.yaml").write_text(config)
    monkeypatch.chdir(tmp_path)  # the run given relative: recorded absolute, as a run's inputs
    argv = ["retrain", "--reward", "gcl", "--out", str(out)]
    code, _, err = run_cli(capsys, *argv, "--updates", "2", "--quiet")
    assert code == 0, err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["reward_algo"] == "gcl" and summary["reward_kind"] == "reward"
    assert (
        summary["reward_run"]
        == str(run)
        == yaml.safe_load((out / "config.yaml").read_text())["reward_run"]
    )
    assert len(summary["return"]["per_seed"]) == 2


def test_retrain_takes_airls_f_the_env_and_ppo_overrides(capsys, tmp_path, cartpole_expert):
    """`--kind f`, `--env` (the run's own: scored; another's spaces: refused) and `--set` reach
    the retrained agent; a bad `--set` key, annealing shorter than the run or a negative seed
    is a user error that writes nothing."""
    run, out = tmp_path / "airl", tmp_path / "retrain"
    train_briefly(capsys, "airl", "airl-cartpole", cartpole_expert, run)
    argv = ["retrain", "--reward", str(run), "--out", str(out), "--updates", "2", "--quiet"]
    code, _, err = run_cli(capsys, *argv, "--env", "acrobot")
    one_line_error(code, err)
    assert "'acrobot' has spaces" in err and not out.exists()
    code, _, err = run_cli(capsys, *argv, "--set", "learning_rat=0.001")
    one_line_error(code, err)
    assert "learning_rat" in err and not out.exists()
    code, _, err = run_cli(capsys, *argv, "--set", "anneal_updates=1")
    one_line_error(code, err)
    assert "anneal_updates (1) is below updates (2)" in err and not out.exists()
    code, _, err = run_cli(capsys, *argv, "--seed", "-1")
    one_line_error(code, err)
    assert "seed must be in [0, " in err and not out.exists()
    # an --out inside the run would sit there as a file `jirl train` does not write, and
    # block the run's --overwrite
    inside = ["retrain", "--reward", str(run), "--out", str(run / "retrain"), "--updates", "2"]
    code, _, err = run_cli(capsys, *inside)
    one_line_error(code, err)
    assert "lies inside the run" in err and not (run / "retrain").exists()
    # its PPO fields as its messages name them, ppo.KEY, or bare
    code, _, err = run_cli(capsys, *argv, "--set", "ppo.gamma=1.5")
    one_line_error(code, err)
    assert "ppo.gamma must be in [0, 1]" in err and not out.exists()
    code, _, err = run_cli(capsys, *argv, "--set", "ppo.gamma=0.9", "--set", "gamma=0.8")
    one_line_error(code, err)
    assert "--set gives gamma both as ppo.gamma and bare; keep one" in err and not out.exists()
    extra = ["--kind", "f", "--env", "cartpole", "--set", "learning_rate=0.001"]
    code, _, err = run_cli(capsys, *argv, *extra)
    assert code == 0, err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["reward_algo"] == "airl" and summary["reward_kind"] == "f"
    assert summary["env"] == "cartpole" and summary["updates"] == 2
    assert len(summary["normalized_score"]["per_seed"]) == 2  # the run's env: scored
    saved = yaml.safe_load((out / "config.yaml").read_text())
    assert saved["kind"] == "f" and saved["ppo"]["learning_rate"] == 0.001


def test_retrain_of_a_small_trpo_run_takes_ppo_settings_that_fit_it(
    capsys, tmp_path, cartpole_expert
):
    """A TRPO run's PPO fields were never used, nor checked: a valid GAIL (TRPO) run of an
    8-step batch could not be retrained, its 4 PPO minibatches refused before `--set` could
    change them (a review). They are now checked with the changes, and the error says so."""
    run, out = tmp_path / "gail", tmp_path / "retrain"
    small = ["generator=trpo", "num_envs=1", "num_steps=8", "fisher_subsample=1"]
    demos = str(cartpole_expert / "demos.npz")
    train = ["train", "gail", "--config", "gail-cartpole", "--demos", demos, "--out", str(run)]
    sets = [arg for item in small for arg in ("--set", f"gail.{item}")]
    code, _, err = run_cli(capsys, *train, *sets, "--seeds", "1", "--updates", "2", "--quiet")
    assert code == 0, err
    argv = ["retrain", "--reward", str(run), "--out", str(out), "--updates", "2", "--quiet"]
    code, _, err = run_cli(capsys, *argv)
    one_line_error(code, err)
    assert "the run's generator was TRPO" in err and "--set KEY=VALUE" in err
    code, _, err = run_cli(capsys, *argv, "--set", "num_minibatches=1")
    assert code == 0, err


@pytest.mark.slow
def test_retrain_takes_a_reward_learned_with_absorbing_states(capsys, tmp_path, acrobot_expert):
    """A GAIL run with absorbing states (flagged discriminator inputs) retrains end to end;
    a learner discount of 1, which leaves the absorbing state's value γ r(s_a) / (1 − γ)
    undefined, is a user error (it was a ZeroDivisionError traceback while tracing)."""
    run, out = tmp_path / "gail", tmp_path / "retrain"
    train_briefly(capsys, "gail", "gail-acrobot", acrobot_expert, run)
    argv = ["retrain", "--reward", str(run), "--out", str(out), "--updates", "2", "--quiet"]
    code, _, err = run_cli(capsys, *argv, "--set", "gamma=1.0")
    one_line_error(code, err)
    assert "learned with absorbing states, whose reward needs gamma < 1" in err
    assert not out.exists()
    code, _, err = run_cli(capsys, *argv)
    assert code == 0, err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["reward_algo"] == "gail" and summary["env"] == "acrobot"
    assert len(summary["return"]["per_seed"]) == 2


def test_tabular_train_takes_section_keys_updates_and_its_own_config(capsys, tmp_path):
    """`--set maxent.key=v` (the sampling algorithms' form) and flat keys both work, `--updates`
    is the tabular iteration count, and the run's config.yaml (seeds included) reruns it."""
    import yaml

    out = tmp_path / "a"
    args = ["train", "maxent", "--env", "gridworld", "--out", str(out), "--quiet", "--seeds", "2"]
    args += ["--set", "maxent.learning_rate=0.2", "--set", "size=4", "--updates", "3"]
    code, _, err = run_cli(capsys, *args)
    assert code == 0, err
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert (config["learning_rate"], config["num_iterations"], config["seeds"]) == (0.2, 3, 2)
    again = tmp_path / "b"
    code, _, err = run_cli(
        capsys, "train", "maxent", "--config", str(out / "config.yaml"), "--out", str(again)
    )
    assert code == 0, err
    assert yaml.safe_load((again / "config.yaml").read_text()) == config
    assert json.loads((again / "summary.json").read_text())["seeds"] == 2
    # --overwrite replaces the directory: nothing of the run before stays beside the new files
    # (a name jirl writes elsewhere: another name is someone's file, which it refuses to delete)
    stale = again / "curves.png"
    stale.write_bytes(b"")
    code, _, err = run_cli(capsys, *args[:5], str(again), *args[6:])
    one_line_error(code, err)
    assert "--overwrite" in err and stale.exists()
    code, _, err = run_cli(capsys, *args[:5], str(again), *args[6:], "--overwrite")
    assert code == 0, err
    assert not stale.exists()
    assert yaml.safe_load((again / "config.yaml").read_text()) == config


@pytest.mark.parametrize(
    "flags",
    [["--resume"], ["--tensorboard", "--sweep", "learning_rate=0.1,0.2"], ["--demos", "d.npz"]],
)
def test_tabular_train_refuses_the_sampling_flags(capsys, tmp_path, flags):
    out = tmp_path / "r"
    code, _, err = run_cli(
        capsys, "train", "maxent", "--env", "gridworld", "--out", str(out), *flags
    )
    one_line_error(code, err)
    assert "not for tabular IRL" in err and not out.exists()
    assert ("--overwrite" in err) == ("--resume" in flags)


def test_a_brax_env_error_is_one_line_too(tmp_path, cartpole_expert):
    """MuJoCo's warp notice, Brax's maintenance warning and the MuJoCo compiler's warning on
    Brax's halfcheetah model (a deprecated attribute: a line on stdout and a MUJOCO_LOG.TXT in
    the working directory) do not reach the user: the command runs in a fresh process, where
    Brax is imported for the first time (in this one, an earlier test may have imported it
    already, and its notices with it)."""
    import subprocess
    import sys

    demos = str(cartpole_expert / "demos.npz")
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; from jirl.cli import console; sys.exit(console())",
         "train", "gail", "--env", "halfcheetah", "--demos", demos, "--out", "r"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )  # fmt: skip
    one_line_error(proc.returncode, proc.stderr)
    assert "'cartpole', but the environment is 'halfcheetah'" in proc.stderr
    assert proc.stdout == "" and list(tmp_path.iterdir()) == []


def test_expert_command_writes_the_expert_demos_and_counts_terminations(capsys, tmp_path):
    """`jirl expert` (a short run): expert files, demos, and a summary that says how many
    demonstration episodes end in a termination (a fall, on CartPole and the Brax robots), and
    a warning when even the kept seed falls in most of its evaluation episodes."""
    out = tmp_path / "expert"
    # (8 updates: clear of the random policy, as the expert must be, and falling still)
    argv = ["expert", "--env", "cartpole", "--out", str(out), "--seeds", "2", "--updates", "8"]
    with pytest.warns(UserWarning, match="every seed with a finite return falls in more than 10%"):
        code, printed, err = run_cli(capsys, *argv, "--episodes", "2", "--set", "ppo.num_envs=4")
    assert code == 0, err
    for name in ("expert.msgpack", "expert.json", "demos.npz", "summary.json"):
        assert (out / name).is_file(), name
    summary = json.loads((out / "summary.json").read_text())
    demos = data.load(out / "demos.npz").trajectories
    assert summary["demo_terminated"] == int(demos.terminated.sum()) == 2  # 8 updates: it falls
    assert f"2 demos ({summary['demo_terminated']} end in a termination)" in printed
    assert summary["terminal_failure"] is True
    assert summary["seed_terminated"] == [1.0, 1.0]
    assert all(0 < n < 500 for n in summary["seed_mean_length"])  # falls before the horizon
    # the kept seed's reference return comes from fresh episodes, not those that chose it
    chosen = summary["seed_returns"][summary["best_seed"]]
    assert summary["expert_return"] != chosen
    header = json.loads((out / "expert.json").read_text())
    assert header["expert_return"] == summary["expert_return"]
    # `fixed_horizon: true` records the demos past the falls; PPO still trains and is scored
    # on the task as it ends: the same seeds as above, to the bit (trained past the falls,
    # unpaid, an expert learned nothing: 13.6 after 480 updates against random's 21.3)
    fixed = tmp_path / "fixed"
    argv = [*argv[:4], str(fixed), *argv[5:], "--episodes", "2", "--set", "ppo.num_envs=4"]
    with pytest.warns(UserWarning, match="falls in more than 10%"):
        code, _, err = run_cli(capsys, *argv, "--set", "fixed_horizon=true")
    assert code == 0, err
    ran_on = json.loads((fixed / "summary.json").read_text())
    for key in ("seed_returns", "seed_terminated", "seed_mean_length", "expert_return"):
        assert ran_on[key] == summary[key], key
    loaded = data.load(fixed / "demos.npz")
    assert loaded.header.fixed_horizon is True and ran_on["demo_terminated"] == 0
    assert loaded.trajectories.episode_lengths.tolist() == [500, 500]


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "ppo", "--env", "cartpole"],
        ["expert", "--env", "cartpole"],
        ["train", "maxent", "--env", "gridworld"],
    ],
    ids=["train", "expert", "tabular"],
)
def test_an_out_that_is_a_file_is_a_user_error(capsys, tmp_path, argv):
    taken = tmp_path / "notes.txt"
    taken.write_text("mine")
    code, _, err = run_cli(capsys, *argv, "--out", str(taken), "--overwrite")
    one_line_error(code, err)
    assert "is a file; --out names a directory" in err and taken.read_text() == "mine"
    if argv[1] == "ppo":  # (--resume said "nothing to resume ...; pass --overwrite")
        code, _, err = run_cli(capsys, *argv, "--out", str(taken), "--resume")
        one_line_error(code, err)
        assert "is a file; --out names a run's directory" in err and taken.read_text() == "mine"


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "ppo", "--env", "cartpole", "--out"],
        ["expert", "--env", "cartpole", "--out"],
        ["train", "maxent", "--env", "gridworld", "--out"],
        ["quickstart", "--out"],
        ["plot", "RUN", "--out"],
    ],
    ids=["train", "expert", "tabular", "quickstart", "plot"],
)
def test_an_out_below_a_file_is_a_user_error(capsys, tmp_path, argv):
    taken = tmp_path / "notes.txt"
    taken.write_text("mine")
    argv = [str(tmp_path) if a == "RUN" else a for a in argv]
    code, _, err = run_cli(capsys, *argv, str(taken / "sub" / "x.png"))
    one_line_error(code, err)
    assert "notes.txt is a file, not a directory" in err and taken.read_text() == "mine"


def write_metrics(run, rows: list[str]):
    run.mkdir()
    (run / "metrics.jsonl").write_text("".join(r + "\n" for r in rows))
    return run


@pytest.mark.parametrize("name", ["curves.txt", "a_directory"])
def test_plot_out_must_name_a_png_file(capsys, tmp_path, name):
    run = write_metrics(tmp_path / "run", ['{"step": 1, "loss": [0.5]}'])
    (tmp_path / "a_directory.png").mkdir()
    out = tmp_path / (name if name.endswith(".txt") else name + ".png")
    code, _, err = run_cli(capsys, "plot", str(run), "--out", str(out))
    one_line_error(code, err)
    assert "name a .png file to write" in err


@pytest.mark.parametrize(
    "rows",
    [
        ['{"loss": [1.0]}'],
        ['{"step": 1, "a": [1]}', '{"step": 2}'],
        ["[1]"],
        ['{"step": 1, "a": ["abc"]}'],
        ['{"step": 1, "wall_time": "abc", "a": [1]}'],
        ['{"step": 1, "a": [' + "1" * 400 + "]}"],  # no float holds it: a traceback before
    ],
)
def test_plot_refuses_a_metrics_file_that_is_not_jirls(capsys, tmp_path, rows):
    run = write_metrics(tmp_path / "run", rows)
    code, _, err = run_cli(capsys, "plot", str(run), "--out", str(tmp_path / "c.png"))
    one_line_error(code, err)
    assert "not a jirl metrics file" in err


def test_plot_refuses_a_metric_without_values(capsys, tmp_path):
    run = write_metrics(tmp_path / "run", ['{"step": 1, "episode_return": []}'])
    code, _, err = run_cli(capsys, "plot", str(run), "--out", str(tmp_path / "c.png"))
    one_line_error(code, err)
    assert "metric 'episode_return' holds no values" in err


def test_plot_draws_the_finite_runs_and_refuses_a_metric_with_none(capsys, tmp_path, monkeypatch):
    """One NaN seed blanked the whole curve (its mean, min and max), exit 0; a metric NaN
    throughout drew an empty panel; a run of one update drew nothing (a line needs two
    points); two runs named alike shared one legend label; a file of no metric said "no
    metric 'None'"."""
    import jirl.plots

    drawn = []
    monkeypatch.setattr(jirl.plots, "save_png", lambda fig, path: drawn.append(fig) or path)
    (tmp_path / "x").mkdir(), (tmp_path / "y").mkdir()
    rows = [f'{{"step": {i}, "env_steps": {8 * i}, "a": [NaN, {i}.0]}}' for i in (1, 2, 3)]
    nan_seed = write_metrics(tmp_path / "x" / "run", rows)
    single = write_metrics(tmp_path / "y" / "run", ['{"step": 1, "env_steps": 8, "a": [2.0]}'])
    with pytest.warns(UserWarning, match="'a' is NaN or infinite at some update in 1 of its 2"):
        jirl.plots.plot_runs([nan_seed, single], tmp_path / "c.png")
    lines = drawn[0].axes[0].lines
    np.testing.assert_array_equal(lines[0].get_ydata(), [1.0, 2.0, 3.0])  # the finite seed
    assert lines[1].get_marker() == "o" and len(lines[1].get_ydata()) == 1
    assert [line.get_label() for line in lines] == [str(nan_seed), str(single)]
    all_nan = write_metrics(tmp_path / "z", ['{"step": 1, "a": [NaN]}', '{"step": 2, "a": [NaN]}'])
    code, _, err = run_cli(capsys, "plot", str(all_nan), "--out", str(tmp_path / "d.png"))
    one_line_error(code, err)
    assert "metric 'a' is NaN or infinite throughout" in err
    bare = write_metrics(tmp_path / "w", ['{"step": 1, "env_steps": 8, "wall_time": 1.0}'])
    code, _, err = run_cli(capsys, "plot", str(bare), "--out", str(tmp_path / "e.png"))
    one_line_error(code, err)
    assert "its metrics.jsonl logs no metric to plot" in err


def test_plot_draws_no_return_before_a_runs_first_episode(capsys, tmp_path, monkeypatch):
    """The log carries a return of 0 until an episode ends (pendulum's GAIL: its first update,
    halfcheetah's: 15): the curve started at 0, above the expert's return."""
    import jirl.plots

    drawn = []
    monkeypatch.setattr(jirl.plots, "save_png", lambda fig, path: drawn.append(fig) or path)
    rows = [
        '{"step": 1, "env_steps": 8, "episodes": [0, 0], "episode_return": [0.0, 0.0]}',
        '{"step": 2, "env_steps": 16, "episodes": [2, 0], "episode_return": [-900.0, 0.0]}',
        '{"step": 3, "env_steps": 24, "episodes": [0, 1], "episode_return": [-900.0, -700.0]}',
    ]
    run = write_metrics(tmp_path / "run", rows)
    jirl.plots.plot_runs([run], tmp_path / "c.png")
    (line,) = drawn[0].axes[0].lines
    np.testing.assert_array_equal(line.get_ydata(), [np.nan, -900.0, -800.0])
    # a run too short to end one draws an empty curve, with a word, and is no error: `jirl
    # train` draws its curves after the run (a GCL run of 3 updates exited 2 on this)
    none_yet = write_metrics(tmp_path / "new", rows[:1])
    with pytest.warns(UserWarning, match="no episode has ended yet: 'episode_return' has no"):
        jirl.plots.plot_runs([none_yet], tmp_path / "d.png")


def test_plot_warns_of_a_damaged_metrics_line_but_not_of_a_torn_last_one(capsys, tmp_path):
    """A line that is no row, before the last, was left out of the curve without a word (so
    was one nested too deeply, after a RecursionError was caught); the last line may be one
    a crash or the writing run cut short."""
    import jirl.plots

    rows = [f'{{"step": {i}, "x": [{i}.0]}}' for i in (1, 2, 3)]
    torn = write_metrics(tmp_path / "torn", [*rows, '{"step": 4, "x'])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert jirl.plots.read_metrics(torn)["step"].tolist() == [1, 2, 3]
    for name, bad in (("garbage", "garbage{"), ("deep", "[" * 100_000 + "]" * 100_000)):
        damaged = write_metrics(tmp_path / name, [rows[0], bad, *rows[1:]])
        if name == "garbage":  # a byte that is not UTF-8 (the whole plot was "unreadable")
            text = (damaged / "metrics.jsonl").read_bytes()
            (damaged / "metrics.jsonl").write_bytes(text.replace(b"garbage", b"\xff"))
        with pytest.warns(UserWarning, match="line 2 not a metrics row, left out of the plot"):
            assert jirl.plots.read_metrics(damaged)["step"].tolist() == [1, 2, 3]


def test_plot_draws_a_run_whose_config_is_not_text(capsys, tmp_path):
    """(A traceback: UnicodeDecodeError.) Unreadable, the config names no sweep: one curve."""
    run = write_metrics(tmp_path / "run", ['{"step": 1, "x": [1, 2]}', '{"step": 2, "x": [2, 3]}'])
    (run / "config.yaml").write_bytes(b"\xff\xfe\x00garbage")
    code, _, err = run_cli(capsys, "plot", str(run), "--out", str(tmp_path / "c.png"))
    assert code == 0, err


@pytest.mark.parametrize(
    "damage, message",
    [
        ({"metrics.jsonl": b"\xff\xfe\x00"}, "metrics.jsonl: no update logged"),
        ({"summary.json": b"{cut"}, "summary.json: not a jirl summary file"),
        ({"summary.json": b"[1]"}, "summary.json: not a jirl summary file"),
        ({"summary.json": b'{"sweep": [3]}'}, "summary.json: 'sweep' is not a list of numeric"),
        ({"summary.json": b'{"sweep": [{"setting": {"lr": "x"}}]}'}, "not a list of numeric"),
        # a sweep still running has no summary: the grid of its config.yaml is the one blamed
        ({"config.yaml": b"sweep: {activation: [tanh, relu]}\n"}, "config.yaml: 'sweep' is not"),
        # (a RecursionError traceback)
        ({"summary.json": b"[" * 100_000 + b"]" * 100_000}, "file (nested too deeply"),
    ],
)
def test_plot_refuses_damaged_run_files(capsys, tmp_path, damage, message):
    run = write_metrics(tmp_path / "run", ['{"step": 1, "a": [1.0]}'])
    for name, content in damage.items():
        (run / name).write_bytes(content)
    code, _, err = run_cli(capsys, "plot", str(run), "--out", str(tmp_path / "c.png"))
    one_line_error(code, err)
    assert message in err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "ppo", "--env", "cartpole", "--out", ""], "--out is empty; give the direc"),
        (["plot", "RUN", "--out", " "], "--out is empty; give the directory to write (jirl plot"),
        (["retrain", "--reward", "", "--out", "OUT"], "--reward is empty; give a finished"),
        # someone's directory: --overwrite would refuse it too, so it is not suggested
        (["train", "ppo", "--config", "CONFIG", "--out", "JUNK", "--resume"], "is no run of jirl"),
    ],
)
def test_empty_paths_and_a_resume_of_another_directory_say_so(capsys, tmp_path, argv, message):
    """(An empty --out or --reward was read as ".", and the messages spoke of the working
    directory.)"""
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "notes.txt").write_text("mine")
    config = tmp_path / "ppo.yaml"
    config.write_text("algo: ppo\nenv: cartpole\n")
    files = {"RUN": tmp_path / "run", "OUT": tmp_path / "out", "JUNK": junk, "CONFIG": config}
    code, _, err = run_cli(capsys, *[str(files.get(a, a)) for a in argv])
    one_line_error(code, err)
    assert message in err and not (tmp_path / "out").exists()
    assert [p.name for p in junk.iterdir()] == ["notes.txt"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "bc", "--env", "cartpole", "--set", "algo=gail"], "the command runs 'bc'"),
        (["train", "bc", "--env", "cartpole", "--set", "algo=[1]"], "the command runs 'bc'"),
        (["train", "maxent", "--env", "gridworld", "--set", "algo=mwal"], "runs 'maxent'"),
        (["expert", "--env", "cartpole", "--set", "algo=bc"], "the command runs 'ppo'"),
        (["train", "ppo", "--env", "cartpole", "--seed", "4294967296"], "seed must be at most"),
        (["train", "maxent", "--env", "gridworld", "--seed", "4294967296"], "seed must be an"),
        (["train", "ppo", "--env", "cartpole", "--resume", "--overwrite"], "pass one of them"),
        (["train", "ppo", "--resume"], "--resume needs the run's config: pass --config"),
        (["train", "ppo", "--env", "cartpole", "--num-demos", "3"], "drop --num-demos"),
        (["train", "ppo", "--env", "cartpole", "--set", "backend=spring"], "for Brax envs only"),
        (["train", "ppo", "--env", "cartpole", "--set", "ppo.ent_coef=.inf"], "finite number"),
        (["train", "ppo", "--env", "cartpole", "--sweep", "ppo.ent_coef=0,inf"], "finite"),
        (["train", "ppo", "--config", "BINARY"], "not a text file; pass a YAML config"),
        (["train", "ppo", "--env", "cartpole", "--set", "ppo.squash=true"], "squash: true needs"),
        (["train", "trpo", "--env", "acrobot", "--set", "trpo.squash=true"], "are discrete"),
        # a categorical policy has no std, and discrete actions are executed as sampled
        (["train", "trpo", "--env", "acrobot", "--set", "trpo.init_log_std=0"], "no std"),
        (
            [
                "train",
                "gail",
                "--config",
                "gail-cartpole",
                "--demos",
                "DEMOS",
                "--set",
                "gail.init_log_std=0",
            ],
            "no std",
        ),
        (
            [
                "train",
                "airl",
                "--config",
                "airl-cartpole",
                "--demos",
                "DEMOS",
                "--set",
                "airl.disc_actions=sampled",
            ],
            "cartpole's are discrete",
        ),
        (["expert", "--env", "cartpole", "--set", "ppo=5"], "ppo must be a mapping of PPO"),
        (["train", "ppo", "--env", "cartpole", "--set", "ppo=0"], "ppo must be a mapping of"),
        (["train", "ppo", "--env", "cartpole", "--set", "ppo=[]"], "ppo must be a mapping of"),
        (["train", "ppo", "--config", "INT_KEY"], "unknown config key '1'"),
        (["train", "maxent", "--set", "env=5"], "unknown tabular env '5'"),
        (["expert", "--env", "cartpole", "--updates", "-1"], "updates must be >= 1, got -1"),
        (["train", "gail", "--config", "gail-cartpole", "--updates", "0"], "updates must be >="),
        (["train", "ppo", "--config", "DIR"], "is a directory; pass a YAML file"),
        (["train", "bc", "--env", "cartpole", "--demos", "DIR"], "is a directory; pass the"),
        (["train", "ppo", "--config", "BAD_YAML"], "invalid YAML (line 2: "),
        # an empty flag was taken for none: the run went ahead on the defaults
        (["train", "ppo", "--env", "cartpole", "--config", ""], "--config is empty"),
        (["train", "bc", "--env", "cartpole", "--demos", " "], "--demos is empty"),
        (["train", "dagger", "--env", "cartpole", "--expert", ""], "--expert is empty"),
        (["expert", "--env", ""], "--env is empty"),
        (["train", "bc", "--env", "cartpole", "--set", "demos="], "demos is empty; give a path"),
        (["train", "ppo", "--env", "cartpole", "--set", "backend="], "backend is empty; give a"),
        # where the value came from, not "in the config" or "--sweep" (neither was given)
        (["train", "maxent", "--env", "gridworld", "--set", "maxent=[1]"], "--set: 'maxent' must"),
        (["train", "ppo", "--env", "cartpole", "--set", "sweep={}"], "(--sweep key=v1,v2,... or"),
        (["train", "ppo", "--config", "NULL_ALGO"], "is a config for 'None', not 'ppo'"),
        # (the syntax error was hidden: the text taken as a string, "bc must be a mapping")
        (["train", "bc", "--env", "cartpole", "--set", "bc={learning_rate: [}"], "invalid YAML"),
        (["train", "bc", "--env", "cartpole", "--set", "bc.hidden=[32"], "invalid YAML"),
        # int("٢") is 2: a quoted digit of another script ran 2 updates
        (["train", "bc", "--env", "cartpole", "--set", "updates='٢'"], "must be of type int"),
        (["train", "bc", "--env", "cartpole", "--set", "bc.learning_rate=１"], "of type float"),
        (["train", "bc", "--env", "cartpole", "--set", "updates=٢e0"], "must be of type int"),
        (["train", "ppo", "--env", "cartpole", "--seeds", "٢"], "invalid int value: '٢'"),
        (["train", "ppo", "--env", "cartpole", "--sweep", "learning_rate=١e-3"], "must be numbers"),
        # "not found; known configs: ...", of a path that exists (/dev/zero never ends)
        (["train", "bc", "--config", "/dev/zero"], "is not a regular file; pass a YAML file"),
        # expert's own refusal of a sweep, not a --set conflict with it
        (
            ["expert", "--env", "cartpole", "--config", "SWEEP", "--set", "ppo.learning_rate=0.01"],
            "sweep: not for jirl expert",
        ),
    ],
)
def test_more_bad_inputs_are_user_errors(capsys, tmp_path, argv, message):
    """Each input is refused before anything is written to --out."""
    binary = tmp_path / "demos.npz"
    binary.write_bytes(bytes(range(256)))
    (tmp_path / "int_key.yaml").write_text("algo: ppo\nenv: cartpole\n1: 2\n")
    (tmp_path / "bad.yaml").write_text("algo: ppo\nenv: cartpole: 3\n")
    files = {"BINARY": binary, "INT_KEY": tmp_path / "int_key.yaml", "DIR": tmp_path}
    files["BAD_YAML"] = tmp_path / "bad.yaml"
    (tmp_path / "null_algo.yaml").write_text("algo: null\nenv: cartpole\n")
    files["NULL_ALGO"] = tmp_path / "null_algo.yaml"
    (tmp_path / "sweep.yaml").write_text("sweep: {learning_rate: [0.001, 0.0001]}\n")
    files["SWEEP"] = tmp_path / "sweep.yaml"
    files["DEMOS"] = pathlib.Path(__file__).parent / "data" / "cartpole" / "demos.npz"
    argv = [str(files.get(a, a)) for a in argv]
    out = tmp_path / "run"
    code, _, err = run_cli(capsys, *argv, "--out", str(out))
    one_line_error(code, err)
    assert message in err and not out.exists()


def test_an_unreadable_config_is_a_user_error(capsys, tmp_path, monkeypatch):
    """A config the OS will not let us read (chmod 000 does not stop root, who runs CI, so the
    read itself is made to fail)."""
    config = tmp_path / "locked.yaml"
    config.write_text("algo: ppo\nenv: cartpole\n")
    real_read_text = pathlib.Path.read_text

    def read_text(self, *args, **kwargs):
        if self == config:
            raise PermissionError(13, "Permission denied", str(self))
        return real_read_text(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "read_text", read_text)
    out = tmp_path / "run"
    code, _, err = run_cli(capsys, "train", "ppo", "--config", str(config), "--out", str(out))
    one_line_error(code, err)
    assert "cannot be read (Permission denied)" in err and not out.exists()


def test_resume_without_a_readable_config_is_a_user_error(capsys, tmp_path):
    out = tmp_path / "run"
    argv = ["train", "ppo", "--env", "cartpole", "--out", str(out), "--quiet"]
    code, _, err = run_cli(capsys, *argv, "--updates", "2", "--set", "chunk=1")
    assert code == 0, err
    (out / "config.yaml").unlink()
    code, _, err = run_cli(capsys, *argv, "--updates", "2", "--set", "chunk=1", "--resume")
    one_line_error(code, err)
    assert "no readable config.yaml to resume" in err


def test_expert_overwrite_keeps_the_old_expert_when_an_input_is_wrong(capsys, tmp_path):
    old = tmp_path / "expert"
    old.mkdir()
    (old / "expert.json").write_text("{}")
    code, _, err = run_cli(
        capsys, "expert", "--env", "cartpole", "--out", str(old), "--overwrite",
        "--set", "backend=positional",
    )  # fmt: skip
    one_line_error(code, err)
    assert (old / "expert.json").read_text() == "{}"


@pytest.mark.parametrize(
    "argv, found, wanted",
    [
        (["train", "ppo", "--config", "gail-cartpole"], "gail", "ppo"),
        (["train", "maxent", "--config", "TMP"], "deep_maxent", "maxent"),
        (["expert", "--env", "cartpole", "--config", "gail-cartpole"], "gail", "ppo"),
    ],
)
def test_a_config_for_another_algorithm_is_a_user_error(capsys, tmp_path, argv, found, wanted):
    (tmp_path / "deep.yaml").write_text("algo: deep_maxent\nenv: objectworld\n")
    argv = [str(tmp_path / "deep.yaml") if a == "TMP" else a for a in argv]
    code, _, err = run_cli(capsys, *argv, "--out", str(tmp_path / "r"))
    one_line_error(code, err)
    assert f"is a config for '{found}', not '{wanted}'" in err and not (tmp_path / "r").exists()


def test_updates_flag_moves_a_rate_annealed_over_the_run(capsys, tmp_path):
    """`--updates N` with a config that anneals over its whole run (anneal_updates == updates)
    anneals over N; `--set` still has the last word, and an expert's shipped config follows."""
    from jirl.cli import _experiment_config, build_parser
    from jirl.expert_run import EXPERT_DEFAULTS, with_annealing

    def config(*argv, defaults=None, complete=None):
        args = build_parser().parse_args([*argv, "--out", "x"])
        return _experiment_config(args, defaults or {"algo": args.algo}, complete)

    assert config("train", "gail", "--config", "gail-hopper").algo_config.anneal_updates == 1200
    short = config("train", "gail", "--config", "gail-hopper", "--updates", "300")
    assert (short.updates, short.algo_config.anneal_updates) == (300, 300)
    pinned = config(
        "train", "gail", "--config", "gail-hopper", "--updates", "300",
        "--set", "gail.anneal_updates=900",
    )  # fmt: skip
    assert pinned.algo_config.anneal_updates == 900
    # --set updates=N moves it too, and has the last word over --updates (it kept the file's
    # 1200 with --set, and refused --updates 1 --set updates=200: "anneal_updates (1) ...")
    by_set = config("train", "gail", "--config", "gail-hopper", "--set", "updates=300")
    assert (by_set.updates, by_set.algo_config.anneal_updates) == (300, 300)
    both = config(
        "train", "gail", "--config", "gail-hopper", "--updates", "1", "--set", "updates=200"
    )
    assert (both.updates, both.algo_config.anneal_updates) == (200, 200)
    longer = config(
        "expert", "--env", "hopper", "--config", "expert-hopper", "--updates", "2000",
        defaults=EXPERT_DEFAULTS, complete=with_annealing,
    )  # fmt: skip
    assert (longer.updates, longer.algo_config.anneal_updates) == (2000, 2000)
    # counts written `1e2` (YAML reads a string) compare as the numbers they are: the rule
    # held for `updates: 100` and refused the same file written `updates: 1e2`
    written = tmp_path / "exp.yaml"
    written.write_text("algo: gail\nenv: cartpole\nupdates: 1e2\ngail: {anneal_updates: 100}\n")
    moved = config("train", "gail", "--config", str(written), "--updates", "200")
    assert (moved.updates, moved.algo_config.anneal_updates) == (200, 200)
    moved = config("train", "gail", "--config", str(written), "--set", "updates=2e2")
    assert (moved.updates, moved.algo_config.anneal_updates) == (200, 200)
    # GTAL's T (`num_rounds`), which its config keeps equal to updates, follows them too
    gtal = config("train", "gtal", "--config", "gtal-cartpole", "--updates", "300")
    assert (gtal.updates, gtal.algo_config.num_rounds) == (300, 300)
    kept = config(
        "train", "gtal", "--config", "gtal-cartpole", "--updates", "300",
        "--set", "gtal.num_rounds=50",
    )  # fmt: skip
    assert kept.algo_config.num_rounds == 50
    # and SMILe's rounds that add a member (past them a round fit one and discarded it)
    smile_run = config("train", "smile", "--config", "smile-cartpole", "--updates", "30")
    assert (smile_run.updates, smile_run.algo_config.max_rounds) == (30, 30)
    # a value --set gives is the user's even where it equals the file's (a review: it followed
    # --updates, 150 given and 2 kept, while 149 was kept as given)
    for given in ("gail.anneal_updates=1200", "gail={anneal_updates: 1200}"):
        explicit = config(
            "train", "gail", "--config", "gail-hopper", "--updates", "300", "--set", given
        )  # fmt: skip
        assert (explicit.updates, explicit.algo_config.anneal_updates) == (300, 1200)


def test_an_experts_rate_anneals_over_updates_however_they_are_written(capsys, tmp_path):
    """`jirl expert --set updates=1e3` (a string to YAML) or `updates: 1000.0` in a file left
    the rate constant (anneal_updates 0) where `--updates 1000` annealed it; `expert_config`'s
    changes replaced the shipped `ppo` section whole, and new `updates` kept the file's
    annealing (a sixth of the way at 100 updates, refused at 1000)."""
    from jirl.cli import _experiment_config, build_parser
    from jirl.expert_run import EXPERT_DEFAULTS, expert_config, with_annealing

    def expert(*argv):
        args = build_parser().parse_args(["expert", "--env", "cartpole", *argv, "--out", "x"])
        return _experiment_config(args, EXPERT_DEFAULTS, with_annealing)

    written = tmp_path / "exp.yaml"
    written.write_text("algo: ppo\nenv: cartpole\nupdates: 1000.0\n")
    for argv in (["--updates", "1000"], ["--set", "updates=1e3"], ["--config", str(written)]):
        cfg = expert(*argv)
        assert (cfg.updates, cfg.algo_config.anneal_updates) == (1000, 1000), argv
    assert expert_config("pendulum", updates=100).algo_config.anneal_updates == 100
    assert expert_config("pendulum", updates=1000).algo_config.anneal_updates == 1000
    shipped = expert_config("hopper").algo_config
    changed = expert_config("hopper", ppo={"ent_coef": 0.0}).algo_config
    assert changed.ent_coef == 0.0
    assert dataclasses.replace(changed, ent_coef=shipped.ent_coef) == shipped


def test_jirl_expert_scores_its_seeds_on_eval_episodes_and_refuses_checkpoint_every(
    capsys, tmp_path, monkeypatch
):
    """`--set eval_episodes=8` was accepted and ignored (every seed scored on 64 episodes);
    `checkpoint_every`, which an expert (no checkpoint) never reads, was accepted too."""
    import jirl.expert_run

    class Scored(Exception):
        pass

    asked = []

    def spy(algo, env, episodes):
        asked.append(episodes)
        raise Scored  # enough: the count is known before any episode runs

    monkeypatch.setattr(jirl.expert_run, "seed_outcomes", spy)
    argv = ["expert", "--env", "cartpole", "--out", str(tmp_path / "e"), "--quiet"]
    with pytest.raises(Scored):
        main([*argv, "--updates", "1", "--seeds", "1", "--set", "eval_episodes=8"])
    assert asked == [8]
    code, _, err = run_cli(capsys, *argv, "--set", "checkpoint_every=5")
    one_line_error(code, err)
    assert "checkpoint_every: not for jirl expert" in err and not (tmp_path / "e").exists()


def test_retrain_updates_must_be_positive(capsys, tmp_path):
    code, _, err = run_cli(
        capsys, "retrain", "--reward", str(tmp_path), "--out", str(tmp_path / "o"),
        "--updates", "0",
    )  # fmt: skip
    one_line_error(code, err)
    assert "updates must be an integer in [1, " in err


def test_interrupt_says_resume_only_where_a_run_can_be_resumed(capsys, monkeypatch, tmp_path):
    import jirl.cli
    import jirl.errors

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(jirl.cli, "cmd_train", interrupted)
    monkeypatch.setattr(jirl.cli, "cmd_expert", interrupted)
    out = ["--out", str(tmp_path / "r")]
    code, _, err = run_cli(capsys, "train", "ppo", "--env", "cartpole", *out)
    assert code == 130 and "nothing was saved (no checkpoint yet)" in err  # before the first
    (tmp_path / "r" / "checkpoint").mkdir(parents=True)
    (tmp_path / "r" / "checkpoint" / "state.msgpack").write_bytes(b"")
    code, _, err = run_cli(capsys, "train", "ppo", "--env", "cartpole", *out)
    assert code == 130 and "resume with --resume" in err
    code, _, err = run_cli(capsys, "expert", "--env", "cartpole", *out)
    assert code == 130 and err.strip() == "jirl: interrupted"
    # SIGTERM (a scheduler's stop; `console` raises Terminated for it) said nothing, exit 143

    def terminated(args):
        raise jirl.cli.Terminated

    monkeypatch.setattr(jirl.cli, "cmd_train", terminated)
    code, _, err = run_cli(capsys, "train", "ppo", "--env", "cartpole", *out)
    assert code == 143 and err.strip() == "jirl: terminated; resume with --resume"
    # --overwrite stopped before its first checkpoint: the old run is back, not resumable as new

    def restored(args):
        interrupt = KeyboardInterrupt()
        interrupt.restored = tmp_path / "r"
        raise interrupt

    monkeypatch.setattr(jirl.cli, "cmd_train", restored)
    code, _, err = run_cli(capsys, "train", "ppo", "--env", "cartpole", *out)
    assert code == 130 and "holds the run it was to replace, as it was" in err
    assert "--resume" not in err  # which would continue the old run, put back

    def diverged(args):  # and when it failed (NaN) before then: said as well, not only on Ctrl-C
        failure = jirl.errors.RunError("the loss of seed(s) 0 is NaN at update 3")
        failure.restored = tmp_path / "r"
        raise failure

    monkeypatch.setattr(jirl.cli, "cmd_train", diverged)
    code, _, err = run_cli(capsys, "train", "ppo", "--env", "cartpole", *out)
    assert code == 1 and err.count("\n") == 1
    assert err.rstrip().endswith(f"{tmp_path / 'r'} holds the run it was to replace, as it was")

    def full_after_restoring(args):  # a disk full before the first checkpoint: the same
        failure = OSError(28, "No space left on device")
        failure.restored = tmp_path / "r"
        raise failure

    monkeypatch.setattr(jirl.cli, "cmd_train", full_after_restoring)
    code, _, err = run_cli(capsys, "train", "ppo", "--env", "cartpole", *out)
    assert code == 1 and "as it was" in err and "--resume" not in err

    def kept(args):  # putting it back failed too: where it waits is said
        failure = OSError(39, "Directory not empty")
        failure.kept_at = tmp_path / ".r.old-x"
        raise failure

    monkeypatch.setattr(jirl.cli, "cmd_train", kept)
    code, _, err = run_cli(capsys, "train", "ppo", "--env", "cartpole", *out)
    assert code == 1 and f"the run it was to replace is kept in {tmp_path / '.r.old-x'}" in err


def test_an_error_of_the_file_system_is_one_line(capsys, monkeypatch, tmp_path):
    """A disk that fills up mid-run is not a user error (exit 1), and not a traceback."""
    import errno

    import jirl.cli

    def full(args):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "r" / "x"))

    monkeypatch.setattr(jirl.cli, "cmd_train", full)
    code, _, err = run_cli(capsys, "train", "ppo", "--env", "cartpole", "--out", str(tmp_path))
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err
    assert "cannot read or write" in err and "No space left on device" in err

    # a write() that fills the disk names no file: the run directory is named instead, and
    # where a checkpoint was written, how to go on from it
    def full_write(args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(jirl.cli, "cmd_train", full_write)
    run = tmp_path / "run"
    (run / "checkpoint").mkdir(parents=True)
    (run / "checkpoint" / "state.msgpack").write_bytes(b"x")
    code, _, err = run_cli(capsys, "train", "ppo", "--env", "cartpole", "--out", str(run))
    assert code == 1 and err.count("\n") == 1
    assert f"cannot read or write {run}: No space left on device" in err
    assert err.rstrip().endswith("once that is mended, continue with --resume")


def test_an_expert_no_better_than_random_is_not_saved(capsys, tmp_path):
    """Two PPO updates on mountaincar never reach the flag: expert and random both score -200
    per episode, so no score could be normalized. `jirl expert` exits 1 (a failed run, not a
    bad input) on one line, and writes no expert or demos that every later run would refuse."""
    out = tmp_path / "expert"
    argv = ["expert", "--env", "mountaincar", "--out", str(out), "--updates", "2"]
    code, _, err = run_cli(capsys, *argv, "--episodes", "2", "--set", "ppo.num_envs=4")
    assert code == 1
    assert len(err.strip().splitlines()) == 1
    assert "does not beat the random policy's (-200.0)" in err
    assert not (out / "expert.msgpack").exists() and not (out / "demos.npz").exists()
    # with --overwrite, the expert already there is kept: it was removed before training
    out.mkdir()
    (out / "expert.json").write_text("{}")
    code, _, err = run_cli(
        capsys, *argv, "--episodes", "2", "--set", "ppo.num_envs=4", "--overwrite"
    )
    assert code == 1 and "does not beat" in err
    assert [p.name for p in out.iterdir()] == ["expert.json"]


def test_overwrite_never_deletes_the_working_directory_or_someone_elses_files(
    capsys, tmp_path, monkeypatch, cartpole_expert
):
    """`--out . --overwrite` deleted everything in the working directory, then crashed on
    mkdir('.'); a directory holding no jirl output was emptied too, and one holding a
    config.yaml beside someone's sources would have been."""
    demos = str(cartpole_expert / "demos.npz")
    work = tmp_path / "work"
    (work / "sub").mkdir(parents=True)
    (work / "precious.txt").write_text("keep me")
    monkeypatch.chdir(work / "sub")
    for out in (".", "..", ""):
        code, _, err = run_cli(
            capsys, "train", "bc", "--env", "cartpole", "--demos", demos, "--out", out,
            "--overwrite", "--updates", "1",
        )  # fmt: skip
        one_line_error(code, err)
        assert ("is the working directory or one above it" if out else "--out is empty") in err
    other = work / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    argv = ["train", "bc", "--env", "cartpole", "--demos", demos, "--out", str(other)]
    code, _, err = run_cli(capsys, *argv, "--overwrite", "--updates", "1")
    one_line_error(code, err)
    assert "holds notes.txt, which jirl train does not write" in err
    assert (work / "precious.txt").read_text() == "keep me" and (other / "notes.txt").exists()
    # a name jirl writes is not enough: a project whose config.yaml sits beside its sources
    project = work / "project"
    (project / "src").mkdir(parents=True)
    (project / "config.yaml").write_text("mine: true\n")
    argv = ["train", "bc", "--env", "cartpole", "--demos", demos, "--out", str(project)]
    code, _, err = run_cli(capsys, *argv, "--overwrite", "--updates", "1")
    one_line_error(code, err)
    assert "holds src, which jirl train does not write" in err and (project / "src").is_dir()
    # another command's output is not this one's to replace: an expert over a training run
    # (its checkpoint and all) or over a quickstart was allowed, as all were jirl's names
    run = work / "run"
    code, _, err = run_cli(capsys, *argv[:-1], str(run), "--updates", "1", "--quiet")
    assert code == 0, err
    code, _, err = run_cli(capsys, "expert", "--env", "cartpole", "--out", str(run), "--overwrite")
    one_line_error(code, err)
    assert "which jirl expert does not write, so --overwrite will not delete it" in err
    assert (run / "checkpoint").is_dir()
    # a run's checkpoint/ given as --out: its files were named as not jirl's
    for command in (argv[:-1], ["expert", "--env", "cartpole", "--out"]):
        code, _, err = run_cli(capsys, *command, str(run / "checkpoint"), "--overwrite")
        one_line_error(code, err)
        assert "holds a run's checkpoint (metrics.log, state.msgpack); --out names a run" in err
        assert f"(the run is {run}?)" in err and (run / "checkpoint" / "state.msgpack").is_file()


def test_an_unwritable_out_is_a_one_line_error(capsys, tmp_path, cartpole_expert):
    demos = str(cartpole_expert / "demos.npz")
    argv = ["train", "bc", "--env", "cartpole", "--demos", demos, "--out", "/proc/jirl-run"]
    code, _, err = run_cli(capsys, *argv, "--updates", "1")
    one_line_error(code, err)
    assert "cannot write --out /proc/jirl-run" in err
    run = tmp_path / "run"
    run_cli(capsys, "train", "bc", "--env", "cartpole", "--demos", demos, "--out", str(run),
            "--updates", "2", "--quiet")  # fmt: skip
    code, _, err = run_cli(capsys, "plot", str(run), "--out", "/proc/jirl.png")
    one_line_error(code, err)
    assert "cannot write --out /proc/jirl.png" in err


def test_quickstart_refuses_a_directory_that_is_not_a_quickstart(capsys, tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.yaml").write_text("algo: bc\n")
    code, _, err = run_cli(capsys, "quickstart", "--out", str(tmp_path / "run"))
    one_line_error(code, err)
    assert "is not a quickstart directory" in err


def test_demos_without_a_recorded_horizon_are_checked_against_the_envs(capsys, tmp_path):
    """Demos from before the header's horizon: with --set horizon=100 their 500-step episodes
    trained BC and scored it against a 500-step expert return (0.168). The committed ones
    record it since (with --set horizon=100000000 BC scored 8.7 against the 500-step
    expert)."""
    from conftest import CARTPOLE_EXPERT

    committed = CARTPOLE_EXPERT / "demos.npz"
    with np.load(committed, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    header = json.loads(arrays["header"].tobytes())
    del header["horizon"]
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    legacy = tmp_path / "legacy.npz"
    np.savez(legacy, **arrays)
    for demos, horizon, message in (
        (legacy, 100, "an episode of 500 steps, longer than the environment's horizon (100)"),
        (committed, 10**8, "recorded with horizon 500, but the environment's is 100000000"),
    ):
        argv = ["train", "bc", "--env", "cartpole", "--demos", str(demos), "--out"]
        code, _, err = run_cli(capsys, *argv, str(tmp_path / "r"), "--set", f"horizon={horizon}")
        one_line_error(code, err)
        assert message in err


def test_resume_with_another_config_names_what_differs(capsys, tmp_path, cartpole_expert):
    run = tmp_path / "run"
    argv = ["train", "bc", "--env", "cartpole", "--demos", str(cartpole_expert / "demos.npz")]
    code, _, err = run_cli(capsys, *argv, "--out", str(run), "--updates", "2", "--quiet")
    assert code == 0, err
    code, _, err = run_cli(capsys, *argv, "--out", str(run), "--updates", "3", "--resume")
    one_line_error(code, err)
    assert "(updates: the run has 2, given 3)" in err
    code, _, err = run_cli(
        capsys, *argv, "--out", str(run), "--updates", "2", "--set", "bc.batch_size=32",
        "--resume",
    )  # fmt: skip
    one_line_error(code, err)
    assert "(bc.batch_size: the run has 256, given 32)" in err
    code, _, err = run_cli(
        capsys, "train", "bc", "--config", str(run / "config.yaml"), "--out", str(run), "--resume"
    )
    assert code == 0, err  # the hint works
    # the run's own config.yaml edited, then given back: the file compared against is the
    # edited one, so inputs.json's digest of the config the run started with decides
    (run / "summary.json").unlink()
    edited = (run / "config.yaml").read_text().replace("batch_size: 256", "batch_size: 32")
    (run / "config.yaml").write_text(edited)
    code, _, err = run_cli(
        capsys, "train", "bc", "--config", str(run / "config.yaml"), "--out", str(run), "--resume"
    )
    one_line_error(code, err)
    assert "the config differs from the one the run started with" in err
    assert "config.yaml edited?" in err


def test_expert_refuses_more_episodes_than_it_could_record_before_training(capsys, tmp_path):
    """--episodes is used once the expert has trained: 3e9 aborted in XLA after the training."""
    out = tmp_path / "e"
    code, _, err = run_cli(capsys, "expert", "--env", "cartpole", "--out", str(out),
                           "--episodes", "3000000000")  # fmt: skip
    one_line_error(code, err)
    assert "--episodes must be in [1, 100,000] (every episode runs at once after " in err
    assert "got 3,000,000,000" in err and not out.exists()


def test_expert_refuses_an_out_that_holds_its_config(capsys, tmp_path):
    """An expert directory keeps no config.yaml: --overwrite deleted the config it was given."""
    out = tmp_path / "ex1"
    out.mkdir()
    (out / "my.yaml").write_text("algo: ppo\nenv: cartpole\n")
    code, _, err = run_cli(capsys, "expert", "--env", "cartpole", "--config", str(out / "my.yaml"),
                           "--out", str(out), "--overwrite")  # fmt: skip
    one_line_error(code, err)
    assert "holds the input" in err and (out / "my.yaml").is_file()


def test_expert_refuses_the_keys_of_learners_from_data(capsys, tmp_path):
    """`jirl expert --set num_demos=3 --set expert=/nonexistent` ran and ignored both."""
    out = str(tmp_path / "e")
    for key in ("num_demos=3", "demos=x.npz", "expert=/nonexistent"):
        code, _, err = run_cli(capsys, "expert", "--env", "cartpole", "--out", out, "--set", key)
        one_line_error(code, err)
        assert f"{key.split('=')[0]}: not for jirl expert" in err


def test_resume_refuses_demonstrations_that_changed(capsys, tmp_path, cartpole_expert):
    """The config names the demos by path: a file replaced since the run started would make
    the resumed run another one. `inputs.json` keeps their SHA-256 from the start."""
    from jirl import envs

    demos = tmp_path / "demos.npz"
    shutil.copy(cartpole_expert / "demos.npz", demos)
    run = tmp_path / "run"
    argv = ["train", "bc", "--env", "cartpole", "--demos", str(demos), "--out", str(run)]
    argv += ["--seeds", "1", "--quiet", "--set", "chunk=1", "--set", "bc.batch_size=8"]
    code, _, err = run_cli(capsys, *argv, "--updates", "2")
    assert code == 0, err
    started = json.loads((run / "inputs.json").read_text())
    assert started["demos"]["path"] == str(demos) and len(started["demos"]["sha256"]) == 64
    (run / "summary.json").unlink()
    loaded = data.load(demos)
    data.save(demos, data.take_episodes(loaded.trajectories, 1), envs.make("cartpole"),
              expert_return=loaded.header.expert_return,
              random_return=loaded.header.random_return)  # fmt: skip
    code, _, err = run_cli(capsys, *argv, "--updates", "2", "--resume")
    one_line_error(code, err)
    assert "the demos at" in err and "differ from those the run started with" in err


def test_an_out_that_cannot_be_written_is_refused_before_training(capsys, monkeypatch, tmp_path):
    """An expert (or a retrain) writes only once trained: an --out it could not create must
    be refused up front, not after hours of training. (CI runs as root, whom chmod does not
    stop, so the OS's answer is stood in for.)"""
    import jirl.files

    locked = tmp_path / "locked"
    locked.mkdir()
    real = jirl.files.os.access
    monkeypatch.setattr(
        jirl.files.os, "access", lambda p, mode: False if str(p) == str(locked) else real(p, mode)
    )
    argv = ["expert", "--env", "cartpole", "--out", str(locked / "expert"), "--updates", "1"]
    code, _, err = run_cli(capsys, *argv)
    one_line_error(code, err)
    assert f"{locked} is not writable" in err and not (locked / "expert").exists()


def test_a_run_another_process_holds_is_neither_resumed_nor_replaced(
    capsys, tmp_path, cartpole_expert
):
    """The same run resumed twice at once: both wrote its checkpoint and metrics.jsonl,
    interleaved, and one deleted the other's temporary checkpoint mid-write. The run directory
    is locked while a process trains it (`jirl.files.lock_dir`)."""
    from jirl.files import lock_dir

    run = tmp_path / "run"
    argv = ["train", "bc", "--env", "cartpole", "--demos", str(cartpole_expert / "demos.npz")]
    code, _, err = run_cli(capsys, *argv, "--out", str(run), "--updates", "2", "--quiet")
    assert code == 0, err
    before = (run / "metrics.jsonl").read_text()
    with lock_dir(run):  # another process training it
        for flag in ("--resume", "--overwrite"):
            code, _, err = run_cli(capsys, *argv, "--out", str(run), "--updates", "2", flag)
            one_line_error(code, err)
            assert "is in use by another jirl process" in err
    assert (run / "metrics.jsonl").read_text() == before
    # one still before its first checkpoint: in use (it said "nothing to resume, pass
    # --overwrite", which then said it is in use)
    shutil.rmtree(run / "checkpoint")
    with lock_dir(run):
        code, _, err = run_cli(capsys, *argv, "--out", str(run), "--updates", "2", "--resume")
        one_line_error(code, err)
        assert "is in use by another jirl process" in err
    code, _, err = run_cli(capsys, *argv, "--out", str(run), "--updates", "2", "--overwrite")
    assert code == 0, err  # released: the run is the user's again


def test_a_run_that_appears_after_the_checks_is_not_replaced(
    capsys, tmp_path, monkeypatch, cartpole_expert
):
    """Two runs started at once on one --out both passed the checks (the directory did not
    exist yet); the second then set aside, and later deleted, the directory the first had made.
    The new run is put in place under a lock on the parent directory (`files.parent_locked`),
    where the checks are made again: a run that appeared meanwhile is refused (in use, or
    there without --overwrite), and nothing of it is moved."""
    import fcntl

    import jirl.experiment as experiment
    from jirl.files import lock_dir

    run = tmp_path / "run"
    argv = ["train", "bc", "--env", "cartpole", "--demos", str(cartpole_expert / "demos.npz")]
    argv += ["--out", str(run), "--updates", "2", "--quiet"]
    real_prepare = experiment.prepare
    other = {}

    def prepare_then_another_run_appears(cfg):
        built = real_prepare(cfg)
        run.mkdir()
        (run / "metrics.jsonl").write_text("theirs\n")
        if other.get("locked"):
            other["lock"] = lock_dir(run)
        return built

    monkeypatch.setattr(experiment, "prepare", prepare_then_another_run_appears)
    for locked, message in ((True, "is in use by another jirl process"), (False, "exists (made")):
        other["locked"] = locked
        code, _, err = run_cli(capsys, *argv)
        one_line_error(code, err)
        assert message in err, err
        assert (run / "metrics.jsonl").read_text() == "theirs\n"
        assert [p.name for p in tmp_path.iterdir()] == ["run"]  # nothing set aside
        if locked:
            other.pop("lock").close()
        shutil.rmtree(run)
    # the old run is set aside and the new directory made while the parent is locked
    monkeypatch.setattr(experiment, "prepare", real_prepare)
    real_take = experiment.Aside.take
    held = []

    def take(self):
        fd = os.open(tmp_path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            held.append(False)
        except BlockingIOError:
            held.append(True)
        finally:
            os.close(fd)
        return real_take(self)

    monkeypatch.setattr(experiment.Aside, "take", take)
    code, _, err = run_cli(capsys, *argv)
    assert code == 0 and held == [True], err


def test_a_run_resumes_from_any_directory_and_with_its_inputs_moved(
    capsys, tmp_path, monkeypatch, cartpole_expert
):
    """config.yaml recorded `--demos` as typed: a run started with a relative path could not be
    resumed from any other directory ("no such demonstration file"), and giving the right path
    was refused as another config. Paths are recorded absolute, and a resume compares the
    files' contents (inputs.json), not their paths."""
    start = tmp_path / "start"
    (start / "data").mkdir(parents=True)
    shutil.copy(cartpole_expert / "demos.npz", start / "data" / "demos.npz")
    monkeypatch.chdir(start)
    argv = ["train", "bc", "--env", "cartpole", "--demos", "data/demos.npz", "--quiet"]
    code, _, err = run_cli(capsys, *argv, "--out", "run", "--updates", "2")
    assert code == 0, err
    saved = yaml.safe_load((start / "run" / "config.yaml").read_text())
    assert saved["demos"] == str(start / "data" / "demos.npz")
    (start / "run" / "summary.json").unlink()  # as if cut short after its last checkpoint
    monkeypatch.chdir(tmp_path)
    resume = ["train", "bc", "--config", "start/run/config.yaml", "--out", "start/run"]
    code, _, err = run_cli(capsys, *resume, "--resume", "--quiet")
    assert code == 0, err
    # the demos moved (same bytes): given at their new path, the run resumes
    (start / "run" / "summary.json").unlink()
    moved = tmp_path / "moved.npz"
    shutil.move(start / "data" / "demos.npz", moved)
    code, _, err = run_cli(capsys, *resume, "--demos", str(moved), "--resume", "--quiet")
    assert code == 0, err
    assert yaml.safe_load((start / "run" / "config.yaml").read_text())["demos"] == str(moved)


def test_overwrite_keeps_the_run_it_replaces_until_the_new_one_has_saved(
    capsys, tmp_path, cartpole_expert, monkeypatch
):
    """`--overwrite` deleted a finished run first: a replacement that diverged (or ran out of
    memory) before its first checkpoint left neither. The old run waits aside until then."""
    run = tmp_path / "run"
    argv = ["train", "bc", "--env", "cartpole", "--demos", str(cartpole_expert / "demos.npz")]
    code, _, err = run_cli(capsys, *argv, "--out", str(run), "--updates", "2", "--quiet")
    assert code == 0, err
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    diverges = ["--set", "bc.learning_rate=1e30", "--updates", "4", "--overwrite", "--quiet"]
    code, _, err = run_cli(capsys, *argv, "--out", str(run), *diverges)
    assert code == 1 and "no checkpoint was written" in err
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # nothing left aside
    code, _, err = run_cli(capsys, *argv, "--out", str(run), "--updates", "3", "--overwrite")
    assert code == 0, err
    assert yaml.safe_load((run / "config.yaml").read_text())["updates"] == 3
    assert [p.name for p in tmp_path.iterdir()] == ["run"]
    # a first run that diverges leaves nothing: the mended one needs no --overwrite
    fresh = ["--out", str(tmp_path / "new"), "--quiet"]
    code, _, err = run_cli(capsys, *argv, *fresh, "--set", "bc.learning_rate=1e30")
    assert code == 1 and "no checkpoint was written" in err and "holds the run" not in err
    assert [p.name for p in tmp_path.iterdir()] == ["run"]
    code, _, err = run_cli(capsys, *argv, *fresh, "--updates", "2")
    assert code == 0, err

    # one that logged metrics before its first checkpoint (chunks of 1, a checkpoint every 5)
    # and then stopped keeps them: only a run with nothing in it goes
    import jirl.experiment

    real_run = jirl.experiment.run

    def stopped_at_chunk_3(*args, callbacks, **kwargs):
        def stop(first_update, metrics, state):
            if first_update >= 2:
                raise KeyboardInterrupt

        return real_run(*args, callbacks=[*callbacks, stop], **kwargs)

    monkeypatch.setattr(jirl.experiment, "run", stopped_at_chunk_3)
    logged = ["--out", str(tmp_path / "logged"), "--quiet", "--updates", "8"]
    code, _, err = run_cli(
        capsys, *argv, *logged, "--set", "chunk=1", "--set", "checkpoint_every=5"
    )
    assert code == 130, err
    rows = (tmp_path / "logged" / "metrics.jsonl").read_text().splitlines()
    assert len(rows) == 3 and not (tmp_path / "logged" / "checkpoint" / "state.msgpack").exists()


def test_odd_paths_are_one_line_user_errors(capsys, tmp_path, monkeypatch, cartpole_expert):
    """A loop of links as --demos or --out, a name too long, and --overwrite through a link to
    a run: tracebacks (RuntimeError), exit 1, or "cannot write --out lnk: None" before."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "loop1").symlink_to("loop2")
    (tmp_path / "loop2").symlink_to("loop1")
    demos = str(cartpole_expert / "demos.npz")
    train = ["train", "bc", "--env", "cartpole", "--updates", "1", "--quiet"]
    cases = [
        (["--demos", "loop1", "--out", "run"], "input loop1: cannot be resolved"),
        (["--demos", demos, "--out", "loop1"], "--out loop1: cannot be resolved"),
        (["--demos", demos, "--out", "x" * 300], "File name too long; choose another"),
    ]
    for argv, message in cases:
        code, _, err = run_cli(capsys, *train, *argv)
        one_line_error(code, err)
        assert message in err
    code, _, err = run_cli(capsys, *train, "--demos", demos, "--out", "target")
    assert code == 0, err
    (tmp_path / "link").symlink_to("target")
    code, _, err = run_cli(capsys, *train, "--demos", demos, "--out", "link", "--overwrite")
    one_line_error(code, err)
    assert "--out link is a symbolic link; pass the directory it points to" in err
    assert (tmp_path / "target" / "summary.json").exists()


@pytest.mark.parametrize(
    "variable, value, message",
    [
        ("JAX_NUM_CPU_DEVICES", "0", "JAX_NUM_CPU_DEVICES must be a whole number >= 1, got '0'"),
        ("JAX_PLATFORMS", "nosuch", "JAX cannot start its devices (JAX_PLATFORMS='nosuch': "),
        # (jax 0.4.35 reads it late: jirl's own check answers)
        (
            "JAX_NUM_CPU_DEVICES",
            "abc",
            (
                'JAX cannot read its environment (Invalid value "abc" ',
                "JAX_NUM_CPU_DEVICES must be a whole number >= 1, got 'abc'",
            ),
        ),
        ("JAX_ENABLE_X64", "abc", "JAX cannot read its environment (invalid truth value 'abc'"),
    ],
)
def test_a_jax_environment_that_cannot_start_is_one_line(variable, value, message):
    """JAX_NUM_CPU_DEVICES=0 and JAX_PLATFORMS naming a platform this jax lacks (`cuda` on a
    CPU wheel) gave 77-80 lines of traceback from the first device use; a value JAX cannot
    parse (JAX_ENABLE_X64=abc) a traceback from `import jax` inside `import jirl`."""
    env = {**os.environ, variable: value}
    argv = [sys.executable, "-m", "jirl.cli", "train", "bc", "--env", "cartpole", "--out", "x"]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    messages = message if isinstance(message, tuple) else (message,)
    assert done.returncode == 2 and any(m in done.stderr for m in messages), done.stderr
    assert done.stderr.count("\n") == 1, done.stderr


def test_the_library_names_a_jax_environment_it_cannot_read():
    """`import jirl` itself works, so the `jirl` command can say what is wrong; the public
    names then raise that as a ConfigError."""
    code = "import jirl\ntry:\n    jirl.run\nexcept jirl.ConfigError as e:\n    print(e)"
    env = {**os.environ, "JAX_ENABLE_X64": "abc"}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert "JAX cannot read its environment (invalid truth value 'abc'" in done.stdout


def test_messages_point_the_right_way(capsys, tmp_path, cartpole_expert):
    """--demos /dev/zero said "no such demonstration file"; --expert naming expert.json said
    "expert.json/expert.json: missing"; --resume of a run that does not exist said "pass
    --overwrite instead"."""
    base = ["train", "bc", "--env", "cartpole", "--updates", "1", "--quiet"]
    demos = str(cartpole_expert / "demos.npz")
    cases = [
        (["--demos", "/dev/zero", "--out", str(tmp_path / "a")], "is not a regular file"),
        (
            ["--demos", demos, "--expert", str(cartpole_expert / "expert.json"), "--out",
             str(tmp_path / "b")],
            f"is a file; pass the expert's directory, {cartpole_expert}",
        ),
        (["--demos", demos, "--out", str(tmp_path / "c"), "--resume"], "drop --resume"),
    ]  # fmt: skip
    for argv, message in cases:
        code, _, err = run_cli(capsys, *base, *argv)
        one_line_error(code, err)
        assert message in err


def test_a_run_started_before_absolute_paths_resumes_again_and_again(
    capsys, tmp_path, monkeypatch, cartpole_expert
):
    """A run whose config.yaml holds a relative --demos and whose inputs.json the whole
    config's digest (as runs started before the twenty-sixth session): its first resume
    rewrote config.yaml with absolute paths, and the second was refused as an edited config."""
    import hashlib

    monkeypatch.chdir(tmp_path)
    shutil.copy(cartpole_expert / "demos.npz", tmp_path / "demos.npz")
    argv = ["train", "bc", "--env", "cartpole", "--demos", "demos.npz", "--quiet"]
    code, _, err = run_cli(capsys, *argv, "--out", "run", "--updates", "2")
    assert code == 0, err
    config = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    config["demos"] = "demos.npz"  # as an older jirl recorded it
    (tmp_path / "run" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    inputs = json.loads((tmp_path / "run" / "inputs.json").read_text())
    inputs["config"] = {"sha256": hashlib.sha256(json.dumps(config).encode()).hexdigest()}
    (tmp_path / "run" / "inputs.json").write_text(json.dumps(inputs))
    resume = ["train", "bc", "--config", "run/config.yaml", "--out", "run", "--resume"]
    for _ in range(2):  # the first resume records the new digest, so the second is accepted
        (tmp_path / "run" / "summary.json").unlink()
        code, _, err = run_cli(capsys, *resume, "--quiet")
        assert code == 0, err


def test_a_run_of_an_older_jirl_resumes_with_the_settings_added_since(
    capsys, tmp_path, cartpole_expert
):
    """A run started by a jirl without a setting that this one has (`ppo.squash` was added on
    2026-12-04) was refused on --resume, even with --config RUN/config.yaml as the message
    said: its saved config lacks the key, and its digest is of that config. It resumes with
    the setting's default, named in a warning."""
    from jirl.experiment import config_digest

    run = tmp_path / "run"
    demos = str(cartpole_expert / "demos.npz")
    argv = ["train", "bc", "--env", "cartpole", "--demos", demos, "--quiet", "--out", str(run)]
    code, _, err = run_cli(capsys, *argv, "--updates", "2")
    assert code == 0, err
    config = yaml.safe_load((run / "config.yaml").read_text())
    del config["bc"]["l2_coef"], config["eval_episodes"]  # as an older jirl wrote it
    (run / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    inputs = json.loads((run / "inputs.json").read_text())
    digest = config_digest(config)  # as an older jirl recorded it: of the config it wrote
    (run / "inputs.json").write_text(json.dumps({**inputs, "config": {"sha256": digest}}))
    resume = ["train", "bc", "--config", str(run / "config.yaml"), "--out", str(run)]
    (run / "summary.json").unlink()
    with pytest.warns(UserWarning, match="has no eval_episodes, bc.l2_coef, added to jirl"):
        code, _, err = run_cli(capsys, *resume, "--resume", "--quiet")
    assert code == 0, err
    # resumed once, its config.yaml is this version's: the next resume is silent
    (run / "summary.json").unlink()
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        code, _, err = run_cli(capsys, *resume, "--resume", "--quiet")
    assert code == 0, err
    # an edit is still told apart
    text = (run / "config.yaml").read_text()
    (run / "config.yaml").write_text(text.replace("learning_rate: 0.001", "learning_rate: 0.002"))
    code, _, err = run_cli(capsys, *resume, "--resume", "--quiet")
    one_line_error(code, err)
    assert "the config differs from the one the run started with" in err


def test_a_resume_without_an_input_the_run_read_is_refused(capsys, tmp_path, cartpole_expert):
    """Input paths are compared by their files' contents; whether there is one still counts: a
    run that read --demos, resumed without it, would read its expert's demos instead."""
    run = tmp_path / "run"
    shutil.copy(cartpole_expert / "demos.npz", tmp_path / "demos.npz")
    argv = ["train", "dagger", "--env", "cartpole", "--expert", str(cartpole_expert), "--quiet"]
    code, _, err = run_cli(
        capsys, *argv, "--demos", str(tmp_path / "demos.npz"), "--out", str(run), "--updates", "1"
    )
    assert code == 0, err
    code, _, err = run_cli(capsys, *argv, "--out", str(run), "--updates", "1", "--resume")
    one_line_error(code, err)
    assert "(demos: the run has '<file>', given None)" in err


def test_a_resume_without_inputs_json_warns_and_records_it(capsys, tmp_path, cartpole_expert):
    """A run from before inputs.json, or one that lost it, resumed unchecked without a word;
    now with one, and the resume records the inputs it continues with, so the next is checked."""
    run = tmp_path / "run"
    demos = str(cartpole_expert / "demos.npz")
    argv = ["train", "bc", "--env", "cartpole", "--demos", demos, "--out", str(run), "--quiet"]
    code, _, err = run_cli(capsys, *argv, "--updates", "2")
    assert code == 0, err
    (run / "inputs.json").unlink()
    resume = ["train", "bc", "--config", str(run / "config.yaml"), "--out", str(run), "--quiet"]
    with pytest.warns(UserWarning, match="inputs.json is missing, so this resume cannot check"):
        code, _, err = run_cli(capsys, *resume, "--resume")
    assert code == 0, err
    assert (run / "inputs.json").is_file()
    config = (run / "config.yaml").read_text()
    assert "  learning_rate: 0.001\n" in config
    (run / "config.yaml").write_text(
        config.replace("  learning_rate: 0.001\n", "  learning_rate: 0.5\n")
    )
    code, _, err = run_cli(capsys, *resume, "--resume")
    one_line_error(code, err)
    assert "the config differs from the one the run started with" in err


def test_a_run_an_earlier_overwrite_left_aside_is_reported(capsys, tmp_path, cartpole_expert):
    """A SIGKILL while --overwrite held the old run aside left it hidden beside the new one."""
    run = tmp_path / "run"
    stranded = tmp_path / ".run.jirl-old-k1ll3d" / "run"
    stranded.mkdir(parents=True)
    argv = ["train", "bc", "--env", "cartpole", "--demos", str(cartpole_expert / "demos.npz")]
    with pytest.warns(UserWarning, match=r"\.run\.jirl-old-k1ll3d holds a run that an earlier"):
        code, _, err = run_cli(capsys, *argv, "--out", str(run), "--updates", "1", "--quiet")
    assert code == 0, err
    assert stranded.is_dir()  # reported, never deleted
    # killed before the new run's first checkpoint: --resume said only "nothing to resume"
    shutil.rmtree(run / "checkpoint")
    code, _, err = run_cli(capsys, *argv, "--out", str(run), "--updates", "1", "--resume")
    one_line_error(code, err)
    assert f"the run it was replacing is kept in {stranded}: move it back" in err


def test_tabular_options_take_a_key_flat_or_in_the_section_once(tmp_path):
    """`--set maxent.size=4` is `--set size=4`: both given are refused, whichever form (the
    later won without a word); a config file giving a key both flat and under the
    algorithm's section is refused."""
    from jirl.cli import ArgumentError, _tabular_options
    from jirl.errors import ConfigError

    for sets in (["maxent.size=4", "size=6"], ["size=6", "maxent={size: 4, l2: 0.5}"]):
        with pytest.raises(ConfigError, match="both give size; keep one"):
            _tabular_options(None, "maxent", sets)
    assert _tabular_options(None, "maxent", ["maxent.size=4", "l2=0.5"])["size"] == 4
    config = tmp_path / "c.yaml"
    config.write_text("algo: maxent\nsize: 8\nmaxent:\n  l2: 0.5\n")
    options = _tabular_options(str(config), "maxent", ["maxent.size=5"])
    assert (options["size"], options["l2"]) == (5, 0.5) and "algo" not in options
    assert _tabular_options(None, "maxent", ["maxent={size: 4}"])["size"] == 4
    # a mapping over a flat file, as the shipped ones are (refused: "given both at the top")
    config.write_text("algo: maxent\nsize: 8\n")
    assert _tabular_options(str(config), "maxent", ["maxent={size: 4}"])["size"] == 4
    # --set has the last word over a flag, as for the other learners (here the flag had it)
    flags = {"env": "gridworld", "num_iterations": 3, "seeds": None}
    options = _tabular_options(str(config), "maxent", ["env=objectworld"], flags)
    assert (options["env"], options["num_iterations"], options["size"]) == ("objectworld", 3, 8)
    assert "seeds" not in options
    config.write_text("size: 8\nmaxent:\n  size: 4\n")
    with pytest.raises(ArgumentError, match=r"'size' given both at the top and under 'maxent:'"):
        _tabular_options(str(config), "maxent", [])


def test_a_config_written_for_another_env_warns(capsys, tmp_path, cartpole_expert):
    """`--env` overrides the config file's `env:`, as flags override the file; the settings
    tuned for one env then ran on another without a word (acrobot's absorbing states on
    cartpole, an acrobot expert's PPO on cartpole)."""
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("mine")  # refused after the config is read: nothing trains
    demos = str(cartpole_expert / "demos.npz")
    for argv in (
        ["train", "gail", "--config", "gail-acrobot", "--env", "cartpole", "--demos", demos],
        ["expert", "--config", "expert-acrobot", "--env", "cartpole"],
    ):
        with pytest.warns(UserWarning, match="is written for acrobot and runs on cartpole"):
            code, _, err = run_cli(capsys, *argv, "--out", str(taken))
        assert code == 2 and "exists" in err
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        code, _, err = run_cli(
            capsys, "train", "gail", "--config", "gail-cartpole", "--demos", demos, "--out",
            str(taken),
        )  # fmt: skip
    assert code == 2 and "exists" in err
