"""Shared fixtures: the committed cartpole and acrobot experts, `score_seeds` (the learning
tests' "train N seeds vmapped, evaluate each, normalize"), and one XLA compilation cache for the
whole run."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

_CACHE = "JAX_COMPILATION_CACHE_DIR"


#: XLA flags of the test run: LLVM's optimisation level 1 without its expensive passes. Most of
#: the suite's time on a 2-core CPU is XLA compiling; these compile about 40% faster and run
#: the small programs of the tests a little slower (the suite: 1,236 s -> 911 s, 2026-12-07).
#: Results move by float32 rounding (the code LLVM emits changes, as on another CPU), which
#: every test is written to tolerate; nothing outside the tests uses them.
FAST_COMPILE = "--xla_backend_optimization_level=1 --xla_llvm_disable_expensive_passes=true"


def pytest_configure(config):
    """One persistent compilation cache (a fresh temporary directory) shared by every xdist
    worker and every `jirl` subprocess of this run: many tests compile the same program
    (cartpole's PPO update, its evaluation, a resumed run's chunk). A cache hit loads the very
    executable a compile would make, so results are unchanged. And `FAST_COMPILE`, unless the
    user's `XLA_FLAGS` set an optimisation level. Set in the controller before the workers start
    (they inherit the environment) and before JAX is imported; a `JAX_COMPILATION_CACHE_DIR` the
    user set is left alone. `JIRL_TEST_COMPILE_TIMES=1` adds the `compile_times` plugin (where the
    suite's time goes), in the workers as in the controller."""
    if not hasattr(config, "workerinput"):
        flags = os.environ.get("XLA_FLAGS", "")
        if "optimization_level" not in flags:
            os.environ["XLA_FLAGS"] = f"{flags} {FAST_COMPILE}".strip()
        if _CACHE not in os.environ:
            config._jirl_cache = tempfile.mkdtemp(prefix="jirl-tests-xla-")
            os.environ[_CACHE] = config._jirl_cache
            os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0.2"
    if os.environ.get("JIRL_TEST_COMPILE_TIMES") == "1":  # imports JAX: after the settings
        import compile_times  # tests/, which pytest puts on sys.path (no __init__.py)

        config.pluginmanager.register(compile_times, "jirl_compile_times")


def subprocess_env(xla_flags: str = "", **variables: str) -> dict[str, str]:
    """The environment of a test's fresh `python` process on the CPU that sets its own device
    count: this one's, less its device settings, plus `xla_flags` and `variables` (the compile
    flags and cache of `pytest_configure` kept)."""
    env = {k: v for k, v in os.environ.items() if k != "JAX_NUM_CPU_DEVICES"}
    flags = env.get("XLA_FLAGS", "").split()
    kept = [f for f in flags if not f.startswith("--xla_force_host_platform_device_count")]
    env["XLA_FLAGS"] = " ".join([*kept, *xla_flags.split()])
    env.update(JAX_PLATFORMS="cpu", **variables)
    return env


def pytest_collection_modifyitems(items):
    """The `slow` tests (those that train an agent, a minute each on 2 cores) first: xdist hands
    tests out in this order, so the longest start early instead of leaving a worker idle at the
    end of the run while the other finishes one."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def pytest_unconfigure(config):
    cache = getattr(config, "_jirl_cache", None)
    if cache is not None:
        shutil.rmtree(cache, ignore_errors=True)


#: A cartpole expert as `train_expert` makes one (expert.msgpack, expert.json,
#: demos.npz with 10 episodes of return 500), committed so that every learning test sees the
#: same demonstrations. Trained afresh, the expert differs from one CPU to the next (float32
#: rounding moves PPO's trajectory), and learners' scores move with it: GAIL (TRPO) as
#: `test_adversarial` runs it, 16 seeds, 0.81 from this expert, 0.60 from one (trained with
#: seed 1) whose cart hovers near the end of the track.
CARTPOLE_EXPERT = Path(__file__).parent / "data" / "cartpole"


def train_expert(out: Path, **raw) -> dict:
    """An expert as `jirl expert` trains one, from its defaults (4 PPO seeds of 480 annealed
    updates, the best kept) updated by `raw`, with 10 demonstration episodes, in one process on
    one CPU device. `CARTPOLE_EXPERT` is `train_expert(CARTPOLE_EXPERT, env="cartpole")`
    (`python -c "from tests.conftest import *; train_expert(CARTPOLE_EXPERT, env='cartpole')"`
    remakes it; on another machine, a different expert)."""
    from jirl.config import experiment_config
    from jirl.expert_run import EXPERT_DEFAULTS, with_annealing
    from jirl.expert_run import train_expert as train
    from jirl.rl.ppo import PPOConfig

    cfg = experiment_config(with_annealing({**EXPERT_DEFAULTS, **raw}), PPOConfig)
    return train(cfg, out, episodes=10, overwrite=True)


@pytest.fixture(scope="session")
def cartpole_expert(tmp_path_factory):
    """A copy of `CARTPOLE_EXPERT` (expert.msgpack, expert.json, demos.npz) that tests may
    write beside."""
    out = tmp_path_factory.mktemp("expert") / "cartpole"
    shutil.copytree(CARTPOLE_EXPERT, out)
    return out


#: An acrobot expert (a task whose episodes end at the goal, for absorbing states), committed
#: for the same reasons: `train_expert(ACROBOT_EXPERT, env="acrobot", seeds=2, updates=240)`,
#: return −132.9 against a random policy's −499.5. Trained in each xdist worker, as it was, it
#: cost ~70 s per worker.
ACROBOT_EXPERT = Path(__file__).parent / "data" / "acrobot"


@pytest.fixture(scope="session")
def acrobot_expert():
    """Path of the committed acrobot expert directory (read only)."""
    return ACROBOT_EXPERT


#: A pendulum expert (continuous actions), committed likewise: `jirl expert --env pendulum
#: --episodes 10` (configs/expert-pendulum.yaml, 2 seeds of 600 updates, 69 s), return −126.2
#: against a random policy's −1278.4.
PENDULUM_EXPERT = Path(__file__).parent / "data" / "pendulum"


@pytest.fixture(scope="session")
def pendulum_expert():
    """Path of the committed pendulum expert directory (read only)."""
    return PENDULUM_EXPERT


def trained_scores(algo, updates: int, header, seeds: int = 3, env: str = "cartpole"):
    """`(states, metrics, scores)`: `seeds` seeds of `algo` (keys split from PRNGKey(0)), each
    trained `updates` updates, vmapped in one compile, then scored over 16 episodes of `env`
    (`jirl.evaluation.mean_returns`) and normalized by `header`'s expert and random returns
    (`scores [seeds]`, NumPy). `metrics` has a leading seed axis, then the update axis."""
    import jax
    import numpy as np

    from jirl import envs
    from jirl.evaluation import mean_returns, normalized_score

    keys = jax.random.split(jax.random.PRNGKey(0), seeds)
    states = jax.jit(jax.vmap(algo.init))(keys)
    run = lambda s: jax.lax.scan(lambda c, _: algo.update(c), s, None, length=updates)
    states, metrics = jax.jit(jax.vmap(run))(states)
    returns = mean_returns(algo, envs.make(env), 16)(
        states, jax.random.split(jax.random.PRNGKey(1), seeds)
    )
    scores = normalized_score(np.asarray(returns), header.expert_return, header.random_return)
    return states, metrics, scores


@pytest.fixture(scope="session")
def score_seeds():
    """`trained_scores`, for the learning tests."""
    return trained_scores
