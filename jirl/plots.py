"""Learning curves from run directories: mean and spread (min–max) over seeds, one curve per
run (per setting for a sweep)."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import yaml

from jirl.config import load_yaml
from jirl.errors import ConfigError
from jirl.files import atomic_write, check_parents, strict_json
from jirl.logging import ROW_KEYS, before_first_episode, parse_row, setting_name
from jirl.sweep import settings as sweep_settings

PREFERRED = (
    "episode_return", "bc_loss", "neg_log_likelihood", "policy_loss", "feature_gap", "margin",
)  # fmt: skip


def read_metrics(run_dir: Path) -> dict[str, np.ndarray]:
    """`{name: [updates, seeds]}` plus `step` and `env_steps` `[updates]` from metrics.jsonl."""
    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        raise ConfigError(f"{run_dir}: no metrics.jsonl; is this a jirl run directory?")
    try:  # (bytes that are not UTF-8: their line is a damaged one, as below)
        lines = path.read_bytes().decode("utf-8", "replace").splitlines()
    except OSError as e:
        raise ConfigError(f"{path}: unreadable ({e}); is this a jirl run directory?") from None
    parsed = [parse_row(line) for line in lines]
    rows = [row for row in parsed if row]
    # the last line may be one a crash (or the run still writing) cut short; one before it is
    # damage, which the curves would hide by joining its neighbours
    damaged = [i + 1 for i, row in enumerate(parsed[:-1]) if row is None and lines[i].strip()]
    if damaged and rows:
        warnings.warn(
            f"{path}: line{'s' * (len(damaged) > 1)} {', '.join(map(str, damaged[:5]))}"
            f"{' ...' * (len(damaged) > 5)} not a metrics row, left out of the plot",
            stacklevel=2,
        )
    if not rows:
        raise ConfigError(f"{path}: no update logged (empty, or not a jirl metrics file)")
    if not all(r.keys() == rows[0].keys() for r in rows):
        raise ConfigError(f"{path}: not a jirl metrics file (rows with unlike keys)")
    try:
        return {k: np.asarray([r[k] for r in rows], dtype=float) for k in rows[0]}
    except (TypeError, ValueError, OverflowError) as e:  # (an integer no float holds)
        raise ConfigError(f"{path}: not a jirl metrics file ({e})") from None


def read_summary(path: Path) -> dict:
    """A run's summary.json as a dict; `ConfigError` when it is not one."""
    try:
        summary = strict_json(Path(path).read_text())
    except (OSError, ValueError) as e:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ConfigError(f"{path}: not a jirl summary file ({e})") from None
    if not isinstance(summary, dict):
        raise ConfigError(f"{path}: not a jirl summary file (a JSON object was expected)")
    return summary


def _config_sweep(run_dir: Path) -> list[dict] | None:
    """The settings of the sweep in `run_dir/config.yaml` (`jirl.sweep.settings`, the order
    the runs are laid out in) as the summary lists them, or None (no sweep, no readable
    config: one curve, as for a run)."""
    try:
        config = load_yaml((run_dir / "config.yaml").read_text())
        grid = config["sweep"]
        if not isinstance(grid, dict) or not all(isinstance(v, list) for v in grid.values()):
            return None
    except (OSError, ValueError, yaml.YAMLError, KeyError, TypeError):  # (not UTF-8: ValueError)
        return None
    return [{"setting": setting} for setting in sweep_settings(grid)]


def _groups(run_dir: Path, runs: int, label: str) -> list[tuple[str, slice]]:
    """Curves of a run, `(legend label, columns)`: one over all seeds, named `label`, or one
    per setting of a sweep (its summary.json lists the settings; each owns `runs / settings`
    consecutive columns). A sweep still running, or cut short, has no summary: its
    config.yaml's grid gives the same settings."""
    summary = run_dir / "summary.json"
    if summary.is_file():
        source, settings = summary, read_summary(summary).get("sweep")
    else:
        source, settings = run_dir / "config.yaml", _config_sweep(run_dir)
    if settings and not (
        isinstance(settings, list)
        and all(isinstance(x, dict) and isinstance(x.get("setting"), dict) for x in settings)
        and all(type(v) in (int, float) for x in settings for v in x["setting"].values())
    ):
        raise ConfigError(f"{source}: 'sweep' is not a list of numeric settings; rerun the sweep")
    if not settings or runs % len(settings):
        return [(label, slice(None))]
    seeds = runs // len(settings)
    return [
        (
            f"{label} {setting_name(s['setting'])}",
            slice(i * seeds, (i + 1) * seeds),
        )
        for i, s in enumerate(settings)
    ]


def no_point_before_an_episode(m: dict[str, np.ndarray], name: str, values: np.ndarray):
    """`values [updates, runs]` of an `episode_*` metric without a point (NaN) before each
    run's first finished episode (`jirl.logging.before_first_episode`: halfcheetah's GAIL
    curve sat at 0 for 15 updates); other metrics, and logs without `episodes`, as they are."""
    if not name.startswith("episode_") or "episodes" not in m:
        return values
    episodes = m["episodes"].reshape(len(m["episodes"]), -1)
    return before_first_episode(values, episodes) if episodes.shape == values.shape else values


def legend_labels(run_dirs: list[Path]) -> dict[Path, str]:
    """Each run's label in the legend: its directory's name (`.`'s and `..`'s resolved: they
    have none, and `jirl plot .` drew a curve without a label), its path where two runs share
    a name."""
    own = {r: r.resolve().name if r.name in ("", "..") else r.name for r in run_dirs}
    names = list(own.values())
    return {r: own[r] if names.count(own[r]) == 1 else str(r) for r in run_dirs}


def plot_runs(run_dirs, out: Path, metric: str | None = None) -> Path:
    """Draw one metric of several runs and save the figure to `out` (PNG).

    Runs that share the metric and the x axis (env steps, or updates for runs that take no env
    step) share a panel; others get a panel each (e.g. BC's loss beside GAIL's return).
    """
    out = Path(out)
    if out.suffix.lower() != ".png" or out.is_dir():
        raise ConfigError(f"--out {out}: name a .png file to write, e.g. curves.png")
    check_parents(out)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    run_dirs = [Path(r) for r in run_dirs]
    label = legend_labels(run_dirs)
    panels: dict[tuple[str, str], list] = {}
    for run_dir in run_dirs:
        m = read_metrics(run_dir)
        name = metric or next((k for k in PREFERRED if k in m), None)
        if name is None and metric is None:
            name = next((k for k in sorted(m) if k not in ROW_KEYS), None)
        if name is None:
            raise ConfigError(f"{run_dir}: its metrics.jsonl logs no metric to plot")
        if name not in m:
            raise ConfigError(f"{run_dir}: no metric '{metric}'; it has {sorted(m)}")
        if m[name].size == 0:
            raise ConfigError(f"{run_dir}: metric '{name}' holds no values; plot another")
        values = m[name].reshape(len(m[name]), -1)  # [updates, runs]
        finite = np.isfinite(values)
        if not finite.any():
            raise ConfigError(f"{run_dir}: metric '{name}' is NaN or infinite throughout")
        if not finite.all():  # left out where they are: one seed no longer blanks the curve
            warnings.warn(
                f"{run_dir}: '{name}' is NaN or infinite at some update in "
                f"{(~finite).any(0).sum()} of its {finite.shape[1]} runs; the curve shows the "
                "others there",
                stacklevel=2,
            )
        by_steps = "env_steps" in m and m["env_steps"].max() > 0
        x = m["env_steps"] if by_steps else m["step"]
        axis = "env steps" if by_steps else "update"
        y = no_point_before_an_episode(m, name, np.where(finite, values, np.nan))  # inf: none
        if np.isnan(y).all():  # (a warning: `jirl train` draws its curves after a short run)
            message = f"{run_dir}: no episode has ended yet: '{name}' has no point"
            warnings.warn(message, stacklevel=2)
        panels.setdefault((name, axis), []).append((run_dir, x, y))
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4), squeeze=False)
    for ax, ((name, axis), curves) in zip(axes[0], panels.items(), strict=True):
        for run_dir, x, y in curves:
            for curve, cols in _groups(run_dir, y.shape[1], label[run_dir]):
                with warnings.catch_warnings():  # (an update where every run is NaN: a gap)
                    warnings.simplefilter("ignore", RuntimeWarning)
                    mean = np.nanmean(y[:, cols], 1)
                    low, high = np.nanmin(y[:, cols], 1), np.nanmax(y[:, cols], 1)
                # a run of one or two updates draws its points, not an empty panel
                ax.plot(x, mean, label=curve, marker="o" if len(x) < 3 else None)
                ax.fill_between(x, low, high, alpha=0.2)
        ax.set_ylabel(name)
        ax.set_xlabel(axis)
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    path = save_png(fig, out)
    plt.close(fig)
    return path


def save_png(fig, path: str | Path) -> Path:
    """Write a matplotlib figure to `path` as PNG (100 dpi) through `atomic_write`: a plot
    killed mid-write leaves the old figure whole."""
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=100)
    return atomic_write(path, png.getvalue())
