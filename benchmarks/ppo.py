"""PPO throughput: env steps per second of the whole jitted training loop, compile seconds, and
the wall time of 1, 8 and 64 seeds in one compile: on one device and, where there are several
(a CPU device per core, `jirl.use_cpu_cores`), with the seeds sharded over all of them.

    python benchmarks/ppo.py            # quick CPU mode (cartpole)
    python benchmarks/ppo.py --full     # accelerator: 256 seeds too, and Brax halfcheetah,
                                        # hopper, ant (2048 envs × 32 steps, 1 and 8 seeds)
    python benchmarks/ppo.py --full --envs hopper   # one env's rows only
    python benchmarks/ppo.py --seeds 1 --updates 1 --repeats 1   # a smoke run (seconds)

The Brax envs run on the physics the rest of the benchmarks use (`adversarial.BRAX_BACKEND`:
positional; spring for ant) unless `--brax-backend` names one; each row records its backend.

Prints a markdown table and writes JSON (default benchmarks/results/ppo.json).
"""

from __future__ import annotations

import platform
import sys
import time
from pathlib import Path

import _jax_env  # noqa: F401  (before JAX: one line and exit 2 for a JAX_* it cannot read)
import jax
import numpy as np

import jirl
from jirl import envs
from jirl.cli import ScriptParser, script_main, whole
from jirl.devices import seed_map
from jirl.files import out_file, write_results
from jirl.provenance import provenance
from jirl.rl import ppo
from jirl.run import seed_layout

#: the Brax envs of `--full`
BRAX_ENVS = ("halfcheetah", "hopper", "ant")


def measure(
    env_name: str,
    config: ppo.PPOConfig,
    updates: int,
    seeds: int,
    repeats: int,
    devices: list,
    backend: str | None = None,
) -> dict:
    """Compile once, then time `repeats` runs of `seeds` vmapped seeds × `updates` updates,
    the seeds sharded over `devices` (`jirl.devices.seed_map`); `backend`: a Brax env's physics."""
    env = envs.make(env_name) if backend is None else envs.make(env_name, backend=backend)
    algo = ppo.make(config, env)
    layout = seed_layout(seeds, devices)  # a padded seed's copy is work, not counted
    keys = layout.pad(jax.random.split(jax.random.PRNGKey(0), seeds))
    train = seed_map(jirl.make_train(algo, updates), layout.sharding)
    t = time.perf_counter()
    compiled = jax.jit(train).lower(keys).compile()
    compile_seconds = time.perf_counter() - t
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        jax.block_until_ready(compiled(keys))
        times.append(time.perf_counter() - t)
    wall = float(np.median(times))
    steps = algo.env_steps_per_update * updates * seeds
    return {
        "env": env_name,
        "backend": backend,
        "num_envs": config.num_envs,
        "num_steps": config.num_steps,
        "seeds": seeds,
        "devices": len(devices),
        "updates": updates,
        "env_steps": steps,
        "compile_seconds": compile_seconds,
        "wall_seconds": wall,
        "env_steps_per_second": steps / wall,
    }


@script_main
def main(argv=None) -> None:
    parser = ScriptParser(__doc__)
    parser.add_argument("--full", action="store_true", help="accelerator mode: Brax envs too")
    parser.add_argument("--out", type=out_file, default="benchmarks/results/ppo.json")
    parser.add_argument("--repeats", type=whole, default=3)
    parser.add_argument(
        "--cpu-devices",
        type=whole,
        default=None,
        help="CPU devices for the rows over all devices (default: one per core; 0: JAX's count)",
    )
    parser.add_argument(
        "--envs",
        nargs="+",
        choices=("cartpole", *BRAX_ENVS),
        help="the envs to time (default: cartpole; with --full the Brax three too)",
    )
    parser.add_argument(
        "--brax-backend", choices=envs.BACKENDS, help="Brax physics (default: per env, above)"
    )
    parser.add_argument(
        "--seeds",
        type=whole,
        nargs="+",
        help="cartpole's seed counts (default: 1 8 64; with --full 256 too); Brax's are 1 and 8",
    )
    parser.add_argument(
        "--updates", type=whole, help="updates per timed run (default: 20, 50 with --full; Brax 10)"
    )
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1, got {args.repeats}")
    if args.seeds is not None and min(args.seeds) < 1:
        parser.error(f"--seeds counts must be >= 1, got {min(args.seeds)}")
    if args.updates is not None and args.updates < 1:
        parser.error(f"--updates must be >= 1, got {args.updates}")
    if args.cpu_devices is not None and args.cpu_devices < 0:
        parser.error(f"--cpu-devices must be >= 0, got {args.cpu_devices}")
    if args.cpu_devices != 0:
        jirl.use_cpu_cores(args.cpu_devices)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from adversarial import BRAX_BACKEND  # the physics of every Brax benchmark

    env_names = args.envs or ["cartpole", *(BRAX_ENVS if args.full else ())]
    one, every = jax.devices()[:1], jax.devices()

    default = ppo.PPOConfig()  # the config the tests use to solve cartpole
    wide = ppo.PPOConfig(num_envs=64, num_steps=64, num_minibatches=4)
    device = jax.devices()[0]
    cpu = platform.processor() or platform.machine()
    header = f"device: {device.device_kind} ({device.platform}), {cpu}"
    out = Path(args.out)
    origin = provenance(argv)
    rows = []

    def add(row: dict) -> None:
        """Keep a row; the JSON is rewritten after each, so a run cut short keeps its rows."""
        rows.append(row)
        write_results(out, {"device": header, "provenance": origin, "partial": True, "rows": rows})

    updates = args.updates or (20 if not args.full else 50)
    seed_counts = args.seeds or ((1, 8, 64) if not args.full else (1, 8, 64, 256))
    for name, cfg in (("default 16x64", default), ("wide 64x64", wide)):
        if "cartpole" not in env_names:
            break
        for seeds in seed_counts:
            placements = [one] + ([every] if len(every) > 1 and seeds % len(every) == 0 else [])
            for devices in placements:
                r = measure("cartpole", cfg, updates, seeds, args.repeats, devices)
                r["config"] = name
                add(r)
    brax_cfg = ppo.PPOConfig(num_envs=2048, num_steps=32, num_minibatches=32, hidden=(256, 256))
    for env_name in (e for e in env_names if e in BRAX_ENVS):
        backend = args.brax_backend or BRAX_BACKEND[env_name]
        for seeds in (1, 8):
            r = measure(env_name, brax_cfg, args.updates or 10, seeds, args.repeats, one, backend)
            r["config"] = "brax 2048x32"
            add(r)

    print(header)
    columns = (
        "env | backend | config | seeds | devices | env steps | compile s | wall s | env steps/s"
    )
    print(f"| {columns} | vs 1 seed |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        base = next(  # (none where --seeds leaves 1 out)
            (
                x["wall_seconds"]
                for x in rows
                if x["env"] == r["env"] and x["config"] == r["config"] and x["seeds"] == 1
            ),
            None,
        )
        r["wall_ratio_vs_1_seed"] = None if base is None else r["wall_seconds"] / base
        ratio = "-" if base is None else f"{r['wall_ratio_vs_1_seed']:.2f}"
        print(
            f"| {r['env']} | {r['backend'] or '-'} | {r['config']} | {r['seeds']} | "
            f"{r['devices']} | {r['env_steps']:,} | "
            f"{r['compile_seconds']:.1f} | {r['wall_seconds']:.2f} | "
            f"{r['env_steps_per_second']:,.0f} | {ratio} |"
        )
    document = {"device": header, "provenance": origin, "partial": False, "rows": rows}
    write_results(out, document)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
