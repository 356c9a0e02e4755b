"""Hyperparameter sweeps in one compile (DESIGN.md § The one interface: learning rates and
coefficients may be traced, so a sweep can vmap over them too).

A sweep is a grid of float hyperparameters of an algorithm's config, e.g.
`{"learning_rate": (1e-3, 3e-4, 1e-4)}`. Each setting is run on the same `seeds` keys as a plain
run with that setting would use, and all `settings × seeds` runs share one compile: the
algorithm is rebuilt *inside* the trace from a config whose swept fields are tracers, so one
program serves every setting and `jax.vmap` runs them side by side.

    swept = sweep_algorithm(lambda c: ppo.make(c, env), config, ("learning_rate",))
    state = init_sweep(swept, keys, {"learning_rate": lrs})       # [settings · seeds, ...]
    result = jirl.run(swept.algo, key, n, initial_state=state)

Only float fields are sweepable: sizes, counts, names and switches change shapes or control
flow, so each needs its own program. A float field that the algorithm itself branches on in
Python (for example `grad_penalty > 0` switching the penalty on) is found by tracing once
(`check_traceable`) and refused with the same kind of message.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jirl.config import as_float32
from jirl.errors import ConfigError, check_count, closest, is_real, short, tracer_errors
from jirl.logging import setting_name
from jirl.run import raw_key
from jirl.types import Algorithm, Array


@struct.dataclass
class SweptState:
    """One run of a sweep: its setting `{field: scalar}` and the algorithm's own state."""

    hyperparams: dict[str, Array]
    inner: Any


class Swept(NamedTuple):
    """A swept algorithm: `algo` runs the setting held in each state; `build(hyperparams)` is
    the algorithm of one setting, `defaults` the base config's values of the swept `fields`.

    States must come from `init_sweep`: a constant learning rate lives in the optimiser state
    that `init` builds (`optax.inject_hyperparams`), so a state initialised at another setting
    and given new `hyperparams` afterwards would keep its initial rate."""

    algo: Algorithm
    build: Callable[[Mapping[str, Array]], Algorithm]
    fields: tuple[str, ...]
    defaults: dict[str, float]


def sweepable_fields(config_cls: type) -> tuple[str, ...]:
    """The float fields of a config dataclass, the only candidates for a sweep."""
    hints = typing.get_type_hints(config_cls)
    return tuple(f.name for f in dataclasses.fields(config_cls) if hints[f.name] is float)


def parse_items(items: Sequence[str]) -> dict[str, list[str]]:
    """`["ppo.learning_rate=1e-3,3e-4", ...]` (the CLI's `--sweep`) into `{key: [values]}`;
    `check_grid` validates it against the algorithm's config."""
    grid: dict[str, list[str]] = {}
    for item in items:
        if "=" not in item or not item.split("=", 1)[1].strip(","):
            raise ConfigError(f"--sweep expects key=v1,v2,..., got '{item}'")
        key, raw = item.split("=", 1)
        if key.strip() in grid:  # the later one used to replace the earlier
            raise ConfigError(
                f"--sweep {key.strip()} is given twice; list all its values once "
                f"({key.strip()}=v1,v2,...)"
            )
        values = [v.strip() for v in raw.split(",")]
        if not all(values):  # `1e-3,,2e-3`: a value left out by mistake, never dropped quietly
            raise ConfigError(f"--sweep {key.strip()} has an empty value in '{raw}'; remove it")
        grid[key.strip()] = values
    return grid


def check_grid(
    grid: Mapping[str, Sequence], config, section: str, seeds: int = 1, max_runs: int | None = None
) -> dict[str, tuple[float, ...]]:
    """Validate a sweep grid (from `--sweep` or a config's `sweep:` mapping) against the
    algorithm's `config` (section name `section`); returns `{field: values}` as floats.

    A key is a field of the algorithm's config, optionally prefixed with its section
    (`ppo.learning_rate`). Every value must be a number that the config accepts on its own,
    and every combination too; a grid of more than `max_runs` runs of `seeds` seeds is refused
    before its combinations are built (200³ of them took minutes).
    """
    if not isinstance(grid, Mapping):
        raise ConfigError("sweep must map config keys to lists of values")
    out: dict[str, tuple[float, ...]] = {}
    for key, values in grid.items():
        name = sweepable_field(key, config, section)
        if name in out:
            raise ConfigError(f"sweep names '{name}' twice ('{key}' and another key); give it once")
        if isinstance(values, (str, int, float)):
            values = [values]
        try:
            if any(isinstance(v, bool) for v in values):  # YAML's true is not a rate of 1.0
                raise TypeError
            if any(isinstance(v, str) and not v.isascii() for v in values):  # float("١") is 1.0
                raise ValueError
            numbers = tuple(float(v) for v in values)
        except (TypeError, ValueError, OverflowError):  # (a 400-digit int is no float)
            raise ConfigError(
                f"sweep values of '{key}' must be numbers, got {short(values)}"
            ) from None
        # traced as float32: beyond its range a value is inf, below its precision a repeat
        stored = tuple(as_float32(v) for v in numbers)
        if not all(math.isfinite(v) for v in stored):
            raise ConfigError(
                f"sweep values of '{key}' must be finite float32 numbers, got {short(values)}"
            )
        if len(numbers) < 1 or len(set(stored)) != len(numbers):
            raise ConfigError(
                f"sweep '{key}' needs one or more distinct values, got {short(values)}"
            )
        labels = [setting_name({name: v}).partition("=")[2] for v in numbers]
        if len(set(labels)) != len(labels):
            raise ConfigError(
                f"sweep values of '{key}' print alike ({', '.join(labels)}): their settings' "
                "curves, TensorBoard tags and table rows would share a name; use values that "
                "differ in their first 6 significant digits"
            )
        for v, held in zip(numbers, stored, strict=True):  # each a valid config on its own
            try:
                dataclasses.replace(config, **{name: held})
            except ConfigError as e:
                if held == v:
                    raise
                raise ConfigError(f"{e} ({key}: {v!r} is {held!r} in float32)") from None
        out[name] = numbers
    if not out:
        raise ConfigError(
            "a sweep needs at least one key with a list of values (--sweep key=v1,v2,... or "
            "sweep: {key: [v1, v2]} in the config)"
        )
    count = math.prod(len(v) for v in out.values())
    if max_runs is not None and count * seeds > max_runs:
        raise ConfigError(
            f"a sweep of {count:,} settings × {seeds} seeds is {count * seeds:,} runs; one "
            f"compile holds at most {max_runs:,}: use fewer seeds or values"
        )
    for setting in settings(out):  # and so must every combination
        dataclasses.replace(config, **setting)
    return out


def sweepable_field(key: str, config, section: str = "") -> str:
    """The float field of `config` that sweep key `key` names (`field`, or `section.field`);
    a key that names no field, a static one, or one that `config.unread_fields()` names (the
    other generator's, say) is refused with a one-line `ConfigError`."""
    names = {f.name for f in dataclasses.fields(config)}
    floats = sweepable_fields(type(config))
    unread = config.unread_fields() if hasattr(config, "unread_fields") else {}
    name = str(key).removeprefix(f"{section}.") if section else str(key)
    if "." in name or name not in names:
        # (the float fields these settings read; the env and tracing may refuse more,
        # `check_traceable`, so they are not promised to sweep)
        listed = [f for f in floats if f not in unread]
        close = closest(name, listed, cutoff=0.5)
        hint = f"; did you mean '{_qualified(section, close)}'?" if close else ""
        owner = f"{section}'s config" if section else type(config).__name__
        raise ConfigError(
            f"cannot sweep '{key}': not a field of {owner}{hint} "
            f"(its float fields: {', '.join(_qualified(section, f) for f in listed)})"
        )
    if name not in floats:
        raise ConfigError(
            f"cannot sweep '{key}': it is static (a size, count, name or switch changes "
            f"shapes or control flow, so each value needs its own compile); run separate "
            f"runs with --set {_qualified(section, name)}=..."
        )
    if name in unread:  # every setting would run the same
        raise ConfigError(f"cannot sweep '{key}': {unread[name]}")
    return name


def settings(grid: Mapping[str, Sequence[float]]) -> list[dict[str, float]]:
    """The Cartesian product of a grid, in order: the last key varies fastest."""
    keys = list(grid)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*grid.values())]


def sweep_algorithm(
    build: Callable[[Any], Algorithm], config, fields: Sequence[str], section: str = ""
) -> Swept:
    """An `Algorithm` whose state carries its own values of `fields` (`SweptState`).

    Args:
      build: `config -> Algorithm` (e.g. a registry entry's build with env and inputs bound);
        it is called inside the trace with tracers in `fields`, so it must only compute with
        them (`jirl.errors.require` skips traced checks).
      config: the base config; fields not swept keep its values.
      fields: the float fields to carry; `init(key)` uses the base config's values.
      section: the config's name in error messages (the CLI's section, e.g. `ppo`).

    Raises:
      ConfigError: a field that is not a float field of `config`, or one that `build` branches
        on in Python (`check_traceable`).
    """
    if isinstance(fields, str):  # (iterated letter by letter: "cannot sweep 'l'")
        raise ConfigError(f"fields must be a list of field names, got the string {fields!r}")
    fields = tuple(sweepable_field(f, config, section) for f in fields)

    def rebuild(hyperparams: Mapping[str, Array]) -> Algorithm:
        return build(dataclasses.replace(config, **dict(hyperparams)))

    base = build(config)
    defaults = {f: getattr(config, f) for f in fields}

    def init(key: Array) -> SweptState:
        return SweptState(_as_arrays(defaults), base.init(key))

    def update(state: SweptState):
        inner, metrics = rebuild(state.hyperparams).update(state.inner)
        return state.replace(inner=inner), metrics

    def act(state: SweptState, obs: Array, key: Array) -> Array:
        return rebuild(state.hyperparams).act(state.inner, obs, key)

    def mode(state: SweptState, obs: Array) -> Array:
        return rebuild(state.hyperparams).mode(state.inner, obs)

    mode_fn = None if base.mode is None else mode
    algo = Algorithm(init, update, act, base.name, base.env_steps_per_update, mode_fn)
    swept = Swept(algo, rebuild, fields, defaults)
    check_traceable(swept, section)
    return swept


def check_read(jaxpr, fields: Sequence[str], section: str = "") -> None:
    """Refuse the `fields` whose input variables (the last ones, sorted by name as
    `jax.make_jaxpr` flattens a dict) no output depends on: walking the equations backwards
    from the outputs, an equation is live when an output of it is needed, and then so are its
    operands. Dead code is left out (a config's range check computed on a traced value, which
    `require` then skips), and sub-programs (scan, cond, jit) count whole: they take what they
    read as operands."""
    order = sorted(fields)
    inputs = jaxpr.invars[len(jaxpr.invars) - len(order) :]
    needed = {id(v) for v in jaxpr.outvars}
    for eqn in reversed(jaxpr.eqns):
        if any(id(v) in needed for v in eqn.outvars):
            needed.update(id(v) for v in eqn.invars)
    unread = [f for f, v in zip(order, inputs, strict=True) if id(v) not in needed]
    if unread:
        names = ", ".join(_qualified(section, f) for f in unread)
        raise ConfigError(
            f"cannot sweep {names}: the algorithm never reads it with these settings (a "
            f"discrete policy has no log std; a schedule that does not use it), so every "
            f"setting would run alike; sweep another field"
        )


def _qualified(section: str, field: str) -> str:
    return f"{section}.{field}" if section else field


def _as_arrays(values: Mapping[str, Any]) -> dict[str, Array]:
    return {k: jnp.asarray(v, jnp.float32) for k, v in values.items()}


def init_sweep(swept: Swept, keys: Array, values: Mapping[str, Array]) -> SweptState:
    """Initial states of a batch of runs: run `i` starts from `keys[i]` with setting
    `{f: values[f][i]}`, initialised by the algorithm built with that setting.

    Args:
      keys: `[N, 2]` PRNG keys; values: `{field: [N]}`, fields of `swept.fields` (one left out
        keeps the base config's value).
    Returns:
      `SweptState` with every leaf `[N, ...]`.
    Raises:
      ConfigError: a setting that is not a valid config (checked here, on the host: inside the
        jitted init the config's range checks see traced values and cannot run), or a field
        the sweep was not made for.
    """
    extra = sorted(set(values) - set(swept.fields))
    if extra:  # `build` would set it, unchecked by `sweep_algorithm` (a float it branches on)
        raise ConfigError(
            f"values give {extra}, which the sweep was not made for (sweep_algorithm's fields: "
            f"{sorted(swept.fields)})"
        )
    host = {f: np.asarray(v, np.float64) for f, v in values.items()}
    wrong = {f: v.shape for f, v in host.items() if v.shape != (len(keys),)}
    if wrong:  # (an IndexError, or a silent broadcast inside the vmap)
        raise ConfigError(
            f"values must give each field one value per key, [{len(keys)}]; got shapes "
            f"{short(wrong)}"
        )
    for setting in {tuple(float(host[f][i]) for f in host) for i in range(len(keys))}:
        swept.build(dict(zip(host, setting, strict=True)))

    def one(key, hyperparams):
        return SweptState(hyperparams, swept.build(hyperparams).init(key))

    # a field left out carries the base config's value, so that every state has the tree of
    # `swept.algo.init`'s (what `jirl.run` and a checkpoint's restore compare it with)
    full = {f: np.full(len(keys), swept.defaults[f]) for f in swept.fields} | dict(values)
    return jax.jit(jax.vmap(one))(keys, _as_arrays(full))


def batch(
    grid: Mapping[str, Sequence[float]], key: Array, seeds: int
) -> tuple[Array, dict[str, np.ndarray], list[dict[str, float]]]:
    """Keys and values of `settings × seeds` runs, setting-major.

    Setting `i`'s seeds use `jax.random.split(key, seeds)`, the keys of a plain run with that
    setting, so each sweep entry equals the run made on its own (a typed `jax.random.key` is
    taken as its data, as `jirl.run` takes it).

    Returns:
      keys `[S·seeds, 2]`, values `{field: [S·seeds]}`, and the settings list.
    """
    seeds = check_count("seeds", seeds)
    for f, v in grid.items():  # (a float: "has no len()"; "1e-3": 0.001 run, '1e-3' reported)
        if isinstance(v, str | bytes) or np.ndim(v) != 1 or not all(map(is_real, v)):
            raise ConfigError(f"the grid's {f} must be a list of numbers, got {short(v)}")
    empty = [f for f, v in grid.items() if not len(v)]
    if empty:  # (no setting: JAX's "need at least one array to concatenate")
        raise ConfigError(f"the grid gives {short(empty)} no values: give each field at least one")
    grid = {f: [float(x) for x in v] for f, v in grid.items()}
    grid_settings = settings(grid)
    split = jax.random.split(raw_key(key), seeds)  # (a typed key's data: states msgpack stores)
    keys = jnp.concatenate([split] * len(grid_settings))
    values = {
        f: np.repeat(np.array([s[f] for s in grid_settings], np.float32), seeds) for f in grid
    }
    return keys, values, grid_settings


def check_traceable(swept: Swept, section: str = "") -> None:
    """Trace `init` and `update` abstractly (no compile). Refused with a one-line
    `ConfigError` (`sweep_algorithm` calls it): a swept field that the algorithm branches on in
    Python, and one that its program never reads under these settings (the policy's
    `init_log_std` on a discrete env, DAgger's `beta_decay` but on the `exponential`
    schedule), whose settings would all run alike."""

    def program(key, traced):
        algo = swept.build({**swept.defaults, **traced})
        return algo.update(algo.init(key))

    def trace(fields: Sequence[str]):
        """The program's jaxpr with `fields` traced, or None if Python needs their values."""
        values = _as_arrays({f: swept.defaults[f] for f in fields})
        try:
            return jax.make_jaxpr(program)(jax.random.PRNGKey(0), values)
        except tracer_errors():
            return None

    closed = trace(swept.fields)
    if closed is not None:
        check_read(closed.jaxpr, swept.fields, section)
        return
    bad = [f for f in swept.fields if trace([f]) is None] or list(swept.fields)
    names = ", ".join(_qualified(section, f) for f in bad)
    raise ConfigError(
        f"cannot sweep {names}: the algorithm branches on it "
        f"in Python or NumPy (e.g. to switch a term on or off), so each value needs its own "
        f"compile; "
        f"run separate runs with --set"
    )
