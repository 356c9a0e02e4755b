"""User-facing errors. Raised at the boundary (config, data, env name), never inside jit."""

import difflib
import functools
import reprlib
from typing import Any

import numpy as np

#: how much of a value an error message shows: a config of nested YAML aliases (`- &a1 [*a0,
#: *a0]`, 26 levels) is a list of 2**26 items, whose full repr was an 84 MB "one-line" error
_SHORT = reprlib.Repr()
_SHORT.maxlevel = 3
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxdict = _SHORT.maxset = _SHORT.maxfrozenset = 6
_SHORT.maxstring = _SHORT.maxother = _SHORT.maxlong = 60


def short(value: Any) -> str:
    """`repr(value)` cut to about a line, for an error message that quotes what the user gave
    (a value can be any size: a list of millions of items, a string of a megabyte, a header's
    integer of 400 digits)."""
    return _SHORT.repr(value)


class JirlError(ValueError):
    """Base of every error a user can cause; the CLI prints it on one line and exits 2 (1 for
    a `RunError`, a run that failed rather than a bad input)."""


class RunError(JirlError):
    """A run that failed (diverged, or trained an expert no better than random); exit 1."""


class ConfigError(JirlError):
    """A config value, CLI flag or option is invalid."""


class DataError(JirlError):
    """A demonstration or expert file is missing, malformed or does not match the environment."""


class EnvError(JirlError):
    """An environment name or option is unknown or invalid."""


@functools.cache
def tracer_errors() -> tuple[type[Exception], ...]:
    """What JAX raises when Python needs the concrete value of a traced one (`bool`, `int`,
    NumPy). A function, not a constant: this module is imported before JAX (`jirl/__init__`)."""
    import jax

    return (
        jax.errors.ConcretizationTypeError,
        jax.errors.TracerArrayConversionError,
        jax.errors.TracerIntegerConversionError,
    )


def closest(word, choices, *, cutoff: float = 0.6) -> str | None:
    """The choice nearest to a mistyped `word` (`difflib`'s ratio ≥ `cutoff`), or None; every
    "did you mean" of jirl's errors comes from here."""
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=cutoff)
    return close[0] if close else None


def check_count(name: str, value: Any, low: int = 1) -> int:
    """`value` as an int >= `low` (a NumPy integer is taken; a bool, a float such as 2.5 or a
    string is refused with ConfigError): a loop count or size a Python caller passes."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ConfigError(f"{name} must be an integer >= {low}, got {short(value)}")
    if value < low:
        raise ConfigError(f"{name} must be >= {low}, got {value}")
    return int(value)


def require(condition: bool, message: str, error: type[JirlError] = ConfigError) -> None:
    """Raise `error(message)` unless `condition`; used by every config's `__post_init__`.

    A traced condition (a config rebuilt inside `jit` with swept hyperparameters, `jirl.sweep`)
    is skipped: every swept value was checked concretely at the boundary before tracing.
    Write compound checks with `&` rather than `and` or chained comparisons, so that they trace.
    """
    try:
        ok = bool(condition)
    except tracer_errors():
        return
    if not ok:
        raise error(message)
