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
    assert data.get("algo", algo) == algo and data.get("env", env) == env, "name the file ALGO-ENV"
    envs.check_name(env)
    if algo in algos.TABULAR:
        resolve_options(algo, env, {k: v for k, v in data.items() if k not in ("algo", "env")})
        return
    cfg = experiment_config(data, algos.get(algo).config_cls)
    assert cfg.env == env
    assert cfg.backend is None or cfg.backend in envs.BACKENDS
