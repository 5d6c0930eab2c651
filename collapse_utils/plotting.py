"""One plotting style for every figure, band plots over chains, and saving figures with provenance."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
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
        # no creation date in the PDF: the same figure gives the same bytes
        metadata = {"Creator": "collapse_utils"} if ext == "png" else {"CreationDate": None}
        atomic_write_stream(path, lambda out: fig.savefig(out, format=ext, metadata=metadata))
        paths.append(path)
    if data is not None:
        path = folder / f"{name}.csv"
        atomic_write_bytes(path, data.to_csv(index=False, float_format="%.6g").encode())
        paths.append(path)
    if provenance is not None:
        write_sidecar(folder / f"{name}.png", {"figure": name, **provenance})
    return paths


def quantile_bands(frame: pd.DataFrame, value: str, by: list[str], low: float = 0.05,
                   high: float = 0.95) -> pd.DataFrame:
    """Median and [low, high] quantiles of ``value`` over chains, per group of ``by`` columns."""
    grouped = frame.groupby(by, sort=True)[value]
    return pd.DataFrame({
        "median": grouped.median(),
        "low": grouped.quantile(low),
        "high": grouped.quantile(high),
    }).reset_index()


def band_plot(ax: plt.Axes, bands: pd.DataFrame, x: str, label: str | None = None,
              color: Any = None, alpha: float = 0.2) -> None:
    """Median line with a shaded quantile band (columns ``median``, ``low``, ``high``)."""
    line, = ax.plot(bands[x], bands["median"], label=label, color=color, lw=1.6)
    ax.fill_between(bands[x], bands["low"], bands["high"], color=line.get_color(), alpha=alpha, lw=0)


def log_generations(n_generations: int, n_points: int = 120) -> np.ndarray:
    """About ``n_points`` generations 0..n, dense at the start, spaced evenly on a log axis."""
    grid = np.unique(np.round(np.geomspace(1, n_generations, n_points)).astype(int))
    return np.concatenate([[0], grid])
