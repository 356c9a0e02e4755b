"""A run killed with SIGKILL between checkpoints and resumed with `--resume` ends exactly where
an uninterrupted run with the same key ends: same checkpoint bytes (but for the recorded times),
same metrics, same score."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from flax import serialization

from jirl.files import unseal

ARGS = ["train", "ppo", "--env", "cartpole", "--updates", "300", "--quiet"]
ARGS += ["--set", "chunk=2", "--set", "eval_episodes=4"]
ARGS += ["--set", "ppo.num_envs=4", "--set", "ppo.num_steps=16", "--set", "ppo.hidden=[16]"]


def jirl(*argv, **kwargs):
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    return subprocess.Popen(
        [sys.executable, "-m", "jirl.cli", *argv],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def checkpointed_update(out) -> int:
    try:
        raw = serialization.msgpack_restore(
            unseal((out / "checkpoint" / "state.msgpack").read_bytes())
        )
    except (FileNotFoundError, ValueError):
        return 0
    return int(raw["update"])


def rows(out):
    lines = (out / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(ln).items() if k != "wall_time"} for ln in lines]


@pytest.mark.slow
def test_sigkill_then_resume_is_bit_for_bit(tmp_path):
    reference, killed = tmp_path / "reference", tmp_path / "killed"
    proc = jirl(*ARGS, "--out", str(killed))
    deadline = time.monotonic() + 300
    while checkpointed_update(killed) < 40 and proc.poll() is None:
        assert time.monotonic() < deadline, "no checkpoint after 300 s"
        time.sleep(0.02)
    assert proc.poll() is None, "the run finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    stopped_at = checkpointed_update(killed)
    assert 40 <= stopped_at < 300
    assert not (killed / "summary.json").exists()

    # the same command, without --resume, refuses to touch the killed run
    refused = jirl(*ARGS, "--out", str(killed))
    _, err = refused.communicate(timeout=300)
    assert refused.returncode == 2 and "pass --resume" in err and err.count("\n") == 1

    # the rows up to the checkpoint, with their wall times: a resume keeps them as they are
    # (a run that started over would rewrite them with its own times, and match otherwise)
    lines = (killed / "metrics.jsonl").read_text().splitlines()
    saved = [json.loads(x) for x in lines if json.loads(x)["step"] <= stopped_at]
    assert len(saved) == stopped_at
    # what a crash can leave past the checkpoint: rows of an unsaved chunk, a line cut short
    with (killed / "metrics.jsonl").open("a") as f:
        f.write(json.dumps({"step": stopped_at + 1, "env_steps": 0, "wall_time": 0.0}) + "\n")
        f.write('{"step": 9')
    # and the temporary files of writes it cut short
    (killed / ".metrics.jsonl.jirl-k1ll3d").write_text("half")
    (killed / ".summary.json.jirl-k1ll3d").write_text("half")
    resumed = jirl(*ARGS, "--out", str(killed), "--resume")
    _, err = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, err
    assert not list(killed.glob(".*")), "a kill's temporary files outlived the resume"
    # the uninterrupted run, started last so that it (like the resumed run) loads the programs
    # the killed run compiled from the suite's compilation cache
    full = jirl(*ARGS, "--out", str(reference))
    _, err = full.communicate(timeout=600)
    assert full.returncode == 0, err

    # the same bytes but for the times, which add up the killed run's two sessions
    payloads = [
        serialization.msgpack_restore(unseal((d / "checkpoint" / "state.msgpack").read_bytes()))
        for d in (killed, reference)
    ]
    timings = [p.pop("timing") for p in payloads]
    assert serialization.msgpack_serialize(payloads[0]) == serialization.msgpack_serialize(
        payloads[1]
    )
    assert int(timings[0]["updates"]) == int(timings[1]["updates"]) == 300
    logs = [(d / "checkpoint" / "metrics.log").read_bytes() for d in (killed, reference)]
    assert logs[0] == logs[1]  # the metrics appended at each checkpoint, none twice or lost
    assert checkpointed_update(killed) == 300
    assert rows(killed) == rows(reference)
    assert [r["step"] for r in rows(killed)] == list(range(1, 301))
    after = [json.loads(x) for x in (killed / "metrics.jsonl").read_text().splitlines()]
    assert after[:stopped_at] == saved
    summaries = [json.loads((d / "summary.json").read_text()) for d in (killed, reference)]
    assert summaries[0]["return"] == summaries[1]["return"]
