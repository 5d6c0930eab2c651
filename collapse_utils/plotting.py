"""Presentation shared by every experiment: one plotting style, band plots (over chains or over runs), the
long-format frames of plotted numbers, and saving figures with provenance. Nothing here enters a cache key."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from .cache import atomic_write_bytes, atomic_write_stream
from .paths import figures_dir
from .provenance import write_sidecar


def set_style() -> None:
    """The project's seaborn style: white grid, paper context, colour-blind palette."""
    sns.set_theme(context="paper", style="whitegrid", palette="colorblind", font_scale=1.1,
                  rc={"figure.dpi": 110, "savefig.dpi": 200, "savefig.bbox": "tight",
                      "axes.spines.top": False, "axes.spines.right": False})


def save_figure(fig: plt.Figure, name: str, provenance: dict[str, Any] | None = None,
                data: pd.DataFrame | None = None) -> list[Path]:
    """Write ``figures/<name>.png`` and ``.pdf``, the plotted numbers as ``.csv`` and a ``.json`` sidecar.

    ``data`` holds the numbers the figure shows in long format (one row per plotted point or band
    edge); it is the citable, reusable form of the figure. Every file is written atomically.
    """
    folder = figures_dir()
    paths = []
    for ext in ("png", "pdf"):
        path = folder / f"{name}.{ext}"
        metadata = {"Creator": "collapse_utils"} if ext == "png" else {"CreationDate": None}  # same bytes every run
        atomic_write_stream(path, lambda out: fig.savefig(out, format=ext, metadata=metadata))
        paths.append(path)
    if data is not None:
        path = folder / f"{name}.csv"
        atomic_write_bytes(path, data.to_csv(index=False, float_format="%.6g").encode())
        paths.append(path)
    if provenance is not None:
        write_sidecar(folder / f"{name}.png", {"figure": name, **provenance})
    return paths


def save_table(frame: pd.DataFrame, name: str, provenance: dict[str, Any] | None = None) -> Path:
    """Write a table that no figure shows (example texts, say) as ``figures/<name>.csv`` with a ``.json`` sidecar."""
    path = figures_dir() / f"{name}.csv"
    atomic_write_bytes(path, frame.to_csv(index=False).encode())
    if provenance is not None:
        write_sidecar(path, {"table": name, **provenance})
    return path


def quantile_bands(frame: pd.DataFrame, value: str, by: list[str], low: float = 0.05,
                   high: float = 0.95) -> pd.DataFrame:
    """Median and [low, high] quantiles of ``value`` over chains, per group of ``by`` columns."""
    grouped = frame.groupby(by, sort=True)[value]
    return pd.DataFrame({
        "median": grouped.median(),
        "low": grouped.quantile(low),
        "high": grouped.quantile(high),
    }).reset_index()


def long_bands(frame: pd.DataFrame, metric: str, keys: Sequence[str],
               statistics: Sequence[str] = ("median", "low", "high", "mean")) -> pd.DataFrame:
    """Median, 5 % and 95 % quantiles and mean of ``metric`` over chains per group of ``keys``, in long format
    (columns ``keys``, ``metric``, ``statistic``, ``value``; only the ``statistics`` asked for): the numbers a
    band figure plots, for ``run.save_figure(..., data=...)``."""
    keys = list(keys)
    bands = quantile_bands(frame, metric, keys)
    bands["mean"] = frame.groupby(keys, sort=True)[metric].mean().to_numpy()
    long = bands.melt(id_vars=keys, value_vars=list(statistics), var_name="statistic", value_name="value")
    long.insert(len(keys), "metric", metric)
    return long


def over_runs(frame: pd.DataFrame, value: str, by: Sequence[str]) -> pd.DataFrame:
    """Mean, standard deviation, min, max and number of runs of ``value`` per group of ``by`` (for experiments
    with a few runs, where quantile bands would mean little), with ``sd_low``/``sd_high`` = mean ∓ 1 sd (0 for
    one run); draw either band with :func:`band_plot` (``center="mean"``, ``low="min"``, ``high="max"``)."""
    stats = frame.groupby(list(by), sort=False)[value].agg(["mean", "std", "min", "max", "count"]).reset_index()
    spread = stats["std"].fillna(0.0)
    return stats.assign(sd_low=stats["mean"] - spread, sd_high=stats["mean"] + spread)


def band_plot(ax: plt.Axes, bands: pd.DataFrame, x: str, label: str | None = None, color: Any = None,
              alpha: float = 0.2, center: str = "median", low: str = "low", high: str = "high",
              lw: float | None = 1.6, **line: Any) -> plt.Line2D:
    """A line through column ``center`` with a shaded band between columns ``low`` and ``high`` (by default
    the median and quantile band of :func:`quantile_bands`); ``line`` goes to ``ax.plot`` (marker, linestyle).
    The one band plot of the project: over chains (quantiles) or over runs (:func:`over_runs`)."""
    if lw is not None:
        line["lw"] = lw
    drawn, = ax.plot(bands[x], bands[center], label=label, color=color, **line)
    ax.fill_between(bands[x], bands[low], bands[high], color=drawn.get_color(), alpha=alpha, lw=0)
    return drawn

