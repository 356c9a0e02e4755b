"""The algorithm registry: name -> how to build it from a config, an env and its inputs.

Each algorithm module exposes a frozen `Config` and `make(config, env, ...) -> Algorithm`; the
registry says which inputs (demonstrations, an expert oracle) it needs, so the host driver and
the CLI stay generic.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jirl.algos import adversarial, airl, apprenticeship, bc, dagger, gail, gan_gcl, gcl, smile
from jirl.envs.base import Env
from jirl.errors import ConfigError, closest, short
from jirl.files import leaf_mismatch
from jirl.rewards import REWARD_MAPS
from jirl.rl import ppo, trpo
from jirl.rl.agent import RewardFn
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


#: reward kinds each reward-learning run offers: AIRL's g and f, GAIL's discriminator reward,
#: GCL's and GAN-GCL's per-step reward r_θ (the cost's negative, without the −λ log π the policy
#: was trained with). The first is the default.
KINDS = {"airl": ("g", "f"), "gail": ("disc",), "gcl": ("reward",), "gan_gcl": ("reward",)}
#: the reward-learning learner each config class builds (`learned_reward`)
REWARD_LEARNERS = {
    gail.GAILConfig: "gail",
    airl.AIRLConfig: "airl",
    gcl.GCLConfig: "gcl",
    gan_gcl.GANGCLConfig: "gan_gcl",
}


def reward_fn(algo_name: str, config, env: Env, params, normalizer, kind: str, gamma: float):
    """`reward(transitions) -> rewards` of a learned reward model with frozen parameters (with
    the absorbing state's value on terminal steps where the run used absorbing states,
    discounted by `gamma`; AIRL's shaping γh(s') keeps the run's). `algo_name` and `kind` as
    `KINDS` pairs them (ConfigError otherwise: "q" was AIRL's f). `learned_reward` takes a
    state instead of its parameters."""
    if algo_name not in KINDS or kind not in KINDS[algo_name]:
        offered = "; ".join(f"{a}: {', '.join(k)}" for a, k in KINDS.items())
        raise ConfigError(
            f"no reward {kind!r} of a run of {algo_name!r}: the runs and kinds are {offered}"
        )
    if algo_name == "airl":
        model = airl.shaped_reward(config, env)
        fn = model.g if kind == "g" else model.f
        reward_of = lambda t: fn(params, normalizer, t)
    elif algo_name in ("gcl", "gan_gcl"):
        model = gcl.trajectory_reward(config, env)
        reward_of = lambda t: model.transfer_reward(params, normalizer, t)
    else:
        model = gail.discriminator(config, env)
        reward_map = REWARD_MAPS[config.reward_map]
        reward_of = lambda t: reward_map(model.logits(params, normalizer, t))
    _check_reward_state(algo_name, config, env, model, params, normalizer)
    obs_shape = tuple(env.spec.obs_shape)

    def reward(t):
        for name in ("obs", "next_obs"):  # (another env's: a broadcasting error inside)
            shape = tuple(np.shape(getattr(t, name)))
            if shape[len(shape) - len(obs_shape) :] != obs_shape:
                raise ConfigError(
                    f"transitions' {name} are {shape}, not [..., *{obs_shape}] of "
                    f"{env.name}'s observations"
                )
        return adversarial.relabel(config, env.spec, reward_of, t, gamma)

    return reward


def _check_reward_state(algo_name: str, config, env: Env, model, params, normalizer) -> None:
    """ConfigError unless `params` and `normalizer` are what the reward model of `config` on
    `env` holds (another config's `disc_hidden`, another learner's state, or a state of
    another env failed inside flax, or only once the reward was called)."""
    want = jax.eval_shape(model.init, jax.random.PRNGKey(0))
    if jax.tree.structure(want) != jax.tree.structure(params):
        problem = "its reward network's tree is not the one this config builds"
    else:
        problem = leaf_mismatch(want, params)
    obs = jnp.zeros(env.spec.obs_shape, jnp.float32)
    if getattr(config, "absorbing", False):
        obs = adversarial.with_flag(env.spec, obs)
    if problem is None and tuple(np.shape(normalizer.mean)) != obs.shape:
        problem = f"observation statistics {tuple(np.shape(normalizer.mean))} where {obs.shape}"
    if problem is not None:
        raise ConfigError(
            f"the state is not one of a {algo_name} learner made with this config on "
            f"{env.name} ({problem}): pass the config and env the run was made with"
        )


def learned_reward(
    config, env: Env, state: adversarial.AdversarialState, kind: str | None = None, *, gamma=None
) -> RewardFn:
    """The reward a GAIL, AIRL, GCL or GAN-GCL learner has learned, frozen at `state`:
    `reward(transitions [...]) -> rewards [...]` (any leading shape; a `Transition` of the
    env's spaces), what `jirl retrain` trains a fresh agent on.

    Args:
      config: the learner's config (`AIRLConfig`, ...): it names the learner and its model.
      env: the env the learner was made with.
      state: one run's state (`AdversarialState`) of the learner `config` made; from
        `jirl.run`'s `[seeds, ...]` result
        take one, `jax.tree.map(lambda x: x[i], result.state)`, or vmap this over them.
      kind: which reward (`KINDS`): AIRL's "g" (the default, the disentangled reward) or "f"
        (g + γh(s') − h(s)); GAIL's "disc" (its reward map of the logit); GCL's and GAN-GCL's
        "reward".
      gamma: the discount of the absorbing state's value, where the learner used absorbing
        states (default: the learner's own).

    Raises:
      ConfigError: a config of another learner, a kind the learner does not offer, or a
        state that is not one run of it.
    """
    algo_name = REWARD_LEARNERS.get(type(config))
    if algo_name is None:
        raise ConfigError(
            "learned_reward takes the config of a GAIL, AIRL, GCL or GAN-GCL learner, got "
            f"{type(config).__name__}"
        )
    if not isinstance(state, adversarial.AdversarialState):
        raise ConfigError(
            f"learned_reward takes the {algo_name} learner's state (AdversarialState), got "
            f"{type(state).__name__}"
        )
    if getattr(state.step, "ndim", 0) != 0:
        raise ConfigError(
            f"state holds {short(state.step.shape)} runs, not one: take one, "
            "jax.tree.map(lambda x: x[i], state), or vmap learned_reward over them"
        )
    kind = KINDS[algo_name][0] if kind is None else kind
    gamma = config.gamma if gamma is None else gamma
    return reward_fn(algo_name, config, env, state.disc_params, state.disc_normalizer, kind, gamma)
