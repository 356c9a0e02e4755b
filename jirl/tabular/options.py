"""Checks of the tabular worlds' options, shared by `jirl train maxent|...` (`jirl.tabular_run`)
and `jirl.envs.make("gridworld" | "objectworld", ...)` (`jirl.envs.tabular`): each value is
checked for its type and range, never converted into another one (`bool("false")` is True), with
a one-line `ConfigError` that names the option. `build_world` builds the world they describe.
"""

from __future__ import annotations

import math

import jax
import numpy as np

from jirl.config import (
    MAX_SEED,
    as_float32,
    check_float32_range,
    coerce,
    exponent_form,
    short,
)
from jirl.errors import MAX_INT, ConfigError, closest
from jirl.tabular.mdp import TabularMDP, goal_index, gridworld, objectworld

#: the most states a one-hot table `[S, S]` (float32) may have: 16,384 states are 1 GiB.
MAX_ONEHOT_STATES = 2**14


def hint(word, choices) -> str:
    """ " (did you mean 'x'?)" for the closest of `choices`, or ""."""
    close = closest(word, choices)
    return f" (did you mean '{close}'?)" if close else ""


def integer(name: str, value, *, low: int, high: int = MAX_INT) -> int:
    """`value` as an int in [low, high] (a whole number in exponent form, `1e6`, is taken); a
    bool, another float or a string is refused."""
    number = exponent_form(value)
    if isinstance(number, float) and number.is_integer() and value is not number:
        value = int(number)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ConfigError(f"{name} must be an integer >= {low}, got {short(value)}")
    if value < low or value > high:
        raise ConfigError(f"{name} must be an integer in [{low}, {high:,}], got {short(value)}")
    return int(value)


def number(name: str, value, *, positive: bool = False, non_negative: bool = False) -> float:
    """`value` as a finite float (an int, or a string in exponent form that YAML left one,
    `3e-4`, is accepted); a bool or another string is refused. The runs compute in float32: a
    value beyond its range is refused, and `positive` is checked on the value float32 holds
    (1e-50 is 0 there, and a learning rate of it learned nothing)."""
    value = exponent_form(value)
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise ConfigError(f"{name} must be a number, got {short(value)}")
    try:
        as_float = float(value)
    except OverflowError:  # an int of 400 digits is no float
        check_float32_range(name, math.inf, value)
    if not math.isfinite(as_float):
        raise ConfigError(f"{name} must be finite, got {as_float}")
    check_float32_range(name, as_float, value)
    value = as_float
    if positive and as_float32(value) <= 0:
        raise ConfigError(
            f"{name} must be > 0, got {value}{' (0 in float32)' if value > 0 else ''}; use a "
            "small positive value"
        )
    if non_negative and value < 0:
        raise ConfigError(f"{name} must be >= 0, got {value}; use 0 to disable it")
    return value


def choice(name: str, value, choices):
    """`value` if it is one of `choices`."""
    if value not in choices:
        close = hint(value, choices) if isinstance(value, str) else ""
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {short(value)}{close}")
    return value


def boolean(name: str, value) -> bool:
    """`value` as a switch, read as the other learners' configs read one (`config.coerce`:
    true/false, YAML's 1/0, and the text "true", "no", ... ; `bool("false")` was True once).
    `--set absorbing=1` was refused here while `--set eval_greedy=1` was taken."""
    return coerce(value, bool, name)


def goal_cell(goal, size: int):
    """A gridworld goal: None, a cell index in [0, size²), or [row, col] inside the grid (as a
    list), checked as the builder checks it (`mdp.goal_index`)."""
    if goal is None:
        return None
    goal_index(goal, size)
    return [int(g) for g in goal] if isinstance(goal, (list, tuple)) else int(goal)


def onehot_fits(size: int, what: str, instead: str) -> None:
    """Refuse a one-hot `[S, S]` table (S = size²) beyond `MAX_ONEHOT_STATES` states."""
    states = size * size
    if states > MAX_ONEHOT_STATES:
        gib = states * states * 4 / 2**30
        raise ConfigError(
            f"{what} over size*size = {states} states take a {gib:.0f} GiB [S, S] table (at "
            f"most {MAX_ONEHOT_STATES} states); use {instead} or a size of at most "
            f"{math.isqrt(MAX_ONEHOT_STATES)}"
        )


def world_options(env: str, opts: dict) -> dict:
    """The layout options of `env` ("gridworld" or "objectworld") in `opts`, checked: `size`
    (≥ 2), `slip` (a probability); gridworld `goal`, `absorbing`; objectworld `num_colours`
    (2 ≤ C ≤ cells), `num_objects` (None: max(C, cells // 10); C ≤ N ≤ cells), `layout_seed`
    (the base seeds' range: PRNGKey keeps 32 bits, so a larger one would repeat a layout) and
    `features`. Returns a copy of `opts` with them normalised."""
    out = dict(opts)
    out["size"] = size = integer("size", opts["size"], low=2)
    out["slip"] = number("slip", opts["slip"])
    if not 0.0 <= out["slip"] <= 1.0:
        raise ConfigError(f"slip must be a probability in [0, 1], got {out['slip']}")
    cells = size * size
    if env == "gridworld":
        out["absorbing"] = boolean("absorbing", opts["absorbing"])
        out["goal"] = goal_cell(opts["goal"], size)
        return out
    out["num_colours"] = colours = integer("num_colours", opts["num_colours"], low=2, high=cells)
    objects = max(colours, cells // 10) if opts["num_objects"] is None else opts["num_objects"]
    out["num_objects"] = integer("num_objects", objects, low=colours, high=cells)
    out["layout_seed"] = integer("layout_seed", opts["layout_seed"], low=0, high=MAX_SEED)
    out["features"] = choice("features", opts["features"], ("continuous", "discrete", "both"))
    return out


def build_world(env: str, opts: dict) -> TabularMDP:
    """The world (sparse transitions, true reward, features) of options checked by
    `world_options`. Gridworld's `features` and `block` are read when given (the IRL runs choose
    them; `jirl.envs.make` asks for one-hot features or none), its defaults otherwise."""
    if env == "gridworld":
        goal = opts["goal"]
        return gridworld(
            opts["size"],
            slip=opts["slip"],
            goal=tuple(goal) if isinstance(goal, list) else goal,
            absorbing=opts["absorbing"],
            **{k: opts[k] for k in ("features", "block") if k in opts},
        )
    return objectworld(
        opts["size"],
        opts["num_colours"],
        opts["num_objects"],
        jax.random.PRNGKey(opts["layout_seed"]),
        slip=opts["slip"],
        features=opts["features"],
    )
