"""User-facing errors. Raised at the boundary (config, data, env name), never inside jit."""

import dataclasses
import difflib
import functools
import reprlib
import typing
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


#: The largest integer a config, a header or a count takes (XLA's sizes and loop counts are
#: int32): past it a count wraps inside jit, and a 400-digit one filled its message
MAX_INT = 2**31 - 1


def check_count(name: str, value: Any, low: int = 1, high: int = MAX_INT) -> int:
    """`value` as an int in [`low`, `high`] (a NumPy integer is taken; a bool, a float such as
    2.5 or a string is refused with ConfigError): a loop count or size a Python caller passes."""
    if not is_int(value):
        raise ConfigError(f"{name} must be an integer >= {low}, got {short(value)}")
    if value < low:
        raise ConfigError(f"{name} must be >= {low}, got {value}")
    if value > high:
        raise ConfigError(f"{name} must be at most {high:,}, got {short(value)}")
    return int(value)


def check_config(config: Any, cls: type) -> None:
    """Raise ConfigError unless `config` is a `cls`, exactly (a learner's `make` given another
    learner's config, or a dict, failed later with an AttributeError; `gcl.make` given a
    `GANGCLConfig`, a subclass, trained GCL and ignored GAN-GCL's fields)."""
    if type(config) is not cls:
        raise ConfigError(f"expected a config of type {cls.__name__}, got {type(config).__name__}")


def check_state(state: Any, cls: type, name: str, num_envs: int | None = None) -> None:
    """Raise ConfigError unless `state` is a `cls`, the state `name`'s init returns (another
    learner's state failed inside the update with an AttributeError), and, given `num_envs`,
    its `env_state` a batch of that many (a state of `num_envs=4` trained on 4 under an
    algorithm made for 8, which reported 8's env steps). Checked at trace time; learners of one
    state class are not told apart otherwise (PPO and TRPO; GAIL, AIRL, GCL and GAN-GCL; FEM
    and GTAL): `jirl.run` compares a whole initial state with `init`'s tree."""
    if not isinstance(state, cls):
        raise ConfigError(
            f"{name}'s update takes the state its init returns ({cls.__name__}), got "
            f"{type(state).__name__}: another algorithm's?"
        )
    batch = getattr(getattr(state, "env_state", None), "time", None)
    if num_envs is not None and batch is not None and tuple(batch.shape) != (num_envs,):
        raise ConfigError(
            f"{name}'s update steps {num_envs} environments, but the state holds a batch of "
            f"{short(tuple(batch.shape))}: pass a state this algorithm's init made"
        )


def check_types(config: Any, prefix: str = "") -> None:
    """Raise ConfigError for a field of the dataclass `config` whose value is not of its
    annotated kind, before its range checks compare it (`"1e-3" > 0` was a TypeError) or a
    trace uses it (`batch_size=32.0` failed inside jit): an `int` field takes ints (NumPy's
    too), a `float` field any real number or a JAX/NumPy array of one (a swept value is
    traced), `bool` a bool, `str` a string, `tuple[int, ...]` a tuple or list of ints; None
    where the annotation allows it. `prefix` (`"bc."`) goes before the field's name. A list
    (or array) given to a tuple field is stored as the tuple of ints it stands for: a list made
    the frozen config unhashable, and so no static argument of `jax.jit`."""
    try:
        hints = typing.get_type_hints(type(config))
    except NameError:  # a subclass annotated with a name its module cannot resolve: unchecked
        return
    for field in dataclasses.fields(config):
        value, hint = getattr(config, field.name), hints.get(field.name)
        args = typing.get_args(hint)
        if type(None) in args:  # `X | None`
            if value is None:
                continue
            rest = [a for a in args if a is not type(None)]
            hint = rest[0] if len(rest) == 1 else None
        want = _KINDS.get(hint)
        if want is None and typing.get_origin(hint) is tuple and args[-1:] == (...,):
            if args[0] is int:
                want = ("a list of integers", _is_int_list)
        if want is not None and not want[1](value):
            raise ConfigError(f"{prefix}{field.name} must be {want[0]}, got {short(value)}")
        if want is not None and want[1] is _is_int_list and not isinstance(value, tuple):
            object.__setattr__(config, field.name, tuple(int(v) for v in value))
        if hint is float and not _finite(value):  # (the YAML path refuses them in `coerce`)
            raise ConfigError(f"{prefix}{field.name} must be a finite number, got {short(value)}")


def _finite(value: Any) -> bool:
    """False for a concrete inf or NaN; True for a finite number and for a traced one."""
    try:
        return bool(np.all(np.isfinite(np.asarray(value))))
    except tracer_errors():
        return True


def is_int(value: Any) -> bool:
    """A Python or NumPy integer, or a 0-d integer array (JAX's `jnp.int32(64)`); no bool."""
    if isinstance(value, bool | np.bool_):
        return False
    if isinstance(value, int | np.integer):
        return True
    return dtype_kind(value) in ("i", "u") and getattr(value, "ndim", None) == 0


def dtype_kind(value: Any) -> str:
    """'i', 'u' or 'f' for an array or tracer of integers or floats (bfloat16, whose NumPy
    kind is 'V', included); '' for anything else."""
    dtype = getattr(value, "dtype", None)
    if dtype is None:
        return ""
    dtype = np.dtype(dtype)
    return "f" if "float" in dtype.name else dtype.kind if dtype.kind in "iuf" else ""


def is_real(value: Any) -> bool:
    """A Python or NumPy number, or a JAX/NumPy array or tracer of one; no bool or string."""
    if isinstance(value, bool | np.bool_ | str | bytes):
        return False
    if isinstance(value, int | float | np.integer | np.floating):
        return True
    return dtype_kind(value) != ""  # a JAX array or tracer (a swept value), NumPy's


def _is_int_list(value: Any) -> bool:
    if dtype_kind(value) in ("i", "u") and getattr(value, "ndim", None) == 1:
        return True  # np.array([64, 64])
    return isinstance(value, tuple | list) and all(is_int(v) for v in value)


#: `check_types`' kinds: annotation -> (what the message asks for, test)
_KINDS = {
    int: ("an integer", is_int),
    float: ("a number", is_real),
    bool: ("true or false", lambda v: isinstance(v, bool | np.bool_)),
    str: ("a string", lambda v: isinstance(v, str)),
}


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
