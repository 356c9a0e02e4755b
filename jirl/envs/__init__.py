"""Environments: `jirl.envs.make(name, **options) -> Env` (see `jirl.envs.base`)."""

from __future__ import annotations

import numpy as np

from jirl.envs.base import Env, EnvState, Spec, batch_reset, batch_step, check_fixed_horizon
from jirl.envs.brax import BACKENDS, BRAX
from jirl.envs.classic import CLASSIC
from jirl.errors import EnvError, closest

TABULAR = ("gridworld", "objectworld")

__all__ = ["Env", "EnvState", "Spec", "batch_reset", "batch_step", "make", "names"]


def names() -> list[str]:
    """Every registered environment name."""
    return sorted([*CLASSIC, *BRAX, *TABULAR])


def check_name(name: str) -> None:
    """Raise EnvError, listing the known names, unless `name` is registered."""
    if not isinstance(name, str) or name not in names():
        close = closest(name, names())
        hint = f" Did you mean '{close}'?" if close else ""
        raise EnvError(f"unknown environment '{name}'.{hint} Known: {', '.join(names())}")


def make(name: str, *, horizon: int | None = None, fixed_horizon: bool = False, **options) -> Env:
    """Make an environment by its lowercase name.

    Args:
      name: e.g. `"cartpole"`, `"pendulum"`, `"hopper"`, `"gridworld"`.
      horizon: episode time limit (default: the environment's usual one).
      fixed_horizon: never terminate early (seals-style), see `jirl.envs.base`.
      **options: backend options, e.g. `backend="positional"` for Brax, `size=8` for gridworld.

    Raises:
      EnvError: unknown name (the message lists the known ones) or unknown option.
    """
    check_name(name)
    if horizon is not None:  # an int or NumPy integer; True is not a horizon of 1
        if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
            raise EnvError(f"horizon must be a positive integer, got {horizon!r}")
        horizon = int(horizon)
    fixed_horizon = check_fixed_horizon(fixed_horizon)  # before a Brax system is built
    if name in CLASSIC:
        if options:
            hint = "; backend is for Brax envs only, drop it" if "backend" in options else ""
            raise EnvError(f"'{name}' takes no options, got {sorted(options)}{hint}")
        from jirl.envs.classic import make_classic

        return make_classic(name, horizon, fixed_horizon)
    if name in BRAX:
        unknown = set(options) - {"backend"}
        if unknown:
            raise EnvError(
                f"Brax env '{name}' takes only the option 'backend', got {sorted(unknown)}"
            )
        backend = options.get("backend", "generalized")
        if backend not in BACKENDS:
            raise EnvError(f"unknown Brax backend '{backend}'; choose one of {', '.join(BACKENDS)}")
        from jirl.envs.brax import make_brax

        return make_brax(name, horizon, fixed_horizon, backend)
    from jirl.envs.tabular import make_tabular

    return make_tabular(name, horizon=horizon, fixed_horizon=fixed_horizon, **options)
