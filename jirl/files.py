"""Atomic file writes: the one way jirl replaces a file it has written before (checkpoints,
experts, demonstrations, summaries, a resumed run's metrics). A crash at any moment leaves either
the old file or the new one, never a file cut short. Also the output-directory checks, and the
one check that a pytree read back from a file has the arrays its reader expects, the digest
of the input files a run reads (`digest`), and the checksum a checkpoint carries (`seal`)."""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
import shutil
import stat
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import numpy as np
import yaml

from jirl.config import load_yaml
from jirl.errors import ConfigError, short

# The process's umask, read once (os.umask can only be read by setting it).
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def atomic_write(path: str | os.PathLike, data: bytes) -> Path:
    """Write `data` to `path` through a temporary file in the same directory, flushed to disk
    and renamed over `path` (`os.replace` is atomic on POSIX and Windows). Parent directories
    are created. The file gets the usual permissions (0o666 less the umask), not mkstemp's
    0o600. Returns `path` as a `Path`."""
    path = Path(path)
    if path.is_dir():  # (os.replace's IsADirectoryError, after the temporary was written)
        raise ConfigError(f"{path} is a directory; name the file to write")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=temporary_prefix(path.name))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    sync_dir(path.parent)
    return path


def temporary_prefix(name: str) -> str:
    """How the temporaries of writes to `name` begin (`.NAME.jirl-`): `atomic_write`'s files
    and `write_dir`'s and `Aside`'s directories, so that what a kill left can be told apart
    from a user's own files (`.config.yaml.orig` was deleted by a resume as a temporary)."""
    return f".{name}.jirl-"


def sync_dir(directory: Path) -> None:
    """Flush a directory's entries (a rename into it) to disk, where the OS allows it: without
    it a power cut may undo the rename. Windows cannot open a directory: skipped."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_temporaries(directory: str | os.PathLike, names) -> None:
    """Delete what a kill left of `atomic_write`s of `names` in `directory`
    (`.NAME.jirl-x1y2` files): a resumed run starts clean."""
    for name in names:
        for stale in Path(directory).glob(glob.escape(temporary_prefix(name)) + "*"):
            if stale.is_file():
                stale.unlink(missing_ok=True)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """`atomic_write` of `text` encoded as UTF-8."""
    return atomic_write(path, text.encode())


def write_json(path: str | os.PathLike, value) -> Path:
    """`atomic_write_text` of `value` as indented JSON: every summary, inputs and results
    file a run or benchmark writes."""
    return atomic_write_text(path, json.dumps(value, indent=2))


#: the names each command writes at the top of its output directory: `--overwrite` replaces
#: only a directory that holds nothing else (bar `atomic_write`'s temporaries of them,
#: `.summary.json.jirl-x1y2`), so never someone's files, nor another command's output (`jirl
#: expert --overwrite` replaced a training run, checkpoint and all, or a whole quickstart)
RUN_NAMES = frozenset(
    {
        *("config.yaml", "inputs.json", "metrics.jsonl", "summary.json", "checkpoint"),
        *("tensorboard", "curves.png", "reward.png"),
    }
)
#: what a run's `checkpoint/` holds (`jirl.run`): its state, and its metrics so far, appended
#: to at each checkpoint (each write holds only the updates since the one before: rewriting
#: the whole history at every checkpoint grew with the run's square)
CHECKPOINT_FILE, METRICS_LOG = "state.msgpack", "metrics.log"
CHECKPOINT_NAMES = frozenset({CHECKPOINT_FILE, METRICS_LOG})
EXPERT_NAMES = frozenset({"expert.msgpack", "expert.json", "demos.npz", "summary.json"})
RETRAIN_NAMES = frozenset({"config.yaml", "summary.json"})
QUICKSTART_NAMES = frozenset({"quickstart.json", "curves.png", "bc", "gail", "expert"})
#: every name any command writes (the temporaries a kill left are told by these)
OUTPUT_NAMES = RUN_NAMES | EXPERT_NAMES | RETRAIN_NAMES | QUICKSTART_NAMES


def foreign_entries(out: str | os.PathLike, names: frozenset = OUTPUT_NAMES) -> list[str]:
    """The sorted names at the top of the directory `out` that are not among `names` (what
    the command writes there) nor their temporaries: what `--overwrite` must not delete."""
    ours = lambda name: (
        name in names or any(name.startswith(temporary_prefix(known)) for known in names)
    )
    return sorted(entry.name for entry in Path(out).iterdir() if not ours(entry.name))


def check_out_dir(
    out: str | os.PathLike,
    overwrite: bool,
    inputs=(),
    exists_hint: str = "pass --overwrite to replace it",
    names: frozenset = OUTPUT_NAMES,
    command: str = "jirl",
) -> None:
    """Refuse an output directory that holds files unless `overwrite` (`exists_hint` says what
    to do), and even then one that holds anything `command` does not write there (`names`;
    `foreign_entries`: someone's other files, another command's output), the working
    directory or one above it, or one that is or holds one of the `inputs` paths (None
    entries skipped): replacing any of them would delete what is not ours to delete. Touches
    nothing."""
    check_below_working_dir(out)
    taken = holds_files(out)
    check_writable(out)
    if taken and not overwrite:
        raise ConfigError(f"{out} exists; {exists_hint}")
    if taken and Path(out).is_symlink():  # replacing it would replace the link, not the run
        raise ConfigError(
            f"--out {out} is a symbolic link; pass the directory it points to, "
            f"{os.path.realpath(out)}, to replace it"
        )
    check_inputs_outside(out, inputs)
    foreign = foreign_entries(out, names) if taken else []
    if foreign and set(foreign) <= CHECKPOINT_NAMES:  # (named as "not jirl's" before)
        raise ConfigError(
            f"{out} holds a run's checkpoint ({', '.join(sorted(foreign))}); --out names a run's "
            f"directory, not its checkpoint/ (the run is {Path(out).parent}?): choose another"
        )
    if foreign:
        shown = ", ".join(foreign[:3]) + (
            f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
        )
        raise ConfigError(
            f"{out} holds {shown}, which {command} does not write, so --overwrite will not "
            "delete it; move them out or choose another --out"
        )
    other = written_by(out) if taken else None
    if other is not None and other != command:  # the same file names, another command's
        raise ConfigError(
            f"{out} holds the output of {other}, not of {command}, so --overwrite will not "
            "replace it; choose another --out"
        )


def written_by(out: str | os.PathLike) -> str | None:
    """Which command wrote the directory `out`, told by its `config.yaml`: "jirl retrain" (it
    names the `reward_run`), "jirl train" (an `algo`), None (no such file, or not one of
    theirs). A retrain's two files are among a run's names, so the names alone do not tell a
    retrain's output from a run's."""
    try:
        config = load_yaml((Path(out) / "config.yaml").read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    if not isinstance(config, dict):
        return None
    if "reward_run" in config:
        return "jirl retrain"
    return "jirl train" if "algo" in config else None


def check_writable(out: str | os.PathLike) -> None:
    """Refuse (ConfigError) an output directory that could not be created or replaced: the
    nearest existing directory at or above its parent is not writable. Checked before a long
    run, which would otherwise fail at its end (an expert, a retrain write only then)."""
    where = next(p for p in Path(out).absolute().parents if p.exists())
    if not os.access(where, os.W_OK | os.X_OK):
        raise ConfigError(f"cannot write --out {out}: {where} is not writable; choose another")
    try:  # root passes `os.access` everywhere, /proc and read-only mounts included: try it
        fd, probe = tempfile.mkstemp(dir=where, prefix=temporary_prefix(Path(out).name))
    except OSError as e:
        raise ConfigError(
            f"cannot write --out {out}: {where} takes no new file ({e.strerror}); choose another"
        ) from None
    os.close(fd)
    os.unlink(probe)


def out_file(path: str) -> Path:
    """An argparse `type` for a results file (`--out` of the benchmark scripts): refused at
    once, not after hours of rows, when it names a directory or cannot be written."""
    import argparse

    out = Path(path)
    if out.is_dir():
        raise argparse.ArgumentTypeError(f"{path} is a directory; pass the JSON file to write")
    try:
        check_writable(out)
    except ConfigError as e:
        raise argparse.ArgumentTypeError(str(e).removeprefix("cannot write --out ")) from None
    return out


def partial_path(out: str | os.PathLike) -> Path:
    """Where a benchmark's results in progress go: `NAME.partial.json` beside `out`."""
    out = Path(out)
    return out.with_name(f"{out.stem}.partial{out.suffix}")


def write_results(out: str | os.PathLike, document: dict) -> Path:
    """Write a benchmark's results JSON atomically. A run in progress (`document["partial"]`
    true) rewrites `partial_path(out)` after every row or section, so that a run cut short
    keeps what it finished there; only a finished run replaces `out`, and removes that file:
    a committed result is never replaced by another run's first rows. Returns the path
    written."""
    path = partial_path(out) if document.get("partial") else Path(out)
    write_json(path, document)
    if not document.get("partial"):
        partial_path(out).unlink(missing_ok=True)
    return path


def resolved(path: str | os.PathLike, flag: str) -> Path:
    """`path` made absolute, its links followed; a loop of links is a one-line ConfigError
    naming `flag` (`Path.resolve` raises RuntimeError)."""
    try:
        return Path(path).resolve()
    except (RuntimeError, OSError) as e:
        raise ConfigError(f"{flag} {path}: cannot be resolved ({e}); pass another path") from None


def check_below_working_dir(out: str | os.PathLike) -> None:
    """Refuse (ConfigError) an output directory that is the working directory or above it:
    replacing it would delete the directory the command runs in."""
    target = resolved(out, "--out")
    if target == Path.cwd() or target in Path.cwd().parents:
        raise ConfigError(
            f"--out {out} is the working directory or one above it, which writing the output "
            "would replace; name a directory below it"
        )


def check_inputs_outside(out: str | os.PathLike, inputs) -> None:
    """Refuse (ConfigError) when a path of `inputs` is `out` or lies below it: a command that
    replaces `out` would delete what it reads."""
    target = resolved(out, "--out")
    for path in inputs:
        if path is None:
            continue
        source = resolved(path, "input")
        if target in (source, *source.parents):
            raise ConfigError(
                f"--out {out} holds the input {path}, which replacing it would delete; "
                "write to another directory"
            )


def replace_dir(out: str | os.PathLike) -> Path:
    """An empty directory `out`, an existing one removed first: called once every input has
    been checked, so that a refused command leaves the old directory as it was."""
    out = Path(out)
    check_below_working_dir(out)
    try:
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        sync_dir(out.parent)
    except OSError as e:
        raise ConfigError(f"cannot write --out {out}: {e.strerror or e}; choose another") from None
    return out


def write_dir(out: str | os.PathLike, fill: Callable[[Path], Any]) -> Any:
    """Write the directory `out` whole: `fill(tmp)` writes into a fresh sibling directory,
    which then takes `out`'s place, the old `out` (if any) removed after. A kill leaves the old
    directory or the new one, never a part of the new one beside nothing of the old (bar the
    instant between two renames, when the old one waits beside it as `.NAME.jirl-old-*`).

    Returns what `fill` returns; if it raises, `out` is left as it was. What a killed write
    of `out` left beside it (`.NAME.jirl-new-*`, `.NAME.jirl-old-*`) is named in a warning,
    not removed: another process may be writing it now."""
    out = Path(out)
    check_below_working_dir(out)
    for kind, what in (("new-", "a part of a new"), ("old-", "the old")):
        for left in leftovers(out, kind):
            warnings.warn(
                f"{left} holds {what} {out.name} that a write killed half way left; "
                "delete it unless a jirl process is writing it now",
                stacklevel=2,
            )
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        new = Path(tempfile.mkdtemp(dir=out.parent, prefix=temporary_prefix(out.name) + "new-"))
        os.chmod(new, 0o777 & ~_UMASK)
    except OSError as e:
        raise ConfigError(f"cannot write --out {out}: {e.strerror}; choose another") from None
    old = Aside(out)
    try:
        check_unlocked(out)  # before `fill` works, and again at the swap
        result = fill(new)
        with parent_locked(out):
            check_unlocked(out)
            old.take()
            os.replace(new, out)
            sync_dir(out.parent)
    except BaseException:
        shutil.rmtree(new, ignore_errors=True)
        old.restore()  # the swap failed half way: the old one back (left aside if that fails)
        raise
    old.discard()
    return result


def check_unlocked(out: Path) -> None:
    """Refuse (ConfigError) to replace a directory that a running `jirl train` holds locked
    (`lock_dir`): a tabular run's `--overwrite` replaced one, and the run died. `write_dir`
    and a new `jirl train` run check it before they replace `out`."""
    if out.is_dir():
        lock_dir(out).close()


class DirLock:
    """An exclusive advisory lock (`flock`) on a directory, held while open: a second process
    asking for it is refused at once. Where `flock` is missing (Windows), it locks nothing."""

    def __init__(self, fd: int | None):
        self.fd = fd

    def __enter__(self) -> DirLock:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing the descriptor releases the lock
            self.fd = None


def lock_dir(out: str | os.PathLike) -> DirLock:
    """Lock the run directory `out` for this process (`DirLock`); a directory another process
    holds (the same run resumed twice: both wrote its checkpoint and metrics, interleaved)
    raises ConfigError."""
    try:
        import fcntl
    except ImportError:
        return DirLock(None)
    fd = os.open(out, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise ConfigError(
            f"{out} is in use by another jirl process (the same run started twice?); wait for "
            "it to finish or stop it, or choose another --out"
        ) from None
    except OSError as e:  # a file system without flock (Lustre without -o flock, some FUSE)
        os.close(fd)
        warnings.warn(
            f"{out} cannot be locked ({e.strerror or e}): nothing stops a second process from "
            "writing this run at the same time",
            stacklevel=2,
        )
        return DirLock(None)
    return DirLock(fd)


#: how long `parent_locked` waits for another process to put its run in place (it holds the
#: lock for a few renames; a parent that is itself a run directory is locked for its whole run)
PARENT_LOCK_SECONDS = 60.0


@contextlib.contextmanager
def parent_locked(out: str | os.PathLike):
    """Hold an exclusive lock on the directory that holds `out` (its nearest existing
    ancestor) while a new run is put in place at `out`: checked, the old one set aside, the new
    directory made and locked, as one step. Two runs started at the same instant on one --out
    both passed the checks before, and the second could set aside the directory the first had
    just made, or replace, without --overwrite, a run that appeared after its checks. Waits up
    to `PARENT_LOCK_SECONDS` (then goes on unlocked, as on a file system without flock)."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    parent = Path(out).absolute().parent
    while not parent.is_dir():
        parent = parent.parent
    try:
        fd = os.open(parent, os.O_RDONLY)
    except OSError:  # a parent this user may write but not read: unlocked, as before
        yield
        return
    try:
        deadline = time.monotonic() + PARENT_LOCK_SECONDS
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            except OSError:  # no flock here
                break
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


class Aside:
    """A run directory moved out of the way (`take`) while a new run replaces it: deleted once
    the new run has a checkpoint (`discard`), put back if it fails before (`restore`).

    Attributes:
      out: the run directory.
      path: the hidden sibling (`.NAME.jirl-old-*`) that holds the old run, or None (none was
        there, or it has been discarded or restored).
      made: whether `take` found no `out` at all, so that the new run makes it.
    """

    def __init__(self, out: str | os.PathLike, path: Path | None = None):
        self.out, self.path, self.made = Path(out), path, False

    def take(self) -> Aside:
        """Move `out`, if it is a directory, into a new hidden sibling (`.NAME.jirl-old-*`)."""
        self.made = not self.out.exists() and not self.out.is_symlink()
        if self.out.is_dir():
            prefix = temporary_prefix(self.out.name) + "old-"
            path = Path(tempfile.mkdtemp(dir=self.out.parent, prefix=prefix))
            try:
                os.replace(self.out, path / self.out.name)
            except BaseException:  # a mount point (EBUSY): nothing moved, nothing left behind
                path.rmdir()
                raise
            self.path = path
        return self

    def discard(self) -> None:
        if self.path is not None:
            shutil.rmtree(self.path, ignore_errors=True)
            self.path = None

    def restore(self) -> None:
        """The old run back at `out`, whatever is there now removed. If this fails, the old
        run stays where it waits (never deleted)."""
        if self.path is not None:
            shutil.rmtree(self.out, ignore_errors=True)
            os.replace(self.path / self.out.name, self.out)
            self.path.rmdir()
            self.path = None


def stranded_asides(out: str | os.PathLike) -> list[Path]:
    """Runs an earlier `--overwrite` of `out` set aside and could not finish with (the process
    was killed): `.NAME.jirl-old-*` siblings of `out`."""
    return leftovers(out, "old-")


def leftovers(out: str | os.PathLike, kind: str) -> list[Path]:
    """The `.NAME.jirl-<kind>*` siblings of `out` (`kind`: "old-" for an old directory set aside,
    "new-" for a new one being filled), which a killed replacement of `out` leaves."""
    out = Path(out)
    pattern = glob.escape(temporary_prefix(out.name) + kind) + "*"
    return sorted(out.parent.glob(pattern)) if out.parent.is_dir() else []


@contextlib.contextmanager
def replacing(aside: Aside, saved: Callable[[], bool]):
    """Around the run that replaces `aside.out` (the old run taken aside inside the block or
    before): the old run is discarded when the block ends with `saved()` true (the new run
    finished, or has a checkpoint to resume from), restored if it fails before that. The
    exception then carries `restored = aside.out` (unless `out` was an empty directory), or,
    where restoring failed too, `kept_at = aside.path` (the old run waits there, never
    deleted)."""
    try:
        yield aside
    except BaseException as e:
        if aside.path is None or saved():
            aside.discard()
            raise
        try:  # (an empty --out held no run to name)
            held = any((aside.path / aside.out.name).iterdir())
        except OSError:
            held = True
        try:
            aside.restore()
        except BaseException as failed:
            e.kept_at = failed.kept_at = aside.path
            raise
        if held:
            e.restored = aside.out
        raise
    aside.discard()


@contextlib.contextmanager
def removed_on_failure(out: str | os.PathLike, kept: Callable[[], bool]):
    """Around a new run in the directory `out`, made for it (`Aside.made`): `out` is removed
    whole if the block fails while `kept()` is false (no checkpoint, no logged metrics), so
    that the run with its config mended needs no --overwrite; a diverged first chunk left
    config.yaml, inputs.json and an empty metrics.jsonl, which `--resume` called nothing to
    resume. Entered inside the run's lock (`lock_dir`), so that it removes `out` before the
    lock is released."""
    try:
        yield
    except BaseException:
        if not kept():
            shutil.rmtree(out, ignore_errors=True)
        raise


def is_nonempty(path: str | os.PathLike) -> bool:
    """Whether `path` is a file that holds at least one byte."""
    try:
        return Path(path).stat().st_size > 0
    except OSError:
        return False


def holds_files(out: str | os.PathLike) -> bool:
    """Whether the output directory `out` exists and is not empty (a run, an expert: what
    `--overwrite` would replace). Raises ConfigError if `out` is a file: `--out` names a
    directory."""
    out = Path(out)
    check_parents(out)  # (below a file: said so, before stat's bare "Not a directory")
    try:
        mode = os.stat(out).st_mode
    except FileNotFoundError:
        return False
    except OSError as e:  # a name too long, a loop of links, a directory we may not enter
        raise ConfigError(f"--out {out}: {e.strerror}; choose another") from None
    if not stat.S_ISDIR(mode):
        raise ConfigError(f"{out} is a file; --out names a directory to write")
    return any(out.iterdir())


def check_parents(path: str | os.PathLike) -> None:
    """Refuse a `path` to be created below an existing file (ConfigError): it could not be."""
    for parent in Path(path).absolute().parents:
        if parent.exists():
            if not parent.is_dir():
                raise ConfigError(f"{path}: {parent} is a file, not a directory; choose another")
            return


def leaf_mismatch(template: Any, tree: Any) -> str | None:
    """The first leaf of `tree` (read back from a file into `template`'s structure, e.g. by
    `flax.serialization.from_state_dict`) whose shape or dtype differs from `template`'s, as
    "at PATH: shape S DTYPE where T DTYPE is expected"; None if all match. `template`'s leaves
    may be arrays or `jax.ShapeDtypeStruct`s. Flax restores a state dict into any template of
    the same structure, so without this a file from another network fails at first use."""
    got_leaves = jax.tree.leaves(tree)
    paths = jax.tree_util.tree_flatten_with_path(template)[0]
    for (path, want), got in zip(paths, got_leaves, strict=True):
        # (dtypes as they are: a JAX array's, a typed PRNG key's, which NumPy cannot read)
        got_sig = (
            tuple(np.shape(got)),
            got.dtype if hasattr(got, "dtype") else np.result_type(got),
        )
        want_sig = (tuple(np.shape(want)), want.dtype)
        if got_sig != want_sig:
            return (
                f"at {jax.tree_util.keystr(path)}: shape {got_sig[0]} {got_sig[1]} where "
                f"{want_sig[0]} {want_sig[1]} is expected"
            )
    return None


def strict_json(text: str | bytes) -> Any:
    """`json.loads` that refuses a key given twice in one object (ValueError), as the YAML
    reader does: otherwise the last one would win without a word. Every JSON file jirl reads
    back goes through it; one nested too deeply for Python's recursion (100,000 `[`) is a
    ValueError too, not a RecursionError traceback."""

    def unique(pairs):
        found = dict(pairs)
        if len(found) < len(pairs):  # (a set, not a count per key: 40,000 keys took 15 s)
            seen = set()
            twice = next(k for k, _ in pairs if k in seen or seen.add(k))
            raise ValueError(f"key {short(twice)} is given twice")
        return found

    try:
        return json.loads(text, object_pairs_hook=unique)
    except RecursionError:
        raise ValueError("nested too deeply to be a file jirl wrote") from None


#: how a sealed file begins: then the SHA-256 of the rest (32 bytes), then the rest
SEAL = b"jirl-sha256\n"
_SHA256_BYTES = 32


def seal(data: bytes) -> bytes:
    """`data` behind `SEAL` and its SHA-256, so that `unseal` finds a bit that changed on disk
    (a checkpoint's arrays would load with it, and the run go on from a state it never had)."""
    return SEAL + hashlib.sha256(data).digest() + data


def unseal(data: bytes) -> bytes:
    """The bytes `seal` wrapped, checked against their SHA-256 (ValueError where they differ);
    bytes without `SEAL` in front (a file written before checksums) come back as they are."""
    if not data.startswith(SEAL):
        return data
    start = len(SEAL) + _SHA256_BYTES
    if len(data) < start or hashlib.sha256(data[start:]).digest() != data[len(SEAL) : start]:
        raise ValueError("its SHA-256 checksum does not match its bytes: it changed on disk")
    return data[start:]


def digest(path: str | os.PathLike, names: tuple[str, ...] = ()) -> str:
    """SHA-256 of a file, or of the files `names` in a directory (their names and bytes; a
    missing one skipped): what a resumed run compares to know that its demonstrations or expert
    are the ones it started with."""
    path = Path(path)
    h = hashlib.sha256()
    files = [path / n for n in names if (path / n).is_file()] if path.is_dir() else [path]
    for f in files:
        if path.is_dir():
            h.update(f.name.encode() + b"\0")
        with f.open("rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()
