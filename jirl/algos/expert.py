"""Experts: a PPO policy saved without pickle, usable as a demonstrator and as an oracle.

An expert directory holds
  `expert.msgpack`: flax msgpack of `{"params", "normalizer"}` (no code can run on load),
  `expert.json`: env name and options, the PPO network settings, expert and random returns,
  `demos.npz`: demonstrations in the format of `jirl.data`.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

import jax
import numpy as np
from flax import serialization

from jirl.data import MAX_MAGNITUDE, horizon_mismatch, is_number, options_mismatch
from jirl.envs.base import Env
from jirl.errors import ConfigError, DataError, short
from jirl.files import atomic_write, leaf_mismatch, strict_json, write_json
from jirl.nets import Normalizer, Policy
from jirl.rl.agent import AgentState
from jirl.rl.ppo import PPOConfig
from jirl.types import Array

EXPERT_FORMAT = 1


@dataclass(frozen=True)
class Expert:
    """A frozen policy that acts and labels states: `act(obs, key) -> action` (unbatched)."""

    policy: Policy
    params: dict
    normalizer: Normalizer
    expert_return: float
    random_return: float

    def act(self, obs: Array, key: Array) -> Array:
        """Sample the expert's action; `obs: [*obs_shape]` or batched."""
        return self.policy.sample(self.params, self.normalizer, obs, key)[0]

    def mode(self, obs: Array, key: Array | None = None) -> Array:
        """The expert's most likely action (what an oracle answers)."""
        del key
        return self.policy.mode(self.params, self.normalizer, obs)


def from_agent(
    state: AgentState, config: PPOConfig, env: Env, expert_return: float, random_return: float
) -> Expert:
    """The expert of a trained PPO agent (one seed, unbatched state)."""
    policy = Policy.of(env.spec, config)
    return Expert(
        policy,
        state.learner.params["policy"],
        state.learner.normalizer,
        expert_return,
        random_return,
    )


#: the fields `save` writes into expert.json
EXPERT_FIELDS = frozenset(
    {"format_version", "env", "env_options", "horizon", "fixed_horizon", "ppo"}
    | {"expert_return", "random_return"}
)


def save(directory: str | os.PathLike, expert: Expert, env: Env, config: PPOConfig) -> None:
    """Write `expert.msgpack` and `expert.json` atomically into `directory`."""
    directory = Path(directory)
    tree = {"params": expert.params, "normalizer": expert.normalizer}
    atomic_write(directory / "expert.msgpack", serialization.to_bytes(jax.device_get(tree)))
    meta = {
        "format_version": EXPERT_FORMAT,
        "env": env.name,
        "env_options": env.options_dict(),
        "horizon": env.horizon,
        "fixed_horizon": env.fixed_horizon,
        "ppo": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(config).items()},
        "expert_return": expert.expert_return,
        "random_return": expert.random_return,
    }
    write_json(directory / "expert.json", meta)


def network_config(ppo: dict) -> PPOConfig:
    """The policy network `expert.json`'s `ppo` section names, its JSON types checked as they
    were written (a list of ints, a string, a number, true or false), not converted."""
    hidden, activation, init_log_std = ppo["hidden"], ppo["activation"], ppo["init_log_std"]
    squash = ppo.get("squash", False)  # absent from experts saved before it
    if not (isinstance(hidden, list) and all(type(w) is int for w in hidden)):
        raise TypeError(f"ppo.hidden must be a list of integers, got {hidden!r}")
    if type(activation) is not str:
        raise TypeError(f"ppo.activation must be a string, got {activation!r}")
    if type(init_log_std) not in (int, float):
        raise TypeError(f"ppo.init_log_std must be a number, got {init_log_std!r}")
    if type(squash) is not bool:
        raise TypeError(f"ppo.squash must be true or false, got {squash!r}")
    return PPOConfig(
        hidden=tuple(hidden), activation=activation, init_log_std=init_log_std, squash=squash
    )


def load(directory: str | os.PathLike, env: Env) -> Expert:
    """Load an expert saved by `save` (or `jirl expert`) for `env`.

    Raises:
      DataError: missing or malformed files, or an expert recorded for another environment.
    """
    directory = Path(directory)
    if directory.is_file():
        raise DataError(f"{directory} is a file; pass the expert's directory, {directory.parent}")
    meta_path, params_path = directory / "expert.json", directory / "expert.msgpack"
    for p in (meta_path, params_path):
        if p.exists() and not p.is_file():
            raise DataError(f"{p}: not a regular file; restore the expert's files (jirl expert)")
        if not p.is_file():
            raise DataError(f"{p}: missing; train an expert with `jirl expert --env ENV --out DIR`")
    try:
        meta = strict_json(meta_path.read_text())
        if not isinstance(meta, dict):
            raise TypeError("not a JSON object")
        unknown = sorted(set(meta) - EXPERT_FIELDS)
        if unknown:  # (`save` writes these; anything else is another file's, or an edit)
            raise TypeError(f"unknown field {short(unknown[0])}")
        ppo = meta["ppo"]
        if not isinstance(ppo, dict):
            raise TypeError("'ppo' is not an object")
        config = network_config(ppo)
        returns = meta["expert_return"], meta["random_return"]
        if not all(is_number(r) for r in returns):  # as a demo header's: finite, within ±1e18
            raise TypeError(
                f"'expert_return' and 'random_return' must be finite numbers within "
                f"±{MAX_MAGNITUDE:.0e}, got {returns}"
            )
        expert_return, random_return = (float(r) for r in returns)
        for key, kind in (("env_options", dict), ("horizon", int), ("fixed_horizon", bool)):
            if meta.get(key) is not None and type(meta[key]) is not kind:
                raise TypeError(f"{key!r} must be a JSON {kind.__name__}, got {meta[key]!r}")
    except KeyError as e:
        raise DataError(f"{meta_path}: malformed expert header (field {e} is missing)") from None
    except (ConfigError, TypeError, ValueError, OverflowError) as e:
        # (OverflowError: a 400-digit integer no float holds; nesting: `strict_json`'s ValueError)
        raise DataError(f"{meta_path}: malformed expert header ({e})") from None
    if not expert_return > random_return:
        raise DataError(
            f"{meta_path}: 'expert_return' ({expert_return}) is not above 'random_return' "
            f"({random_return}), so no score can be normalized: train the expert again "
            "(jirl expert)"
        )
    if type(meta.get("format_version")) is not int or meta["format_version"] != EXPERT_FORMAT:
        raise DataError(f"{meta_path}: field 'format_version' must be {EXPERT_FORMAT}")
    if meta.get("env") != env.name:
        raise DataError(f"{meta_path}: expert is for '{meta.get('env')}', the env is '{env.name}'")
    mismatch = options_mismatch(meta.get("env_options"), env)
    if mismatch:
        raise DataError(f"{meta_path}: field 'env_options': {mismatch}")
    mismatch = horizon_mismatch(meta.get("horizon"), env)
    if mismatch:
        raise DataError(f"{meta_path}: field 'horizon': {mismatch}")
    policy = Policy.of(env.spec, config)
    template = {  # shapes only: a header's layer widths are not allocated before they are checked
        "params": jax.eval_shape(policy.init, jax.random.PRNGKey(0)),
        "normalizer": Normalizer.create(env.spec.obs_shape),
    }
    try:
        tree = serialization.from_bytes(template, params_path.read_bytes())
    except Exception as e:  # msgpack raises many types; none of them runs code
        raise DataError(
            f"{params_path}: cannot restore expert parameters ({e}): the file is damaged or not "
            "an expert's; train the expert again (jirl expert)"
        ) from None
    mismatch = leaf_mismatch(template, tree)
    if mismatch:
        raise DataError(
            f"{params_path} does not fit {meta_path}'s network ({mismatch}): the two files are "
            "from different experts"
        )
    normalizer = tree["normalizer"]
    finite = all(bool(np.isfinite(x).all()) for x in jax.tree.leaves(tree))
    if not finite or (np.asarray(normalizer.var) < 0).any() or float(normalizer.count) < 0:
        raise DataError(
            f"{params_path}: the expert's parameters hold NaN or inf (or a negative observation "
            "variance); train the expert again (jirl expert)"
        )
    return Expert(policy, tree["params"], tree["normalizer"], expert_return, random_return)
