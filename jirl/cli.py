"""The `jirl` command: parse, validate, call, print, exit 0 (done), 1 (run failed), 2 (user
error), 130 (interrupted, Ctrl-C) or 143 (terminated, SIGTERM).

jirl expert --env cartpole --out experts/cartpole
jirl train bc --env cartpole --demos experts/cartpole/demos.npz --out runs/bc
jirl train gail --config gail-cartpole --demos experts/cartpole/demos.npz --out runs/gail \
    --sweep gail.learning_rate=1e-3,3e-4 --seeds 8
jirl train maxent --env gridworld --out runs/maxent
jirl plot runs/bc runs/gail
jirl quickstart
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import inspect
import json
import os
import signal
import sys
import warnings
from pathlib import Path

from jirl.errors import JirlError, RunError


class ArgumentError(JirlError):
    """A command-line flag is wrong."""


class Terminated(KeyboardInterrupt):
    """SIGTERM (a scheduler's stop, `kill`), raised where the process is so that it ends as an
    interrupt does: one line saying what can be resumed, exit 143."""


def whole(text: str) -> int:
    """argparse's `type=int` for numbers in ASCII digits only (`int("٢")` is 2)."""
    if not text.isascii():
        raise ValueError(text)
    return int(text)


whole.__name__ = "int"  # argparse's message names the type: "invalid int value: '٢'"


def _terminate(signum, frame):
    raise Terminated


class Parser(argparse.ArgumentParser):
    """argparse that reports a user error as one line (no usage block) and exits 2."""

    def error(self, message):
        raise ArgumentError(f"{message} (see `{self.prog} --help`)")


class ScriptParser(argparse.ArgumentParser):
    """argparse for scripts (`benchmarks/*.py`): a bad flag is one line on stderr (no usage
    block) and exit 2; the description is the first paragraph of the script's docstring."""

    def __init__(self, doc: str, **kwargs):
        super().__init__(description=doc.strip().split("\n\n")[0], **kwargs)

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def script_main(main):
    """Decorate a script's `main(argv)`: a jirl error it raises (an expert cache that is a
    file, a demos file of another env) is one line on stderr and exit 2, 1 for a `RunError`,
    never a traceback."""
    prog = Path(inspect.getsourcefile(main)).name

    @functools.wraps(main)
    def wrapped(argv=None):
        try:
            return main(argv)
        except JirlError as e:
            print(f"{prog}: error: {e}", file=sys.stderr)
            raise SystemExit(1 if isinstance(e, RunError) else 2) from None

    return wrapped


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config", help="YAML config: a path or a name in configs/ (e.g. gail-cartpole)"
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key, e.g. --set seeds=8 --set ALGO.learning_rate=3e-4",
    )
    p.add_argument("--seeds", type=whole, help="number of seeds, vmapped in one compile")
    p.add_argument("--seed", type=whole, help="base PRNG seed")
    p.add_argument(
        "--updates",
        type=whole,
        help="number of updates per seed (a rate the config anneals over its run follows it)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing output directory")
    p.add_argument("--quiet", action="store_true", help="no progress bar or table")


def build_parser() -> Parser:
    parser = Parser(prog="jirl", description="Inverse RL and imitation learning in JAX.")
    sub = parser.add_subparsers(dest="command", parser_class=Parser, metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("expert", help="train a PPO expert and record its demonstrations")
    p.add_argument("--env", required=True, help="environment name, e.g. cartpole")
    p.add_argument("--out", required=True, help="expert directory to write")
    p.add_argument("--episodes", type=whole, default=20, help="demonstration episodes to record")
    _add_common(p)

    p = sub.add_parser("train", help="train an algorithm and write a run directory")
    p.add_argument("algo", help="algorithm name, e.g. bc, ppo, maxent")
    p.add_argument("--env", help="environment name")
    p.add_argument("--demos", help="demonstrations .npz (from `jirl expert`)")
    p.add_argument("--num-demos", type=whole, help="use only the first N demonstration episodes")
    p.add_argument("--expert", help="expert directory (from `jirl expert`)")
    p.add_argument("--out", required=True, help="run directory to write")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--tensorboard", action="store_true", help="also write TensorBoard events")
    p.add_argument(
        "--sweep",
        action="append",
        default=[],
        metavar="KEY=V1,V2,...",
        help="run every value of a float hyperparameter side by side in one compile, e.g. "
        "--sweep gail.learning_rate=1e-3,3e-4 (repeat for a grid)",
    )
    p.add_argument("--devices", type=whole, help="shard the runs over at most the first N devices")
    _add_common(p)

    p = sub.add_parser(
        "quickstart", help="train a cartpole expert, then BC and GAIL from its demos (CPU, minutes)"
    )
    p.add_argument("--out", default="runs/quickstart", help="directory to write")
    p.add_argument("--seeds", type=whole, default=4, help="seeds of BC and of GAIL")
    p.add_argument("--updates", type=whole, help="GAIL updates per seed (default: the config's)")
    p.add_argument("--overwrite", action="store_true", help="rerun BC and GAIL in --out")
    p.add_argument("--quiet", action="store_true", help="no progress bars or table")

    p = sub.add_parser("retrain", help="train PPO from scratch on the frozen reward of a run")
    p.add_argument("--reward", required=True, help="a finished gail, airl, gcl or gan_gcl run")
    p.add_argument("--env", help="environment to train in (default: the run's)")
    p.add_argument("--out", required=True, help="directory to write summary.json and config.yaml")
    p.add_argument(
        "--kind",
        choices=["g", "f", "disc", "reward"],
        help="AIRL: g (default) or f; GAIL: disc; GCL, GAN-GCL: reward",
    )
    p.add_argument("--updates", type=whole, help="PPO updates per seed (default: the run's)")
    p.add_argument("--seed", type=whole, default=0, help="base PRNG seed")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a PPO field, e.g. --set learning_rate=3e-4",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing output directory")
    p.add_argument("--quiet", action="store_true", help="print nothing")

    p = sub.add_parser("plot", help="draw learning curves of one or more runs")
    p.add_argument("runs", nargs="+", help="run directories")
    p.add_argument("--out", default="curves.png", help="PNG file to write")
    p.add_argument("--metric", help="metric to plot (default: episode_return when logged)")
    return parser


def _check_config_algo(config: str, from_file: dict, wanted) -> None:
    """Refuse a --config written for another algorithm than the command's: its `algo:`, where
    it has one (`algo: null` too: it was blamed on --set); a file without one is anyone's."""
    if wanted is not None and "algo" in from_file and from_file["algo"] != wanted:
        raise ArgumentError(
            f"--config {config} is a config for '{from_file['algo']}', not '{wanted}'; use one "
            f"for '{wanted}' (its `algo: {wanted}`)"
        )


def _check_algo_kept(algo, command_algo: str | None) -> None:
    """Refuse `--set algo=X` that would run another algorithm than the command's."""
    if command_algo is not None and algo != command_algo:
        raise ArgumentError(
            f"--set algo={algo}: the command runs '{command_algo}'; drop --set algo and name "
            f"the algorithm in the command (jirl train ALGO)"
        )


def _merged_sweep(data: dict, args) -> dict:
    """The config file's `sweep:` with `--sweep`'s fields replacing its own (flags win over the
    file, whether or not a key names the algorithm's section); a field that `--set` gives too
    (`--set ALGO.KEY=v`, `--set KEY=v` or inside `--set ALGO={KEY: v}`) is refused: the sweep's
    values would silently win over it."""
    from jirl.config import set_keys
    from jirl.errors import ConfigError
    from jirl.sweep import parse_items

    in_file = data.get("sweep") or {}
    if not isinstance(in_file, dict):
        raise ConfigError("sweep: in the config must map keys to lists of values")
    flags = parse_items(args.sweep) if getattr(args, "sweep", None) else {}
    algo = data.get("algo")
    bare = lambda key: str(key).removeprefix(f"{algo}.")  # noqa: E731
    flagged = {bare(k) for k in flags}
    merged = {k: v for k, v in in_file.items() if bare(k) not in flagged} | flags
    for name in sorted(set_keys(args.set)):  # `--set sweep.KEY=[...]`
        key = name.removeprefix("sweep.")
        flag = [k for k in flags if bare(k) == bare(key)] if key != name else []
        if flag:
            raise ArgumentError(
                f"--set {name} and --sweep {flag[0]} both give its values; --sweep's would "
                "win: drop one"
            )
    swept = {bare(k): k for k in merged}
    for name in sorted(set_keys(args.set)):  # `--set ALGO={KEY: v}` gives ALGO.KEY
        if bare(name) in swept:
            where = "--sweep" if bare(name) in flagged else "the config's sweep:"
            raise ArgumentError(
                f"--set {name} and {where} {swept[bare(name)]} both give it; the sweep's "
                "values would win: drop one"
            )
    return merged


def _experiment_config(args, defaults: dict, complete=None):
    """Defaults < --config file < flags < --set, then `complete(data)`, built strictly."""
    from jirl import algos
    from jirl.config import (
        anneal_over_updates,
        apply_overrides,
        experiment_config,
        hint_unknown_section,
        read_yaml,
        set_keys,
    )

    data = dict(defaults)
    if args.config:
        from_file = read_yaml(args.config)
        data.update(from_file)
        _check_config_algo(args.config, from_file, defaults.get("algo"))
    file_data = dict(data)
    for flag in ("env", "demos", "expert", "seeds", "seed", "updates"):
        value = getattr(args, flag, None)
        if value is not None:
            data[flag] = value
    if getattr(args, "num_demos", None) is not None:
        data["num_demos"] = args.num_demos
    data = apply_overrides(data, args.set)
    anneal_over_updates(data, file_data, set_keys(args.set))
    _check_algo_kept(data.get("algo"), defaults.get("algo"))
    if hasattr(args, "sweep") and (args.sweep or data.get("sweep")):  # (`expert` refuses one)
        data["sweep"] = _merged_sweep(data, args)
    if complete is not None:
        data = complete(data)
    algo = data.get("algo")
    if not data.get("env"):
        if getattr(args, "resume", False):  # the run's own config says it all
            raise ArgumentError(
                f"--resume needs the run's config: pass --config {Path(args.out) / 'config.yaml'}"
            )
        raise ArgumentError("--env is required (or set env: in the --config file)")
    from jirl import envs

    envs.check_name(data["env"])
    file_env = file_data.get("env") if args.config else None
    if isinstance(file_env, str) and file_env != data["env"]:
        warnings.warn(
            f"--config {args.config} is written for {file_env} and runs on {data['env']} here: "
            f"its settings were chosen for {file_env}, so they may not suit {data['env']}",
            stacklevel=1,
        )
    spec = algos.get(algo)
    hint_unknown_section(data, algo)
    return experiment_config(data, spec.config_cls)


def cmd_train(args) -> int:
    from jirl import algos

    if args.algo in algos.TABULAR:
        return _train_tabular(args)
    algos.get(args.algo)
    cfg = _experiment_config(args, {"algo": args.algo})
    from jirl import experiment

    summary = experiment.train(
        cfg,
        args.out,
        resume=args.resume,
        overwrite=args.overwrite,
        progress=not args.quiet,
        tensorboard=args.tensorboard,
        devices=args.devices,
    )
    if not args.quiet:
        _print_summary(summary)
    return 0


#: `jirl train` flags that tabular IRL has no use for: it samples its own demonstrations from
#: the MDP's expert and runs every seed in one jitted call, with no checkpoint to resume.
_NOT_TABULAR = {
    "demos": "--demos",
    "expert": "--expert",
    "resume": "--resume",
    "tensorboard": "--tensorboard",
    "sweep": "--sweep",
    "devices": "--devices",
}


def _given(value) -> bool:
    """Whether a flag was passed (its parser default is None, False or [])."""
    return value is not None and value is not False and value != []


def _train_tabular(args) -> int:
    """`jirl train maxent|...`: options from --config, then the flags, then --set (flat, or
    under the algorithm's section: `--set maxent.learning_rate=0.2`); `--updates` is the
    tabular `num_iterations`, `--num-demos` the number of demonstrations sampled from the MDP's
    expert (`num_demos`)."""
    from jirl.tabular_run import train_tabular

    given = [flag for name, flag in _NOT_TABULAR.items() if _given(getattr(args, name))]
    if given:
        rerun = "; to rerun, pass --overwrite instead of --resume" if args.resume else ""
        raise ArgumentError(
            f"{', '.join(given)}: not for tabular IRL, drop {'them' if len(given) > 1 else 'it'} "
            f"('{args.algo}' samples its own demos from the MDP and runs every seed in one call, "
            f"without checkpoints){rerun}"
        )
    flags = {
        "env": args.env,
        "seeds": args.seeds,
        "seed": args.seed,
        "num_iterations": args.updates,
        "num_demos": args.num_demos,
    }
    options = _tabular_options(args.config, args.algo, args.set, flags)
    env, seeds, seed = (options.pop(k, d) for k, d in (("env", None), ("seeds", 1), ("seed", 0)))
    if env is None:
        raise ArgumentError("--env is required: gridworld or objectworld")
    summary = train_tabular(
        args.algo, env, Path(args.out), options, seeds=seeds, seed=seed, overwrite=args.overwrite
    )
    if not args.quiet:
        print(json.dumps(summary, indent=2))
    return 0


def _tabular_options(
    config: str | None, algo: str, sets: list[str], flags: dict | None = None
) -> dict:
    """One flat map of a tabular run's options: the config file's (flat, or under its `algo:`
    section; a key in both is refused), then the flags given (`flags`, None values not
    given), then each `--set` in order, as for the other learners (`--set` has the last word);
    `--set maxent.size=4` is `--set size=4` and `--set maxent={size: 4}` sets each key of the
    mapping so; two items that give one key are refused."""
    from jirl.config import apply_overrides, check_no_repeats, read_yaml

    check_no_repeats(sets, lambda key: key.removeprefix(f"{algo}."))
    options = read_yaml(config) if config else {}
    if config:
        _check_config_algo(config, options, algo)
    options = _flat(options, algo, config)
    options.update({k: v for k, v in (flags or {}).items() if v is not None})
    for item in sets:
        options = apply_overrides(options, [item.lstrip().removeprefix(f"{algo}.")])
        section = options.pop(algo, None)  # `--set maxent={size: 4}`: each key set
        if section is not None and not isinstance(section, dict):
            raise ArgumentError(f"--set: '{algo}' must be a mapping of option: value")
        options.update(section or {})
    _check_algo_kept(options.get("algo", algo), algo)
    options.pop("algo", None)
    return options


def _flat(options: dict, algo: str, source) -> dict:
    """`options` with its `algo:` section's keys merged in among the flat ones; a key in both
    is refused (`source` says where they came from)."""
    options = dict(options)
    section = options.pop(algo, None)
    if section is None:
        return options
    if not isinstance(section, dict):
        raise ArgumentError(f"{source}: '{algo}' must be a mapping of option: value")
    twice = sorted(set(section) & set(options))
    if twice:
        raise ArgumentError(
            f"{source}: {', '.join(map(repr, twice))} given both at the top and under "
            f"'{algo}:'; keep one"
        )
    return {**options, **section}


def _print_summary(summary: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{summary['algo']} on {summary['env']} ({summary['seeds']} seeds)")
    rows = summary.get("sweep") or [{"setting": None, **summary}]
    if summary.get("sweep"):
        table.add_column("setting")
    for col in ("return", "normalized score", "expert", "random"):
        table.add_column(col)
    fmt = lambda x: "-" if x is None else f"{x:.3g}"
    for row in rows:
        score = row["normalized_score"]
        cells = [
            fmt(row["return"]["mean"]),
            fmt(score["mean"] if score else None),
            fmt(summary["expert_return"]),
            fmt(summary["random_return"]),
        ]
        if row["setting"] is not None:
            cells.insert(0, " ".join(f"{k}={v:g}" for k, v in row["setting"].items()))
        table.add_row(*cells)
    if summary["env_steps_per_second"] is not None:  # None: no training time recorded
        table.caption = f"{summary['env_steps_per_second']:,.0f} env steps/s"
    Console().print(table)


def cmd_quickstart(args) -> int:
    from jirl.quickstart import print_table, quickstart

    table = quickstart(
        args.out,
        seeds=args.seeds,
        updates=args.updates,
        overwrite=args.overwrite,
        progress=not args.quiet,
    )
    if not args.quiet:
        print_table(table)
    return 0


def cmd_expert(args) -> int:
    from jirl.config import check_episodes

    check_episodes("--episodes", args.episodes)  # recorded only once the expert has trained
    from jirl.expert_run import EXPERT_DEFAULTS, MAX_FALL_RATE, shipped_config, with_annealing

    if args.config is None and args.env:
        args.config = shipped_config(args.env)
    cfg = _experiment_config(args, EXPERT_DEFAULTS, with_annealing)
    from jirl.expert_run import train_expert
    from jirl.files import check_inputs_outside

    if args.config is not None and Path(args.config).is_file():  # not a shipped config's name
        check_inputs_outside(args.out, [args.config])  # an expert directory keeps no config
    result = train_expert(
        cfg,
        Path(args.out),
        episodes=args.episodes,
        overwrite=args.overwrite,
        progress=not args.quiet,
    )
    if not args.quiet:
        print(
            f"expert return {result['expert_return']:.1f} (random {result['random_return']:.1f}); "
            f"{args.episodes} demos ({result['demo_terminated']} end in a termination) -> "
            f"{result['demos']}"
        )
    fall_rate = result["seed_terminated"][result["best_seed"]]
    if result["terminal_failure"] and fall_rate > MAX_FALL_RATE:
        warnings.warn(  # printed as the command's other warnings, "jirl: warning: ..."
            f"every seed with a finite return falls in more than {MAX_FALL_RATE:.0%} of its "
            f"evaluation episodes (the kept one in {fall_rate:.0%}); an expert that falls "
            "teaches falling: train longer, with more seeds or a larger ppo.gamma (README, Known "
            "issues)",
            stacklevel=1,
        )
    return 0


def _ppo_fields(overrides: dict) -> dict:
    """`jirl retrain --set`'s PPO fields, written `KEY=v` or, as its messages name them,
    `ppo.KEY=v`."""
    section = overrides.pop("ppo", {})
    if not isinstance(section, dict):
        raise ArgumentError("--set ppo=... must map PPO fields to values, e.g. ppo={gamma: 0.9}")
    twice = sorted(set(section) & set(overrides))
    if twice:
        raise ArgumentError(f"--set gives {twice[0]} both as ppo.{twice[0]} and bare; keep one")
    return {**section, **overrides}


def cmd_retrain(args) -> int:
    from jirl.config import apply_overrides
    from jirl.retrain import retrain

    summary = retrain(
        args.reward,
        args.env,
        args.out,
        kind=args.kind,
        updates=args.updates,
        seed=args.seed,
        ppo_overrides=_ppo_fields(apply_overrides({}, args.set)),
        overwrite=args.overwrite,
    )
    if not args.quiet:
        score = summary["normalized_score"]
        shown = "-" if score is None else format(score["mean"], ".2f")
        print(
            f"retrain on {summary['reward_algo']} reward '{summary['reward_kind']}': return "
            f"{summary['return']['mean']:.1f}, normalized {shown} -> {args.out}/summary.json"
        )
    return 0


def cmd_plot(args) -> int:
    from jirl.plots import plot_runs

    try:
        out = plot_runs([Path(r) for r in args.runs], Path(args.out), args.metric)
    except OSError as e:  # an --out that cannot be written (the runs' files are checked)
        raise ArgumentError(f"cannot write --out {args.out}: {e.strerror or e}") from None
    print(out)
    return 0


def main(argv: list[str] | None = None) -> int:
    checkpoint = None  # only `jirl train` of a non-tabular algorithm checkpoints
    args = None
    try:
        args = build_parser().parse_args(argv)
        for flag, what in EMPTY_REFUSED.items():  # "" was taken for "not given"
            value = getattr(args, flag, None)
            if isinstance(value, str) and not value.strip():
                raise ArgumentError(f"--{flag} is empty; give {what}")
        if args.command == "train":
            from jirl import algos

            if args.algo not in algos.TABULAR:
                checkpoint = Path(args.out) / "checkpoint"
        command = {
            "train": cmd_train,
            "expert": cmd_expert,
            "plot": cmd_plot,
            "retrain": cmd_retrain,
            "quickstart": cmd_quickstart,
        }[args.command]
        return command(args)
    except JirlError as e:
        print(f"jirl: error: {e}{_kept(e)}", file=sys.stderr)
        return 1 if isinstance(e, RunError) else 2
    except KeyboardInterrupt as e:
        from jirl.run import has_checkpoint

        hint = ""
        # before the first checkpoint there is nothing to resume; where an --overwrite stopped
        # then, the checkpoint there is the old run's, put back (`_kept` says so)
        if checkpoint is not None and not _kept(e):
            saved = has_checkpoint(checkpoint)
            hint = "; resume with --resume" if saved else "; nothing was saved (no checkpoint yet)"
        what, code = ("terminated", 143) if isinstance(e, Terminated) else ("interrupted", 130)
        print(f"jirl: {what}{hint}{_kept(e)}", file=sys.stderr)
        return code
    except OSError as e:  # a disk that filled up, a directory that went away: not a traceback
        # (a write that filled the disk names no file: the run directory is where it wrote)
        out = getattr(args, "out", None)
        where = f"{e.filename}: " if e.filename else f"{out}: " if out else ""
        message = f"cannot read or write {where}{e.strerror or e}{_kept(e)}"
        from jirl.run import has_checkpoint

        if checkpoint is not None and has_checkpoint(checkpoint) and not _kept(e):
            message += "; once that is mended, continue with --resume"
        print(f"jirl: error: {message}", file=sys.stderr)
        return 1
    except MemoryError:  # NumPy on the host (a tabular world's tables), one line
        print(
            "jirl: error: out of host memory; use a smaller world or horizon, fewer seeds, "
            "environments or steps, or a smaller batch or network",
            file=sys.stderr,
        )
        return 1
    except Exception as e:  # out of memory: a config too large for the device, one line
        runtime = type(e).__name__ in ("JaxRuntimeError", "XlaRuntimeError")  # jax ≥ / < 0.5
        if not runtime or "RESOURCE_EXHAUSTED" not in str(e):
            raise
        print(
            "jirl: error: out of device memory; use fewer seeds, environments or steps, or a "
            "smaller batch or network",
            file=sys.stderr,
        )
        return 1


#: path and name flags whose empty value is refused, and what to give instead
EMPTY_REFUSED = {
    "config": "a config file or a shipped config's name (configs/)",
    "demos": "the demonstrations' .npz",
    "expert": "the expert's directory (from `jirl expert`)",
    "env": "an environment's name (jirl.envs.names())",
    "out": "the directory to write (jirl plot: the .png file)",
    "reward": "a finished gail, airl, gcl or gan_gcl run's directory",
}

#: the commands that compute on JAX's devices (`console` checks that they can start first)
COMPUTING = ("train", "expert", "retrain", "quickstart")


def console() -> None:
    """The `jirl` command: `main` on the process's own JAX, whose CPU runs as one device per
    core (`jirl.use_cpu_cores`) so that seeds are trained side by side; JAX_NUM_CPU_DEVICES=1
    or `--devices 1` keeps one."""
    import jirl

    if jirl.JAX_IMPORT_ERROR is not None:
        _fail(jirl.JAX_IMPORT_ERROR)
    from jirl.run import use_cpu_cores

    count = os.environ.get("JAX_NUM_CPU_DEVICES")
    if count is not None and not (
        count.strip().isascii() and count.strip().isdecimal() and int(count) >= 1
    ):
        _fail(f"JAX_NUM_CPU_DEVICES must be a whole number >= 1, got {count!r}; unset it")
    use_cpu_cores()
    signal.signal(signal.SIGTERM, _terminate)
    warnings.showwarning = _one_line_warning
    args = sys.argv[1:]
    computes = bool(args) and args[0] in COMPUTING and not {"-h", "--help"} & set(args)
    try:
        if computes:  # `plot` and `--help` never start a device (a GPU's memory, its errors)
            import jax

            jax.devices()
    except Exception as e:  # JAX_PLATFORMS=cuda without the CUDA jax: an AssertionError
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        platforms = os.environ.get("JAX_PLATFORMS")
        hint = f"JAX_PLATFORMS={platforms!r}: " if platforms else ""
        _fail(
            f"JAX cannot start its devices ({hint}{first}); unset JAX_PLATFORMS, or install "
            "the jax for that platform"
        )
    code = main()
    # past `main`, a SIGTERM ends the process as by default: raised in the interpreter's
    # shutdown, it printed a threading traceback and exited 0
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if code in (130, 143):  # interrupted, its one line printed and every file closed
        # XLA may still be compiling or running on its own threads; tearing the interpreter
        # down under them aborted now and then ("pure virtual method called", exit 134)
        with contextlib.suppress(OSError):  # (a closed pipe: `jirl train ... | head`)
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def _kept(e: BaseException) -> str:
    """What became of the run an `--overwrite` was to replace, where this one stopped before
    its first checkpoint (`jirl.files.replacing`): put back (`restored`), or, if that failed,
    where it waits (`kept_at`); for the end of the error line."""
    kept = getattr(e, "kept_at", None)
    if kept:
        return f"; the run it was to replace is kept in {kept}: move it back"
    restored = getattr(e, "restored", None)
    return f"; {restored} holds the run it was to replace, as it was" if restored else ""


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A warning as the command prints it: "jirl: warning: ..." (no source line)."""
    print(f"jirl: warning: {message}", file=sys.stderr if file is None else file)


def _fail(message: str) -> None:
    """A user error found before `main`: one line on stderr, exit 2."""
    print(f"jirl: error: {message}", file=sys.stderr)
    sys.exit(2)


if __name__ == "__main__":
    console()
