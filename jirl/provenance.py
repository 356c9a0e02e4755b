"""Where a result was measured: the command, the commit, the versions and the machine.

Every benchmark script records `provenance()` in its JSON, so that a figure in the README can
be traced to the code and the hardware that gave it (a table's device name alone does not
say which CPU, which jax, or which commit).
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import jax

#: the distributions whose versions a result depends on (None where one is not installed)
PACKAGES = ("jax", "jaxlib", "flax", "optax", "brax", "gymnax", "mujoco", "numpy")


@cache
def git_commit() -> str | None:
    """The commit of the checkout jirl runs from, `+dirty` where its tracked files differ from
    it; None outside a git checkout (an installed wheel) or without git."""
    root = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()

    try:
        if Path(git("rev-parse", "--show-toplevel")).resolve() != root:
            return None  # installed into a directory inside some other checkout
        commit = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("+dirty" if dirty else "")


@cache
def cpu_model() -> str:
    """The CPU's model name (`/proc/cpuinfo` on Linux), else what `platform` says."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def provenance(argv: list[str] | None = None) -> dict:
    """The command (`argv`: the script's arguments, default `sys.argv[1:]`), the UTC time, the
    commit, the package versions, the CPU (model, cores) and JAX's devices: a JSON object.

    Call it once JAX's devices are set (`jirl.use_cpu_cores` first): it lists them."""
    argv = sys.argv[1:] if argv is None else list(argv)
    devices = jax.devices()
    return {
        "command": " ".join([Path(sys.argv[0]).name, *argv]),
        "time_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "versions": {"jirl": _version("jirl"), **{p: _version(p) for p in PACKAGES}},
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "devices": {
            "backend": jax.default_backend(),
            "kind": devices[0].device_kind,
            "count": len(devices),
        },
    }
