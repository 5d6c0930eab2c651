"""Figures and tables of notebook 03 (Gaussian mixtures): they read :mod:`collapse_utils.gmm`'s results and
closed forms and never enter a cache key, so editing them recomputes nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np
import pandas as pd

from . import plotting
from .gmm import GMMSettings, log_det_kurtosis_prediction, log_det_theory, mixture_from_columns, sample_mixture, start_label
from .plotting import band_plot, quantile_bands

if TYPE_CHECKING:
    import matplotlib.pyplot as plt


def main_runs(frame: pd.DataFrame, settings: GMMSettings) -> pd.DataFrame:
    """The rows of the main conditions: the settings' EM start and ``reg_covar``."""
    return frame[(frame.start == start_label(settings.warm_start)) & (frame.reg_covar == settings.reg_covar)]


def long_bands(frame: pd.DataFrame, metric: str, by: Sequence[str] = ("n_samples", "policy", "start", "reg_covar"),
               statistics: Sequence[str] = ("median", "low", "high")) -> pd.DataFrame:
    """:func:`collapse_utils.plotting.long_bands` of ``metric`` per condition (``by``) and generation."""
    return plotting.long_bands(frame, metric, [*by, "generation"], statistics)


def _condition_styles(frame: pd.DataFrame) -> list[tuple[pd.Series, str, dict]]:
    """(row mask, label, line style) of every condition in ``frame``: one shade of a sequential palette
    per N for Replace, dashed and dotted lines in other colours for the other policies."""
    import seaborn as sns

    sizes = sorted(frame.loc[frame.policy == "replace", "n_samples"].unique())
    colours = dict(zip(sizes, sns.color_palette("viridis", len(sizes))))
    styles = [(frame.policy.eq("replace") & frame.n_samples.eq(n), f"replace, N={n:,}", dict(color=colours[n]))
              for n in sizes]
    others = [p for p in frame.policy.unique() if p != "replace"]
    for policy, dashes, colour in zip(others, ("--", ":", "-."), sns.color_palette("colorblind")[3:]):
        n = int(frame.loc[frame.policy == policy, "n_samples"].iloc[0])
        styles.append((frame.policy.eq(policy), f"{policy}, N={n:,}", dict(color=colour, linestyle=dashes)))
    return styles


def plot_over_generations(frame: pd.DataFrame, metric: str, ylabel: str, ax: "plt.Axes | None" = None,
                          legend: bool = True) -> "plt.Figure":
    """Median and 5-95% band over chains of ``metric`` per generation, one line per condition, log y."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 4.5))
    for mask, label, style in _condition_styles(frame):
        rows = frame[mask & (frame.generation > 0)]
        band_plot(ax, quantile_bands(rows, metric, ["generation"]), "generation", label=label, color=style["color"],
                  alpha=0.15)
        ax.lines[-1].set_linestyle(style.get("linestyle", "-"))
    ax.set(yscale="log", xlabel="generation", ylabel=f"{ylabel}\nmedian and 5–95 % of chains")
    if legend:
        ax.legend(fontsize=8, ncol=2)
    return ax.figure


def plot_start_ablation(frame: pd.DataFrame, metric: str, ylabel: str) -> "plt.Figure":
    """``metric`` with a fresh k-means start every generation (left, the authors' procedure) beside
    a warm start from the previous fit (right), same axes; main ``reg_covar`` only."""
    import matplotlib.pyplot as plt

    starts = [s for s in ("k-means", "warm") if s in set(frame.start)]
    fig, axes = plt.subplots(1, len(starts), figsize=(5.2 * len(starts), 4.2), sharey=True, squeeze=False)
    for ax, start in zip(axes[0], starts):
        plot_over_generations(frame[frame.start == start], metric, ylabel, ax=ax, legend=ax is axes[0, 0])
        ax.set_title(f"{start} start every generation")
    return fig


def plot_reg_covar_sweep(frame: pd.DataFrame, settings: GMMSettings) -> "plt.Figure":
    """Left: mean over chains of log det of the total covariance per (N, reg_covar), with the Wishart
    theory for Gaussian data (mean-type, dashed) and the prediction from the mixtures' own kurtosis for the
    smallest reg_covar (dotted). Right: median squared L2 distance per (N, reg_covar)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    sizes = sorted(frame.n_samples.unique())
    regs = sorted(frame.reg_covar.unique(), reverse=True)
    colours = dict(zip(sizes, sns.color_palette("colorblind", len(sizes))))
    styles = dict(zip(regs, ("-", ":", "-.", "--")))
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for (n, reg), rows in frame[frame.generation > 0].groupby(["n_samples", "reg_covar"]):
        stats = rows.groupby("generation").agg(mean=("log_det_total", "mean"), median=("l2_sq", "median"))
        label = f"N={n:,}, reg_covar={reg:g}"
        left.plot(stats.index, stats["mean"], color=colours[n], linestyle=styles[reg], label=label)
        right.plot(stats.index, stats["median"], color=colours[n], linestyle=styles[reg], label=label)
    generations = np.arange(settings.n_generations + 1)
    for i, n in enumerate(sizes):
        left.plot(generations, log_det_theory(generations, n, settings.n_real), color=colours[n], lw=0.8,
                  linestyle=(0, (4, 3)), label="Wishart theory (Gaussian data, no reg_covar)" if i == 0 else None)
        rows = frame[(frame.n_samples == n) & (frame.reg_covar == min(regs))]
        predicted = log_det_kurtosis_prediction(rows, n, settings.n_real)
        left.plot(predicted.index, predicted.to_numpy(), color="k", lw=0.8, linestyle=(0, (1, 2)),
                  label=f"with the mixtures' own kurtosis (reg_covar={min(regs):g})" if i == 0 else None)
    left.set(xlabel="generation", ylabel="mean over chains of log det Σ (total)")
    right.set(xlabel="generation", ylabel="median squared L2 distance to generation 0", yscale="log")
    left.legend(fontsize=8)
    return fig


def reg_covar_sweep_data(frame: pd.DataFrame, settings: GMMSettings) -> pd.DataFrame:
    """The numbers of :func:`plot_reg_covar_sweep` in long format, with the theory as rows of its own."""
    keys = ("n_samples", "reg_covar")
    rows = frame[frame.generation > 0]
    measured = pd.concat([long_bands(rows, "log_det_total", keys, ("mean",)), long_bands(rows, "l2_sq", keys, ("median",))])
    generations = np.arange(settings.n_generations + 1)
    theory = [pd.DataFrame({"n_samples": n, "reg_covar": 0.0, "generation": generations, "metric": "log_det_total",
                            "statistic": "theory_mean", "value": log_det_theory(generations, n, settings.n_real)})
              for n in sorted(frame.n_samples.unique())]
    smallest = frame.reg_covar.min()
    for n in sorted(frame.n_samples.unique()):
        predicted = log_det_kurtosis_prediction(frame[(frame.n_samples == n) & (frame.reg_covar == smallest)], n,
                                                settings.n_real)
        theory.append(pd.DataFrame({"n_samples": n, "reg_covar": smallest, "generation": predicted.index,
                                    "metric": "log_det_total", "statistic": "kurtosis_prediction_mean",
                                    "value": predicted.to_numpy()}))
    return pd.concat([measured, *theory], ignore_index=True)


def plot_snapshots(frame: pd.DataFrame, real: np.ndarray, n_samples: int, generations: Sequence[int],
                   rng: np.random.Generator, chain: int = 0, limit: float = 3.0) -> tuple["plt.Figure", pd.DataFrame]:
    """Real data of one chain beside ``n_samples`` points drawn from its Replace mixture at each of
    ``generations``, coloured by the component that drew them, on fixed axes [-limit, limit]²; also
    the plotted points (columns panel, x, y, component)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    rows = frame[(frame.policy == "replace") & (frame.n_samples == n_samples) & (frame.chain == chain)]
    rows = rows.set_index("generation").loc[list(generations)]
    mixtures = mixture_from_columns(rows)
    colours = np.array(sns.color_palette("colorblind", mixtures.weights.shape[1]))
    n_panels = len(generations) + 1
    fig, axes = plt.subplots(2, (n_panels + 1) // 2, figsize=(2.6 * ((n_panels + 1) // 2), 5.4),
                             sharex=True, sharey=True, squeeze=False)
    panels = axes.ravel()
    panels[0].scatter(*real[chain].T, s=2, color="0.4", alpha=0.5, lw=0)
    panels[0].set_title("real data")
    data = [pd.DataFrame({"panel": "real", "x": real[chain, :, 0], "y": real[chain, :, 1], "component": -1})]
    for ax, generation, index in zip(panels[1:], generations, range(len(generations))):
        points, labels = sample_mixture(mixtures.take([index]), n_samples, rng)
        ax.scatter(*points[0].T, s=2, c=colours[labels[0]], alpha=0.5, lw=0)
        ax.set_title(f"generation {generation}")
        data.append(pd.DataFrame({"panel": f"generation {generation}", "x": points[0, :, 0], "y": points[0, :, 1],
                                  "component": labels[0]}))
    for ax in panels:
        ax.set(xlim=(-limit, limit), ylim=(-limit, limit), aspect="equal")
    for ax in panels[n_panels:]:
        ax.set_visible(False)
    return fig, pd.concat(data, ignore_index=True)


CONDITION_KEYS = ["start", "reg_covar", "policy", "n_samples"]


def _bands_text(frame: pd.DataFrame, metric: str, by: list[str]) -> pd.DataFrame:
    """``median (5%-95%)`` of ``metric`` over chains as text, per group of ``by``."""
    bands = quantile_bands(frame, metric, by)
    bands["value"] = [f"{m:.3g} ({lo:.2g}-{hi:.2g})" for m, lo, hi in zip(bands["median"], bands.low, bands.high)]
    return bands


def summary_table(frame: pd.DataFrame, metric: str = "l2_sq", generations: Sequence[int] = (100, 500, 1000, 2050)
                  ) -> pd.DataFrame:
    """Median (5%-95% range) of ``metric`` over chains at a few generations, one row per condition."""
    bands = _bands_text(frame[frame.generation.isin(generations)], metric, CONDITION_KEYS + ["generation"])
    return bands.pivot(index=CONDITION_KEYS, columns="generation", values="value").fillna("—")


def final_table(frame: pd.DataFrame, metrics: Sequence[str]) -> pd.DataFrame:
    """Median (5%-95% range) over chains of each metric at each condition's last generation."""
    last = frame[frame.generation == frame.groupby(CONDITION_KEYS).generation.transform("max")]
    columns = {m: _bands_text(last, m, CONDITION_KEYS + ["generation"]).set_index(CONDITION_KEYS + ["generation"])["value"]
               for m in metrics}
    return pd.DataFrame(columns)
