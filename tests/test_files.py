"""`jirl.files.atomic_write`: the whole file or the old one, never a file cut short."""

from __future__ import annotations

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
