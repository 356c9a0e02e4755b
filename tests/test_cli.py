import json

import pytest

from jirl.cli import main


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


@pytest.mark.parametrize(
    "argv",
    [
        ("train", "bc", "--env", "cartpole", "--bogus"),
        ("train", "bc", "--env", "cartpole", "--out", "r", "--seeds", "many"),
        ("frobnicate",),
        (),
    ],
)
def test_bad_flags(capsys, argv):
    code, _, err = run_cli(capsys, *argv)
    one_line_error(code, err)


@pytest.mark.parametrize(
    "override, match",
    [
        ("bc.learnin_rate=0.1", "did you mean 'bc.learning_rate'|did you mean 'learning_rate'"),
        ("bc.learning_rate=-1", "bc.learning_rate must be > 0"),
        ("seeds=0", "seeds must be >= 1"),
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


def test_plot_command(capsys, tmp_path, cartpole_expert):
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


def test_retrain_without_a_run_is_a_user_error(capsys, tmp_path):
    code, _, err = run_cli(
        capsys, "retrain", "--reward", str(tmp_path / "none"), "--out", str(tmp_path / "o")
    )
    one_line_error(code, err)
