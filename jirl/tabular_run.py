"""Host driver of tabular IRL for the CLI: `train_tabular(algo, env, out_dir, options)`.

It builds the MDP, samples demos from the (soft-)optimal expert, runs the algorithm over all
seeds in one `jit(vmap(...))` (each seed draws its own demos and initialisation; the MDP is
shared), and writes the run directory:

    config.yaml    algo, env, seeds, seed and the resolved options (feed it back as --config)
    metrics.jsonl  one line per logged iteration: {"step": i, metric: [per seed], ...}
    summary.json   algo, env, seeds, evd {mean, per_seed}, reward_correlation {mean, per_seed},
                   random_policy_gap, expert_gap, wall_seconds, compile_seconds
    reward.png     true vs learned reward (seed 0) as heatmaps, side by side

EVD is `expected_value_difference` of the learned reward (the value gap of the policy optimal for
it), except for MWAL and max-margin's projection method, whose answer is a mixed policy: there it
is the value gap of that policy. For a state-action reward (maxcausalent) the
learned state reward shown and correlated is its mean over actions. `expert_gap` is the value
gap of the expert that gave the demonstrations: a soft expert's is well above 0, and a learner
that imitates it (MWAL, the projection method) ends near it. Nothing is printed.
"""

from __future__ import annotations

import json
import pathlib
import time

import jax
import jax.numpy as jnp
import numpy as np

from jirl.config import MAX_SEED, MAX_SEEDS, coerce, dump_yaml
from jirl.errors import ConfigError
from jirl.files import RUN_NAMES, atomic_write_text, check_out_dir, write_dir, write_json
from jirl.nets import check_hidden
from jirl.plots import save_png
from jirl.run import NonFiniteError, check_memory
from jirl.tabular import metrics as tab_metrics
from jirl.tabular import planning
from jirl.tabular.deep_maxent import DeepMaxEntConfig, deep_maxent_irl
from jirl.tabular.maxent import MaxEntConfig, maxent_irl
from jirl.tabular.maxmargin import MaxMarginConfig, max_margin_irl
from jirl.tabular.mdp import GRID_MOVES, TabularMDP, check_block, feature_count
from jirl.tabular.mwal import MWALConfig, mwal_irl
from jirl.tabular.options import (
    build_world,
    choice,
    hint,
    integer,
    number,
    onehot_fits,
    world_options,
)

ALGOS = ("maxent", "maxcausalent", "deep_maxent", "max_margin", "mwal")
ENVS = ("gridworld", "objectworld")

#: options every run accepts (None: derived, see `resolve_options`).
COMMON_OPTIONS = {
    "size": None,
    "slip": None,
    "horizon": None,
    "discount": 1.0,
    "num_demos": 64,
    "expert": "soft",
    "num_iterations": None,
    "log_every": 10,
}
ENV_OPTIONS = {
    "gridworld": {"goal": None, "absorbing": False, "features": "onehot", "block": 2},
    "objectworld": {
        "num_colours": 2,
        "num_objects": None,
        "features": "discrete",
        "layout_seed": 0,
    },
}
ALGO_OPTIONS = {
    "maxent": {"learning_rate": 0.1, "l2": 0.0},
    "maxcausalent": {"learning_rate": 0.1, "l2": 0.0},
    # weight decay 10 bounds the reward network (`DeepMaxEntConfig.weight_decay`)
    "deep_maxent": {"learning_rate": 3e-3, "weight_decay": 10.0, "hidden_sizes": [32, 32]},
    "max_margin": {"method": "projection", "margin_c": 10.0, "loss_scale": 1.0, "qp_steps": 500},
    "mwal": {},
}
_ITERATIONS = {
    "maxent": 100,
    "maxcausalent": 100,
    "deep_maxent": 300,
    "max_margin": 30,
    "mwal": 100,
}
_SIZE = {"gridworld": 8, "objectworld": 16}
_SLIP = {"gridworld": 0.1, "objectworld": 0.3}


def valid_options(algo: str, env: str) -> dict:
    """Every option `train_tabular(algo, env, ...)` accepts, with its default (None: derived)."""
    return {**COMMON_OPTIONS, **ENV_OPTIONS[env], **ALGO_OPTIONS[algo]}


def train_tabular(
    algo: str,
    env: str,
    out_dir: pathlib.Path,
    options: dict,
    seeds: int = 1,
    seed: int = 0,
    overwrite: bool = False,
) -> dict:
    """Train one tabular IRL algorithm on a tabular world for `seeds` seeds; write the run dir.

    Args:
      algo: `maxent`, `maxcausalent`, `deep_maxent`, `max_margin` or `mwal`.
      env: `gridworld` or `objectworld`.
      out_dir: run directory, created; one that holds files is replaced only with `overwrite`,
        once every input has been checked.
      options: flat map of options (see `valid_options(algo, env)`); missing ones take defaults.
      seeds: number of seeds, vmapped in one compile.
      seed: base seed; seed i uses `fold_in(PRNGKey(seed), i)`. The world's layout comes from
        `layout_seed` (objectworld) and is the same for every seed.
    Returns:
      The summary dict also written to `summary.json`.
    Raises:
      ConfigError: an invalid algo, env, option, seeds or seed, `out_dir` taken, or a world and
        horizon too large for the device's memory (one line, says what to do).
      NonFiniteError: a seed's learned reward or scores are NaN or infinite; nothing is written.
    """
    start = time.perf_counter()
    out_dir = pathlib.Path(out_dir)
    check_out_dir(out_dir, overwrite, names=RUN_NAMES, command="jirl train")
    opts = resolve_options(algo, env, options)
    seeds, seed = _check_seed_args(seeds, seed)
    check_fits(algo, env, opts, seeds)
    mdp = build_world(env, opts)
    run = make_run(algo, mdp, opts)
    keys = jax.vmap(lambda i: jax.random.fold_in(jax.random.PRNGKey(seed), i))(jnp.arange(seeds))
    compile_start = time.perf_counter()
    compiled = jax.jit(run).lower(keys).compile()
    compile_seconds = time.perf_counter() - compile_start
    out = jax.device_get(jax.block_until_ready(compiled(keys)))
    check_finite(out, opts)

    config = {"algo": algo, "env": env, "seeds": seeds, "seed": seed, **opts}
    summary = {
        "algo": algo,
        "env": env,
        "seeds": seeds,
        "seed": seed,
        "evd": _stat(out["evd"]),
        "reward_correlation": _stat(out["reward_correlation"]),
        "random_policy_gap": float(out["random_policy_gap"][0]),
        "expert_gap": float(out["expert_gap"]),
        "compile_seconds": compile_seconds,
    }

    def fill(directory: pathlib.Path) -> None:
        atomic_write_text(directory / "config.yaml", dump_yaml(config))
        _write_metrics(directory / "metrics.jsonl", out["metrics"], opts["log_every"])
        _plot_rewards(
            directory / "reward.png",
            np.asarray(mdp.reward),
            out["reward"][0],
            mdp.grid_shape,
            algo,
            env,
        )
        summary["wall_seconds"] = time.perf_counter() - start
        write_json(directory / "summary.json", summary)

    # a whole new directory: an earlier run's files (plots) never stay beside these, and a
    # kill while writing leaves the earlier run as it was
    write_dir(out_dir, fill)
    return summary


# --------------------------------------------------------------------------- options


def resolve_options(algo: str, env: str, options: dict) -> dict:
    """Validate `options` and fill in every default. Raises `ConfigError` (one line)."""
    if algo not in ALGOS:
        raise ConfigError(f"unknown tabular algo '{algo}'{hint(algo, ALGOS)}; use one of {ALGOS}")
    if env not in ENVS:
        raise ConfigError(f"unknown tabular env '{env}'{hint(env, ENVS)}; use one of {ENVS}")
    if not isinstance(options, dict):
        raise ConfigError(
            f"options must be a mapping of option: value, got {type(options).__name__}"
        )
    valid = valid_options(algo, env)
    for key in options:
        if key not in valid:
            raise ConfigError(_unknown_key_message(key, algo, env, valid))
    opts = {**valid, **options}
    opts["size"] = _SIZE[env] if opts["size"] is None else opts["size"]
    opts["slip"] = _SLIP[env] if opts["slip"] is None else opts["slip"]
    opts = world_options(env, opts)  # size, slip and the world's layout
    horizon = 2 * opts["size"] if opts["horizon"] is None else opts["horizon"]
    opts["horizon"] = integer("horizon", horizon, low=1)
    opts["discount"] = number("discount", opts["discount"])
    tiny = float(np.finfo(np.float32).tiny)  # (1e-50 was 0 in float32: accepted, ignored)
    if not tiny <= opts["discount"] <= 1.0:
        raise ConfigError(f"discount must be in [{tiny:.2e}, 1] (float32), got {opts['discount']}")
    opts["num_demos"] = integer("num_demos", opts["num_demos"], low=1)
    iterations = _ITERATIONS[algo] if opts["num_iterations"] is None else opts["num_iterations"]
    opts["num_iterations"] = integer("num_iterations", iterations, low=1)
    opts["log_every"] = integer("log_every", opts["log_every"], low=1)
    choice("expert", opts["expert"], ("soft", "optimal"))
    if env == "gridworld":  # the reward features IRL fits
        choice("features", opts["features"], ("onehot", "blocks"))
        if opts["features"] == "onehot":
            onehot_fits(opts["size"], "one-hot features", "features: blocks")
        # (the default may stand: a run's config.yaml, fed back, lists every option)
        if options.get("block", valid["block"]) != valid["block"] and opts["features"] != "blocks":
            raise ConfigError("block sets the size of features: blocks; set both or neither")
        opts["block"] = integer("block", opts["block"], low=1)
        if opts["features"] == "blocks":  # (the default block of 2 fits no 2×2 one-hot grid)
            check_block(opts["block"], opts["size"])
    if algo in ("maxent", "maxcausalent", "deep_maxent"):
        opts["learning_rate"] = number("learning_rate", opts["learning_rate"], positive=True)
    if algo in ("maxent", "maxcausalent"):
        opts["l2"] = number("l2", opts["l2"], non_negative=True)
    if algo == "deep_maxent":
        opts["weight_decay"] = number("weight_decay", opts["weight_decay"], non_negative=True)
        # read as the other commands read a network's widths (`--set hidden_sizes=32,32` too)
        sizes = coerce(opts["hidden_sizes"], tuple[int, ...], "hidden_sizes")
        check_hidden("hidden_sizes", sizes)
        opts["hidden_sizes"] = list(sizes)
    if algo == "max_margin":
        choice("method", opts["method"], ("projection", "planning"))
        opts["margin_c"] = number("margin_c", opts["margin_c"], positive=True)
        # D = 0 leaves no margin to keep: the QP's optimum is w = 0 whatever the demos
        opts["loss_scale"] = number("loss_scale", opts["loss_scale"], positive=True)
        opts["qp_steps"] = integer("qp_steps", opts["qp_steps"], low=1)
    return opts


def _unknown_key_message(key, algo: str, env: str, valid: dict) -> str:
    owners = [a for a, keys in ALGO_OPTIONS.items() if key in keys]
    owners += [e for e, keys in ENV_OPTIONS.items() if key in keys]
    if owners:
        return (
            f"option '{key}' does not apply to {algo} on {env} (it is for {', '.join(owners)}); "
            f"remove it"
        )
    from jirl import algos

    if key in algos.names() and key != algo:  # `--set gail.learning_rate=...` on a tabular run
        return f"'{key}' is the section of another algorithm; {algo}'s options are '{algo}.*'"
    return (
        f"unknown option '{key}'{hint(str(key), list(valid))}; "
        f"valid options for {algo} on {env}: {', '.join(valid)}"
    )


def _check_seed_args(seeds, seed) -> tuple[int, int]:
    seeds = integer("seeds", seeds, low=1, high=MAX_SEEDS)
    return seeds, integer("seed", seed, low=0, high=MAX_SEED)  # (1e3 too, as `seeds` takes it)


# --------------------------------------------------------------------------- the run


def algo_config(algo: str, opts: dict):
    """The algorithm's config dataclass from resolved options."""
    common = dict(
        horizon=opts["horizon"], discount=opts["discount"], num_iterations=opts["num_iterations"]
    )
    if algo in ("maxent", "maxcausalent"):
        return MaxEntConfig(
            **common,
            learning_rate=opts["learning_rate"],
            l2=opts["l2"],
            causal=algo == "maxcausalent",
        )
    if algo == "deep_maxent":
        return DeepMaxEntConfig(
            **common,
            learning_rate=opts["learning_rate"],
            weight_decay=opts["weight_decay"],
            hidden_sizes=tuple(opts["hidden_sizes"]),
        )
    if algo == "max_margin":
        return MaxMarginConfig(
            **common,
            method=opts["method"],
            margin_c=opts["margin_c"],
            loss_scale=opts["loss_scale"],
            qp_steps=opts["qp_steps"],
        )
    return MWALConfig(**common)


_ALGO_FNS = {
    "maxent": maxent_irl,
    "maxcausalent": maxent_irl,
    "deep_maxent": deep_maxent_irl,
    "max_margin": max_margin_irl,
    "mwal": mwal_irl,
}


def check_fits(algo: str, env: str, opts: dict, seeds: int) -> None:
    """Refuse, before the world is built, a run that would take more than half of the device's
    memory: past it, the run is killed or swaps without a word (`horizon: 100000000` on a 3x3
    grid: 18 GB; `size: 2000`: out of host memory while building). Counted, the least it must
    hold: the world's transitions `[S, A, K]` and features `[S, F]` (objectworld's built in
    float64; `[S, A, F·A]` for a state-action reward), a policy `[H, S, A]` for the expert and
    one for each seed's learner (vmapped side by side), the demonstrations `[seeds, N, H]`
    (states and actions), and deep MaxEnt's reward network for each seed (weights, gradient
    and Adam's two moments; its activations over every state, kept for the backward pass),
    and each seed's per-iteration metrics `[num_iterations]` (three; `--updates 2147483647`
    passed and was killed), max-margin planning's constraint set besides (`[I + 1, F]` feature
    expectations and its QP's `[I + 1, I + 1]` Gram matrix)."""
    s, a, f = world_size(env, opts)
    h, n = opts["horizon"], opts["num_demos"]
    # features: built in float64 for objectworld, float32 for gridworld, then kept in float32
    world = 8 * s * a * len(GRID_MOVES) + (16 if env == "objectworld" else 8) * s * f
    if algo == "maxcausalent":
        world += 4 * s * a * f * a
    network = 0
    if algo == "deep_maxent":  # (`hidden_sizes: [100000, 100000]` passed: 37 GiB of weights)
        widths = [f, *opts["hidden_sizes"], 1]
        weights = sum(i * o + o for i, o in zip(widths, widths[1:], strict=False))
        network = seeds * (16 * weights + 8 * s * sum(opts["hidden_sizes"]))
    iterations = opts["num_iterations"]
    history = 3 * 4 * seeds * iterations
    if algo == "max_margin" and opts["method"] == "planning":
        c = iterations + 1
        history += 4 * seeds * (c * f + c * c)
    check_memory(
        world + network + history + 4 * h * s * a * (seeds + 1) + 8 * seeds * n * h,
        jax.devices()[:1],
        f"{s:,} states x {a} actions with {f:,} features, horizon {h:,}, {n:,} demos and "
        f"{iterations:,} iterations for each of {seeds} seed(s) need at least",
        "use fewer iterations (--updates), a shorter horizon, a smaller world or network, or "
        "fewer features, demos or seeds",
    )


def world_size(env: str, opts: dict) -> tuple[int, int, int]:
    """States, actions and features `(S, A, F)` of the world of checked `opts`, unbuilt."""
    size = opts["size"]
    layout = (
        {"num_colours": opts["num_colours"]} if env == "objectworld" else {"block": opts["block"]}
    )
    return size * size, len(GRID_MOVES), feature_count(env, size, opts["features"], **layout)


def check_finite(out: dict, opts: dict) -> None:
    """Refuse results whose learned reward or scores are not finite (a diverged fit): a NaN
    reward plans to an all-zero greedy policy, whose value gap reads like a poor but finite
    result."""
    finite = [
        np.isfinite(out["reward"][i]).all() and np.isfinite(out["evd"][i])
        for i in range(len(out["evd"]))
    ]
    if all(finite):
        return
    bad = [i for i, ok in enumerate(finite) if not ok]
    fix = "; lower learning_rate" if "learning_rate" in opts else ""
    raise NonFiniteError(
        f"the learned reward of seed(s) {', '.join(map(str, bad))} is not finite after "
        f"{opts['num_iterations']} iterations{fix}; nothing was written",
        bad,
    )


def make_run(algo: str, mdp: TabularMDP, opts: dict):
    """`run(keys [seeds]) -> dict` of per-seed results, and the expert's value gap
    (`expert_gap` []): pure, to be jitted (the expert is planned inside it, not captured as a
    constant `[H, S, A]`)."""
    config = algo_config(algo, opts)
    fit = _ALGO_FNS[algo]
    kw = dict(horizon=opts["horizon"], discount=opts["discount"])
    true_reward = mdp.reward
    planner = (
        planning.soft_value_iteration if opts["expert"] == "soft" else planning.value_iteration
    )

    def one_seed(key, expert):
        key_demos, key_fit = jax.random.split(key)
        demos = tab_metrics.sample_demos(key_demos, mdp, expert, opts["num_demos"], opts["horizon"])
        result = fit(key_fit, mdp, demos, config)
        reward = result.reward if result.reward.ndim == 1 else result.reward.mean(-1)
        if algo == "mwal" or (algo == "max_margin" and opts["method"] == "projection"):
            # their output is a mixed policy (Abbeel & Ng 2004 sec. 3; Syed & Schapire 2007),
            # and the last w = μ_E − μ̄ of the projection is a small, noisy residual
            evd = tab_metrics.policy_value_difference(mdp, true_reward, result.policy, **kw)
        else:
            evd = tab_metrics.expected_value_difference(mdp, true_reward, result.reward, **kw)
        return {
            "metrics": result.metrics,
            "evd": evd,
            "reward_correlation": tab_metrics.reward_correlation(reward, true_reward),
            "reward": reward,
            "random_policy_gap": tab_metrics.random_policy_gap(mdp, true_reward, **kw),
        }

    def run(keys):
        expert = planner(mdp, true_reward, **kw).policy
        per_seed = jax.vmap(one_seed, in_axes=(0, None))(keys, expert)
        expert_gap = tab_metrics.policy_value_difference(mdp, true_reward, expert, **kw)
        return {**per_seed, "expert_gap": expert_gap}

    return run


def _stat(per_seed) -> dict:
    per_seed = [float(x) for x in np.asarray(per_seed)]
    return {"mean": float(np.mean(per_seed)), "per_seed": per_seed}


def _write_metrics(path: pathlib.Path, metrics: dict, log_every: int) -> None:
    num_iterations = next(iter(metrics.values())).shape[1]
    steps = sorted(set(range(log_every - 1, num_iterations, log_every)) | {num_iterations - 1})
    rows = (
        {"step": i + 1, **{name: [float(x) for x in v[:, i]] for name, v in metrics.items()}}
        for i in steps
    )
    atomic_write_text(path, "".join(json.dumps(row) + "\n" for row in rows))


def _plot_rewards(path, true_reward, learned_reward, grid_shape, algo, env) -> None:
    # The object-oriented API with the Agg canvas: no global backend switch, no display needed.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 3.8))
    FigureCanvasAgg(fig)
    panels = (("true reward", true_reward), (f"learned reward ({algo}, seed 0)", learned_reward))
    for i, (title, values) in enumerate(panels):
        ax = fig.add_subplot(1, 2, i + 1)
        image = ax.imshow(np.asarray(values).reshape(grid_shape), cmap="viridis")
        ax.set_title(title, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    fig.suptitle(env)
    fig.tight_layout()
    save_png(fig, path)
