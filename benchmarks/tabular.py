"""Tabular IRL benchmark: speed of one MaxEnt gradient, batching, and IRL quality on objectworld.

    python benchmarks/tabular.py            # quick CPU mode
    python benchmarks/tabular.py --full     # every size, 32x32 objectworld, 6 demo counts, 5 seeds
    python benchmarks/tabular.py --full --sections quality --out quality.json   # one section

Prints markdown tables and writes JSON (`--out`, default benchmarks/results/tabular.json).
Times are the *minimum* over repetitions after a warm-up (compile) call, with
`jax.block_until_ready`: on a shared CPU the minimum is the least noisy estimate of the cost.

Sections:
1. one MaxEnt gradient on dense random MDPs (A = 4): soft VI + visitation for the reward-table
   gradient (what imitation's `mce_partition_fh` + `mce_occupancy_measures` compute, timed side
   by side when `imitation` is installed, else a line-for-line NumPy transcription of those two
   functions), and the one-pass linear gradient with F = 4 features
   (`planning.soft_expected_features`, which reads T once per step instead of twice);
2. one MaxEnt gradient on the sparse gridworld (A = 5, 5 successors) in four representations:
   sparse with the band (diagonal) table (the default), sparse with the predecessor-table gather,
   sparse with scatter-add, and the translation-invariant grid stencil (above 16 MiB of policy,
   `planning.POLICY_STORE_BYTES`, the forward pass recomputes π_t instead of storing it);
3. 32 reward problems sharing dynamics (sparse gridworld, and the same MDP dense): one vmapped
   call against 32 sequential calls of the jitted single-problem gradient. Under vmap,
   `planning.soft_visitation` carries the batch as trailing columns `[S, A, B]` (its
   `custom_vmap` rule), not as vmap's leading axis; and 4 sparse problems, which that rule runs
   one by one in one program (fewer than `planning.MIN_SHIFT_COLUMNS`);
4. quality: EVD on objectworld (C = 2) against the number of demos, per algorithm, mean over
   seeds vmapped in one compile.
"""

from __future__ import annotations

import pathlib
import sys
import time
import types

import _jax_env  # noqa: F401  (before JAX: one line and exit 2 for a JAX_* it cannot read)
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from scipy import special

from jirl.cli import ScriptParser, script_main
from jirl.files import out_file, partial_path, strict_json, write_results
from jirl.provenance import provenance
from jirl.tabular import mdp as mdp_lib
from jirl.tabular import planning
from jirl.tabular.deep_maxent import reward_table_gradient
from jirl.tabular.maxent import maxent_gradient
from jirl.tabular.options import build_world
from jirl.tabular_run import make_run, resolve_options

ALGOS = ("maxent", "maxcausalent", "deep_maxent", "max_margin", "mwal")


def min_time(fn, *args, reps: int) -> float:
    """Least seconds of `fn(*args)` over `reps` calls, after one warm-up (compile) call."""
    jax.block_until_ready(fn(*args))
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - start)
    return min(times)


def products_time(mdp: mdp_lib.TabularMDP, horizon: int, reps: int) -> tuple[float, float]:
    """What the two-pass dense gradient's matrix products cost alone, on this machine: seconds
    of a jitted pair of `lax.scan`s that do nothing but the gradient's products with T, through
    its own operators (`planning.transition_operators`: `expect`, T [S·A, S] times a vector,
    backward; `push`, with the stored transpose, forward), H − 1 steps each (Q_{H−1} = r needs
    no product, nor does the last visitation step); least of `reps`. Also the bytes/s of
    streaming T that implies. Near a floor for the gradient, not a proven one (XLA compiles the
    two programs apart). At S = 1024 T is 16.7 MB and stays in a 32 MB L3; at 4096, 268 MB
    from DRAM."""
    steps = horizon - 1

    @jax.jit
    def products(m):
        ops = planning.transition_operators(m)

        def backward(v, _):
            return ops.expect(v)[:, 0], None  # [S]

        def forward(flow, _):
            d = ops.push(flow)  # [S]
            return jnp.broadcast_to(d[:, None] / m.num_actions, flow.shape), None  # mass kept

        v = lax.scan(backward, jnp.ones(m.num_states), None, length=steps)[0]
        flow = jnp.full((m.num_states, m.num_actions), 1.0 / (m.num_states * m.num_actions))
        return v, lax.scan(forward, flow, None, length=steps)[0]

    seconds = min_time(products, mdp, reps=reps)
    return seconds, 2 * steps * mdp.transition.nbytes / seconds


def random_dense_mdp(num_states: int, num_actions: int, seed: int = 0) -> mdp_lib.TabularMDP:
    rng = np.random.default_rng(seed)
    t = rng.random((num_states, num_actions, num_states), dtype=np.float32)
    t /= t.sum(-1, keepdims=True)
    feats = rng.standard_normal((num_states, 4)).astype(np.float32)
    return mdp_lib.dense_mdp(t, np.full(num_states, 1.0 / num_states), features=feats)


def table_gradient_fn(horizon: int):
    """One reward-table MaxEnt gradient: soft VI + summed state visitation (`soft_visitation`)."""

    @jax.jit
    def grad(mdp, reward, demo_visitation):
        return reward_table_gradient(mdp, reward, demo_visitation, horizon=horizon, discount=1.0)[0]

    return grad


def linear_gradient_fn(horizon: int, one_pass: bool):
    @jax.jit
    def grad(mdp, weights, feats, counts):
        return maxent_gradient(
            mdp, weights, feats, counts, horizon=horizon, discount=1.0, one_pass=one_pass
        )[0]

    return grad


def imitation_time(mdp, reward: np.ndarray, horizon: int, reps: int) -> tuple[float, str]:
    """Seconds of imitation's mce_partition_fh + mce_occupancy_measures, and which code ran.

    Without `imitation` installed, the same two functions transcribed line for line in NumPy
    (float64, as imitation runs them) stand in, so the comparison is still made in the same
    process on the same machine state.
    """
    t = np.asarray(mdp.transition, np.float64)
    initial = np.asarray(mdp.initial, np.float64)
    try:
        from imitation.algorithms import mce_irl
    except ImportError:
        return min_time(lambda: _imitation_numpy(t, initial, reward, horizon), reps=reps), "numpy"
    env = types.SimpleNamespace(
        transition_matrix=t,
        reward_matrix=reward,
        horizon=horizon,
        initial_state_dist=initial,
        state_dim=t.shape[0],
        action_dim=t.shape[1],
    )

    def run():
        _, _, pi = mce_irl.mce_partition_fh(env, reward=reward)
        return mce_irl.mce_occupancy_measures(env, reward=reward, pi=pi)

    return min_time(run, reps=reps), "imitation"


def _imitation_numpy(t: np.ndarray, initial: np.ndarray, reward: np.ndarray, horizon: int):
    """imitation.algorithms.mce_irl.mce_partition_fh + mce_occupancy_measures (discount 1)."""
    num_states, num_actions, _ = t.shape
    values = np.full((horizon, num_states), -np.inf)
    q = np.zeros((horizon, num_states, num_actions))
    q[horizon - 1] = reward[:, None]
    values[horizon - 1] = special.logsumexp(q[horizon - 1], axis=1)
    for step in reversed(range(horizon - 1)):
        q[step] = reward[:, None] + t @ values[step + 1]
        values[step] = special.logsumexp(q[step], axis=1)
    pi = np.exp(q - values[:, :, None])
    d = np.zeros((horizon + 1, num_states))
    d[0] = initial
    for step in range(horizon):
        for a in range(num_actions):
            d[step + 1] += (d[step] * pi[step, :, a]) @ t[:, a, :]
    return d.sum(axis=0)


def bench_dense(full: bool) -> list[dict]:
    cases = [(64, 50, 20), (1024, 100, 5), (4096, 100, 3 if full else 2)]
    rows = []
    for num_states, horizon, reps in cases:
        mdp = random_dense_mdp(num_states, 4)
        key_r, key_v, key_w = jax.random.split(jax.random.PRNGKey(0), 3)
        reward = jax.random.normal(key_r, (num_states,))
        demo_vis = jax.random.uniform(key_v, (num_states,))
        feats = jnp.broadcast_to(mdp.features[:, None], (num_states, 4, 4))
        weights = jax.random.normal(key_w, (4,))
        counts = jnp.zeros(4)
        two_pass = min_time(table_gradient_fn(horizon), mdp, reward, demo_vis, reps=reps)
        linear_two = min_time(
            linear_gradient_fn(horizon, False), mdp, weights, feats, counts, reps=reps
        )
        linear_one = min_time(
            linear_gradient_fn(horizon, True), mdp, weights, feats, counts, reps=reps
        )
        ref, ref_code = imitation_time(mdp, np.asarray(reward, np.float64), horizon, reps)
        products, bandwidth = products_time(mdp, horizon, reps=reps)
        rows.append(
            {
                "S": num_states,
                "H": horizon,
                "table_two_pass_ms": 1e3 * two_pass,
                "linear_F4_two_pass_ms": 1e3 * linear_two,
                "linear_F4_one_pass_ms": 1e3 * linear_one,
                "imitation_ms": 1e3 * ref,
                "imitation_code": ref_code,
                "speedup_two_pass": ref / two_pass,
                "speedup_one_pass": ref / linear_one,
                "products_ms": 1e3 * products,
                "products_bandwidth_gb_s": bandwidth / 1e9,
            }
        )
        del mdp
    return rows


def bench_gridworld(full: bool) -> list[dict]:
    cases = [(128, 100, 10), (256, 200, 5 if full else 3)]
    rows = []
    for size, horizon, reps in cases:
        banded = mdp_lib.gridworld(size, slip=0.1, features="none")
        gathered = mdp_lib.sparse_mdp(banded.next_state, banded.prob, banded.initial, max_bands=0)
        variants = {
            "sparse_band": banded,
            "sparse_gather": gathered,
            "sparse_scatter": gathered.replace(pred_sa=None, pred_prob=None),
            "grid_stencil": mdp_lib.gridworld(size, slip=0.1, format="grid", features="none"),
        }
        reward = jax.random.normal(jax.random.PRNGKey(0), (size * size,))
        demo_vis = jax.random.uniform(jax.random.PRNGKey(1), (size * size,))
        grad = table_gradient_fn(horizon)
        row = {"grid": f"{size}x{size}", "H": horizon}
        for name, mdp in variants.items():
            row[f"{name}_ms"] = 1e3 * min_time(grad, mdp, reward, demo_vis, reps=reps)
        rows.append(row)
    return rows


def bench_batch(full: bool) -> list[dict]:
    """32 problems in both formats, and a few (4) in the sparse one, where the vmap rule runs
    them one by one in one program (`planning.MIN_SHIFT_COLUMNS`)."""
    size, horizon = (64, 100) if full else (32, 64)
    grad = table_gradient_fn(horizon)
    batched = jax.jit(jax.vmap(grad, in_axes=(None, 0, 0)))

    def sequential(mdp, rewards, demo_vis):
        return [grad(mdp, r, d) for r, d in zip(rewards, demo_vis, strict=True)]

    rows = []
    for fmt, batch in (("sparse", 32), ("dense", 32), ("sparse", 4)):
        rewards = jax.random.normal(jax.random.PRNGKey(0), (batch, size * size))
        demo_vis = jax.random.uniform(jax.random.PRNGKey(1), (batch, size * size))
        mdp = mdp_lib.gridworld(size, slip=0.1, features="none", format=fmt)
        t_vmap = min_time(batched, mdp, rewards, demo_vis, reps=5)
        t_seq = min_time(sequential, mdp, rewards, demo_vis, reps=3)
        rows.append(
            {
                "format": fmt,
                "grid": f"{size}x{size}",
                "H": horizon,
                "problems": batch,
                "vmapped_ms": 1e3 * t_vmap,
                "sequential_ms": 1e3 * t_seq,
                "throughput_ratio": t_seq / t_vmap,
            }
        )
    return rows


def bench_quality(full: bool) -> dict:
    size, demo_counts, seeds = (32, (4, 8, 16, 32, 64, 128), 5) if full else (16, (8, 64), 3)
    base = {"size": size, "num_colours": 2, "log_every": 1000}
    table = {}
    for algo in ALGOS:
        table[algo] = {}
        for num_demos in demo_counts:
            opts = resolve_options(algo, "objectworld", {**base, "num_demos": num_demos})
            run = jax.jit(make_run(algo, build_world("objectworld", opts), opts))
            keys = jax.vmap(lambda i: jax.random.fold_in(jax.random.PRNGKey(0), i))(
                jnp.arange(seeds)
            )
            out = jax.block_until_ready(run(keys))
            table[algo][str(num_demos)] = {  # (JSON keys are strings: kept files too)
                "evd_mean": float(out["evd"].mean()),
                "evd_per_seed": [float(x) for x in out["evd"]],
                "random_policy_gap": float(out["random_policy_gap"][0]),
                "expert_gap": float(out["expert_gap"]),
            }
    return {
        "size": size,
        "colours": 2,
        "seeds": seeds,
        "demo_counts": list(demo_counts),
        "features": opts["features"],
        "horizon": opts["horizon"],
        "evd": table,
    }


def fmt(x, digits=1):
    return "–" if x is None else f"{x:.{digits}f}"


def print_header(result: dict) -> None:
    mode = "full" if result["full"] else "quick CPU"
    print(f"# Tabular benchmark ({mode} mode)\n")
    print(
        f"JAX on {result['backend']} ({result['devices'][0]}), float32 matmul precision "
        f"{result['matmul_precision']}; the NumPy reference in float64 on the host\n"
    )


def print_section(result: dict, name: str) -> None:
    """The table of section `name` of `result`, printed as soon as it is measured: a run cut
    short (a device lease's time limit) shows what it finished, not nothing."""
    PRINTERS[name](result)
    sys.stdout.flush()


def print_dense(result: dict) -> None:
    print("## One MaxEnt gradient, dense random MDP, A = 4 (ms, least of the repeats)\n")
    codes = {r["imitation_code"] for r in result["dense"]}
    if "numpy" in codes:
        print(
            "imitation is not installed: its two functions run as a line-for-line NumPy "
            "transcription (float64), in the same process.\n"
        )
    print(
        "| S | H | table grad, soft VI + visitation | linear F=4, two-pass | linear F=4, one-pass "
        "| imitation | speed-up (two-pass / one-pass) | the gradient's products alone "
        "(GB/s) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in result["dense"]:
        print(
            f"| {r['S']} | {r['H']} | {fmt(r['table_two_pass_ms'], 2)} | "
            f"{fmt(r['linear_F4_two_pass_ms'], 2)} | {fmt(r['linear_F4_one_pass_ms'], 2)} | "
            f"{fmt(r['imitation_ms'], 2)} | {fmt(r['speedup_two_pass'])}x / "
            f"{fmt(r['speedup_one_pass'])}x | {fmt(r['products_ms'], 2)} "
            f"({fmt(r['products_bandwidth_gb_s'])}) |"
        )


def print_gridworld(result: dict) -> None:
    print("\n## One MaxEnt gradient (reward table), gridworld, A = 5, 5 successors (ms, least)\n")
    print(
        "| grid | H | sparse, band table | sparse, predecessor gather | sparse, scatter-add "
        "| grid stencil |"
    )
    print("|---|---|---|---|---|---|")
    for r in result["gridworld"]:
        print(
            f"| {r['grid']} | {r['H']} | {fmt(r['sparse_band_ms'])} | "
            f"{fmt(r['sparse_gather_ms'])} | {fmt(r['sparse_scatter_ms'])} | "
            f"{fmt(r['grid_stencil_ms'])} |"
        )


def print_batch(result: dict) -> None:
    b = result["batch"][0]
    print(f"\n## Reward problems sharing dynamics ({b['grid']} gridworld, H = {b['H']})\n")
    print("| format | problems | vmapped (ms) | sequential (ms) | throughput ratio |")
    print("|---|---:|---|---|---|")
    for b in result["batch"]:
        print(
            f"| {b['format']} | {b['problems']} | {fmt(b['vmapped_ms'])} | "
            f"{fmt(b['sequential_ms'])} | {fmt(b['throughput_ratio'])}x |"
        )


def print_quality(result: dict) -> None:
    q = result["quality"]
    if q is None:
        print("\n(quality section skipped: --skip-quality)")
        return
    print(
        f"\n## EVD on objectworld {q['size']}x{q['size']}, C = 2, {q['features']} features, "
        f"H = {q['horizon']}, mean over {q['seeds']} seeds (lower is better)\n"
    )
    if not result["full"]:
        print(
            "Quick mode: a 16x16 objectworld, N in {8, 64}, 3 seeds; --full runs 32x32, "
            "N = 4..128, 5 seeds.\n"
        )
    print("| algorithm | " + " | ".join(f"N={n}" for n in q["demo_counts"]) + " |")
    print("|---|" + "---|" * len(q["demo_counts"]))
    for algo, per_n in q["evd"].items():
        cells = " | ".join(fmt(per_n[str(n)]["evd_mean"], 3) for n in q["demo_counts"])
        print(f"| {algo} | {cells} |")
    first = next(iter(next(iter(q["evd"].values())).values()))
    gaps = f"value gap of the uniformly random policy: {first['random_policy_gap']:.3f}"
    if "expert_gap" in first:  # (a file from before it was recorded holds none)
        gaps += f"; of the soft expert that gave the demonstrations: {first['expert_gap']:.3f}"
    print(f"\n({gaps})")


#: section name -> `bench(full) -> rows`, in the report's order.
SECTIONS = {
    "dense": bench_dense,
    "gridworld": bench_gridworld,
    "batch": bench_batch,
    "quality": bench_quality,
}
#: section name -> `print(result)` of its table.
PRINTERS = {
    "dense": print_dense,
    "gridworld": print_gridworld,
    "batch": print_batch,
    "quality": print_quality,
}


@script_main
def main(argv=None) -> None:
    parser = ScriptParser(__doc__)
    parser.add_argument("--full", action="store_true", help="larger problems (accelerator)")
    parser.add_argument("--out", type=out_file, default="benchmarks/results/tabular.json")
    parser.add_argument("--skip-quality", action="store_true", help="speed sections only")
    parser.add_argument(
        "--sections", nargs="+", choices=list(SECTIONS), default=list(SECTIONS), help="run these"
    )
    args = parser.parse_args(argv)
    result = {
        "full": args.full,
        "backend": jax.default_backend(),
        "devices": [str(d) for d in jax.devices()],
        # a GPU multiplies float32 matrices in TF32 unless told otherwise; the reference is
        # float64 NumPy on the host (JAX_DEFAULT_MATMUL_PRECISION=highest for like with like)
        "matmul_precision": str(jax.config.jax_default_matmul_precision or "default"),
    }
    # `--sections` reruns some: the others of an earlier file of the same mode, backend and
    # precision are kept, each with its own provenance (when, which commit, which machine)
    sections = [s for s in args.sections if not (s == "quality" and args.skip_quality)]
    result.update(earlier_sections(args.out, result, keep=set(SECTIONS) - set(sections)))
    result.setdefault("measured", {})
    origin = provenance(argv)
    print_header(result)
    for name in SECTIONS:
        if name in result and name not in sections:  # kept from the earlier file
            print_section(result, name)
    for name in sections:
        result[name] = SECTIONS[name](args.full)
        result["measured"][name] = origin
        # Rewritten after every section, so that a run cut short keeps what it finished.
        write_results(args.out, {**result, "partial": True})
        print_section(result, name)
    write_results(args.out, {**result, "partial": False})


def earlier_sections(path, settings: dict, keep: set[str]) -> dict:
    """The sections named in `keep` of the results file at `path` and of the partial file a
    run cut short left beside it (`jirl.files.partial_path`; its sections are the newer), with
    their provenance (`measured`; none for a file written before it was recorded), from each
    file written with the same `settings` (mode, backend, devices, precision); nothing from a
    file of other settings, an unreadable one, or none."""
    kept, measured = {}, {}
    for source in (pathlib.Path(path), partial_path(path)):
        try:
            old = strict_json(source.read_text())
        except (OSError, ValueError):
            continue
        if not isinstance(old, dict) or any(old.get(k) != v for k, v in settings.items()):
            continue
        provenance_of = old.get("measured") if isinstance(old.get("measured"), dict) else {}
        for name in sorted(keep):
            if name in old:
                kept[name] = old[name]
                measured.pop(name, None)
                if name in provenance_of:
                    measured[name] = provenance_of[name]
    return {**kept, "measured": measured}


if __name__ == "__main__":
    main()
