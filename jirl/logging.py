"""Metric sinks and the progress bar: host-side callbacks of `jirl.run.run`, between chunks."""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import numpy as np

from jirl.files import atomic_write_text, strict_json

#: the keys each metrics.jsonl row leads with; no metric may take one of these names
#: (`jirl.run` refuses an algorithm whose update returns one: it replaced the row's step)
ROW_KEYS = ("step", "env_steps", "wall_time")


class JsonlWriter:
    """`metrics.jsonl`: one line per update with step, env_steps, wall time and every metric
    per seed. On resume, lines past the checkpoint (and a last line cut short by a crash) are
    dropped so the file matches the state, and the updates the checkpoint holds but the file
    lost (deleted, or damaged) are written again from the checkpoint's metrics (`resumed`),
    with the `wall_time` of the last line before them that the file kept (0 at the start): only
    the lost lines knew their own."""

    def __init__(self, path: Path, env_steps_per_update: int, resume: bool = False):
        self.path = Path(path)
        self.env_steps_per_update = env_steps_per_update
        self.start = time.perf_counter()
        self.offset = 0.0
        if resume and self.path.exists():
            # bytes that are not UTF-8 (a damaged file): their lines fail to parse and are
            # rebuilt from the checkpoint, as other damaged lines are
            self.lines = self.path.read_bytes().decode("utf-8", "replace").splitlines()
        else:
            self.lines = []
            self.path.write_text("")

    def resumed(self, update: int, metrics: dict[str, np.ndarray]) -> None:
        """Make the file hold exactly updates 1..`update`, the checkpoint's: its own rows where
        it has them, the others rebuilt from the checkpoint's `metrics` `[update, seeds, ...]`."""
        rows = {}
        keys = {*ROW_KEYS, *metrics}  # a row of another shape is damaged
        for row in map(parse_row, self.lines):
            if row and 1 <= row["step"] <= update and set(row) == keys:
                rows[row["step"]] = row
        wall_time = 0.0  # a rebuilt row takes the time of the last row before it that was kept
        for step in range(1, update + 1):
            if step in rows:
                wall_time = rows[step].get("wall_time", wall_time)
            else:
                values = {k: v[step - 1] for k, v in metrics.items()}
                rows[step] = self._row(step, values, wall_time)
        self.offset = wall_time
        atomic_write_text(self.path, "".join(json.dumps(rows[s]) + "\n" for s in sorted(rows)))
        self.lines = []

    def _row(self, step: int, values: dict[str, np.ndarray], wall_time: float) -> dict:
        row = {"step": step, "env_steps": step * self.env_steps_per_update, "wall_time": wall_time}
        # per seed: a number, or nested lists for a metric that is not a scalar
        row.update({k: np.asarray(v, np.float64).tolist() for k, v in values.items()})
        return row

    def __call__(self, first: int, metrics: dict[str, np.ndarray], state) -> None:
        if self.lines:  # resumed without `resumed` (a caller's own loop): keep what precedes
            kept = [row for row in map(parse_row, self.lines) if row and row["step"] <= first]
            if kept:
                self.offset = kept[-1].get("wall_time", 0.0)
            atomic_write_text(self.path, "".join(json.dumps(row) + "\n" for row in kept))
            self.lines = []
        length = next(iter(metrics.values())).shape[0]
        now = self.offset + time.perf_counter() - self.start
        with self.path.open("a") as f:
            for i in range(length):
                row = self._row(first + i + 1, {k: v[i] for k, v in metrics.items()}, now)
                f.write(json.dumps(row) + "\n")
            # On disk before the driver writes the checkpoint that covers these updates (it
            # calls the callbacks first), so a crash cannot leave a checkpoint ahead of them.
            f.flush()
            os.fsync(f.fileno())

    def close(self) -> None:
        pass


def parse_row(line: str) -> dict | None:
    """A metrics.jsonl row, or None for a blank line, one cut short by a crash, or one that is
    not a row this module wrote (no integer `step`, or a `wall_time` that is not a number)."""
    try:
        row = strict_json(line) if line.strip() else None
    except ValueError:
        return None
    if not isinstance(row, dict) or type(row.get("step")) is not int:
        return None
    if type(row.get("wall_time", 0.0)) not in (int, float):
        return None
    return row


class ProgressBar:
    """A rich progress bar: updates, env steps, steps/s, ETA and the current mean return.

    The ETA is rich's: the updates done since the first chunk (so a resumed run's restored
    updates do not count) over the time since. Its speed window is the whole run, not rich's
    default 30 s, which left a Brax run whose chunks take longer with no ETA at all. `clock`
    (seconds) is for tests."""

    def __init__(self, total_updates: int, env_steps_per_update: int, clock=time.perf_counter):
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.env_steps_per_update = env_steps_per_update
        self.progress = Progress(
            TextColumn("[bold]update"),
            MofNCompleteColumn(),
            BarColumn(),
            TextColumn("{task.fields[info]}"),
            TimeRemainingColumn(),
            transient=False,
            speed_estimate_period=math.inf,
            get_time=clock,
        )
        self.task = self.progress.add_task("train", total=total_updates, info="compiling...")
        self.start = None
        self.clock = clock
        self.progress.start()

    def __call__(self, first: int, metrics: dict[str, np.ndarray], state) -> None:
        length = next(iter(metrics.values())).shape[0]
        now = self.clock()
        if self.start is None:
            self.start, self.first = now, first
        steps = (first + length) * self.env_steps_per_update
        rate = (
            (first + length - self.first) * self.env_steps_per_update / max(now - self.start, 1e-9)
        )
        info = f"env steps {steps:,}"
        if self.start != now:
            info += f"  {rate:,.0f}/s"
        for name in ("episode_return", "bc_loss"):
            if name in metrics:
                info += f"  {name} {np.mean(metrics[name][-1]):.3g}"
                break
        self.progress.update(self.task, completed=first + length, info=info)

    def close(self) -> None:
        self.progress.stop()


def before_first_episode(returns: np.ndarray, episodes: np.ndarray) -> np.ndarray:
    """`returns [updates, ...]` (an `episode_*` metric) with NaN at the updates before each
    run's first finished episode (`episodes`, the same shape: episodes ended per update),
    where the log holds the 0 that `EpisodeStats.metrics_carried` starts from: pendulum's
    GAIL curve started at 0, above the expert's return."""
    return np.where(np.cumsum(episodes, axis=0) > 0, returns, np.nan)


def setting_name(setting: dict[str, float]) -> str:
    """`learning_rate=0.001,ent_coef=0`: a sweep setting's label in figures and TensorBoard."""
    return ",".join(f"{k}={v:g}" for k, v in setting.items())


class TensorBoardWriter:
    """TensorBoard event files (tensorboardX): the seed mean of every metric, per update; for a
    sweep (`groups`: one name per setting, the runs setting-major), one curve per setting,
    tagged `metric/setting` (TensorBoard writes its "=" and "," as "_"). On resume, every
    update the checkpoint holds is written again from its metrics (`resumed`) after a purge
    from step 1 (tensorboardX's `purge_step`: TensorBoard hides the earlier files' events from
    that step on): a crash loses the events tensorboardX still held in its queue (its `flush`
    does not wait for them), which may be updates the checkpoint covers, and which ones is not
    known. The rebuilt events carry the resume's wall time. Resumed without `resumed` (a
    caller's own loop), the events past the first chunk's step are purged instead."""

    def __init__(
        self,
        logdir: Path,
        env_steps_per_update: int,
        resume: bool = False,
        groups: list[str] | None = None,
    ):
        self.logdir = Path(logdir)
        self.env_steps_per_update = env_steps_per_update
        self.resume = resume
        self.groups = groups
        self.writer = None  # opened at the first chunk, whose first step a resume purges from

    def _open(self, purge_step: int | None) -> None:
        from tensorboardX import SummaryWriter

        # a file of its own: the default name (seconds and host) can be the crashed run's
        suffix = f".{time.time_ns()}"
        self.writer = SummaryWriter(str(self.logdir), purge_step=purge_step, filename_suffix=suffix)

    def resumed(self, update: int, metrics: dict[str, np.ndarray]) -> None:
        """Write updates 1..`update` again from the checkpoint's `metrics` `[update, seeds,
        ...]`, hiding every event the earlier sessions wrote."""
        self._open(purge_step=1)
        if update and metrics:
            self(0, metrics, None)

    def __call__(self, first: int, metrics: dict[str, np.ndarray], state) -> None:
        if self.writer is None:
            self._open(first + 1 if self.resume else None)
        length = next(iter(metrics.values())).shape[0]
        for i in range(length):
            for k, v in metrics.items():
                if self.groups is None:
                    self.writer.add_scalar(k, float(np.mean(v[i])), first + i + 1)
                    continue
                runs = np.asarray(v[i]).reshape(len(self.groups), -1)  # [settings, seeds · ...]
                for group, values in zip(self.groups, runs, strict=True):
                    self.writer.add_scalar(f"{k}/{group}", float(np.mean(values)), first + i + 1)
        self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
