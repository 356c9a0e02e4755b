"""What runs below the host driver needs of the devices and the host: `seed_map` (vmap over
seeds, or shard_map over the devices they are laid over) and the memory this process may use
(`host_memory`, `memory_limit`). Here, not in `jirl.run`, so that `jirl.data` and
`jirl.evaluation` import nothing above them (DESIGN.md § Layers)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import jax
from jax.sharding import NamedSharding

if hasattr(jax, "shard_map"):
    _shard_map, _NO_CHECK = jax.shard_map, {"check_vma": False}
else:  # older jax: the same function under jax.experimental, its check named check_rep
    from jax.experimental.shard_map import shard_map as _shard_map

    _NO_CHECK = {"check_rep": False}


def cgroup_memory_limits(proc_cgroup: str = "/proc/self/cgroup", root: str = "/sys/fs/cgroup"):
    """The memory limit files of this process's cgroup and of each cgroup above it (v2's
    `memory.max`, v1's `memory.limit_in_bytes`): a container's, a batch job's or a systemd
    scope's limit, below the machine's physical memory. Empty where there is no cgroup file."""
    try:
        lines = Path(proc_cgroup).read_text().splitlines()
    except OSError:
        return []
    files = []
    for line in lines:  # "hierarchy:controllers:/path"
        _, controllers, path = (line.split(":", 2) + ["", ""])[:3]
        if controllers == "":  # v2, the unified hierarchy
            base, name = Path(root), "memory.max"
        elif "memory" in controllers.split(","):
            base, name = Path(root) / "memory", "memory.limit_in_bytes"
        else:
            continue
        parts = [p for p in path.strip().split("/") if p and p != ".."]
        files += [base.joinpath(*parts[:i], name) for i in range(len(parts), -1, -1)]
    return files


def host_memory(proc_cgroup: str = "/proc/self/cgroup", root: str = "/sys/fs/cgroup") -> int | None:
    """Bytes of memory this process may use on the host: the physical memory, or its cgroups'
    least limit where that is lower (None where neither can be told: no `sysconf`, Windows)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None
    for path in cgroup_memory_limits(proc_cgroup, root):
        try:
            text = path.read_text().strip()
        except OSError:
            continue
        if text.isdigit():  # "max": no limit
            total = min(total, int(text))
    return total


def memory_limit(devices: Sequence) -> int | None:
    """Bytes that `devices` can hold together, or None where it cannot be told: the sum of the
    accelerators' allocator limits (`memory_stats()["bytes_limit"]`), and the host's memory
    (`host_memory`) once for CPU devices (they share it, `use_cpu_cores`)."""
    total, on_host = 0, False
    for device in devices:
        if device.platform == "cpu":
            on_host = True
            continue
        stats = device.memory_stats() or {}
        if "bytes_limit" not in stats:
            return None
        total += int(stats["bytes_limit"])
    if on_host:
        host = host_memory()
        if host is None:
            return None
        total += host
    return total


def seed_map(f: Callable, sharding: NamedSharding | None) -> Callable:
    """`vmap(f)` over a leading seed axis; with a `sharding` (`SeedLayout.sharding`), each of
    its devices runs its own slice of seeds (`shard_map`; the axis a multiple of its devices).

    Seeds never communicate, so the check that tracks which values vary across devices is off:
    with it on, a scan whose carry starts from a constant (an environment's fresh `reward = 0`,
    a fixed horizon's `terminated = False`) and comes back device-varying is refused.
    """
    if sharding is None:
        return jax.vmap(f)
    spec = sharding.spec
    return _shard_map(jax.vmap(f), mesh=sharding.mesh, in_specs=spec, out_specs=spec, **_NO_CHECK)
