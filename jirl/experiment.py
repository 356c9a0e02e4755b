"""One experiment from a resolved config to a run directory (DESIGN.md § Run directory):

    OUT/config.yaml  OUT/metrics.jsonl  OUT/summary.json  OUT/checkpoint/  OUT/curves.png
    OUT/inputs.json (the SHA-256 of the config and input files, which a resume compares)
    OUT/tensorboard/ (with --tensorboard)

Used by `jirl train`, `jirl quickstart` and the tests alike.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import jax
import numpy as np
import yaml

from jirl import algos, data, envs, sweep
from jirl.algos import expert as experts
from jirl.config import ExperimentConfig, dump_yaml, experiment_config, load_yaml
from jirl.envs.base import Env
from jirl.errors import ConfigError, DataError, short
from jirl.evaluation import (
    check_greedy,
    episode_returns,
    mean_returns,
    normalized_score,
    random_act_fn,
)
from jirl.files import (
    OUTPUT_NAMES,
    RUN_NAMES,
    Aside,
    atomic_write_text,
    check_out_dir,
    check_unlocked,
    digest,
    foreign_entries,
    holds_files,
    is_nonempty,
    lock_dir,
    parent_locked,
    remove_temporaries,
    removed_on_failure,
    replace_dir,
    replacing,
    stranded_asides,
    strict_json,
    write_json,
)
from jirl.logging import JsonlWriter, ProgressBar, TensorBoardWriter, setting_name
from jirl.run import (
    CHECKPOINT_FILE,
    NonFiniteError,
    check_metric_names,
    check_state_fits,
    checkpoint_metric_names,
    has_checkpoint,
    run,
    seed_layout,
    state_template,
)
from jirl.types import Algorithm


def make_env(cfg: ExperimentConfig) -> Env:
    options = {"backend": cfg.backend} if cfg.backend else {}
    return envs.make(cfg.env, horizon=cfg.horizon, fixed_horizon=cfg.fixed_horizon, **options)


#: episodes of the random policy behind `random_return`. Its standard error at 64 was 1.0–1.5
#: on cartpole (jirl expert's default key drew 19.0 against a mean of 22.3 over 20,000), 2 on
#: hopper and 21 on halfcheetah; 256 halves that for 4× the steps: seconds on a CPU, but for
#: Brax, whose halfcheetah never ends an episode early (256 × 1,000 steps).
RANDOM_EPISODES = 256


def random_returns(env: Env, key: jax.Array, episodes: int = RANDOM_EPISODES) -> np.ndarray:
    """Returns `[episodes]` of the random policy (`evaluation.random_act_fn`), whose mean is
    the 0 of the normalized score (`random_return`)."""
    fn = jax.jit(lambda k: episode_returns(env, random_act_fn(env), k, episodes))
    return np.asarray(fn(key), np.float64)


def random_return(env: Env, key: jax.Array, episodes: int = RANDOM_EPISODES) -> float:
    """Mean return of the random policy (`evaluation.random_act_fn`): the 0 of the normalized
    score."""
    return float(random_returns(env, key, episodes).mean())


class Prepared(NamedTuple):
    """An experiment ready to run.

    Attributes:
      env: the environment; algo: the algorithm (of a sweep, when the config has one).
      reference: `{"expert_return", "random_return"}` for the normalized score.
      initial_state: `key -> state [runs, ...]`; None: `run` initialises `cfg.seeds` seeds.
      settings: the sweep's settings, in the order of the runs (None: no sweep).
    """

    env: Env
    algo: Algorithm
    reference: dict
    initial_state: Callable[[jax.Array], Any] | None = None
    settings: list[dict[str, float]] | None = None


def prepare(cfg: ExperimentConfig) -> Prepared:
    """Build the env, load the algorithm's inputs and build it; reference returns too."""
    spec = algos.get(cfg.algo)
    env = make_env(cfg)
    expert = experts.load(cfg.expert, env) if cfg.expert else None
    demos_path = cfg.demos
    # the expert's own demonstrations stand in for --demos where the algorithm needs some, or
    # takes them optionally and --num-demos asks for them (SMILe as DAgger)
    wants_demos = spec.needs_demos or (spec.optional_demos and cfg.num_demos is not None)
    if demos_path is None and wants_demos and cfg.expert:
        demos_path = str(Path(cfg.expert) / "demos.npz")
    if spec.needs_expert and expert is None:
        raise ConfigError(f"'{cfg.algo}' queries an expert: pass --expert DIR (from `jirl expert`)")
    if spec.needs_demos and demos_path is None:
        raise ConfigError(f"'{cfg.algo}' learns from demonstrations: pass --demos FILE.npz")
    if cfg.num_demos is not None and not (spec.needs_demos or spec.optional_demos):
        raise ConfigError(f"'{cfg.algo}' learns from no demonstrations: drop --num-demos")
    if cfg.num_demos is not None and demos_path is None:  # optional demos and no expert
        raise ConfigError("--num-demos takes episodes of --demos FILE.npz: pass that too")
    demos = None
    reference = {"expert_return": None, "random_return": None}
    if demos_path is not None:
        loaded = data.load(demos_path, env=env)
        check_fixed_horizon(loaded.header, cfg, demos_path)
        demos = loaded.trajectories
        if cfg.num_demos is not None:
            demos = data.take_episodes(demos, cfg.num_demos)
        reference = {
            "expert_return": loaded.header.expert_return,
            "random_return": loaded.header.random_return,
        }
    if expert is not None:
        reference = {"expert_return": expert.expert_return, "random_return": expert.random_return}
    if reference["random_return"] is None:  # demos saved without it (`jirl.data.save`'s option)
        reference["random_return"] = random_return(env, jax.random.PRNGKey(cfg.seed + 1))
        expert_return = reference["expert_return"]  # None: no demonstrations (PPO)
        if expert_return is not None and not expert_return > reference["random_return"]:
            raise DataError(
                f"{demos_path}: its expert's return ({reference['expert_return']:g}) is not above "
                f"the random policy's measured here ({reference['random_return']:g}), so no score "
                "can be normalized: record the demos again from an expert that beats the random "
                "policy"
            )
    inputs = algos.Inputs(demos, expert)
    if not cfg.sweep:
        return Prepared(env, spec.build(cfg.algo_config, env, inputs), reference)
    swept = sweep.sweep_algorithm(
        lambda c: spec.build(c, env, inputs), cfg.algo_config, cfg.sweep, cfg.algo
    )

    def initial_state(key: jax.Array):
        keys, values, _ = sweep.batch(cfg.sweep, key, cfg.seeds)
        return sweep.init_sweep(swept, keys, values)

    return Prepared(env, swept.algo, reference, initial_state, sweep.settings(cfg.sweep))


def check_fixed_horizon(header: data.DemoHeader, cfg: ExperimentConfig, path) -> None:
    """Refuse demonstrations recorded with a fixed horizon (episodes run on past a fall, with no
    flag there) for a learner whose episodes end at a termination: it would take the steps after
    the fall for the expert's, and an expert that never falls. Learners that collect with a
    fixed horizon themselves (GAIL's and AIRL's default, FEM and GTAL) take them; terminating
    demonstrations suit either (files from before the header recorded it: not checked)."""
    learner_fixed = cfg.fixed_horizon or bool(getattr(cfg.algo_config, "fixed_horizon", False))
    if header.fixed_horizon and not learner_fixed:
        raise DataError(
            f"{path}: recorded with a fixed horizon (episodes run on past a fall), but "
            f"'{cfg.algo}' here learns from episodes that end at a termination; set "
            "fixed_horizon: true at the top of the config (or in its section, for the "
            "adversarial learners), or record the demos without it"
        )


def evaluate_seeds(
    algo: Algorithm,
    env: Env,
    state,
    key: jax.Array,
    episodes: int,
    seeds: int | None = None,
    *,
    greedy: bool = False,
) -> np.ndarray:
    """Mean true return of each run's final policy, `[runs]`, in one vmapped call (of its most
    likely actions with `greedy`).

    Run `i` is evaluated with `jax.random.split(key, seeds)[i % seeds]`, so the runs of a sweep
    (`seeds` consecutive runs per setting) are scored as plain runs of their setting would be.
    """
    runs = jax.tree.leaves(state)[0].shape[0]
    seeds = seeds or runs
    keys = jax.numpy.tile(jax.random.split(key, seeds), (runs // seeds, 1))
    return np.asarray(mean_returns(algo, env, episodes, greedy=greedy)(state, keys))


def read_run_config(run_dir: Path, missing: str) -> dict:
    """The config.yaml of the run directory `run_dir` as a mapping; ConfigError
    "`run_dir`: `missing`" if it is absent or unreadable (what `--resume` and `jirl retrain`
    read)."""
    path = Path(run_dir) / "config.yaml"
    if not path.is_file():
        raise ConfigError(f"{run_dir}: {missing}")
    try:
        saved = load_yaml(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        saved = None
    if not isinstance(saved, dict):
        raise ConfigError(
            f"{path} is damaged (not a readable YAML mapping); {missing.split('; ')[-1]}"
        )
    return saved


def as_this_version(saved: dict, algo_config_cls) -> tuple[dict, list[str]]:
    """The config a run saved (`saved`, its config.yaml) as this version of jirl reads it, and
    the settings it lacks (`added_settings`): one added since the run started takes its
    default, which keeps the behaviour the run had. A config this version cannot read is
    returned as written, for `config_difference` to name what differs."""
    try:
        current = experiment_config(saved, algo_config_cls).to_dict()
    except ConfigError:
        return saved, []
    return current, added_settings(saved, current)


def added_settings(saved: dict, current: dict, prefix: str = "") -> list[str]:
    """The settings of `current` that `saved` lacks, nested ones as `section.key` (a sweep's
    keys are its grid, not settings)."""
    out = []
    for key, value in current.items():
        if key not in saved:
            out.append(f"{prefix}{key}")
        elif isinstance(value, dict) and isinstance(saved[key], dict) and key != "sweep":
            out += added_settings(saved[key], value, f"{prefix}{key}.")
    return out


def warn_added_settings(run_dir: Path, added: list[str], what: str) -> None:
    """Say which settings the run's config.yaml lacks (`added_settings`), and that the run
    `what` ("resumes", "is retrained") with their defaults."""
    if added:
        warnings.warn(
            f"{Path(run_dir) / 'config.yaml'} has no {', '.join(added)}, added to jirl since "
            f"the run started: it {what} with the default",
            stacklevel=3,
        )


def config_difference(saved: dict, given: dict, prefix: str = "") -> str:
    """The first key where two config dicts differ, as "KEY: the run has A, given B"."""
    for key in [*saved, *(k for k in given if k not in saved)]:
        a, b = saved.get(key), given.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            if a != b or list(a) != list(b):
                return config_difference(a, b, f"{prefix}{key}.")
        elif a != b:
            return f"{prefix}{key}: the run has {a!r}, given {b!r}"
    return f"the order of the keys of {prefix.rstrip('.') or 'the config'} differs"


#: the run's input files and config, with their SHA-256 (`input_digests`), written when the run
#: starts
INPUTS_FILE = "inputs.json"
#: what a run reads of an expert directory (`--expert`; its demos when `--demos` is not given)
EXPERT_FILES = ("expert.msgpack", "expert.json", "demos.npz")


def input_digests(cfg: ExperimentConfig) -> dict:
    """`{"demos" | "expert": {"path", "sha256"}}` of the files `cfg` reads."""
    paths = {"demos": cfg.demos, "expert": cfg.expert}  # a missing one: `prepare` names it
    return {  # (so does it a device or a pipe, whose bytes may never end: not read here)
        k: {"path": str(p), "sha256": digest(p, EXPERT_FILES)}
        for k, p in paths.items()
        if p and (Path(p).is_file() or Path(p).is_dir())
    }


#: the config's keys that name input files: a resume may find them at another path (the run
#: started in another working directory, the files moved); their contents are what must not
#: change (`check_inputs_unchanged` compares their SHA-256)
INPUT_KEYS = ("demos", "expert")


def without_inputs(config: dict) -> dict:
    """A config dict with its input paths (`INPUT_KEYS`) reduced to whether there is one
    ("<file>" or None): what a resume compares (a run that read --demos resumed without it
    would read its expert's demos instead)."""
    return {k: ("<file>" if v and k in INPUT_KEYS else v) for k, v in config.items()}


def absolute_inputs(cfg: ExperimentConfig) -> ExperimentConfig:
    """`cfg` with its input paths absolute, as `RUN/config.yaml` records them: the run then
    resumes and retrains from any working directory."""
    paths = {k: os.path.abspath(getattr(cfg, k)) for k in INPUT_KEYS if getattr(cfg, k)}
    return dataclasses.replace(cfg, **paths)


def config_digest(cfg: ExperimentConfig | dict) -> str:
    """SHA-256 of the resolved config (or a config dict) less its input paths
    (`without_inputs`; their files' digests are kept beside it): `RUN/config.yaml` edited after
    the start would otherwise be the very file a resume is compared against."""
    config = cfg if isinstance(cfg, dict) else cfg.to_dict()
    return _sha256_json(without_inputs(config))


def _sha256_json(value) -> str:
    return hashlib.sha256(json.dumps(value).encode()).hexdigest()


def upgrade_config_digest(out: Path, cfg: ExperimentConfig) -> None:
    """Record in `INPUTS_FILE` the digest `config_digest` gives, where it holds the whole
    config's (a run started before the input paths were left out of it): a resume rewrites
    config.yaml with absolute paths, which that older digest would refuse next time."""
    path = out / INPUTS_FILE
    started = strict_json(path.read_text()) if path.is_file() else None  # checked already
    current = {"sha256": config_digest(cfg)}
    if isinstance(started, dict) and started.get("config", current) != current:
        write_json(path, {**started, "config": current})


def check_inputs_unchanged(out: Path, cfg: ExperimentConfig, to: str = "resume") -> None:
    """Refuse to resume a run whose config, demonstrations or expert changed since it started
    (the config names the same paths, and `RUN/config.yaml` could have been edited, but the
    resumed run would not be the one it continues). A run started before `INPUTS_FILE` was
    written (or whose file was lost) is not checked, with a warning; a resume records the
    inputs it continues with (`train`), so that the next one is checked. `to`: what the caller
    would do with the run, for the message (`jirl retrain`: "retrain")."""
    tail = ", or pass --overwrite" if to == "resume" else ""  # which starts the run again
    try:
        started = strict_json((out / INPUTS_FILE).read_text())
    except FileNotFoundError:
        # (a run from before the file, or one that lost it: which, nothing on disk tells)
        warnings.warn(
            f"{out / INPUTS_FILE} is missing, so this {to} cannot check that the config, demos "
            "and expert are the ones the run started with",
            stacklevel=2,
        )
        return
    except (OSError, ValueError):
        raise ConfigError(f"{out / INPUTS_FILE} is damaged: restore it{tail}") from None
    if not isinstance(started, dict):
        raise ConfigError(f"{out / INPUTS_FILE} is damaged: restore it{tail}")
    # (a run started before the digest left the input paths out: the whole config's, with the
    # paths as the run recorded them, relative ones included; and the digest of config.yaml as
    # written, where a later jirl reads it with settings added since, which change `cfg`'s)
    accepted = [{"sha256": config_digest(cfg)}, {"sha256": _sha256_json(cfg.to_dict())}]
    try:
        accepted.append({"sha256": config_digest(load_yaml((out / "config.yaml").read_text()))})
    except (OSError, ValueError, TypeError, AttributeError, yaml.YAMLError):
        pass  # no readable config.yaml: `cfg`'s digests alone
    if "config" in started and started["config"] not in accepted:
        raise ConfigError(
            f"{out}: the config differs from the one the run started with (SHA-256 in "
            f"{INPUTS_FILE}; was {out / 'config.yaml'} edited?): restore it to {to}{tail}"
        )
    for name, now in input_digests(cfg).items():
        entry = started.get(name)
        if not isinstance(entry, dict) or entry.get("sha256") != now["sha256"]:
            raise ConfigError(
                f"{out}: the {name} at {now['path']} differ from those the run started with "
                f"(SHA-256 in {INPUTS_FILE}); restore them to {to}{tail}"
            )


def check_run_dir(out: Path, *, resume: bool, overwrite: bool, inputs=()) -> None:
    """Refuse a run directory that would be clobbered or cannot be resumed, or one that a new
    run would replace while it holds one of the `inputs` paths; touches nothing
    (`jirl.files.check_out_dir`, which knows no `--resume`, for the other commands)."""
    if resume and overwrite:
        raise ConfigError("--resume continues a run and --overwrite replaces it; pass one of them")
    if resume:
        if not out.exists():
            raise ConfigError(f"{out}: no such run to resume; drop --resume to start it")
        if not out.is_dir():
            raise ConfigError(f"{out} is a file; --out names a run's directory")
        check_unlocked(out)  # a run still before its first checkpoint is in use, not empty
        if not has_checkpoint(out / "checkpoint"):
            foreign = foreign_entries(out, RUN_NAMES) if out.is_dir() else []
            if foreign:  # someone's other files: --overwrite would refuse them too
                raise ConfigError(
                    f"{out} is no run of jirl train (it holds {short(foreign)}); pass the "
                    "run's directory to --out"
                )
            path = out / "checkpoint" / CHECKPOINT_FILE
            if path.exists() or path.is_symlink():  # a directory, a FIFO, a broken link
                raise ConfigError(
                    f"{path} is not a checkpoint file: restore it, or pass --overwrite instead "
                    "of --resume to start the run again"
                )
            stranded = stranded_asides(out)
            if stranded:  # an --overwrite killed before its first checkpoint: the old run
                latest = max(stranded, key=lambda p: p.stat().st_mtime) / out.name
                raise ConfigError(
                    f"{out}: nothing to resume (an --overwrite of it was stopped before its "
                    f"first checkpoint); the run it was replacing is kept in {latest}: move it "
                    "back to resume that one, or pass --overwrite to start again"
                )
            raise ConfigError(
                f"{out}: nothing to resume (no checkpoint was written yet); pass --overwrite "
                f"instead of --resume to start it again"
            )
    else:
        hint = "pass --resume to continue it or --overwrite to replace it"
        check_out_dir(
            out, overwrite, inputs, exists_hint=hint, names=RUN_NAMES, command="jirl train"
        )


def train(
    cfg: ExperimentConfig,
    out: str | Path,
    *,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = False,
    tensorboard: bool = False,
    devices: int | None = None,
) -> dict:
    """Run `cfg` and write the run directory `out`; returns the summary.

    Args:
      devices: shard the runs over at most the first `devices` visible devices (default:
        all; `jirl.run.seed_layout`).
    """
    out = Path(out)
    device_list = select_devices(devices)
    check_run_dir(out, resume=resume, overwrite=overwrite, inputs=(cfg.demos, cfg.expert))
    if resume:
        saved = read_run_config(
            out, "no readable config.yaml to resume; pass --overwrite instead to start again"
        )
        saved, added = as_this_version(saved, type(cfg.algo_config))
        # (the sweep's key order is the order of its runs, which a dict comparison ignores;
        # input files may have moved: their contents are compared, not their paths)
        saved, given = without_inputs(saved), without_inputs(cfg.to_dict())
        if saved != given or list(saved.get("sweep") or {}) != list(cfg.sweep or {}):
            raise ConfigError(
                f"{out}: --resume needs the same config as the run it continues "
                f"({config_difference(saved, given)}); resume with --config "
                f"{out / 'config.yaml'} and no other settings, or pass --overwrite to start again"
            )
        check_inputs_unchanged(out, cfg)
        warn_added_settings(out, added, "resumes")
    cfg = absolute_inputs(cfg)
    # Every input is checked (data loaded, algorithm built, the state's size against the
    # devices' memory) before the directory is touched.
    env, algo, reference, initial_state, settings = prepare(cfg)
    check_greedy(algo, cfg.eval_greedy)
    if initial_state is None:
        template = state_template(algo, cfg.seeds)
    else:
        template = jax.eval_shape(initial_state, jax.random.PRNGKey(cfg.seed))
    check_state_fits(template, seed_layout(cfg.runs, device_list))
    if resume:  # a checkpoint of another version's metrics, refused before anything is written
        logged = jax.eval_shape(jax.vmap(algo.update), template)[1]
        check_metric_names(out / "checkpoint", checkpoint_metric_names(out / "checkpoint"), logged)
    # the run this one replaces (--overwrite) waits aside until this one has a checkpoint
    aside = Aside(out)
    saved = lambda: has_checkpoint(out / "checkpoint")
    with contextlib.ExitStack() as stack:
        stack.enter_context(replacing(aside, saved))  # back if this one fails before then
        if resume:
            # held to the end: a second process on this run is refused, not interleaved
            stack.enter_context(lock_dir(out))
        else:
            with parent_locked(out):  # another process's run may have appeared since the checks
                check_unlocked(out)  # a run another process is writing is never replaced
                if out.is_dir() and not overwrite and holds_files(out):
                    raise ConfigError(
                        f"{out} exists (made by another process since this one started); "
                        "pass --resume to continue it or --overwrite to replace it"
                    )
                aside.take()
                replace_dir(out)
                stack.enter_context(lock_dir(out))
            if aside.made:  # no run was here: one that fails with nothing kept leaves none
                logged = lambda: is_nonempty(out / "metrics.jsonl")
                stack.enter_context(removed_on_failure(out, lambda: saved() or logged()))
        for stranded in sorted(set(stranded_asides(out)) - {aside.path}):
            warnings.warn(
                f"{stranded} holds a run that an earlier --overwrite of {out} set aside and "
                "was killed before it could delete or restore it; move it back or delete it",
                stacklevel=2,
            )
        if resume:
            remove_temporaries(out, OUTPUT_NAMES)  # what a kill left of the last session
            upgrade_config_digest(out, cfg)
        if not resume or not (out / INPUTS_FILE).is_file():  # (missing: recorded from now on)
            inputs = {**input_digests(cfg), "config": {"sha256": config_digest(cfg)}}
            write_json(out / INPUTS_FILE, inputs)
        atomic_write_text(out / "config.yaml", dump_yaml(cfg.to_dict()))
        writer = JsonlWriter(out / "metrics.jsonl", algo.env_steps_per_update, resume=resume)
        callbacks = [writer]
        if progress:
            callbacks.append(ProgressBar(cfg.updates, algo.env_steps_per_update * cfg.runs))
        if tensorboard:
            groups = None if not settings else [setting_name(s) for s in settings]
            callbacks.append(
                TensorBoardWriter(
                    out / "tensorboard", algo.env_steps_per_update, resume=resume, groups=groups
                )
            )
        start = time.perf_counter()
        try:
            key = jax.random.PRNGKey(cfg.seed)
            # the run replaced is deleted once this one has its first checkpoint (a chunk on)
            discard = lambda *_: aside.discard() if saved() else None
            result = run(
                algo,
                key,
                cfg.updates,
                seeds=cfg.runs,  # (a sweep's settings × seeds)
                chunk_size=cfg.chunk,
                callbacks=[*callbacks, discard],
                checkpoint_dir=out / "checkpoint",
                checkpoint_every=cfg.checkpoint_every,
                resume=resume,
                devices=device_list,
                initial_state=None if initial_state is None else initial_state(key),
            )
        except NonFiniteError as e:
            if not settings:
                raise
            runs = ", ".join(f"{settings[r // cfg.seeds]} seed {r % cfg.seeds}" for r in e.runs)
            raise NonFiniteError(
                f"{e} Diverged: {runs}; sweep the others without them", e.runs
            ) from None
        finally:
            for callback in callbacks:
                callback.close()
        wall = time.perf_counter() - start
        returns = evaluate_seeds(
            algo,
            env,
            result.state,
            jax.random.PRNGKey(cfg.seed + 2),
            cfg.eval_episodes,
            cfg.seeds,
            greedy=cfg.eval_greedy,
        )
        summary = summarize(cfg, algo, returns, reference, result, wall, settings)
        write_json(out / "summary.json", summary)
        from jirl.plots import plot_runs

        plot_runs([out], out / "curves.png")
        return summary


def summarize(cfg, algo, returns, reference, result, wall, settings=None) -> dict:
    """The run's `summary.json` (DESIGN.md § Run directory), plus `runs` (seeds × settings).
    A sweep adds one entry per setting under `sweep` (runs are setting-major: `cfg.seeds`
    consecutive runs per setting) and `best_setting`; the top-level return is over all runs.
    `best_setting` is chosen on the episodes whose scores are reported, so its score is biased
    upwards by the choice (as a kept expert's would be: `jirl.expert_run` re-evaluates that)."""
    expert_return, rand = reference["expert_return"], reference["random_return"]
    env_steps = int(algo.env_steps_per_update * cfg.updates)
    # every session of a resumed run: this one's setup and evaluation, and the time all of
    # them spent in `jirl.run` (`RunResult.total`; the checkpoint carries the earlier ones'):
    # resuming a finished run took the earlier sessions' checkpoints and callbacks out
    total = result.total
    wall -= result.compile_seconds + result.wall_seconds + result.other_seconds
    wall += total.compile_seconds + total.wall_seconds + total.other_seconds
    timed_steps = algo.env_steps_per_update * total.updates * cfg.runs
    summary = {
        "algo": cfg.algo,
        "env": cfg.env,
        "seeds": cfg.seeds,
        "runs": cfg.runs,
        **_scores(returns, expert_return, rand),
        "expert_return": expert_return,
        "random_return": rand,
        # the returns above: of the policies' sampled actions, or of their greedy ones (`mode`)
        "eval_greedy": cfg.eval_greedy,
        "env_steps": env_steps,
        "wall_seconds": wall,
        "compile_seconds": total.compile_seconds,
        # the devices the runs' last updates were sharded over (`jirl.run.seed_layout`)
        "devices": result.devices,
        "env_steps_per_second": timed_steps / total.wall_seconds if total.wall_seconds else None,
    }
    if settings:
        per_setting = np.asarray(returns).reshape(len(settings), cfg.seeds)
        summary["sweep"] = [
            {"setting": setting, **_scores(r, expert_return, rand)}
            for setting, r in zip(settings, per_setting, strict=True)
        ]
        summary["best_setting"] = best_setting(settings, per_setting)
    return summary


def best_setting(settings: list, returns) -> dict | None:
    """The setting of `settings` whose mean return (`returns [settings, seeds]`) is highest;
    a setting with a NaN return is never it (None where every one has)."""
    means = np.asarray(returns, np.float64).mean(1)
    finite = np.isfinite(means)
    if not finite.any():
        return None
    return settings[int(np.argmax(np.where(finite, means, -np.inf)))]


def _scores(returns, expert_return, random_return) -> dict:
    """`{"return": {mean, per_seed}, "normalized_score": {mean, per_seed} | None}`."""
    per_seed = [float(r) for r in returns]
    out = {"return": {"mean": float(np.mean(per_seed)), "per_seed": per_seed}}
    out["normalized_score"] = None
    if expert_return is not None:
        scores = [float(normalized_score(r, expert_return, random_return)) for r in per_seed]
        out["normalized_score"] = {"mean": float(np.mean(scores)), "per_seed": scores}
    return out


def select_devices(count: int | None) -> list | None:
    """The first `count` visible devices (None: all); a count out of range is a user error."""
    if count is None:
        return None
    available = jax.devices()
    if not 1 <= count <= len(available):
        raise ConfigError(
            f"--devices must be between 1 and {len(available)} (the devices visible to JAX: "
            f"{len(available)} {available[0].platform}), got {count}"
        )
    return available[:count]
