"""`jirl quickstart`: the README's main job. On the CPU, with no downloads, in a few minutes:

1. train a PPO expert on CartPole (or reuse the one in `OUT/expert`) and record demonstrations;
2. behavioural cloning and GAIL on the same few demonstration episodes, several seeds each,
   every algorithm's seeds in one compile (`OUT/bc`, `OUT/gail`: run directories of DESIGN.md);
3. `OUT/curves.png` (both learning curves) and `OUT/quickstart.json`: expert, random, BC and
   GAIL returns with normalized scores, also printed as a table.
"""

from __future__ import annotations

from pathlib import Path

from jirl import algos, data, envs
from jirl.config import MAX_SEEDS, experiment_config, read_yaml
from jirl.errors import MAX_INT, ConfigError, DataError
from jirl.experiment import train
from jirl.expert_run import EXPERT_DEFAULTS, train_expert, with_annealing
from jirl.files import RUN_NAMES, check_out_dir, holds_files, write_json

ENV = "cartpole"
DEMO_EPISODES = 10


def _expert_dir(out: Path, *, progress: bool) -> Path:
    """`out/expert`: reused where it holds demos (an expert there that does not load is
    refused: remove it), trained (replacing what is there) where it holds none."""
    from jirl.algos import expert as experts

    expert_dir = out / "expert"
    if (expert_dir / "demos.npz").is_file():
        env = envs.make(ENV)
        try:
            experts.load(expert_dir, env)
            data.load(expert_dir / "demos.npz", env=env)
            return expert_dir
        except (ConfigError, DataError) as e:
            raise ConfigError(
                f"{expert_dir} cannot be reused ({e}); remove it to train a new expert"
            ) from None
    raw = with_annealing({**EXPERT_DEFAULTS, "env": ENV})
    cfg = experiment_config(raw, algos.get("ppo").config_cls)
    train_expert(cfg, expert_dir, episodes=DEMO_EPISODES, overwrite=True, progress=progress)
    return expert_dir


def quickstart(
    out: str | Path,
    *,
    seeds: int = 4,
    updates: int | None = None,
    overwrite: bool = False,
    progress: bool = True,
) -> dict:
    """Run the quickstart into `out`; returns the table as a dict (also `out/quickstart.json`).

    Args:
      seeds: seeds of BC and of GAIL, each set vmapped in one compile.
      updates: GAIL updates per seed (default: `configs/gail-cartpole.yaml`'s); BC takes a
        proportional number. Smaller is faster and scores lower.
      overwrite: replace `out/bc` and `out/gail` if they exist (the expert is always reused).
    """
    out = Path(out)
    # checked before the expert trains: the configs below are built only once it has
    if not 1 <= seeds <= MAX_SEEDS:
        raise ConfigError(f"--seeds must be in [1, {MAX_SEEDS:,}], got {seeds}")
    if updates is not None and not 1 <= updates <= MAX_INT:
        raise ConfigError(f"--updates must be in [1, {MAX_INT:,}], got {updates}")
    if holds_files(out) and not ((out / "quickstart.json").exists() or (out / "expert").is_dir()):
        raise ConfigError(
            f"{out} holds files but is not a quickstart directory (no quickstart.json or "
            "expert/); choose another --out"
        )
    for name in ("bc", "gail"):  # both, before either is replaced (`--overwrite` retrained
        # bc, then refused gail for a file of the user's, leaving a mix of two runs)
        check_out_dir(
            out / name,
            overwrite,
            exists_hint=f"pass --overwrite to rerun (the expert in {out / 'expert'} is reused)",
            names=RUN_NAMES,
            command="jirl train",
        )
    expert_dir = _expert_dir(out, progress=progress)
    demos = str(expert_dir / "demos.npz")
    gail_raw = read_yaml("gail-cartpole")
    gail_raw.update(seeds=seeds, demos=demos)
    if updates is not None:
        gail_raw.update(updates=updates, chunk=min(gail_raw.get("chunk", 10), updates))
        if gail_raw["gail"].get("anneal_updates"):
            gail_raw["gail"]["anneal_updates"] = updates
    bc_updates = max(1, gail_raw["updates"] // 2)
    bc_raw = {
        "algo": "bc",
        "env": ENV,
        "seeds": seeds,
        "demos": demos,
        "num_demos": gail_raw["num_demos"],
        "updates": bc_updates,
        "chunk": min(10, bc_updates),
    }
    rows = {}
    for name, raw in (("bc", bc_raw), ("gail", gail_raw)):
        cfg = experiment_config(raw, algos.get(name).config_cls)
        rows[name] = train(cfg, out / name, overwrite=overwrite, progress=progress)
    from jirl.plots import plot_runs

    plot_runs([out / "bc", out / "gail"], out / "curves.png")
    gail = rows["gail"]
    table = {
        "env": ENV,
        "demo_episodes": gail_raw["num_demos"],
        "seeds": seeds,
        "expert_return": gail["expert_return"],
        "random_return": gail["random_return"],
        "rows": {
            name: {
                "return": s["return"]["mean"],
                "normalized_score": s["normalized_score"]["mean"],
                "env_steps": s["env_steps"],
                "wall_seconds": s["wall_seconds"],
                "run": str(out / name),
            }
            for name, s in rows.items()
        },
    }
    write_json(out / "quickstart.json", table)
    return table


def print_table(table: dict) -> None:
    """The quickstart's result as a rich table."""
    from rich.console import Console
    from rich.table import Table

    t = Table(
        title=f"{table['env']}: imitating an expert from {table['demo_episodes']} episodes "
        f"({table['seeds']} seeds each)"
    )
    for col in ("policy", "return", "normalized score", "env steps", "seconds"):
        t.add_column(col, justify="right" if col != "policy" else "left")
    t.add_row("expert (PPO)", f"{table['expert_return']:.1f}", "1.00", "", "")
    t.add_row("random", f"{table['random_return']:.1f}", "0.00", "", "")
    for name, row in table["rows"].items():
        t.add_row(
            name.upper(),
            f"{row['return']:.1f}",
            f"{row['normalized_score']:.2f}",
            f"{row['env_steps']:,}",
            f"{row['wall_seconds']:.0f}",
        )
    Console().print(t)
