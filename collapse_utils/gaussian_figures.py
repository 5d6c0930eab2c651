"""Figures and tables of notebook 02 (single Gaussian): they read :mod:`collapse_utils.gaussian`'s results and
its closed forms and never enter a cache key, so editing them recomputes nothing."""

from __future__ import annotations

from typing import Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .gaussian import expected_log_var, expected_var, expected_w2
from .plotting import band_plot, long_bands, quantile_bands


#: Legend label and figure-data name of the closed form drawn for each metric.
THEORY_LABELS = {"var": "exp E[log σ²] (median-type), replace", "w2": "E[W2²] (mean-type), replace"}


THEORY_NAMES = {"var": "theory_exp_E_log_var", "w2": "theory_E_w2"}


def theory_curves(metric: str, estimator: str) -> Callable[[np.ndarray, int], dict[str, np.ndarray]]:
    """Closed-form replace-policy curves of the statistic a figure draws: ``var`` -> the median-type
    ``exp E[log var]`` (for medians), ``w2`` -> the mean-type ``E[W2²]`` (for means over chains)."""
    def curves(generations: np.ndarray, m: int) -> dict[str, np.ndarray]:
        if metric == "var":
            return {THEORY_LABELS["var"]: np.exp(expected_log_var(generations, m, estimator))}
        if metric == "w2":
            return {THEORY_LABELS["w2"]: expected_w2(generations, m, estimator)}
        raise ValueError(f"no closed form for metric {metric!r}; use 'var' or 'w2'")
    return curves


def theory_long(metric: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The theory curves of ``metric`` for every (estimator, M) in ``frame``, in the long format."""
    rows = []
    for (estimator, m), part in frame.groupby(["estimator", "m"]):
        generations = np.sort(part["generation"].unique())
        for values in theory_curves(metric, estimator)(generations, m).values():
            rows.append(pd.DataFrame({"estimator": estimator, "m": m, "policy": "replace", "generation": generations,
                                      "metric": metric, "statistic": THEORY_NAMES[metric], "value": values}))
    return pd.concat(rows, ignore_index=True)


def summary_table(frame: pd.DataFrame, collapsed_below: float = 0.01) -> pd.DataFrame:
    """At the last generation, per M, policy and estimator: median variance, median W2² and the
    share of chains whose variance fell below ``collapsed_below``."""
    last = frame[frame["generation"] == frame["generation"].max()]
    grouped = last.groupby(["estimator", "policy", "m"], sort=False)
    return pd.DataFrame({
        "median var": grouped["var"].median(),
        "median W2²": grouped["w2"].median(),
        f"share var < {collapsed_below}": grouped["var"].apply(lambda v: (v < collapsed_below).mean()),
    }).unstack("m")


def plot_single_chains(frame: pd.DataFrame) -> tuple[plt.Figure, pd.DataFrame]:
    """The authors' view: |mean error| and |sd error| of one chain per M, log generation axis; also the
    plotted numbers (long format)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharex=True)
    chain = frame[frame["chain"] == 0]
    for m, group in chain.groupby("m"):
        x = group["generation"] + 1
        axes[0].plot(x, group["mean"].abs(), label=f"M = {m}", lw=1.2)
        axes[1].plot(x, (np.sqrt(group["var"]) - 1).abs(), lw=1.2)
    axes[0].set(xscale="log", yscale="log", xlabel="generation + 1", ylabel=r"$|\hat\mu_n - \mu|$")
    axes[1].set(xscale="log", xlabel="generation + 1", ylabel=r"$|\hat\sigma_n - \sigma|$")
    axes[0].legend(frameon=False)
    data = chain.assign(abs_mean_error=chain["mean"].abs(), abs_sd_error=(np.sqrt(chain["var"]) - 1).abs())
    data = data.melt(id_vars=["m", "estimator", "policy", "generation"], value_vars=["abs_mean_error", "abs_sd_error"],
                     var_name="metric", value_name="value")
    return fig, data


def plot_metric_bands(frame: pd.DataFrame, metric: str, ylabel: str, theory: bool = True,
                      log_y: bool = True) -> tuple[plt.Figure, pd.DataFrame]:
    """One row per estimator and one panel per M: median and 5-95% band over chains per policy, the
    mean over replace chains (thin), and the closed forms of the statistic each line shows (black):
    ``var`` medians against exp E[log var]; ``w2`` means against E[W2²]. One legend for the figure."""
    sizes, estimators = sorted(frame["m"].unique()), sorted(frame["estimator"].unique())
    if frame.empty:
        raise ValueError("nothing to plot: the frame has no chains")
    fig, axes = plt.subplots(len(estimators), len(sizes), figsize=(3.4 * len(sizes), 3.2 * len(estimators)),
                             sharey=True, squeeze=False, layout="constrained")
    data = []
    for row, estimator in zip(axes, estimators):
        for ax, m in zip(row, sizes):
            part = frame[(frame["m"] == m) & (frame["estimator"] == estimator)]
            for policy, group in part.groupby("policy", sort=False):
                band_plot(ax, quantile_bands(group, metric, ["generation"]), "generation", label=f"{policy}, median")
            replace = part[part["policy"] == "replace"]
            if len(replace) and metric == "w2":
                means = replace.groupby("generation")[metric].mean()
                ax.plot(means.index, means.to_numpy(), color="C0", lw=0.9, ls="-.", label="replace, mean over chains")
            if theory and len(replace):
                generations = np.sort(replace["generation"].unique())
                for label, values in theory_curves(metric, estimator)(generations, m).items():
                    ax.plot(generations, values, "k--", lw=1.1, label=label)
            ax.set(title=f"{estimator}, M = {m}", xlabel="generation", yscale="log" if log_y else "linear")
        row[0].set_ylabel(ylabel)
    data.append(long_bands(frame, metric, ["estimator", "m", "policy", "generation"]))
    if theory and (frame["policy"] == "replace").any():
        data.append(theory_long(metric, frame[frame["policy"] == "replace"]))
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=min(len(labels), 5), frameon=False, fontsize=8)
    return fig, pd.concat(data, ignore_index=True)


def plot_estimators(frame: pd.DataFrame) -> tuple[plt.Figure, pd.DataFrame]:
    """Replace policy, per estimator: the mean over chains of the variance against E[var_n] (mean-type,
    dashed) and its median against exp E[log var_n] (median-type, dotted), one colour per M."""
    frame = frame[frame["policy"] == "replace"]
    if frame.empty:
        raise ValueError("the estimators figure needs the 'replace' policy among the policies")
    estimators = sorted(frame["estimator"].unique())
    fig, axes = plt.subplots(1, len(estimators), figsize=(5 * len(estimators), 3.8), sharey=True, squeeze=False,
                             layout="constrained")
    rows = []
    for ax, estimator in zip(axes[0], estimators):
        part = frame[frame["estimator"] == estimator]
        for m, group in part.groupby("m"):
            summary = group.groupby("generation")["var"].agg(["mean", "median"]).reset_index()
            generations = summary["generation"]
            line, = ax.plot(generations, summary["mean"], lw=1.5, label=f"M = {m}")
            ax.plot(generations, summary["median"], lw=1, ls=":", color=line.get_color())
            ax.plot(generations, expected_var(generations, m, estimator), "k--", lw=0.8)
            ax.plot(generations, np.exp(expected_log_var(generations, m, estimator)), "k:", lw=0.8)
            rows.append(pd.DataFrame({"estimator": estimator, "m": m, "generation": generations, "mean": summary["mean"],
                                      "median": summary["median"],
                                      "theory_E_var": expected_var(generations, m, estimator),
                                      "theory_exp_E_log_var": np.exp(expected_log_var(generations, m, estimator))}))
        ax.set(title=f"{estimator} variance estimator", xlabel="generation", yscale="log")
    axes[0, 0].set_ylabel(r"$\hat\sigma^2_n$ over chains of the replace policy")
    axes[0, 0].plot([], [], "0.3", lw=1.5, label="mean over chains")
    axes[0, 0].plot([], [], "0.3", lw=1, ls=":", label="median over chains")
    axes[0, 0].plot([], [], "k--", lw=0.8, label=r"$\mathbb{E}[\hat\sigma^2_n]$ (for the mean)")
    axes[0, 0].plot([], [], "k:", lw=0.8, label=r"$e^{\mathbb{E}\log\hat\sigma^2_n}$ (for the median)")
    axes[0, 0].legend(frameon=False, fontsize=7, ncol=2)
    data = pd.concat(rows, ignore_index=True).melt(id_vars=["estimator", "m", "generation"], var_name="statistic",
                                                   value_name="value")
    return fig, data.assign(metric="var", policy="replace")


def heavy_tail_table(frame: pd.DataFrame, generations: Sequence[int] = (100, 300, 1000)) -> pd.DataFrame:
    """Replace policy, unbiased estimator: mean over chains of the variance against E[var] = 1, with the
    share of that mean carried by the top 1 % of chains and the relative standard error that the
    (exploding) second moment E[var²] = ((M+1)/(M-1))^n implies for a mean over this many chains."""
    rows = []
    part = frame[(frame["policy"] == "replace") & (frame["estimator"] == "unbiased")]
    for (m, generation), group in part[part["generation"].isin(generations)].groupby(["m", "generation"]):
        values = np.sort(group["var"].to_numpy())
        top = values[-max(1, len(values) // 100):].sum() / values.sum()
        second = ((m + 1) / (m - 1)) ** (generation + 1)
        rows.append({"m": m, "generation": generation, "mean over chains": values.mean(), "E[var]": 1.0,
                     "share of the top 1 %": top, "expected relative s.e.": np.sqrt((second - 1) / len(values))})
    return pd.DataFrame(rows)
