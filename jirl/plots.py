"""Learning curves from run directories: mean and spread (min–max) over seeds."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from jirl.errors import ConfigError

PREFERRED = ("episode_return", "bc_loss", "neg_log_likelihood", "policy_loss")


def read_metrics(run_dir: Path) -> dict[str, np.ndarray]:
    """`{name: [updates, seeds]}` plus `step` and `env_steps` `[updates]` from metrics.jsonl."""
    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        raise ConfigError(f"{run_dir}: no metrics.jsonl; is this a jirl run directory?")
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if not rows:
        raise ConfigError(f"{path}: empty; the run logged no update yet")
    return {k: np.asarray([r[k] for r in rows], dtype=float) for k in rows[0]}


def plot_runs(run_dirs, out: Path, metric: str | None = None) -> Path:
    """Draw one metric of several runs on one figure and save it to `out` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for run_dir in run_dirs:
        m = read_metrics(run_dir)
        name = metric or next((k for k in PREFERRED if k in m), None)
        if name is None or name not in m:
            raise ConfigError(f"{run_dir}: no metric '{metric}'; it has {sorted(m)}")
        x = m["env_steps"] if m["env_steps"].max() > 0 else m["step"]
        y = m[name].reshape(len(x), -1)
        label = Path(run_dir).name
        ax.plot(x, y.mean(1), label=label)
        ax.fill_between(x, y.min(1), y.max(1), alpha=0.2)
        ax.set_ylabel(name)
        ax.set_xlabel("env steps" if m["env_steps"].max() > 0 else "update")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    out = Path(out)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
