"""TensorBoard event files: the seed mean of each metric per update, and a resume that purges
what a crashed run wrote past its checkpoint; the progress bar's ETA."""

import json
import struct
import sys

import numpy as np
from tensorboardX.proto.event_pb2 import Event, SessionLog

from jirl.logging import ProgressBar, TensorBoardWriter


def events(logdir):
    """Every `Event` in the TFRecord files of `logdir`, file by file in write order."""
    out = []
    for path in sorted(logdir.glob("events.out.tfevents.*")):
        raw = path.read_bytes()
        while raw:
            (length,) = struct.unpack("<Q", raw[:8])
            out.append(Event.FromString(raw[12 : 12 + length]))  # 8 length, 4 crc, data, 4 crc
            raw = raw[16 + length :]
    return out


def scalars(evs):
    return [(e.step, v.tag, v.simple_value) for e in evs for v in e.summary.value]


def test_tensorboard_logs_seed_means_and_a_resume_purges_past_the_checkpoint(tmp_path):
    logdir = tmp_path / "tb"
    crashed = TensorBoardWriter(logdir, 8)
    crashed(0, {"loss": np.array([[1.0, 3.0], [5.0, 7.0]])}, None)  # updates 1-2, 2 seeds
    crashed(2, {"loss": np.array([[9.0, 9.0]])}, None)  # update 3, past the checkpoint at 2
    crashed.close()
    assert scalars(events(logdir)) == [(1, "loss", 2.0), (2, "loss", 6.0), (3, "loss", 9.0)]

    resumed = TensorBoardWriter(logdir, 8, resume=True)
    resumed(2, {"loss": np.array([[4.0, 4.0]])}, None)  # the checkpoint held update 2
    resumed.close()
    after = [e for e in events(logdir) if e.HasField("session_log") or e.summary.value][3:]
    # TensorBoard drops the earlier events from step 3 on when it reads this START
    assert after[0].session_log.status == SessionLog.START and after[0].step == 3
    assert scalars(after) == [(3, "loss", 4.0)]


def test_a_resume_rewrites_every_checkpointed_update_the_crash_may_have_lost(tmp_path):
    """tensorboardX writes from a queue that its `flush` does not wait for: a `kill -9` lost
    the events of updates the checkpoint already held, and the resume, which purged only past
    the checkpoint, never wrote them again. Now the checkpoint's metrics are written again."""
    logdir = tmp_path / "tb"
    crashed = TensorBoardWriter(logdir, 8)
    crashed(0, {"loss": np.array([[1.0, 3.0]])}, None)  # update 1; update 2's events were lost
    crashed.close()
    resumed = TensorBoardWriter(logdir, 8, resume=True)
    resumed.resumed(2, {"loss": np.array([[1.0, 3.0], [5.0, 7.0]])})  # the checkpoint's 1-2
    resumed(2, {"loss": np.array([[4.0, 4.0]])}, None)  # update 3
    resumed.close()
    after = [e for e in events(logdir) if e.HasField("session_log") or e.summary.value][1:]
    # TensorBoard drops every earlier event from step 1 on when it reads this START
    assert after[0].session_log.status == SessionLog.START and after[0].step == 1
    assert scalars(after) == [(1, "loss", 2.0), (2, "loss", 6.0), (3, "loss", 4.0)]


def test_tensorboard_draws_one_curve_per_sweep_setting(tmp_path):
    """Runs are setting-major: 2 settings × 2 seeds log 2 curves, not one mean over all four."""
    logdir = tmp_path / "tb"
    writer = TensorBoardWriter(logdir, 8, groups=["learning_rate=0.1", "learning_rate=1e-05"])
    writer(0, {"loss": np.array([[1.0, 3.0, 10.0, 30.0]])}, None)
    writer.close()
    assert scalars(events(logdir)) == [
        (1, "loss/learning_rate_0.1", 2.0),  # TensorBoard writes "=" (and ",") as "_"
        (1, "loss/learning_rate_1e-05", 20.0),
    ]


def test_a_writer_that_never_logged_closes_cleanly(tmp_path):
    TensorBoardWriter(tmp_path / "tb", 8).close()
    assert not (tmp_path / "tb").exists()


def test_progress_eta_counts_this_calls_updates_and_survives_minute_long_chunks():
    """A run resumed at update 70 of 100 that does 10 updates per 60 s chunk: after two chunks,
    the 10 updates left take 60 s. Rich's default 30 s speed window dropped every sample but
    the last (no ETA), and counting the 70 restored updates as done would say ~0 s."""
    now = [0.0]
    bar = ProgressBar(100, env_steps_per_update=1, clock=lambda: now[0])
    try:
        for first in (70, 80):
            now[0] += 60.0
            bar(first, {"episode_return": np.zeros((10, 2))}, state=None)
        task = bar.progress.tasks[0]
        assert task.completed == 100 - 10
        assert task.time_remaining == 60.0
    finally:
        bar.close()


def test_a_resumed_metrics_file_skips_lines_it_did_not_write(tmp_path):
    """Lines that are JSON but not rows (`5`, a step that is not an integer, a wall time that is
    not a number), or not text, are dropped on resume instead of stopping the run."""
    from jirl.logging import JsonlWriter

    path = tmp_path / "metrics.jsonl"
    good = {"step": 1, "env_steps": 8, "wall_time": 2.5, "loss": [0.5]}
    damaged = ["5", '{"step": "1"}', '{"step": 1, "wall_time": "x"}', "[1]", '{"wall_time": 1}']
    path.write_text("\n".join([json.dumps(good), *damaged]) + "\n")
    with path.open("ab") as f:  # and bytes that are not UTF-8: a traceback before
        f.write(bytes(range(128, 256)) + b"\n")
    writer = JsonlWriter(path, env_steps_per_update=8, resume=True)
    writer(1, {"loss": np.array([[0.25]])}, None)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2] and rows[0] == good
    assert rows[1]["wall_time"] >= 2.5 and rows[1]["loss"] == [0.25]


def test_a_resumed_metrics_file_rebuilds_rows_of_another_shape(tmp_path):
    """A row that parses but lacks the checkpoint's metrics (`{"step": 2}`) was kept on resume,
    and the run's plot then refused the file (rows with unlike keys): it is rebuilt from the
    checkpoint, as a damaged line is."""
    from jirl.logging import JsonlWriter
    from jirl.plots import read_metrics

    path = tmp_path / "metrics.jsonl"
    good = {"step": 1, "env_steps": 8, "wall_time": 2.5, "loss": [0.5]}
    path.write_text(json.dumps(good) + '\n{"step": 2}\n')
    writer = JsonlWriter(path, env_steps_per_update=8, resume=True)
    writer.resumed(2, {"loss": np.array([[0.5], [0.75]])})
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert rows[0] == good and rows[1]["loss"] == [0.75] and rows[1]["env_steps"] == 16
    assert len(read_metrics(tmp_path)["loss"]) == 2


def test_a_resumed_run_rebuilds_the_metrics_lines_its_file_lost(tmp_path, cartpole_expert):
    """`jirl.run` tells the writer what the checkpoint holds: rows the file kept stay as they
    were, lost ones come back from the checkpoint's metrics (with the wall time of the last row
    kept before them: only the lost line knew its own), and rows past the checkpoint go, so the
    run still plots."""
    import jax

    import jirl
    from jirl import data, envs
    from jirl.algos import bc
    from jirl.logging import JsonlWriter
    from jirl.plots import read_metrics

    env = envs.make("cartpole")
    algo = bc.make(
        bc.BCConfig(), env, data.load(cartpole_expert / "demos.npz", env=env).trajectories
    )
    path, key = tmp_path / "metrics.jsonl", jax.random.PRNGKey(0)
    common = {"seeds": 2, "chunk_size": 2, "checkpoint_dir": tmp_path / "ckpt"}

    def run(updates, writer, resume=False):
        jirl.run(algo, key, updates, callbacks=[writer], resume=resume, **common)
        return [json.loads(line) for line in path.read_text().splitlines()]

    whole = run(4, JsonlWriter(path, 3))  # updates 1-4, checkpoint at 4
    for kept in ([], [2, 3], [1, 2, 3, 4, 5]):  # deleted, a gap, a row past the checkpoint
        run(4, JsonlWriter(tmp_path / "other.jsonl", 3))  # the same checkpoint at 4 again
        rows = [whole[s - 1] for s in kept if s <= 4] + [{**whole[3], "step": 5}] * (5 in kept)
        path.write_text("".join(json.dumps(row) + "\n" for row in rows))
        resumed = run(6, JsonlWriter(path, 3, resume=True), resume=True)
        assert [row["step"] for row in resumed] == [1, 2, 3, 4, 5, 6]
        wall_time = 0.0  # a rebuilt row's: that of the last row kept before it
        for row, before in zip(resumed[:4], whole, strict=True):
            if row["step"] in kept:
                wall_time = before["wall_time"]
            assert row == {**before, "wall_time": wall_time}
        assert resumed[4]["bc_loss"] != whole[3]["bc_loss"]
        assert resumed[4]["wall_time"] >= wall_time
        assert read_metrics(tmp_path)["step"].tolist() == list(range(1, 7))  # one kind of row


def test_metrics_lines_reach_the_disk_before_the_checkpoint(tmp_path, monkeypatch):
    """The driver calls the callbacks, then writes the checkpoint (fsynced); each chunk's lines
    are fsynced too, so a power loss cannot keep a checkpoint whose updates have no lines."""
    from jirl import logging as jirl_logging

    path = tmp_path / "metrics.jsonl"
    synced = []

    def fsync(fd):
        synced.append(len(path.read_text().splitlines()))  # lines flushed when it was called

    monkeypatch.setattr(jirl_logging.os, "fsync", fsync)
    writer = jirl_logging.JsonlWriter(path, env_steps_per_update=8)
    writer(0, {"loss": np.zeros((3, 2))}, None)
    writer(3, {"loss": np.zeros((2, 2))}, None)
    assert synced == [3, 5]

    # and the driver: when each checkpoint is written, the lines of its updates are all there
    import jax
    import jax.numpy as jnp

    from jirl.types import Algorithm

    run_module = sys.modules["jirl.run"]  # (`jirl.run` is the function)

    lines_at_checkpoint = []
    save = run_module.save_checkpoint

    def save_checkpoint(directory, state, metrics, update, *args, **kwargs):
        lines_at_checkpoint.append((update, len(path.read_text().splitlines())))
        return save(directory, state, metrics, update, *args, **kwargs)

    monkeypatch.setattr(run_module, "save_checkpoint", save_checkpoint)
    toy = Algorithm(lambda k: jnp.zeros(()), lambda s: (s + 1, {"x": s}), lambda s, o, k: o)
    writer = jirl_logging.JsonlWriter(path, env_steps_per_update=1)
    run_module.run(toy, jax.random.PRNGKey(0), 5, chunk_size=2, callbacks=[writer],
                 checkpoint_dir=tmp_path / "checkpoint")  # fmt: skip
    assert lines_at_checkpoint == [(2, 2), (4, 4), (5, 5)]


def test_retrains_return_curve_counts_no_return_before_an_episode_ends():
    """`learned_return_curve` averaged the log's placeholder 0 (no episode ended yet) with the
    seeds' returns: [0.0, 0.0, 0.0] where the evaluated return was 39.5."""
    from jirl.retrain import return_curve

    metrics = {  # [seeds, updates]
        "episode_return": np.array([[0.0, 0.0, -900.0, -800.0], [0.0, -700.0, -700.0, -600.0]]),
        "episodes": np.array([[0, 0, 2, 1], [0, 1, 0, 3]]),
    }
    assert return_curve(metrics) == [None, -700.0, -800.0, -700.0]
