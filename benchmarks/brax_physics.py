"""How each Brax physics backend treats the Brax four before any learning: the episodes of
policies that know nothing (zero actions, small and full uniformly random actions), how many
end early (the robot leaves its healthy range: a fall, or a torso bounced too high), how long
they last and what they return, and how many env steps a second the backend runs here.

A backend whose robot leaves its healthy range under zero actions, or right after a reset,
makes a task no demonstrator can show and no learner can imitate: run this before choosing
one (`benchmarks/adversarial.py`'s `BRAX_BACKEND`, a config's `backend:`).

    python benchmarks/brax_physics.py                       # the Brax four x four backends
    python benchmarks/brax_physics.py --envs ant --backends generalized spring

Prints a markdown table and writes JSON (default benchmarks/results/brax_physics.json).
"""

from __future__ import annotations

import platform
import time
from importlib.metadata import version

import _jax_env  # noqa: F401  (before JAX: one line and exit 2 for a JAX_* it cannot read)
import jax
import jax.numpy as jnp
import numpy as np

from jirl import envs
from jirl.cli import ScriptParser, script_main, whole
from jirl.envs.brax import BACKENDS
from jirl.evaluation import episode_outcomes, random_act_fn
from jirl.files import out_file, write_results
from jirl.provenance import provenance

FOUR = ("hopper", "halfcheetah", "walker2d", "ant")

#: policy name -> scale of its uniformly random actions in Brax's [-1, 1] box (0: always zero;
#: 1: `jirl.evaluation.random_act_fn`, the 0 of the normalized score).
POLICIES = {"zero": 0.0, "random x0.3": 0.3, "random": 1.0}


def scaled_random(scale: jax.Array, env):
    """`act_fn` of `random_act_fn(env)` scaled by `scale`: uniform on [−scale, scale] in
    Brax's symmetric [-1, 1] box (scale 1: the normalized score's random policy itself)."""
    random = random_act_fn(env)
    return lambda obs, key: scale * random(obs, key)


def measure(env_name: str, backend: str, episodes: int, key: jax.Array) -> list[dict]:
    """One row per policy of `POLICIES` for `env_name` on `backend`: mean return, the fraction
    of `episodes` that ended before the horizon, mean and shortest episode length, and env
    steps per second (every step of the batch counted, those after an episode's end too: the
    whole batch runs to the horizon), compile left out (`compile_s`: the first call, compile and
    one batch of the zero policy)."""
    env = envs.make(env_name, backend=backend)

    @jax.jit
    def run(scale, key):
        act = scaled_random(scale, env)
        return episode_outcomes(env, act, key, episodes)

    t = time.perf_counter()
    jax.block_until_ready(run(jnp.float32(0.0), key))
    compile_s = time.perf_counter() - t
    rows = []
    for name, scale in POLICIES.items():
        t = time.perf_counter()
        out = jax.block_until_ready(run(jnp.float32(scale), key))
        seconds = time.perf_counter() - t
        lengths = np.asarray(out.lengths)
        rows.append(
            {
                "env": env_name,
                "backend": backend,
                "policy": name,
                "episodes": episodes,
                "horizon": env.horizon,
                "return": float(np.mean(out.returns)),
                "ended_early": float(np.mean(out.terminated)),
                "mean_length": float(lengths.mean()),
                "min_length": int(lengths.min()),
                "env_steps_per_s": episodes * env.horizon / seconds,
                "compile_s": compile_s,
            }
        )
    return rows


def markdown(rows: list[dict]) -> str:
    """One line per (env, backend): each policy's ended-early fraction and mean length, and the
    steps per second of the full random policy."""
    names = list(POLICIES)
    lines = [
        "| env | backend | "
        + " | ".join(f"{n}: ended early, mean length" for n in names)
        + " | env steps/s (random) |",
        "|---|---|" + "---|" * (len(names) + 1),
    ]
    cells: dict[tuple, dict] = {}
    for r in rows:
        cells.setdefault((r["env"], r["backend"]), {})[r["policy"]] = r
    for (env_name, backend), by_policy in cells.items():
        shown = [
            f"{by_policy[n]['ended_early']:.0%}, {by_policy[n]['mean_length']:.0f}" for n in names
        ]
        speed = f"{by_policy['random']['env_steps_per_s']:,.0f}"
        lines.append(f"| {env_name} | {backend} | " + " | ".join(shown) + f" | {speed} |")
    return "\n".join(lines)


@script_main
def main(argv=None) -> None:
    parser = ScriptParser(__doc__)
    parser.add_argument("--envs", nargs="+", default=list(FOUR), choices=sorted(envs.BRAX))
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    parser.add_argument("--episodes", type=whole, default=64, help="episodes per policy, batched")
    parser.add_argument("--seed", type=whole, default=0)
    parser.add_argument("--out", type=out_file, default="benchmarks/results/brax_physics.json")
    args = parser.parse_args(argv)
    if args.episodes < 1:
        parser.error("--episodes must be at least 1")
    if not 0 <= args.seed < 2**31:
        parser.error(f"--seed must be in [0, 2**31), got {args.seed}")

    rows: list[dict] = []
    key = jax.random.PRNGKey(args.seed)
    device = jax.devices()[0]

    origin = provenance(argv)

    def write(partial: bool) -> None:
        """The results JSON, rewritten after every env and backend, so a run cut short keeps
        the rows it measured."""
        document = {
            "device": str(device),
            "platform": platform.platform(),
            "versions": {p: version(p) for p in ("jax", "brax", "mujoco", "mujoco-mjx")},
            "provenance": origin,
            "seed": args.seed,
            "partial": partial,
            "rows": rows,
            "table": markdown(rows),
        }
        write_results(args.out, document)

    for env_name in args.envs:
        for backend in args.backends:
            rows += measure(env_name, backend, args.episodes, key)
            r = rows[-len(POLICIES) :]
            print(
                f"{env_name:12s} {backend:12s} "
                + "  ".join(f"{x['policy']}: {x['ended_early']:.0%} end early" for x in r),
                flush=True,
            )
            write(partial=True)
    cpu = platform.processor() or platform.machine()
    print(f"\ndevice: {device.device_kind} ({device.platform}), {cpu}")
    print(markdown(rows))
    write(partial=False)


if __name__ == "__main__":
    main()
