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
from jirl.errors import ConfigError
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
    needs_expert: bool = False
    summary: str = ""


REGISTRY: dict[str, AlgoSpec] = {}


def register(spec: AlgoSpec) -> None:
    REGISTRY[spec.name] = spec


register(
    AlgoSpec(
        "ppo", ppo.PPOConfig, lambda c, env, i: ppo.make(c, env), summary="PPO on the true reward"
    )
)
register(
    AlgoSpec(
        "bc",
        bc.BCConfig,
        lambda c, env, i: bc.make(c, env, i.demos),
        needs_demos=True,
        summary="behavioural cloning",
    )
)

register(
    AlgoSpec(
        "dagger",
        dagger.DAggerConfig,
        lambda c, env, i: dagger.make(c, env, i.demos, i.expert),
        needs_demos=True,
        needs_expert=True,
        summary="DAgger: beta-mixed roll-outs labelled by the expert, aggregated, BC",
    )
)
register(
    AlgoSpec(
        "smile",
        smile.SMILeConfig,
        lambda c, env, i: smile.make(c, env, i.expert, i.demos),
        needs_expert=True,
        summary="SMILe: geometric mixture of policies, each cloned on fresh expert labels",
    )
)

register(
    AlgoSpec(
        "trpo",
        trpo.TRPOConfig,
        lambda c, env, i: trpo.make(c, env),
        summary="TRPO on the true reward",
    )
)
register(
    AlgoSpec(
        "gail",
        gail.GAILConfig,
        lambda c, env, i: gail.make(c, env, i.demos),
        needs_demos=True,
        summary="GAIL: discriminator reward, PPO or TRPO generator",
    )
)
register(
    AlgoSpec(
        "airl",
        airl.AIRLConfig,
        lambda c, env, i: airl.make(c, env, i.demos),
        needs_demos=True,
        summary="AIRL: shaped reward g + γh' − h, PPO or TRPO generator",
    )
)

register(
    AlgoSpec(
        "gcl",
        gcl.GCLConfig,
        lambda c, env, i: gcl.make(c, env, i.demos),
        needs_demos=True,
        summary="guided cost learning: importance-sampled MaxEnt IRL on trajectory segments",
    )
)
register(
    AlgoSpec(
        "gan_gcl",
        gan_gcl.GANGCLConfig,
        lambda c, env, i: gan_gcl.make(c, env, i.demos),
        needs_demos=True,
        summary="GAN-GCL: trajectory discriminator exp(r)/(exp(r) + Z q), learned log Z",
    )
)
register(
    AlgoSpec(
        "fem",
        apprenticeship.FEMConfig,
        lambda c, env, i: apprenticeship.make_fem(c, env, i.demos),
        needs_demos=True,
        summary="FEM: Abbeel-Ng projection, linear reward on (s, a) features, sampled RL",
    )
)
register(
    AlgoSpec(
        "gtal",
        apprenticeship.GTALConfig,
        lambda c, env, i: apprenticeship.make_gtal(c, env, i.demos),
        needs_demos=True,
        summary="GTAL: Syed-Schapire multiplicative weights, linear reward, sampled RL",
    )
)

#: tabular IRL algorithms, run by `jirl.tabular_run` (known dynamics, no sampling env)
TABULAR = ("maxent", "maxcausalent", "deep_maxent", "max_margin", "mwal")


def names() -> list[str]:
    return sorted([*REGISTRY, *TABULAR])


def get(name: str) -> AlgoSpec:
    if name not in REGISTRY:
        import difflib

        close = difflib.get_close_matches(str(name), names(), n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise ConfigError(f"unknown algorithm '{name}'.{hint} Known: {', '.join(names())}")
    return REGISTRY[name]
