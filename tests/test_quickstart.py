"""`jirl quickstart` in a reduced mode: expert reused, BC and GAIL over 2 seeds, short runs."""

from __future__ import annotations

import json
import shutil

from jirl.cli import main

DESIGN_KEYS = {
    "algo", "env", "seeds", "return", "normalized_score", "expert_return", "random_return",
    "env_steps", "wall_seconds", "compile_seconds", "env_steps_per_second",
}  # fmt: skip


def test_quickstart_reuses_the_expert_and_writes_every_run_directory(
    cartpole_expert, tmp_path, capsys
):
    out = tmp_path / "qs"
    shutil.copytree(cartpole_expert, out / "expert")
    argv = ["quickstart", "--out", str(out), "--seeds", "2", "--updates", "6"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    for row in ("expert (PPO)", "random", "BC", "GAIL"):
        assert row in printed
    table = json.loads((out / "quickstart.json").read_text())
    assert set(table["rows"]) == {"bc", "gail"}
    header = json.loads((cartpole_expert / "expert.json").read_text())
    assert (table["expert_return"], table["random_return"]) == (
        header["expert_return"],
        header["random_return"],
    )  # the copied expert's own figures: it was reused, not retrained
    for name in ("expert.msgpack", "demos.npz"):
        assert (out / "expert" / name).read_bytes() == (cartpole_expert / name).read_bytes()
    for name in ("bc", "gail"):
        run = out / name
        summary = json.loads((run / "summary.json").read_text())
        assert DESIGN_KEYS <= set(summary), DESIGN_KEYS - set(summary)
        assert summary["seeds"] == 2 and len(summary["return"]["per_seed"]) == 2
        assert table["rows"][name]["return"] == summary["return"]["mean"]
        for path in ("config.yaml", "metrics.jsonl", "checkpoint/state.msgpack", "curves.png"):
            assert (run / path).is_file(), path
    assert json.loads((out / "gail" / "summary.json").read_text())["env_steps"] == 6 * 1024
    assert (out / "curves.png").is_file()

    # a second call refuses to clobber the runs, in one line, and changes nothing
    before = (out / "gail" / "summary.json").read_text()
    assert main([*argv, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "pass --overwrite" in err and err.count("\n") == 1
    assert (out / "gail" / "summary.json").read_text() == before
    # --overwrite checks both runs before replacing either: it retrained bc, then refused
    # gail for a file of the user's in it, leaving the runs of two calls side by side
    (out / "gail" / "notes.txt").write_text("mine")
    bc_before = (out / "bc" / "summary.json").read_text()
    assert main([*argv, "--quiet", "--overwrite"]) == 2
    err = capsys.readouterr().err
    assert "notes.txt" in err and err.count("\n") == 1
    assert (out / "bc" / "summary.json").read_text() == bc_before


def test_quickstart_rejects_bad_flags(tmp_path, capsys):
    for flags, message in (
        (["--seeds", "0"], "--seeds must be in [1, 65,536]"),
        (["--seeds", "70000"], "--seeds must be in [1, 65,536], got 70000"),  # before the expert
        (["--updates", "-3"], "--updates must be in [1, "),
        (["--updates", "3000000000"], "--updates must be in [1, 2,147,483,647]"),
    ):
        assert main(["quickstart", "--out", str(tmp_path / "q"), *flags]) == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / "q").exists()
