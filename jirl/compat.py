"""Shims for libraries under jirl that lag behind JAX; `jirl/__init__` applies them before
anything imports those libraries."""

from __future__ import annotations

import jax.core


def restore_pytype_aval_mappings() -> bool:
    """Keep `jax.core.pytype_aval_mappings` for TensorFlow Probability's JAX substrate (the
    distributions under distrax), which writes its Variable type into that table when it is
    imported. JAX 0.10 deprecated the name (the table lives on as `jax._src.core`'s) and a later
    release removes it, as 0.7 removed `jax.interpreters.xla`'s, which broke every `import
    distrax` (tensorflow/probability#2009, #2010). Binding the table under its public name
    again keeps jirl importable on such a JAX and silences the deprecation warning on this one.
    Returns whether it bound it (False: a JAX that still defines it, or has no such table)."""
    if "pytype_aval_mappings" in vars(jax.core):
        return False
    try:
        from jax._src import core
    except ImportError:
        return False
    table = getattr(core, "pytype_aval_mappings", None)
    if table is None:
        return False
    jax.core.pytype_aval_mappings = table
    return True
