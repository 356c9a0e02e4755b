"""Scaling and the host driver: wall time of 1, 8 and 64 seeds and of a 4 × 8 sweep (one compile
each), compile seconds of every registered algorithm's train function, and the overhead of
`jirl.run` (progress bar, metrics.jsonl, checkpoints between chunks) over a bare
`jax.jit(jax.vmap(train))` doing the same work, and, where JAX sees several devices (on a CPU,
one per core: `--cpu-devices`), `jirl.run`'s 5 seeds on one device against all of them, which
they do not divide (`jirl.run.seed_layout` pads the seed axis with repeats); and a whole
`jirl train` process without and with JAX's persistent compilation cache.

    python benchmarks/scaling.py            # quick CPU mode (cartpole)
    python benchmarks/scaling.py --full     # accelerator: longer runs, more seeds

Prints markdown tables and writes JSON (default benchmarks/results/scaling.json). Algorithms
that learn from demonstrations or query an expert use `benchmarks/results/experts/cartpole`
(trained there first if missing, as by the other benchmarks).
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _jax_env  # noqa: F401  (before JAX: one line and exit 2 for a JAX_* it cannot read)
import jax
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import imitation_rows  # noqa: E402  (sibling benchmark module: the expert cache)

import jirl  # noqa: E402
from jirl import algos, envs, sweep  # noqa: E402
from jirl.cli import ScriptParser, script_main, whole  # noqa: E402
from jirl.config import experiment_config  # noqa: E402
from jirl.experiment import prepare  # noqa: E402
from jirl.files import out_file, write_results  # noqa: E402
from jirl.logging import JsonlWriter, ProgressBar  # noqa: E402
from jirl.provenance import provenance  # noqa: E402
from jirl.rl import ppo  # noqa: E402

EXPERT = Path(__file__).resolve().parent / "results" / "experts" / "cartpole"
SWEEP_RATES = (1e-3, 5e-4, 2.5e-4, 1e-4)


def _timed(fn, *args) -> tuple[float, float]:
    """(compile seconds, median run seconds of 3) of `jax.jit(fn)(*args)`."""
    t = time.perf_counter()
    compiled = jax.jit(fn).lower(*args).compile()
    compile_seconds = time.perf_counter() - t
    times = []
    for _ in range(3):
        t = time.perf_counter()
        jax.block_until_ready(compiled(*args))
        times.append(time.perf_counter() - t)
    return compile_seconds, float(np.median(times))


def seeds_and_sweep(updates: int, seed_counts: tuple[int, ...]) -> list[dict]:
    """PPO on cartpole: `n` seeds vmapped, then 4 learning rates × 8 seeds as one sweep (its
    initialisation, which checks each setting on the host, outside the timed function)."""
    env = envs.make("cartpole")
    config = ppo.PPOConfig()
    algo = ppo.make(config, env)
    rows = []
    for n in seed_counts:
        keys = jax.random.split(jax.random.PRNGKey(0), n)
        c, w = _timed(jax.vmap(jirl.make_train(algo, updates)), keys)
        rows.append(_row(f"{n} seeds", n, c, w, algo.env_steps_per_update * updates * n))
    swept = sweep.sweep_algorithm(lambda cfg: ppo.make(cfg, env), config, ("learning_rate",))
    keys, values, _ = sweep.batch({"learning_rate": SWEEP_RATES}, jax.random.PRNGKey(0), 8)
    # initialised outside the timed function: `init_sweep` checks each setting on the host
    state = sweep.init_sweep(swept, keys, values)

    def train_sweep(state):
        step = jax.vmap(lambda s: jax.lax.scan(lambda c, _: swept.algo.update(c), s, None, updates))
        return step(state)

    c, w = _timed(train_sweep, state)
    n = len(SWEEP_RATES) * 8
    rows.append(_row("4 rates × 8 seeds", n, c, w, algo.env_steps_per_update * updates * n))
    return rows


def _row(name, runs, compile_seconds, wall, steps) -> dict:
    return {
        "case": name,
        "runs": runs,
        "compile_seconds": compile_seconds,
        "wall_seconds": wall,
        "env_steps": steps,
        "env_steps_per_second": steps / wall,
    }


def compile_times(updates: int, seeds: int) -> list[dict]:
    """Compile seconds of `jit(vmap(make_train(algo, updates)))` for every registered algorithm."""
    expert = imitation_rows.ensure_expert("cartpole", EXPERT)
    rows = []
    for name in sorted(algos.REGISTRY):
        spec = algos.get(name)
        raw = {"algo": name, "env": "cartpole", "seeds": seeds, "updates": updates}
        if spec.needs_demos or spec.needs_expert:
            raw["expert"] = str(expert)
        cfg = experiment_config(raw, spec.config_cls)
        algo = prepare(cfg).algo
        keys = jax.random.split(jax.random.PRNGKey(0), seeds)
        train = jax.jit(jax.vmap(jirl.make_train(algo, updates)))
        t = time.perf_counter()
        train.lower(keys).compile()
        rows.append({"algo": name, "seeds": seeds, "compile_seconds": time.perf_counter() - t})
    return rows


def driver_overhead(updates: int, seeds: int, chunk: int) -> dict:
    """Run seconds (compile excluded) of `jirl.run` with a progress bar, metrics.jsonl and a
    checkpoint after every chunk vs the bare jitted train function on the same work."""
    algo = ppo.make(ppo.PPOConfig(), envs.make("cartpole"))
    key = jax.random.PRNGKey(0)
    _, bare = _timed(jax.vmap(jirl.make_train(algo, updates)), jax.random.split(key, seeds))
    driven = []
    for _ in range(3):
        with tempfile.TemporaryDirectory() as tmp:
            callbacks = [
                JsonlWriter(Path(tmp) / "metrics.jsonl", algo.env_steps_per_update),
                ProgressBar(updates, algo.env_steps_per_update * seeds),
            ]
            t = time.perf_counter()
            result = jirl.run(
                algo, key, updates, seeds=seeds, chunk_size=chunk, callbacks=callbacks,
                checkpoint_dir=Path(tmp) / "checkpoint", devices=jax.devices()[:1],
            )  # fmt: skip
            total = time.perf_counter() - t
            for c in callbacks:
                c.close()
            driven.append(total - result.compile_seconds)
    run_seconds = float(np.median(driven))
    return {
        "updates": updates,
        "seeds": seeds,
        "chunk": chunk,
        "checkpoints": -(-updates // chunk),
        "bare_seconds": bare,
        "driver_seconds": run_seconds,
        "overhead": run_seconds / bare - 1.0,
    }


def compile_cache(updates: int, seeds: int = 4) -> dict:
    """Wall seconds of whole `jirl train gail --config gail-cartpole` processes (the cartpole
    expert's demos, `updates` updates, `seeds` seeds), each a fresh Python: one without JAX's
    persistent compilation cache, then two sharing one (`JAX_COMPILATION_CACHE_DIR`, a fresh
    temporary directory, JAX's default thresholds): the first fills it, the second loads the
    executables it holds instead of compiling them."""
    expert = imitation_rows.ensure_expert("cartpole", EXPERT)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("JAX_COMPILATION_CACHE")}

    def process(tmp: str, name: str, cache: str | None) -> float:
        argv = ["train", "gail", "--config", "gail-cartpole", "--demos", str(expert / "demos.npz"),
                "--updates", str(updates), "--seeds", str(seeds), "--out", f"{tmp}/{name}",
                "--quiet"]  # fmt: skip
        env = clean if cache is None else {**clean, "JAX_COMPILATION_CACHE_DIR": cache}
        command = [sys.executable, "-c", "from jirl.cli import console; console()"]  # `jirl`'s
        t = time.perf_counter()
        subprocess.run([*command, *argv], env=env, check=True)
        return time.perf_counter() - t

    with tempfile.TemporaryDirectory() as tmp:
        without = process(tmp, "without", None)
        filling = process(tmp, "filling", f"{tmp}/cache")
        loading = process(tmp, "loading", f"{tmp}/cache")
    return {
        "command": "jirl train gail --config gail-cartpole",
        "updates": updates,
        "seeds": seeds,
        "without_cache_seconds": without,
        "cache_filling_seconds": filling,
        "cache_loading_seconds": loading,
    }


def print_compile_cache(cache: dict) -> None:
    print(
        f"\n### `{cache['command']}`, {cache['updates']} updates, {cache['seeds']} seeds: "
        "whole process, JAX's persistent compilation cache\n"
    )
    print("| no cache s | cache filled s | cache loaded s |")
    print("| ---: | ---: | ---: |")
    print(
        f"| {cache['without_cache_seconds']:.1f} | {cache['cache_filling_seconds']:.1f} "
        f"| {cache['cache_loading_seconds']:.1f} |"
    )


def padded_seeds(updates: int, seeds: int = 5) -> dict | None:
    """Run seconds (compile excluded) of `jirl.run`'s `seeds` PPO cartpole seeds on one device
    and over all visible devices, the seed axis padded to a multiple of those it uses (None
    with one device)."""
    if len(jax.devices()) == 1:
        return None
    algo = ppo.make(ppo.PPOConfig(), envs.make("cartpole"))
    key = jax.random.PRNGKey(0)
    steps = algo.env_steps_per_update * updates * seeds  # the real seeds' only
    out = {"updates": updates, "seeds": seeds}
    for name, devices in (("one_device", jax.devices()[:1]), ("all_devices", None)):
        walls = []
        for _ in range(3):
            result = jirl.run(algo, key, updates, seeds=seeds, chunk_size=updates, devices=devices)
            walls.append(result.wall_seconds)
        out[f"{name}_seconds"] = float(np.median(walls))
        out[f"{name}_devices"] = result.layout.devices
        out[f"{name}_padded"] = result.layout.padded
        out[f"{name}_env_steps_per_second"] = steps / out[f"{name}_seconds"]
    out["speedup"] = out["one_device_seconds"] / out["all_devices_seconds"]
    return out


def print_padded(padded: dict | None) -> None:
    if padded is None:
        print("\n(one device visible: no padded-seeds figure)")
        return
    devices, axis = padded["all_devices_devices"], padded["all_devices_padded"]
    print(
        f"\n### {padded['seeds']} seeds with `jirl.run` (PPO cartpole, {padded['updates']} "
        f"updates): one device against {devices}, the seed axis padded to {axis}\n"
    )
    print("| devices | seed axis | run s | env steps/s |")
    print("| ---: | ---: | ---: | ---: |")
    for name in ("one_device", "all_devices"):
        row = {k.removeprefix(name + "_"): v for k, v in padded.items() if k.startswith(name)}
        print(
            f"| {row['devices']} | {row['padded']} | {row['seconds']:.2f} "
            f"| {row['env_steps_per_second']:,.0f} |"
        )
    print(f"\nspeedup {padded['speedup']:.2f}x")


@script_main
def main(argv=None) -> None:
    parser = ScriptParser(__doc__)
    parser.add_argument("--full", action="store_true", help="accelerator mode: longer runs")
    parser.add_argument("--out", type=out_file, default="benchmarks/results/scaling.json")
    parser.add_argument(
        "--cpu-devices",
        type=whole,
        default=None,
        help="CPU devices for the padded-seeds figure (default: one per core; 0: leave JAX's "
        "count alone); the other figures use one device",
    )
    args = parser.parse_args(argv)
    if args.cpu_devices is not None and args.cpu_devices < 0:
        parser.error(f"--cpu-devices must be >= 0, got {args.cpu_devices}")
    if args.cpu_devices != 0:
        jirl.use_cpu_cores(args.cpu_devices)  # before JAX starts (nothing imported above does)
    updates = 480 if args.full else 40
    device = jax.devices()[0]
    cpu = f"{platform.machine()} {os.cpu_count()} cores"
    machine = f"{device.platform}: {device.device_kind}, {cpu}"

    out = Path(args.out)
    result = {
        "machine": machine,
        "jax": jax.__version__,
        "full": args.full,
        "provenance": provenance(argv),
    }

    def keep(**section) -> None:
        """Add a section; the JSON is rewritten after each, so a run cut short keeps them."""
        result.update(section)
        write_results(out, {**result, "partial": True})

    scaling = seeds_and_sweep(updates, (1, 8, 64))
    keep(scaling=scaling)
    print(f"\n### PPO cartpole, {updates} updates per run, one compile each ({machine})\n")
    print("| case | runs | compile s | wall s | env steps/s |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for r in scaling:
        print(
            f"| {r['case']} | {r['runs']} | {r['compile_seconds']:.1f} | {r['wall_seconds']:.2f} "
            f"| {r['env_steps_per_second']:,.0f} |"
        )

    compiles = compile_times(updates=10, seeds=8)
    keep(compile=compiles)
    print("\n### Compile seconds of `jit(vmap(make_train(algo, 10)))`, 8 seeds, cartpole\n")
    print("| algorithm | compile s |")
    print("| --- | ---: |")
    for r in compiles:
        print(f"| {r['algo']} | {r['compile_seconds']:.1f} |")

    overhead = driver_overhead(updates=200 if not args.full else 960, seeds=8, chunk=10)
    keep(driver_overhead=overhead)
    print("\n### Host driver overhead (PPO cartpole, 8 seeds, chunk 10, checkpoint every chunk)\n")
    print("| bare jit s | jirl.run s | overhead |")
    print("| ---: | ---: | ---: |")
    print(
        f"| {overhead['bare_seconds']:.2f} | {overhead['driver_seconds']:.2f} "
        f"| {100 * overhead['overhead']:+.1f}% |"
    )
    cache = compile_cache(updates=5)
    keep(compile_cache=cache)
    print_compile_cache(cache)
    padded = padded_seeds(updates=200 if not args.full else 960)
    print_padded(padded)
    result["padded_seeds"] = padded
    write_results(out, {**result, "partial": False})
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
