"""Tabular MDPs (`gridworld`, `objectworld`) as sampling environments.

Observation: the one-hot state `[S]` by default (`observation="onehot"`), or the state's
features `[F]` (`observation="features"`). Actions are discrete (5 for both worlds: stay, up,
down, left, right). `raw_reset` samples from the initial distribution, `raw_step` samples the
next state from the transition row, and the reward of a step is the true reward r(s_t) of the
state the action was taken in (the convention of the planners: return = Σ_t r(s_t)).

Episodes never terminate: they run to the horizon (an absorbing goal keeps the agent, and its
reward, until then, exactly as in the planners), so there is no termination bias.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from jirl.envs.base import Env, Spec
from jirl.errors import ConfigError, EnvError, closest
from jirl.tabular.mdp import TabularMDP
from jirl.tabular.metrics import successor_sampler
from jirl.tabular.options import build_world, choice, onehot_fits, world_options

#: options of each world, with defaults.
OPTIONS = {
    "gridworld": {
        "size": 5,
        "slip": 0.1,
        "goal": None,
        "absorbing": False,
        "observation": "onehot",
    },
    "objectworld": {
        "size": 10,
        "num_colours": 2,
        "num_objects": None,  # max(num_colours, cells // 10), as the CLI's (10 at size 10)
        "slip": 0.3,
        "features": "discrete",
        "layout_seed": 0,
        "observation": "onehot",
    },
}


def make_tabular(
    name: str, *, horizon: int | None = None, fixed_horizon: bool = False, **options
) -> Env:
    """A tabular world as an `Env`; default horizon 2·size (enough to cross the grid).

    Raises:
      EnvError: unknown name or option, or an invalid option value.
    """
    if name not in OPTIONS:
        raise EnvError(f"unknown tabular environment '{name}'; known: {', '.join(OPTIONS)}")
    unknown = sorted(set(options) - set(OPTIONS[name]))
    if unknown:
        close = closest(unknown[0], OPTIONS[name])
        hint = f" Did you mean '{close}'?" if close else ""
        raise EnvError(
            f"unknown option '{unknown[0]}' for '{name}'.{hint} "
            f"Valid options: {', '.join(OPTIONS[name])}"
        )
    try:
        opts = world_options(name, {**OPTIONS[name], **options})
        choice("observation", opts["observation"], ("onehot", "features"))
        world = opts
        if name == "gridworld":  # its features are the one-hot states too
            onehot_fits(opts["size"], "gridworld's one-hot states", "objectworld")
            # read only for observation: features (`mdp_env`)
            world = {**opts, "features": "onehot" if opts["observation"] == "features" else "none"}
        elif opts["observation"] == "onehot":
            onehot_fits(opts["size"], "one-hot observations", "observation: features")
        mdp = build_world(name, world)
    except ConfigError as err:
        raise EnvError(f"{name}: {err}") from None
    horizon = 2 * opts["size"] if horizon is None else int(horizon)
    env = mdp_env(name, mdp, horizon, fixed_horizon, observation=opts["observation"])
    layout = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in opts.items()))
    return dataclasses.replace(env, options=layout)


def mdp_env(
    name: str, mdp: TabularMDP, horizon: int, fixed_horizon: bool = False, *, observation="onehot"
) -> Env:
    """Any `TabularMDP` with a true reward as an `Env` (see module doc for the conventions)."""
    if mdp.reward is None:
        raise EnvError(f"'{name}': the MDP has no true reward to sample")
    if observation == "features" and mdp.features is None:
        raise EnvError(f"'{name}': observation='features' needs an MDP with features")
    successor, probs = successor_sampler(mdp)
    table = jnp.eye(mdp.num_states) if observation == "onehot" else mdp.features
    reward = mdp.reward

    def raw_reset(key):
        s = jax.random.choice(key, mdp.num_states, p=mdp.initial).astype(jnp.int32)
        return s, table[s]

    def raw_step(key, s, action):
        a = jnp.asarray(action, jnp.int32)
        k = jax.random.categorical(key, jnp.log(probs(s, a)))
        s_next = jnp.asarray(successor(s, a, k), jnp.int32)
        r = reward[s] if reward.ndim == 1 else reward[s, a]
        return s_next, table[s_next], r, jnp.zeros((), bool)

    spec = Spec(obs_shape=(table.shape[1],), discrete=True, num_actions=mdp.num_actions)
    return Env(name, spec, horizon, raw_reset, raw_step, fixed_horizon)
