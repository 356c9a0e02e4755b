"""`jirl.files.atomic_write`: the whole file or the old one, never a file cut short."""

from __future__ import annotations

import contextlib
import os
import stat

import jax
import numpy as np
import pytest

from jirl.files import atomic_write, atomic_write_text, leaf_mismatch


def test_writes_with_the_umask_permissions_and_leaves_no_temporary(tmp_path):
    path = atomic_write(tmp_path / "a" / "b.bin", b"\x00\x01")
    assert path.read_bytes() == b"\x00\x01"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
    atomic_write_text(path, "new")
    assert path.read_text() == "new"
    assert sorted(p.name for p in path.parent.iterdir()) == ["b.bin"]


def test_a_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = atomic_write_text(tmp_path / "summary.json", "old")

    def crash(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_text(path, "new, cut short")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_a_users_hidden_file_named_like_an_output_is_not_a_temporary(tmp_path):
    """A resume deleted `.config.yaml.orig` (a user's copy) as a temporary of `config.yaml`,
    and `--overwrite` counted it as the run's own: temporaries now carry jirl's own mark."""
    from jirl.files import OUTPUT_NAMES, foreign_entries, remove_temporaries

    (tmp_path / "config.yaml").write_text("algo: ppo")
    (tmp_path / ".config.yaml.orig").write_text("notes")
    (tmp_path / ".summary.json.jirl-k1ll3d").write_text("half")  # what a SIGKILL leaves
    assert foreign_entries(tmp_path) == [".config.yaml.orig"]
    remove_temporaries(tmp_path, OUTPUT_NAMES)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".config.yaml.orig", "config.yaml"]


def test_leaf_mismatch_names_the_first_leaf_that_differs_in_shape_or_dtype():
    template = {"a": np.zeros(3, np.float32), "b": {"w": jax.ShapeDtypeStruct((2, 2), np.int32)}}
    same = {"a": np.ones(3, np.float32), "b": {"w": np.zeros((2, 2), np.int32)}}
    assert leaf_mismatch(template, same) is None
    wrong_dtype = {**same, "b": {"w": np.zeros((2, 2), np.float32)}}
    assert leaf_mismatch(template, wrong_dtype) == (
        "at ['b']['w']: shape (2, 2) float32 where (2, 2) int32 is expected"
    )
    wrong_shape = {**same, "a": np.zeros(4, np.float32)}
    assert leaf_mismatch(template, wrong_shape).startswith("at ['a']: shape (4,) float32")


def test_write_dir_replaces_a_directory_whole_or_not_at_all(tmp_path, monkeypatch):
    """`jirl expert --overwrite` emptied the old expert's directory, then wrote the new one
    file by file: a kill in between left an expert without its demos. `write_dir` fills a
    sibling and swaps it in; a fill that fails (or is interrupted) leaves the old one."""
    from jirl.files import write_dir

    monkeypatch.chdir(tmp_path)
    out = tmp_path / "expert"
    out.mkdir()
    (out / "expert.msgpack").write_text("old")
    (out / "demos.npz").write_text("old demos")

    def half_then_killed(directory):
        (directory / "expert.msgpack").write_text("new")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_dir(out, half_then_killed)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["expert"]  # no sibling left behind
    assert (out / "expert.msgpack").read_text() == "old" and (out / "demos.npz").exists()

    def whole(directory):
        (directory / "expert.msgpack").write_text("new")
        return "done"

    assert write_dir(out, whole) == "done"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["expert"]
    assert [p.name for p in out.iterdir()] == ["expert.msgpack"]  # nothing old beside it
    assert (out / "expert.msgpack").read_text() == "new"
    assert write_dir(tmp_path / "a" / "fresh", whole) == "done"  # parents made, none before
    assert (tmp_path / "a" / "fresh" / "expert.msgpack").read_text() == "new"
    # what a SIGKILL in the middle of a write left (no handler ran) is named, and kept
    killed = tmp_path / ".expert.jirl-new-abc123"
    killed.mkdir()
    with pytest.warns(UserWarning, match=r"\.expert\.jirl-new-abc123 holds a part of a new expert"):
        write_dir(out, whole)
    assert killed.is_dir()
    killed.rmdir()
    # a directory a running `jirl train` holds is not replaced: a tabular --overwrite replaced
    # one, and the run died; refused before the fill works, and at the swap
    from jirl.errors import ConfigError
    from jirl.files import lock_dir

    filled = []
    with lock_dir(out), pytest.raises(ConfigError, match="in use by another jirl process"):
        write_dir(out, filled.append)
    assert not filled and (out / "expert.msgpack").read_text() == "new"

    def locked_meanwhile(directory):
        stack.enter_context(lock_dir(out))  # a run that started while this one filled

    with contextlib.ExitStack() as stack, pytest.raises(ConfigError, match="in use by another"):
        write_dir(out, locked_meanwhile)
    assert (out / "expert.msgpack").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "expert"]


def test_a_run_set_aside_is_never_deleted_unless_its_replacement_saved(tmp_path, monkeypatch):
    """`replacing` deleted the old run in a `finally` even when putting it back had failed (a
    second Ctrl-C while it removed the new directory): the user's run was lost."""
    from jirl.files import Aside, replacing, stranded_asides

    out = tmp_path / "run"
    out.mkdir()
    (out / "summary.json").write_text("old")
    aside = Aside(out).take()
    assert not out.exists() and stranded_asides(out) == [aside.path]
    out.mkdir()  # the new run's directory, then a failure before its first checkpoint
    with pytest.raises(KeyError) as info, replacing(aside, saved=lambda: False):
        raise KeyError("compile failed")
    assert info.value.restored == out and (out / "summary.json").read_text() == "old"
    assert stranded_asides(out) == []
    # putting it back is itself interrupted: the old run stays aside, not deleted
    aside = Aside(out).take()
    out.mkdir()

    def interrupted(path, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("jirl.files.shutil.rmtree", interrupted)
    with pytest.raises(KeyboardInterrupt) as info, replacing(aside, saved=lambda: False):
        raise KeyError("compile failed")
    monkeypatch.undo()
    assert (aside.path / "run" / "summary.json").read_text() == "old"
    assert info.value.kept_at == aside.path  # the CLI's message says where it waits
    # the replacement saved: the old run goes
    with replacing(aside, saved=lambda: True):
        pass
    assert aside.path is None and stranded_asides(out) == []


def test_an_empty_out_put_back_is_not_named_as_a_run(tmp_path):
    """An `--overwrite` of an empty directory that failed said "holds the run it was to
    replace, as it was"; there was none."""
    from jirl.files import Aside, replacing

    out = tmp_path / "run"
    out.mkdir()
    aside = Aside(out).take()
    assert not aside.made
    out.mkdir()
    (out / "config.yaml").write_text("new")
    with pytest.raises(KeyError) as info, replacing(aside, saved=lambda: False):
        raise KeyError("diverged")
    assert not hasattr(info.value, "restored") and list(out.iterdir()) == []
    assert Aside(tmp_path / "none").take().made


def test_a_new_run_that_fails_with_nothing_kept_leaves_no_directory(tmp_path):
    """A first run that diverged (or ran out of memory) in its first chunk left config.yaml,
    inputs.json and an empty metrics.jsonl: `--resume` found nothing to resume and the run
    with a mended config needed `--overwrite`. One that kept something (a checkpoint, metrics
    logged before its first checkpoint) stays."""
    from jirl.files import removed_on_failure

    out = tmp_path / "run"
    for kept in (False, True):
        out.mkdir()
        (out / "config.yaml").write_text("new")
        with pytest.raises(KeyError), removed_on_failure(out, lambda k=kept: k):
            raise KeyError("diverged")
        assert out.exists() is kept
    with removed_on_failure(out, lambda: False):  # it ended well: nothing removed
        pass
    assert (out / "config.yaml").is_file()


def test_a_file_system_without_flock_warns_and_runs_unlocked(tmp_path, monkeypatch):
    """Lustre without -o flock raises ENOSYS: every `jirl train` failed (exit 1)."""
    import errno
    import fcntl

    from jirl.files import lock_dir

    def unsupported(fd, operation):
        raise OSError(errno.ENOSYS, "Function not implemented")

    monkeypatch.setattr(fcntl, "flock", unsupported)
    with pytest.warns(UserWarning, match="cannot be locked \\(Function not implemented\\)"):
        lock = lock_dir(tmp_path)
    assert lock.fd is None
    lock.close()
