"""The benchmarks' user-facing edges: flags validated at the boundary, imitation's reference run
failing into a note rather than a crash, and the Brax rows running what the shipped configs
ship."""

import dataclasses
import importlib.util
import os
import shutil
import sys
import types
from pathlib import Path

import jax
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import adversarial  # noqa: E402
import brax_physics  # noqa: E402
import imitation_gail  # noqa: E402
import imitation_rows  # noqa: E402

from jirl import algos, data, envs  # noqa: E402
from jirl.config import experiment_config, read_yaml  # noqa: E402
from jirl.errors import ConfigError  # noqa: E402

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def test_imitation_python_must_be_an_executable(capsys):
    with pytest.raises(SystemExit) as exit_info:
        adversarial.main(["--envs", "--imitation-python", "/no/such/python"])
    assert exit_info.value.code == 2
    assert "not an executable Python" in capsys.readouterr().err
    # one that runs but has no imitation (`/bin/true`) failed at the run's end, writing nothing
    with pytest.raises(SystemExit) as exit_info:
        adversarial.main(["--envs", "--imitation-python", "true"])
    assert exit_info.value.code == 2
    assert "--imitation-python true: cannot import imitation" in capsys.readouterr().err
    assert adversarial.imitation_reference("true", Path("demos.npz")) == {
        "error": "true exited 0 without a result (FileNotFoundError)"
    }


def test_adversarial_refuses_to_run_nothing(tmp_path, capsys):
    """`--envs` naming nothing ran nothing and wrote an empty results file over the last."""
    out = tmp_path / "adversarial.json"
    out.write_text("{}")
    with pytest.raises(SystemExit) as exit_info:
        adversarial.main(["--envs", "--out", str(out)])
    assert exit_info.value.code == 2
    assert "nothing to run" in capsys.readouterr().err
    assert out.read_text() == "{}"


def test_an_out_in_a_directory_that_takes_no_file_is_refused_before_running(monkeypatch, capsys):
    """`os.access` says yes to root everywhere: /proc took the whole run, then a traceback.
    (`os.access` is made to say yes here for any user, so that the probe is what refuses.)"""
    monkeypatch.setattr(os, "access", lambda *args, **kwargs: True)
    with pytest.raises(SystemExit) as exit_info:
        brax_physics.main(["--out", "/proc/results.json"])
    assert exit_info.value.code == 2
    assert "takes no new file" in capsys.readouterr().err


def test_adversarial_refuses_zero_replay_rounds(capsys):
    with pytest.raises(SystemExit) as exit_info:
        adversarial.main(["--envs", "--replay-rounds", "0"])
    assert exit_info.value.code == 2
    assert "--replay-rounds must be >= 1, got 0" in capsys.readouterr().err


def test_brax_physics_refuses_no_episodes(capsys):
    with pytest.raises(SystemExit) as exit_info:
        brax_physics.main(["--episodes", "0"])
    assert exit_info.value.code == 2
    assert "--episodes must be at least 1" in capsys.readouterr().err


def test_brax_physics_table_has_a_line_per_env_and_backend():
    rows = [
        {
            "env": env,
            "backend": b,
            "policy": p,
            "ended_early": e,
            "mean_length": 1000 * (1 - e),
            "env_steps_per_s": 1234.5,
        }
        for env, b, e in (("ant", "spring", 0.0), ("ant", "generalized", 1.0))
        for p in brax_physics.POLICIES
    ]
    lines = brax_physics.markdown(rows).splitlines()
    assert len(lines) == 2 + 2
    assert lines[2] == "| ant | spring | 0%, 1000 | 0%, 1000 | 0%, 1000 | 1,234 |"
    assert lines[3].startswith("| ant | generalized | 100%, 0 |")


def test_imitation_gail_refuses_missing_demos(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        imitation_gail.main(["--demos", str(tmp_path / "none.npz")])
    assert exit_info.value.code == 2
    assert "no such file" in capsys.readouterr().err


def test_imitation_gail_refuses_zero_rounds(tmp_path, capsys):
    (tmp_path / "demos.npz").touch()
    with pytest.raises(SystemExit) as exit_info:
        imitation_gail.main(["--demos", str(tmp_path / "demos.npz"), "--rounds", "0"])
    assert exit_info.value.code == 2
    assert "--rounds must be >= 1" in capsys.readouterr().err


def test_failed_reference_run_is_reported_not_raised(tmp_path):
    result = adversarial.imitation_reference(sys.executable, tmp_path / "demos.npz")  # missing
    assert result["error"].startswith("exit 2: ")
    assert "no such file" in result["error"]


def test_throughput_times_the_updates_not_init():
    """`init` (a BC warm start's 2000 steps on walker2d) ran inside each timed run, charged to
    10 updates: walker2d's GAIL (TRPO) and AIRL throughput were understated."""
    from jirl.types import Algorithm

    inits, updates = [], []

    def init(key):
        jax.debug.callback(lambda: inits.append(1))
        return {"x": jax.random.uniform(key)}

    def update(state):
        jax.debug.callback(lambda: updates.append(1))
        return {"x": state["x"] + 1.0}, {}

    algo = Algorithm(init, update, lambda s, o, k: 0, "counted", 8)
    adversarial.train_seconds(algo, 2, jax.devices()[:1], updates=3)
    assert (len(inits), len(updates)) == (1, 3 * 3)  # (once per vmapped call) 3 runs of 3


def test_throughput_as_multiples_of_the_reference():
    row = {"env_steps_per_second": 7400.0, "env_steps_per_second_all_devices": 18500.0}
    assert adversarial.times_reference(row, 3700.0) == {
        "times_imitation": 2.0,
        "times_imitation_all_devices": 5.0,
    }
    assert adversarial.times_reference({"env_steps_per_second": 370.0}, 3700.0) == {
        "times_imitation": 0.1
    }


@pytest.mark.skipif(importlib.util.find_spec("imitation") is None, reason="imitation not installed")
def test_demos_convert_to_imitation_trajectories(tmp_path):
    import numpy as np

    lengths = np.array([3, 2], np.int32)
    obs = np.arange(20, dtype=np.float32).reshape(5, 4)
    np.savez(
        tmp_path / "demos.npz",
        obs=obs,
        next_obs=obs + 100,
        actions=np.array([0, 1, 0, 1, 1], np.int32),
        episode_lengths=lengths,
    )
    first, second = imitation_gail.load_trajectories(tmp_path / "demos.npz")
    np.testing.assert_array_equal(first.obs, np.concatenate([obs[:3], obs[2:3] + 100]))
    np.testing.assert_array_equal(second.acts, [1, 1])
    assert second.obs.shape == (3, 4)


@pytest.mark.parametrize("env_name", adversarial.GOAL_TERMINATED + adversarial.BRAX)
@pytest.mark.parametrize("algo, row", [("gail", "gail_ppo"), ("airl", "airl")])
def test_benchmark_rows_run_the_shipped_configs(env_name, algo, row):
    """`configs/{gail,airl}-ENV.yaml` on acrobot, mountaincar and the Brax four and the
    benchmark's rows are one setting: a value tuned in one and not the other would publish a
    figure no user can rerun. The shipped update count is one of the benchmark's modes (quick or
    `--full`), and at that count the two configurations are equal field by field (the annealing
    horizon follows the update count). (Cartpole's configs are the test suite's and the
    quickstart's, trained longer than the benchmark's quick rows.)"""
    shipped = experiment_config(
        read_yaml(str(CONFIGS / f"{algo}-{env_name}.yaml")), algos.get(algo).config_cls
    )
    modes = adversarial.ENV_UPDATES.get((env_name, row), adversarial.UPDATES[row])
    assert shipped.updates in modes
    benchmark = adversarial.LEARNERS[row][1](types.SimpleNamespace(name=env_name), shipped.updates)
    assert shipped.backend == adversarial.BRAX_BACKEND.get(env_name)
    assert dataclasses.asdict(shipped.algo_config) == dataclasses.asdict(benchmark)


@pytest.mark.parametrize("env_name, squash", [("pendulum", True), ("cartpole", False)])
def test_squash_flag_reaches_the_continuous_generators_only(monkeypatch, env_name, squash):
    """`--squash` gives GAIL's and AIRL's generators `squash: true` where actions are
    continuous; a discrete env, which would refuse it, keeps its categorical policy."""
    monkeypatch.setitem(adversarial.SQUASH, "on", True)
    env = envs.make(env_name)
    for row in ("gail_trpo", "gail_ppo", "airl"):
        assert adversarial.LEARNERS[row][1](env, 10).squash is squash, row
    monkeypatch.setitem(adversarial.SQUASH, "on", False)
    assert not adversarial.LEARNERS["gail_ppo"][1](env, 10).squash


def test_scaling_rows_run():
    """`benchmarks/scaling.py`'s seed and sweep rows and its padded-seeds figure run, tiny
    (the sweep row had broken unnoticed when `jirl.sweep.init_sweep` moved to the host)."""
    import jax
    import scaling

    rows = scaling.seeds_and_sweep(updates=1, seed_counts=(2,))
    assert [r["runs"] for r in rows] == [2, 32]
    assert all(r["wall_seconds"] > 0 for r in rows)
    padded = scaling.padded_seeds(updates=1, seeds=3)
    if len(jax.devices()) == 1:
        assert padded is None
    else:  # e.g. over 2 devices 3 seeds run as 2 + 2
        devices, axis = padded["all_devices_devices"], padded["all_devices_padded"]
        assert axis % devices == 0 and 3 <= axis < 3 + devices
        assert padded["one_device_padded"] == 3


def test_a_cached_expert_with_too_few_demos_records_the_rest(cartpole_expert, tmp_path):
    """`--full` asks for more demos than the cache's experts recorded: the first episodes, which
    the smaller demo counts use, are kept, and the header's returns too."""
    env = envs.make("cartpole")
    cache = tmp_path / "cartpole"
    shutil.copytree(cartpole_expert, cache)
    recorded = data.load(cache / "demos.npz", env=env)
    first = data.take_episodes(recorded.trajectories, 2)
    data.save(cache / "demos.npz", first, env, expert_return=recorded.header.expert_return,
              random_return=recorded.header.random_return)  # fmt: skip
    assert imitation_rows.ensure_expert("cartpole", cache, episodes=5) == cache
    topped = data.load(cache / "demos.npz", env=env)
    assert topped.trajectories.num_episodes == 5
    kept = data.take_episodes(topped.trajectories, 2)
    for field in data.FIELDS:
        np.testing.assert_array_equal(getattr(kept, field), getattr(first, field))
    assert topped.header.expert_return == recorded.header.expert_return
    assert topped.header.random_return == recorded.header.random_return
    imitation_rows.record_more_demos(env, cache, 3)  # enough already: nothing changes
    assert data.load(cache / "demos.npz", env=env).trajectories.num_episodes == 5


# main() asks for a CPU device per core, which JAX, started by earlier tests here, cannot give
@pytest.mark.filterwarnings("ignore:JAX has already computed")
def test_imitation_rows_measures_a_brax_expert_on_the_backend_it_trains_on(monkeypatch, tmp_path):
    """`--envs hopper` trained its expert on configs/expert-hopper.yaml's positional physics,
    then made the default (generalized) env to measure it in: a mismatch error after minutes of
    training. The expert and the env now take the same backend."""
    import imitation_rows

    class Stop(Exception):
        pass

    seen = {}

    def ensure_expert(env_name, directory, episodes=10, backend=None):
        seen["trained"] = backend
        return directory

    def load_inputs(env_name, directory, **options):
        seen["measured"] = options.get("backend")
        raise Stop

    monkeypatch.setattr(imitation_rows, "ensure_expert", ensure_expert)
    monkeypatch.setattr(imitation_rows, "load_inputs", load_inputs)
    with pytest.raises(Stop):
        imitation_rows.main(
            ["--envs", "hopper", "--experts", str(tmp_path), "--out", str(tmp_path / "o.json")]
        )
    assert seen == {"trained": "positional", "measured": "positional"}


def test_tabular_benchmark_keeps_finished_sections_when_a_later_one_crashes(monkeypatch, tmp_path):
    """The results JSON is rewritten after every section, atomically, beside the results file
    (`tabular.partial.json`): a run cut short keeps the sections it finished, marked partial,
    and the results file it was to replace (a committed one was overwritten by a run's first
    rows, or by nothing); a finished run replaces it and removes the partial file."""
    import json

    import tabular

    def crash(full):
        raise RuntimeError("killed")

    monkeypatch.setattr(tabular, "print_section", lambda result, name: None)
    monkeypatch.setattr(tabular, "SECTIONS", {"dense": lambda full: [{"S": 4}], "batch": crash})
    out = tmp_path / "tabular.json"
    out.write_text('{"stale": true}')
    with pytest.raises(RuntimeError, match="killed"):
        tabular.main(["--out", str(out), "--sections", "dense", "batch"])
    written = json.loads((tmp_path / "tabular.partial.json").read_text())
    assert written["partial"] is True and written["dense"] == [{"S": 4}]
    assert "stale" not in written and "batch" not in written
    assert json.loads(out.read_text()) == {"stale": True}
    # finishing the cut run with `--sections batch` keeps the section it had finished
    monkeypatch.setattr(tabular, "SECTIONS", {"dense": crash, "batch": lambda full: [2]})
    tabular.main(["--out", str(out), "--sections", "batch"])
    finished = json.loads(out.read_text())
    assert finished["dense"] == [{"S": 4}] and finished["batch"] == [2]
    assert set(finished["measured"]) == {"dense", "batch"} and finished["partial"] is False
    assert not (tmp_path / "tabular.partial.json").exists()


def test_tabular_quality_table_prints_from_its_json(capsys):
    """The quality section's demo counts were int keys when measured and string keys once
    read back, so a rerun of another section that kept it died at its table (KeyError: 8)."""
    import json

    import tabular

    committed = Path(tabular.__file__).parent / "results" / "tabular.json"
    tabular.print_quality(json.loads(committed.read_text()))
    assert "| maxent |" in capsys.readouterr().out


def test_tabular_benchmark_reruns_sections_keeping_the_others(monkeypatch, tmp_path):
    """`--sections batch` wrote only the batch section, so the README's one results file was
    pasted together by hand from two runs: the other sections of an earlier file of the same
    settings are kept, each with the provenance of the run that measured it."""
    import json

    import tabular

    monkeypatch.setattr(tabular, "print_section", lambda result, name: None)
    monkeypatch.setattr(tabular, "SECTIONS", {"dense": lambda f: [1], "batch": lambda f: [2]})
    out = tmp_path / "tabular.json"
    tabular.main(["--out", str(out)])
    first = json.loads(out.read_text())
    assert first["dense"] == [1] and first["batch"] == [2] and not first["partial"]
    assert set(first["measured"]) == {"dense", "batch"}
    assert first["measured"]["dense"]["versions"]["jax"] == jax.__version__
    monkeypatch.setattr(tabular, "SECTIONS", {"dense": lambda f: [1], "batch": lambda f: [3]})
    tabular.main(["--out", str(out), "--sections", "batch"])
    second = json.loads(out.read_text())
    assert second["dense"] == [1] and second["batch"] == [3]
    assert second["measured"]["dense"] == first["measured"]["dense"]
    assert second["measured"]["batch"]["command"].endswith("--sections batch")
    # a file of other settings (another mode) is replaced, never mixed in
    out.write_text(json.dumps({**first, "full": True}))
    tabular.main(["--out", str(out), "--sections", "batch"])
    third = json.loads(out.read_text())
    assert "dense" not in third and third["batch"] == [3] and set(third["measured"]) == {"batch"}


def test_an_expert_cache_never_replaces_what_is_not_an_expert(tmp_path):
    """`--experts DIR` pointed at runs: a GAIL run in DIR/cartpole was replaced by an expert."""
    import imitation_rows

    run = tmp_path / "cartpole"
    run.mkdir()
    (run / "metrics.jsonl").write_text("{}\n")
    with pytest.raises(ConfigError, match="holds metrics.jsonl, not a jirl expert"):
        imitation_rows.ensure_expert("cartpole", run)
    assert [p.name for p in run.iterdir()] == ["metrics.jsonl"]


def test_every_benchmark_refuses_an_out_it_could_not_write_before_running(tmp_path, capsys):
    """`--out DIR` (or an unwritable place) failed at the end, after the rows had run."""
    import brax_physics
    import imitation_rows
    import ppo as ppo_bench
    import scaling
    import tabular

    demos = tmp_path / "demos.npz"
    demos.write_bytes(b"")
    scripts = (adversarial, brax_physics, imitation_rows, ppo_bench, scaling, tabular)
    for script, extra in [*((s, []) for s in scripts), (imitation_gail, ["--demos", str(demos)])]:
        with pytest.raises(SystemExit) as exit_info:
            script.main(["--out", str(tmp_path), *extra])
        assert exit_info.value.code == 2
        err = capsys.readouterr().err
        assert f"{tmp_path} is a directory; pass the JSON file" in err
        assert err.count("\n") == 1, err


def test_every_benchmark_reports_a_user_error_on_one_line(tmp_path, capsys):
    """A bad flag printed argparse's usage block above the error (11 lines for
    `adversarial.py --seeds -1`), and an expert cache that is a file, found when the first row
    began, a ConfigError traceback with exit 1."""
    import ppo as ppo_bench
    import scaling
    import tabular

    a_file = tmp_path / "README.md"
    a_file.write_text("not a cache")
    cases = [
        (adversarial, ["--seeds", "-1"], "--seeds must be >= 1, got -1"),
        (adversarial, ["--seeds", "٢"], "invalid int value: '٢'"),  # (int("٢") is 2)
        (ppo_bench, ["--repeats", "٣"], "invalid int value: '٣'"),
        (adversarial, ["--envs", "cartpole", "--experts", str(a_file)], "is a file; pass the"),
        (imitation_rows, ["--experts", str(a_file)], "is a file; pass the directory"),
        (imitation_rows, ["--no-such-flag"], "unrecognized arguments: --no-such-flag"),
        (brax_physics, ["--episodes", "0"], "--episodes must be at least 1"),
        (ppo_bench, ["--repeats", "0"], "--repeats"),
        (scaling, ["--cpu-devices", "-5"], "--cpu-devices"),
        (tabular, ["--sections", "nope"], "invalid choice: 'nope'"),
        (imitation_gail, ["--rounds", "1"], "the following arguments are required: --demos"),
    ]
    for script, argv, message in cases:
        with pytest.raises(SystemExit) as exit_info:
            script.main(argv)
        err = capsys.readouterr().err
        assert exit_info.value.code == 2 and message in err, (script.__name__, err)
        assert err.count("\n") == 1 and "Traceback" not in err, err


def test_imitation_gail_writes_its_json_atomically(tmp_path, monkeypatch):
    out = tmp_path / "imitation_gail.json"
    imitation_gail.write_atomically(out, '{"old": 1}')

    def crash(fd):
        raise OSError("disk full")

    monkeypatch.setattr(imitation_gail.os, "fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        imitation_gail.write_atomically(out, '{"new": 2}')
    assert out.read_text() == '{"old": 1}'  # the old result, whole
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no temporary file left
    monkeypatch.undo()
    assert (out.stat().st_mode & 0o777) == 0o666 & ~_umask()  # not mkstemp's 0o600
    with pytest.raises(IsADirectoryError):  # the rename fails: its temporary goes too
        imitation_gail.write_atomically(tmp_path, "{}")
    assert not list(tmp_path.parent.glob(f".{tmp_path.name}.*"))  # (beside the target)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@pytest.mark.parametrize(
    "script", ["adversarial", "brax_physics", "imitation_rows", "ppo", "scaling", "tabular"]
)
def test_every_benchmark_names_a_jax_variable_it_cannot_read_on_one_line(script):
    """`JAX_ENABLE_X64=abc` ended every script in JAX's traceback at `import jax`."""
    import subprocess

    path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{script}.py"
    env = {**os.environ, "JAX_ENABLE_X64": "abc"}
    done = subprocess.run(
        [sys.executable, str(path), "--help"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 2, done.stderr[-1000:]
    assert done.stderr.startswith(f"{script}.py: error: JAX cannot read its environment")
    assert "JAX_ENABLE_X64" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_ppo_benchmark_runs_small_from_its_command_line(tmp_path, capsys):
    """The whole script, flags to JSON, at its smallest (`--seeds 1 --updates 1`): cartpole's
    two configs (the rows over all devices need a seed count they divide)."""
    import json

    import ppo

    out = tmp_path / "ppo.json"
    small = ["--seeds", "1", "--updates", "1", "--repeats", "1", "--cpu-devices", "0"]
    ppo.main([*small, "--out", str(out)])
    written = json.loads(out.read_text())
    assert written["partial"] is False and not (tmp_path / "ppo.partial.json").exists()
    rows = written["rows"]
    assert {r["config"] for r in rows} == {"default 16x64", "wide 64x64"}
    assert all(r["seeds"] == 1 and r["wall_ratio_vs_1_seed"] == 1.0 for r in rows)
    assert sorted(r["env_steps"] for r in rows) == [16 * 64, 64 * 64]  # envs × steps × 1
    assert "| cartpole |" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:
        ppo.main(["--seeds", "0"])
    assert exit_info.value.code == 2
