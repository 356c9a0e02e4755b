"""The host driver: chunks of jitted updates over vmapped seeds, with callbacks, checkpoints,
resume and a NaN guard between chunks (DESIGN.md § The one interface).

`run(algo, key, num_updates, seeds=N)` compiles `jit(vmap(scan(update)))` over a chunk of
updates once and loops over chunks on the host. Nothing inside jit knows about files.
"""

from __future__ import annotations

import collections
import functools
import math
import os
import struct
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import serialization
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from jirl.devices import memory_limit, seed_map
from jirl.errors import ConfigError, RunError, check_count, short
from jirl.files import (
    CHECKPOINT_FILE,
    METRICS_LOG,
    atomic_write,
    leaf_mismatch,
    remove_temporaries,
    seal,
    sync_dir,
    unseal,
)
from jirl.logging import ROW_KEYS
from jirl.train import run_updates
from jirl.types import Algorithm, Array

#: a frame of the metrics log: its payload's bytes, and the updates the log holds after it;
#: then the payload, msgpack of `{name: [updates, seeds, ...]}` behind its checksum
#: (`jirl.files.seal`; frames written before the thirty-second session have none)
_FRAME = struct.Struct("<QQ")

#: `callback(first_update, metrics {name: [chunk, seeds]}, state)` after every chunk; a callback
#: that returns True stops the run after that chunk (e.g. once a target score is reached). One
#: with a `resumed(update, metrics {name: [update, seeds]})` method is told, before the first
#: chunk of a resumed run, what the checkpoint holds (`jirl.logging.JsonlWriter` rebuilds rows
#: that its file lost from it).
Callback = Callable[[int, dict[str, np.ndarray], Any], bool | None]


class NonFiniteError(RunError):
    """A metric or the state became NaN or inf; the last good checkpoint, if any, is kept.
    `runs`: the rows of the seed axis (seeds; in a sweep, settings × seeds, setting-major)
    that did."""

    def __init__(self, message: str, runs: Sequence[int] = ()):
        super().__init__(message)
        self.runs = tuple(int(r) for r in runs)


@dataclass(frozen=True)
class Timing:
    """Seconds a run spent compiling and training, the updates trained in them, and the
    seconds `run` spent between chunks (callbacks, checkpoints: `other_seconds`); summed over
    the sessions of a resumed run (`save_checkpoint` records the sum so far)."""

    compile_seconds: float = 0.0
    wall_seconds: float = 0.0
    updates: int = 0
    other_seconds: float = 0.0

    def __add__(self, other: Timing) -> Timing:
        return Timing(
            self.compile_seconds + other.compile_seconds,
            self.wall_seconds + other.wall_seconds,
            self.updates + other.updates,
            self.other_seconds + other.other_seconds,
        )


@dataclass
class RunResult:
    """What `run` returns.

    Attributes:
      state: final state, every leaf with a leading seed axis `[seeds, ...]`.
      metrics: `{name: [updates, seeds]}` host arrays, `updates` fewer than asked when a
        callback stopped the run.
      compile_seconds: time to compile the chunk function (and init).
      wall_seconds: time spent running chunks, compile excluded.
      updates_run: updates this call ran, in `wall_seconds` (after a resume, fewer than the
        run's total, which `metrics` covers).
      layout: how the seeds lay on devices (`seed_layout`): how many ran, how many per device.
      total: this call's timing added to the earlier sessions' that the checkpoint recorded
        (a checkpoint written before it was recorded counts from this call on).
      other_seconds: time this call spent between chunks: callbacks and checkpoints.
      devices: the devices the run's last updates ran on: `layout`'s, or, after a resume with
        nothing left to train, the checkpoint's (where it records them).
    """

    state: Any
    metrics: dict[str, np.ndarray]
    compile_seconds: float
    wall_seconds: float
    updates_run: int
    layout: SeedLayout
    total: Timing = Timing()
    other_seconds: float = 0.0
    devices: int | None = None

    def __post_init__(self):
        if self.devices is None:
            self.devices = self.layout.devices


@dataclass(frozen=True)
class SeedLayout:
    """How `seeds` runs lie on devices: a seed axis of `padded` rows, sharded by `sharding`
    (None: one default device), whose rows past `seeds` repeat the first ones.

    Seeds never communicate, so a repeated row only computes a copy of its seed's run, which is
    dropped: 5 seeds on 2 devices run as 3 + 3 instead of 5 on one device while the other waits.
    A run's checkpoint, callbacks and results see the `seeds` rows only (`unpad`); padding a
    resumed state again repeats the same rows, so seed `i` computes exactly what it would have.
    """

    seeds: int
    padded: int
    sharding: NamedSharding | None

    @property
    def devices(self) -> int:
        return 1 if self.sharding is None else self.sharding.mesh.size

    def pad(self, tree):
        """`tree`'s leaves `[seeds, ...]` (host or device arrays) → `[padded, ...]` (rows
        `i % seeds`), on the devices (the default one without a sharding)."""
        if self.padded != self.seeds:
            rows = np.arange(self.padded) % self.seeds
            tree = jax.tree.map(lambda x: x[rows], tree)
        return jax.device_put(tree, self.sharding)

    def unpad(self, tree):
        """`tree`'s leaves `[padded, ...]` → the real seeds' `[seeds, ...]`."""
        if self.padded == self.seeds:
            return tree
        return jax.tree.map(lambda x: x[: self.seeds], tree)


def raw_key(key: Array) -> Array:
    """`key` as a raw `uint32 [2]` key: a typed one (`jax.random.key`) gives its data, the key
    `jax.random.PRNGKey` makes from the same seed, so a run draws the same numbers either way
    and its state holds keys msgpack can store. ConfigError for a key of another PRNG than the
    default's (its data would be read as the default's)."""
    key = jnp.asarray(key)
    if not jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        expected = jax.random.key_data(jax.random.key(0))
        if key.shape != expected.shape or key.dtype != expected.dtype:
            raise ConfigError(
                f"key must be a PRNG key (jax.random.PRNGKey(seed) or jax.random.key(seed)), "
                f"got an array {key.dtype} {list(key.shape)}"
            )
        return key
    impl, default = jax.random.key_impl(key), jax.random.key_impl(jax.random.key(0))
    if str(impl) != str(default):
        raise ConfigError(
            f"key is a {impl} key, but JAX's default PRNG is {default}: pass a key of the "
            "default, or set jax_default_prng_impl to its implementation"
        )
    return jax.random.key_data(key)


def seed_layout(seeds: int, devices: Sequence | None = None) -> SeedLayout:
    """Lay a leading axis of `seeds` runs over `devices` (default: the visible ones), as evenly
    as they allow, padding the seed axis to a multiple of the devices used (`SeedLayout`).

    Each device gets `ceil(seeds / len(devices))` seeds, over as few of them as that needs:
    5 seeds on 2 devices run 3 + 3 (one repeat), 5 on 4 devices 2 + 2 + 2, 6 on 4 devices
    2 + 2 + 2 (no repeat), 2 on 4 devices 1 + 1.
    """
    seeds = check_count("seeds", seeds)
    devices = jax.devices() if devices is None else list(devices)
    if not devices:
        raise ConfigError("no devices named; name at least one (or none: all visible)")
    per_device = -(-seeds // len(devices))
    devices = devices[: -(-seeds // per_device)]
    padded = per_device * len(devices)
    if len(devices) == 1 and devices[0] == jax.devices()[0]:
        return SeedLayout(seeds, padded, None)  # the default device: no sharding to carry
    sharding = NamedSharding(Mesh(np.array(devices), ("seed",)), PartitionSpec("seed"))
    return SeedLayout(seeds, padded, sharding)


def use_cpu_cores(count: int | None = None) -> None:
    """Run JAX's CPU as `count` devices (default: the cores this process may use), so that
    `run` and the `jirl` command shard seeds over them, one slice of seeds per core.

    One XLA:CPU device runs a small network's ops one after another on one core; vmapped seeds
    are independent, so a device per core runs them side by side (GAIL on cartpole, 2 cores:
    2.0–2.3× the env steps per second of one device). Call it right after `import jax`,
    before any computation: once JAX has started, its device count is fixed and this only
    warns. A count the user set (`XLA_FLAGS=--xla_force_host_platform_device_count=N`,
    `JAX_NUM_CPU_DEVICES`) is left alone. JAX's default devices stay the accelerators where
    there are some.
    """
    if count is None:
        count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if count < 1:
        raise ConfigError(f"the number of CPU devices must be >= 1, got {count}")
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_force_host_platform_device_count" in flags or "JAX_NUM_CPU_DEVICES" in os.environ:
        return
    try:
        jax.config.update("jax_num_cpu_devices", count)
    except RuntimeError:  # JAX has started
        have = len(jax.devices("cpu"))
        if have != count:
            warnings.warn(
                f"JAX has already computed: it keeps {have} CPU device(s), not {count}; call "
                "jirl.use_cpu_cores() before the first computation",
                stacklevel=2,
            )
    except AttributeError:  # jax without the option (0.4.35) reads the flag when it starts,
        # so a late call cannot be told from an early one: it has no effect, and no warning
        os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={count}".strip()


def _gb(n: float) -> str:
    return f"{n / 1e9:,.1f} GB"


def check_memory(
    needed: float, devices: Sequence, subject: str, fix: str, detail: str = ""
) -> None:
    """Refuse `needed` bytes beyond half of the memory of `devices` (`memory_limit`; nothing is
    refused where it cannot be told): past it, XLA runs out of memory after compiling, or the
    host's kernel kills the process without a word.

    Raises:
      ConfigError: "{subject} N GB{detail}, more than half of the M GB of device memory;
        {fix}" (`subject` ends in its verb: "the state needs").
    """
    limit = memory_limit(devices)
    if limit is not None and 2 * needed > limit:
        raise ConfigError(
            f"{subject} {_gb(needed)}{detail}, more than half of the {_gb(limit)} of device "
            f"memory; {fix}"
        )


def check_state_fits(template, layout: SeedLayout) -> None:
    """Refuse a training state that would take more than half of the devices' memory (an
    update holds the state and its successor), before anything is allocated
    (`dagger.buffer_capacity: 200000000`, 4 seeds, on a 24 GB CPU: killed without a word).

    Args:
      template: the state's leaves `[seeds, ...]` or `[layout.padded, ...]`
        (`jax.ShapeDtypeStruct`s or arrays).

    Raises:
      ConfigError: naming the state's size, its largest leaf and the devices' memory.
    """
    leaves = jax.tree_util.tree_flatten_with_path(template)[0]
    if not leaves:
        return
    # dtype.itemsize: NumPy's, and a typed PRNG key's (`jax.random.key`) too
    sizes = [(math.prod(x.shape) * x.dtype.itemsize, path, x) for path, x in leaves]
    rows = next((x.shape[0] for _, x in leaves if x.shape), layout.padded)
    needed = layout.padded / rows * sum(size for size, _, _ in sizes)
    size, path, leaf = max(sizes, key=lambda entry: entry[0])
    padded = ""
    if layout.padded != rows:
        padded = f"; {layout.seeds} seeds run as {layout.padded} on {layout.devices} devices"
    devices = jax.devices()[:1] if layout.sharding is None else layout.sharding.mesh.devices.flat
    check_memory(
        needed,
        list(devices),
        f"the training state of {layout.seeds} seed(s) needs",
        "use fewer seeds or environments, or a smaller buffer, batch or network",
        f" (largest: {jax.tree_util.keystr(path)} {list(leaf.shape)} {leaf.dtype}, "
        f"{_gb(size)}{padded})",
    )


def _float_leaves(state) -> list:
    """`(path, leaf)` of the state's floating-point leaves, in the tree's order."""
    leaves = jax.tree_util.tree_flatten_with_path(state)[0]
    return [(path, x) for path, x in leaves if jnp.issubdtype(x.dtype, jnp.floating)]


#: Jitted programs `run` keeps, of both kinds (init, chunk) together, the least recently used
#: dropped first, each with JAX's cache of its compiled executables: `run` called again on the
#: same algorithm and layout (a run continued from its `initial_state`, a notebook's second
#: run) traces and compiles nothing. As with `jax.jit`, an algorithm whose functions read
#: mutable Python state when traced keeps what they read then: make a new algorithm instead.
#: Each program keeps its algorithm (and what that holds: demonstrations, an expert) alive until
#: dropped, or until `clear_programs`.
KEPT_PROGRAMS = 16
_programs: collections.OrderedDict = collections.OrderedDict()


def clear_programs() -> None:
    """Drop the programs `run` keeps (`KEPT_PROGRAMS`), and the algorithms they hold."""
    _programs.clear()


def _kept(build):
    """`build(algo, ...)`, kept among `_programs` where `algo` can be hashed (an `Algorithm` of
    functions can; one holding, say, a dataclass compared by value cannot, and is built afresh
    each time)."""

    @functools.wraps(build)
    def get(algo, *args):
        key = (build.__name__, algo, *args)
        try:
            hash(key)
        except TypeError:
            return build(algo, *args)
        if key in _programs:
            _programs.move_to_end(key)
            return _programs[key]
        program = _programs[key] = build(algo, *args)
        while len(_programs) > KEPT_PROGRAMS:
            _programs.popitem(last=False)
        return program

    return get


@_kept
def _chunk_fn(algo: Algorithm, length: int, sharding: NamedSharding | None):
    """`jit(vmap(chunk))`: `length` updates, then `(state, metrics [length, ...], finite
    [leaves])`, whether each floating-point leaf of the state (`_float_leaves`) is finite."""

    def chunk(state):
        state, metrics = run_updates(algo.update, state, length)
        flags = [jnp.all(jnp.isfinite(x)) for _, x in _float_leaves(state)]
        return state, metrics, jnp.stack(flags) if flags else jnp.ones((0,), bool)

    return jax.jit(seed_map(chunk, sharding))


@_kept
def _init_fn(algo: Algorithm, sharding: NamedSharding | None):
    """`jit(vmap(algo.init))` over the seed axis that `sharding` lays out."""
    return jax.jit(seed_map(algo.init, sharding))


def _init(algo: Algorithm, keys: Array, layout: SeedLayout):
    """`vmap(algo.init)(keys)` on the padded seed axis, each device initialising its slice,
    once `check_state_fits` has seen the shapes it will allocate."""
    keys = layout.pad(keys)
    lowered = _init_fn(algo, layout.sharding).lower(keys)
    check_state_fits(lowered.out_info, layout)
    return lowered.compile()(keys)


def save_checkpoint(
    directory: Path,
    state,
    metrics: dict[str, np.ndarray],
    update: int,
    devices: int = 1,
    timing: Timing = Timing(),
    logged: int = 0,
    log_end: int | None = None,
) -> int:
    """Write a checkpoint: the metrics of updates `logged + 1 .. update` (`metrics`, each
    `[update - logged, seeds, ...]`) appended to the metrics log (`METRICS_LOG`, flushed to
    disk), then, atomically, the state, the update count, the number of devices the seeds were
    laid over and the run's `timing` so far (msgpack, no pickle); the state file, and each
    metrics frame's payload, behind its SHA-256 (`jirl.files.seal`: a bit that changes on disk
    is found on load). The state file is the commit:
    a kill between the two leaves the checkpoint before, whose log frames are all there.
    `logged = 0` starts the log anew, so a checkpoint already in `directory` (another run's) is
    removed first: a kill before the new state is written then leaves no checkpoint, not the
    old state beside a log it does not match.

    `log_end`: the log's size up to update `logged`, as the last call returned it (None: found
    by reading its frames). Returns the log's size after this checkpoint."""
    directory = Path(directory)
    if not directory.is_dir():
        directory.mkdir(parents=True)
        sync_dir(directory.parent)  # its entry, or a power cut may lose the checkpoint whole
    if not logged and (directory / CHECKPOINT_FILE).exists():
        (directory / CHECKPOINT_FILE).unlink()
        sync_dir(directory)
    end = _append_metrics(directory / METRICS_LOG, metrics, logged, update, log_end)
    payload = {
        "update": np.asarray(update),
        "devices": np.asarray(devices),
        "state": serialization.to_state_dict(jax.device_get(state)),
        "timing": {
            "compile_seconds": np.asarray(timing.compile_seconds),
            "wall_seconds": np.asarray(timing.wall_seconds),
            "updates": np.asarray(timing.updates),
            "other_seconds": np.asarray(timing.other_seconds),
        },
    }
    atomic_write(directory / CHECKPOINT_FILE, seal(serialization.msgpack_serialize(payload)))
    return end


def _log_frames(path: Path) -> list[tuple[int, int, int]]:
    """`(payload offset, payload bytes, updates after it)` of each whole frame of the metrics
    log at `path`, in order; a frame a kill cut short, and anything after it, is left out."""
    frames = []
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            offset = 0
            while offset + _FRAME.size <= size:
                f.seek(offset)
                length, updates = _FRAME.unpack(f.read(_FRAME.size))
                if offset + _FRAME.size + length > size:
                    break
                frames.append((offset + _FRAME.size, length, updates))
                offset += _FRAME.size + length
    except FileNotFoundError:
        pass
    return frames


def _log_ends(path: Path) -> dict[int, int]:
    """`{updates: the log's size up to the frame that ends there}` of the metrics log."""
    return {updates: offset + length for offset, length, updates in _log_frames(path)}


def _log_end(path: Path, logged: int) -> int:
    """The metrics log's size up to its frame ending at update `logged` (0 for none)."""
    if not logged:
        return 0
    ends = _log_ends(path)
    if logged not in ends:
        raise RunError(f"{path} does not hold the first {logged} updates' metrics")
    return ends[logged]


def _append_metrics(
    path: Path, metrics: dict, logged: int, update: int, end: int | None = None
) -> int:
    """Cut the log back to `end`, its size up to update `logged` (None: read from its frames;
    a kill's frames past the last checkpoint go), then append one frame of `metrics` ending at
    `update`, flushed to disk. Returns the log's new size."""
    end = _log_end(path, logged) if end is None else end
    payload = seal(serialization.msgpack_serialize({k: np.asarray(v) for k, v in metrics.items()}))
    with path.open("r+b" if end else "wb") as f:
        f.truncate(end)
        f.seek(end)
        f.write(_FRAME.pack(len(payload), update) + payload)
        f.flush()
        os.fsync(f.fileno())
    return end + _FRAME.size + len(payload)


def _read_metrics(path: Path, update: int) -> dict[str, np.ndarray]:
    """The metrics log's first `update` updates, `{name: [update, ...]}`; ValueError where
    its frames do not end exactly there (a log cut short, or another run's)."""
    parts, last = [], 0
    with path.open("rb") as f:
        for offset, length, updates in _log_frames(path):
            if updates > update:
                break
            f.seek(offset)
            try:
                frame = unseal(f.read(length))
            except ValueError as e:
                raise ValueError(f"{path.name}'s frame to update {updates}: {e}") from None
            part = serialization.msgpack_restore(frame)
            rows = {len(np.asarray(v)) for v in part.values()}
            if rows and rows != {updates - last}:  # its header's count, outside the seal
                raise ValueError(
                    f"{path.name}'s frame to update {updates} holds {sorted(rows)} updates' "
                    f"rows, not {updates - last}"
                )
            parts.append(part)
            last = updates
    if last != update or not parts:
        raise ValueError(f"{path.name} holds {last} updates' metrics, not {update}")
    return {k: np.concatenate([np.asarray(p[k]) for p in parts]) for k in parts[0]}


def state_template(algo: Algorithm, seeds: int):
    """The shapes and dtypes of `vmap(algo.init)` over `seeds` keys (`jax.ShapeDtypeStruct`
    leaves), traced but not compiled: what `load_checkpoint` restores into."""
    return jax.eval_shape(jax.vmap(algo.init), jax.random.split(jax.random.PRNGKey(0), seeds))


def load_checkpoint(directory: Path, template) -> tuple[Any, dict[str, np.ndarray], int]:
    """Restore `(state, metrics, update)` written by `save_checkpoint` into `template`'s tree
    (a state, or `state_template`'s shapes). A file that is not such a checkpoint (empty, cut
    short, another msgpack), or a leaf whose shape or dtype differs from the template's, raises
    `ConfigError`."""
    return _restore(directory, template)[:3]


def _restore(
    directory: Path, template
) -> tuple[Any, dict[str, np.ndarray], int, int | None, Timing]:
    """`load_checkpoint`'s restore, with the device count the seeds were laid over (None: a
    checkpoint written before it was recorded) and the run's timing so far (zero: likewise),
    from one read of the file."""
    path = Path(directory) / CHECKPOINT_FILE
    try:
        raw = serialization.msgpack_restore(unseal(path.read_bytes()))
        saved = raw["state"]  # (no state at all: not a checkpoint)
        try:  # a whole state of another tree: another algorithm's or config's
            state = serialization.from_state_dict(template, saved)
        except (ValueError, KeyError, TypeError) as e:
            raise _DoesNotFit(str(e).splitlines()[0][:200]) from None
        update = _recorded(raw["update"], "update", int, 1)
        if "metrics" in raw:  # written before the metrics log: the whole history inside
            metrics = {k: np.asarray(v) for k, v in raw["metrics"].items()}
        else:
            try:
                metrics = _read_metrics(Path(directory) / METRICS_LOG, update)
            except (ValueError, OSError, RecursionError) as e:  # the log's, not the state's
                raise _LogDamaged(e) from None
        devices = _recorded(raw["devices"], "devices", int, 1) if "devices" in raw else None
        timing = (
            Timing(
                _recorded(raw["timing"]["compile_seconds"], "compile_seconds", float, 0),
                _recorded(raw["timing"]["wall_seconds"], "wall_seconds", float, 0),
                _recorded(raw["timing"]["updates"], "timing's updates", int, 0),
                # (absent from checkpoints written before it was recorded)
                _recorded(raw["timing"].get("other_seconds", 0.0), "other_seconds", float, 0),
            )
            if "timing" in raw
            else Timing()
        )
        mismatch = leaf_mismatch(template, state)
        if mismatch:  # a whole checkpoint of another config: its metrics differ in seeds too
            raise _DoesNotFit(mismatch)
        seeds = jax.tree.leaves(template)[0].shape[0]
        for k, v in metrics.items():  # [update, seeds, ...] numbers, as `run` concatenates
            if v.dtype.kind not in "biuf" or v.shape[:2] != (update, seeds):
                raise ValueError(f"metric '{k}' of shape {v.shape} {v.dtype}")
    except _LogDamaged as e:
        log = Path(directory) / METRICS_LOG
        cause = e.args[0]
        said = "is missing" if isinstance(cause, FileNotFoundError) else "is damaged"
        raise ConfigError(
            f"{log} {said} ({type(cause).__name__}: {cause}), while {path.name} beside it "
            "needs its history: restore it, or run that training again (--overwrite)"
        ) from None
    except _DoesNotFit as e:
        raise ConfigError(
            f"{path} does not fit this config ({e}): it was written by a run of another "
            "config or another version of jirl; use the config.yaml it was run with, and that "
            "version"
        ) from None
    # (RecursionError: a msgpack map nested ~1000 deep, unsealed or sealed again by hand)
    except (ValueError, TypeError, KeyError, AttributeError, OSError, RecursionError) as e:
        raise ConfigError(
            f"{path} is damaged or not a jirl checkpoint ({type(e).__name__}: {e}): restore it, "
            "or run that training again (--overwrite)"
        ) from None
    return state, metrics, update, devices, timing


def _recorded(value, name: str, kind: type, least: int):
    """A number a checkpoint records (a 0-d array as `save_checkpoint` writes it, of `kind` int
    or float), checked: finite, at least `least`, and an int where an int was written (4.7
    updates is not 4). ValueError otherwise."""
    x = np.asarray(value)
    said = f"{name} {short(x.item() if x.ndim == 0 else value)}"
    if x.ndim or x.dtype.kind not in ("iu" if kind is int else "iuf"):
        raise ValueError(said)
    if not (np.isfinite(x) and x >= least):
        raise ValueError(said)
    return kind(x)


class _DoesNotFit(Exception):
    """A checkpoint whose leaves differ from the template's (`_restore`): another config's."""


class _LogDamaged(Exception):
    """A checkpoint whose metrics log cannot give its history (`_restore`): the log's fault."""


def checkpoint_metric_names(directory: Path) -> set[str] | None:
    """The names of the metrics the checkpoint in `directory` logged (its metrics log's first
    frame), without restoring it; None where there is no log to read."""
    path = Path(directory) / METRICS_LOG
    frames = _log_frames(path)
    if not frames:
        return None
    offset, length, _ = frames[0]
    with path.open("rb") as f:
        f.seek(offset)
        try:
            return set(serialization.msgpack_restore(unseal(f.read(length))))
        except Exception:  # not ours: `_restore` says so, with its own message
            return None


def check_metric_names(directory: Path, saved, logged) -> None:
    """Refuse to resume the checkpoint in `directory`, whose metrics are named `saved`, with an
    algorithm whose update logs `logged` (another jirl version's, which adds or drops one):
    the run's history and the new chunks would not line up."""
    if saved is not None and set(saved) != set(logged):
        raise ConfigError(
            f"{directory} holds the metrics {', '.join(sorted(saved))}, and the algorithm now "
            f"logs {', '.join(sorted(logged))}: the run was written by another version of jirl "
            "(or of the algorithm); resume it with that one, or pass --overwrite"
        )


def _metric_names(program) -> list[str]:
    """The metric names a compiled chunk (`_chunk_fn`: `(state, metrics, flags)`) returns,
    read from its output tree (`Compiled.out_info` is newer than jax 0.7)."""
    tree = program.out_tree
    return list(jax.tree_util.tree_unflatten(tree, [None] * tree.num_leaves)[1])


def raw_key_leaf(x: Any) -> Any:
    """A typed PRNG key array `x` as its data (`raw_key`, leaf by leaf); any other leaf as it is."""
    if hasattr(x, "dtype") and jnp.issubdtype(x.dtype, jax.dtypes.prng_key):
        return raw_key(x)
    return x


def check_initial_state(algo: Algorithm, state: Any) -> int:
    """The seed count of `state`, a batch of `algo`'s states `[seeds, ...]` (`run`'s
    `initial_state`), or ConfigError naming the first leaf that is not one: an unbatched state
    failed in `device_put`, another algorithm's with an AttributeError inside its update."""
    leaves = jax.tree.leaves(state)
    if not leaves or any(np.ndim(x) == 0 for x in leaves):
        raise ConfigError(
            "initial_state must be a batch of states, every leaf [seeds, ...]: pass "
            "jax.vmap(algo.init)(keys), or jirl.sweep.init_sweep's"
        )
    seeds = int(np.shape(leaves[0])[0])
    template = state_template(algo, seeds)
    if jax.tree.structure(template) != jax.tree.structure(state):
        raise ConfigError(
            f"initial_state is not a state of '{algo.name}' (its tree is not algo.init's): pass "
            "jax.vmap(algo.init)(keys)"
        )
    mismatch = leaf_mismatch(template, state)
    if mismatch:
        raise ConfigError(
            f"initial_state is not {seeds} states of '{algo.name}' ({mismatch}): pass "
            "jax.vmap(algo.init)(keys), whose leaves are [seeds, ...]"
        )
    return seeds


def has_checkpoint(directory: Path | None) -> bool:
    return directory is not None and (Path(directory) / CHECKPOINT_FILE).is_file()


def run(
    algo: Algorithm,
    key: Array,
    num_updates: int,
    *,
    seeds: int | None = None,
    chunk_size: int = 10,
    callbacks: Sequence[Callback] = (),
    checkpoint_dir: str | os.PathLike | None = None,
    checkpoint_every: int = 1,
    resume: bool = False,
    devices: Sequence | None = None,
    initial_state: Any = None,
) -> RunResult:
    """Train `seeds` seeds of `algo` for `num_updates` updates, chunk by chunk.

    Args:
      algo: any `Algorithm`.
      key: base key; seed `i` uses `jax.random.split(key, seeds)[i]` (a typed
        `jax.random.key` is taken as its data, `raw_key`: the same run as `PRNGKey`'s).
      seeds: runs, vmapped (default 1; with `initial_state`, its leading axis).
      chunk_size: updates per jitted call; callbacks and checkpoints happen between calls.
      callbacks: `Callback`s, called after every chunk; one returning True stops the run there
        (the checkpoint, if any, is written first).
      checkpoint_dir: where to write `state.msgpack` every `checkpoint_every` chunks and at
        the end; with `resume=True` training continues from it, bit for bit (without, a run
        starts afresh and replaces a checkpoint already there; `jirl train` refuses a
        non-empty `--out` instead).
      devices: devices to shard the seed axis over (default: the visible ones), as evenly as
        they allow, a seed axis they do not divide padded with repeats (`seed_layout`).
      initial_state: a batched state `[seeds, ...]` to start from instead of
        `vmap(algo.init)(split(key, seeds))`, e.g. the runs of a sweep (`jirl.sweep`); `seeds`
        is then its leading axis (a `seeds` given must equal it).

    Raises:
      NonFiniteError: a parameter or metric became NaN/inf; the checkpoint of the last good
        chunk is kept (written then if `checkpoint_every` had left it unsaved; none when the
        first chunk diverged).
      ConfigError: `num_updates`, `seeds`, `chunk_size` or `checkpoint_every` not an int >= 1,
        `devices` empty, a checkpoint to resume that holds more updates than `num_updates`,
        `key` not a PRNG key, `initial_state` not a batch of `algo`'s states
        (`check_initial_state`) or not `seeds` of them, `callbacks` not a list, or
        `checkpoint_dir` a file.

    Warns when a resume with updates left to train runs on another number of devices than
    the checkpoint's (not bit for bit).
    """
    num_updates = check_count("num_updates", num_updates)
    key = raw_key(key) if initial_state is None else key  # (unused with an initial state)
    checkpoint_every = check_count("checkpoint_every", checkpoint_every)
    chunk_size = min(check_count("chunk_size", chunk_size), num_updates)
    ckpt = Path(checkpoint_dir) if checkpoint_dir is not None else None
    if ckpt is not None and ckpt.exists() and not ckpt.is_dir():
        raise ConfigError(f"checkpoint_dir {ckpt} is a file; name a directory")
    if ckpt is not None and ckpt.is_dir():  # a write that a kill cut short left its temporary
        remove_temporaries(ckpt, [CHECKPOINT_FILE])
    if callable(callbacks):
        raise ConfigError("callbacks takes a list of callbacks: pass [callback]")
    callbacks = list(callbacks)
    t0 = time.perf_counter()
    if initial_state is not None:  # (typed keys as their data: what init gives and msgpack stores)
        initial_state = jax.tree.map(raw_key_leaf, initial_state)
        batch = check_initial_state(algo, initial_state)
        if seeds is not None and seeds != batch:
            raise ConfigError(
                f"seeds={seeds} but initial_state holds {batch} states: pass seeds={batch}, or "
                "leave seeds out (the initial state's leading axis)"
            )
        seeds = batch
    elif seeds is None:
        seeds = 1
    layout = seed_layout(seeds, devices)
    sharding = layout.sharding
    resuming = resume and has_checkpoint(ckpt)
    history: dict[str, list[np.ndarray]] = {}
    done = start = 0
    earlier = Timing()  # the sessions before this call's
    saved_devices = None
    if resuming:  # the checkpoint replaces every leaf: its shapes are all init must give
        template = initial_state if initial_state is not None else state_template(algo, seeds)
        check_state_fits(template, layout)
        state, saved, done, saved_devices, earlier = _restore(ckpt, template)
        if done > num_updates:
            raise ConfigError(
                f"{ckpt} holds {done} updates, more than the {num_updates} asked: ask for at "
                f"least {done}, or start afresh"
            )
        if saved_devices is not None and saved_devices != layout.devices and done < num_updates:
            warnings.warn(
                f"{ckpt} was trained on {saved_devices} device(s) and resumes on "
                f"{layout.devices}: float rounding differs between layouts, so the resumed run "
                "is not bit for bit the one an unbroken run would give",
                stacklevel=2,
            )
        start = done
        history = {k: [v] for k, v in saved.items()}
        # host arrays onto the devices: a checkpoint of a finished run is returned as it is,
        # with no chunk to move it there
        state = layout.pad(state)
    elif initial_state is not None:
        check_state_fits(initial_state, layout)
        state = layout.pad(initial_state)
    else:
        state = _init(algo, jax.random.split(key, seeds), layout)
    # every chunk length the loop will call, compiled before the clock starts
    whole = num_updates - done >= chunk_size
    compiled = _chunk_fn(algo, chunk_size, sharding).lower(state).compile() if whole else None
    tail_length = (num_updates - done) % chunk_size  # a shorter last chunk
    tail = _chunk_fn(algo, tail_length, sharding).lower(state).compile() if tail_length else None
    program = compiled or tail
    logged = _metric_names(program) if program is not None else None
    if logged is not None and not logged:
        raise ConfigError(
            "algo.update returned no metrics; return at least one (its loss, say): the logs "
            "and the NaN guard read them"
        )
    taken = sorted(set(logged or ()) & set(ROW_KEYS))
    if taken:  # a metric named `step` replaced metrics.jsonl's own, and every row was refused
        raise ConfigError(
            f"algo.update returns a metric named {', '.join(map(repr, taken))}, a name each "
            f"metrics.jsonl row gives its own {'/'.join(ROW_KEYS)}: rename it"
        )
    compile_seconds = time.perf_counter() - t0
    if resuming:
        if program is not None:
            check_metric_names(ckpt, saved, logged)
        for callback in callbacks:  # (after the check: a refused resume rewrites no log)
            if hasattr(callback, "resumed"):
                callback.resumed(done, saved)
    wall = other = 0.0
    chunks_run = 0

    def timing() -> Timing:
        return earlier + Timing(compile_seconds, wall, done - start, other)

    saved_at = done  # the update the checkpoint on disk holds
    # the metrics log holds the first `logged` updates, the first `logged_chunks` entries of
    # each history list (a resumed run's `done`; none in a fresh one)
    log_ends = _log_ends(ckpt / METRICS_LOG) if resuming else {}  # read once, then kept
    if resuming and done not in log_ends:  # a checkpoint from before the log holds its history:
        # logged first, so that no later checkpoint starts the log anew (`save_checkpoint`)
        log_ends = {done: _append_metrics(ckpt / METRICS_LOG, saved, 0, done, 0)}
    logged = done  # (a resumed run's log ends at `done`, as made sure above)
    log_end = log_ends.get(logged, 0)
    logged_chunks = 1 if logged else 0
    chunks = 1 if resuming else 0  # entries of each history list

    def checkpoint() -> None:
        """Save `state` after `done` updates, appending the metrics not yet in the log."""
        nonlocal logged, log_end, logged_chunks, saved_at
        new = {k: np.concatenate(v[logged_chunks:]) for k, v in history.items()}
        log_end = save_checkpoint(
            ckpt, layout.unpad(state), new, done, layout.devices, timing(), logged, log_end
        )
        logged, logged_chunks, saved_at = done, chunks, done

    while done < num_updates:
        length = min(chunk_size, num_updates - done)
        t = time.perf_counter()
        new_state, metrics, finite = (compiled if length == chunk_size else tail)(state)
        # [chunk, seeds, ...]: the padded rows' copies dropped
        metrics = {
            k: np.moveaxis(np.asarray(v)[: layout.seeds], 0, 1)
            for k, v in jax.device_get(metrics).items()
        }
        wall += time.perf_counter() - t
        # [chunk, seeds]: whether each run's metric is finite at each update
        ok = {k: np.isfinite(v).reshape(v.shape[:2] + (-1,)).all(-1) for k, v in metrics.items()}
        bad = [k for k, v in ok.items() if not v.all()]
        finite = np.asarray(finite)[: layout.seeds]  # [seeds, float leaves]
        if bad or not finite.all():
            diverged = ~finite.all(1)
            for k in bad:
                diverged |= ~ok[k].all(0)
            runs = np.flatnonzero(diverged).tolist()
            span = f"updates {done + 1}-{done + length}"
            if bad:  # the metrics are per update (the earliest named); the state per chunk
                first, name = min((int(np.argmax(~ok[k].all(1))), k) for k in bad)
                where = f"metric '{name}' became NaN or inf at update {done + 1 + first} "
                where += f"(chunk of {span})"
            else:  # no metric shows it: the first leaf that went, a weight or an env's state
                path = _float_leaves(state)[int(np.argmax(~finite.all(0)))][0]
                where = (
                    f"the state's {jax.tree_util.keystr(path)} became NaN or inf in the chunk "
                    f"of {span}"
                )
            if ckpt is not None and saved_at < done:  # keep the good chunks not yet saved
                checkpoint()
            if ckpt is None:
                kept = "no checkpoint is written without checkpoint_dir"
            elif done == 0:
                kept = "it diverged in the first chunk, so no checkpoint was written"
            else:
                kept = f"the last good checkpoint (update {done}) is kept"
            raise NonFiniteError(
                f"{where} in run(s) {runs} of the seed axis; {kept}. Lower the learning rate?",
                runs,
            )
        state = new_state
        for k, v in metrics.items():
            history.setdefault(k, []).append(v)
        chunks += 1
        t = time.perf_counter()
        stop = False
        seeds_state = layout.unpad(state) if callbacks else None
        for callback in callbacks:
            stop = bool(callback(done, metrics, seeds_state)) or stop
        done += length
        chunks_run += 1
        last = done == num_updates or stop
        other += time.perf_counter() - t
        if ckpt is not None and (chunks_run % checkpoint_every == 0 or last):
            t = time.perf_counter()
            checkpoint()  # (its own write is counted in the next one's)
            other += time.perf_counter() - t
        if stop:
            break
    all_metrics = {k: np.concatenate(v) for k, v in history.items()}
    return RunResult(
        layout.unpad(state),
        all_metrics,
        compile_seconds,
        wall,
        done - start,
        layout,
        timing(),
        other,
        saved_devices if done == start and saved_devices is not None else layout.devices,
    )
