"""The algorithm registry: name -> how to build it from a config, an env and its inputs.

Each algorithm module exposes a frozen `Config` and `make(config, env, ...) -> Algorithm`; the
registry says which inputs (demonstrations, an expert oracle) it needs, so the host driver and
the CLI stay generic.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from jirl.algos import airl, apprenticeship, bc, dagger, gail, gan_gcl, gcl, smile
from jirl.envs.base import Env
from jirl.errors import ConfigError, closest
from jirl.rl import ppo, trpo
from jirl.types import Algorithm, Trajectories


class Inputs(NamedTuple):
    """What an algorithm may learn from besides the environment."""

    demos: Trajectories | None = None
    expert: Any = None  # jirl.algos.expert.Expert


@dataclass(frozen=True)
class AlgoSpec:
    name: str
    config_cls: type
    build: Callable[[Any, Env, Inputs], Algorithm]
    needs_demos: bool = False
    optional_demos: bool = False  # learns from demonstrations when given (SMILe's first member)
    needs_expert: bool = False
    summary: str = ""


REGISTRY: dict[str, AlgoSpec] = {}


def register(spec: AlgoSpec) -> None:
    REGISTRY[spec.name] = spec


def _on_demos(make: Callable) -> Callable[[Any, Env, Inputs], Algorithm]:
    """`build` for an algorithm that learns from demonstrations: `make(config, env, demos)`."""
    return lambda c, env, i: make(c, env, i.demos)


for _spec in (
    AlgoSpec(
        "ppo", ppo.PPOConfig, lambda c, env, i: ppo.make(c, env), summary="PPO on the true reward"
    ),
    AlgoSpec(
        "trpo",
        trpo.TRPOConfig,
        lambda c, env, i: trpo.make(c, env),
        summary="TRPO on the true reward",
    ),
    AlgoSpec(
        "bc", bc.BCConfig, _on_demos(bc.make), needs_demos=True, summary="behavioural cloning"
    ),
    AlgoSpec(
        "dagger",
        dagger.DAggerConfig,
        lambda c, env, i: dagger.make(c, env, i.demos, expert=i.expert),
        needs_demos=True,
        needs_expert=True,
        summary="DAgger: beta-mixed roll-outs labelled by the expert, aggregated, BC",
    ),
    AlgoSpec(
        "smile",
        smile.SMILeConfig,
        lambda c, env, i: smile.make(c, env, i.demos, expert=i.expert),
        optional_demos=True,
        needs_expert=True,
        summary="SMILe: geometric mixture of policies, each cloned on fresh expert labels",
    ),
    AlgoSpec(
        "gail",
        gail.GAILConfig,
        _on_demos(gail.make),
        needs_demos=True,
        summary="GAIL: discriminator reward, PPO or TRPO generator",
    ),
    AlgoSpec(
        "airl",
        airl.AIRLConfig,
        _on_demos(airl.make),
        needs_demos=True,
        summary="AIRL: shaped reward g + γh' − h, PPO or TRPO generator",
    ),
    AlgoSpec(
        "gcl",
        gcl.GCLConfig,
        _on_demos(gcl.make),
        needs_demos=True,
        summary="guided cost learning: importance-sampled MaxEnt IRL on trajectory segments",
    ),
    AlgoSpec(
        "gan_gcl",
        gan_gcl.GANGCLConfig,
        _on_demos(gan_gcl.make),
        needs_demos=True,
        summary="GAN-GCL: trajectory discriminator exp(r)/(exp(r) + Z q), learned log Z",
    ),
    AlgoSpec(
        "fem",
        apprenticeship.FEMConfig,
        _on_demos(apprenticeship.make_fem),
        needs_demos=True,
        summary="FEM: Abbeel-Ng projection, linear reward on (s, a) features, sampled RL",
    ),
    AlgoSpec(
        "gtal",
        apprenticeship.GTALConfig,
        _on_demos(apprenticeship.make_gtal),
        needs_demos=True,
        summary="GTAL: Syed-Schapire multiplicative weights, linear reward, sampled RL",
    ),
):
    register(_spec)

#: tabular IRL algorithms, run by `jirl.tabular_run` (known dynamics, no sampling env)
TABULAR = ("maxent", "maxcausalent", "deep_maxent", "max_margin", "mwal")


def names() -> list[str]:
    return sorted([*REGISTRY, *TABULAR])


def get(name: str) -> AlgoSpec:
    if name not in REGISTRY:
        close = closest(name, names())
        hint = f" Did you mean '{close}'?" if close else ""
        raise ConfigError(f"unknown algorithm '{name}'.{hint} Known: {', '.join(names())}")
    return REGISTRY[name]
