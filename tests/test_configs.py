"""Every config shipped in configs/ is valid: a typo there would fail only when a user runs it."""

from pathlib import Path

import pytest

from jirl import algos, envs
from jirl.config import experiment_config, read_yaml
from jirl.tabular_run import resolve_options

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.yaml"))


def test_configs_are_shipped():
    assert len(CONFIGS) >= 10


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_shipped_config_is_valid(path):
    data = read_yaml(str(path))
    algo, env = path.stem.split("-", 1)  # tabular configs leave both to the command line
    algo = "ppo" if algo == "expert" else algo  # jirl expert's configs: expert-ENV, PPO
    assert data.get("algo", algo) == algo and data.get("env", env) == env, "name the file ALGO-ENV"
    envs.check_name(env)
    if algo in algos.TABULAR:
        resolve_options(algo, env, {k: v for k, v in data.items() if k not in ("algo", "env")})
        return
    cfg = experiment_config(data, algos.get(algo).config_cls)
    assert cfg.env == env
    assert cfg.backend is None or cfg.backend in envs.BACKENDS


def test_jirl_expert_and_the_benchmarks_read_the_shipped_expert_configs():
    """`expert_config(env)` is what `jirl expert --env ENV` runs: the shipped
    `configs/expert-ENV.yaml` over the defaults, then the caller's changes, rate annealed."""
    from jirl.expert_run import EXPERT_DEFAULTS, expert_config, shipped_config

    assert shipped_config("cartpole") is None
    plain = expert_config("cartpole")
    assert (plain.seeds, plain.updates) == (EXPERT_DEFAULTS["seeds"], EXPERT_DEFAULTS["updates"])
    assert plain.algo_config.anneal_updates == plain.updates
    hopper = expert_config("hopper", backend="spring")
    assert hopper.backend == "spring" and hopper.seeds == 2
    assert hopper.algo_config.num_envs == 64 and hopper.algo_config.anneal_updates == 1500
    assert expert_config("acrobot").algo_config.anneal_updates == 0  # kept, not defaulted


@pytest.mark.parametrize(
    "path", [p for p in CONFIGS if p.stem.split("-")[0] in ("gail", "airl")], ids=lambda p: p.stem
)
def test_learner_configs_take_the_shipped_experts_demonstrations(path):
    """`jirl expert --env ENV` records its demonstrations on the backend of
    `configs/expert-ENV.yaml`; a GAIL or AIRL config on another backend would refuse them
    (`jirl.data.check_matches_env`), so the two commands in each config's header must agree."""
    from jirl.expert_run import expert_config

    data = read_yaml(str(path))
    algo, env = path.stem.split("-", 1)
    cfg = experiment_config(data, algos.get(algo).config_cls)
    assert cfg.backend == expert_config(env).backend, "use the expert config's backend"
