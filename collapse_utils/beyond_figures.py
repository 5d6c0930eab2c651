"""Figures of notebook 06 (beyond the paper): they read :mod:`collapse_utils.beyond`'s results and closed
forms and never enter a cache key, so editing them recomputes nothing."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .beyond import keep_real_log_var_variance
from .plotting import band_plot, quantile_bands


def plot_collapse_times(table: pd.DataFrame, threshold: float) -> tuple[plt.Figure, pd.DataFrame]:
    """Time until the variance first halves (or falls below ``threshold``) against M, with the Wald
    lower bound and the Lorden upper bound on its mean; also the plotted numbers in long format."""
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.fill_between(table["m"], table["low"], table["high"], alpha=0.2, lw=0, label="5–95% of chains")
    ax.plot(table["m"], table["median"], "o-", ms=4, label="median")
    ax.errorbar(table["m"], table["mean"], yerr=2 * table["sem"], fmt="s", ms=3, capsize=2, label="mean ± 2 s.e.")
    ax.plot(table["m"], table["wald"], "k--", lw=1, label=r"lower bound on the mean, $\ln t/a(M) - 1$ (Wald)")
    ax.plot(table["m"], table["lorden"], "k:", lw=1, label="upper bound on the mean (Lorden)")
    ax.set(xscale="log", yscale="log", xlabel="sample size M",
           ylabel=f"generations until variance < {threshold:g}")
    ax.legend(frameon=False, fontsize=8)
    columns = ["mean", "sem", "median", "low", "high", "wald", "lorden", "mean_over_wald"]
    data = table.melt(id_vars="m", value_vars=columns, var_name="statistic", value_name="value")
    return fig, data


def plot_keep_real_sweep(frame: pd.DataFrame) -> tuple[plt.Figure, pd.DataFrame]:
    """Median variance, variance across chains of log variance (with the fixed-subset law ≈ 3/(fM) and the
    size 1/(fM) of its within-chain fluctuation alone) and median W2 after
    the last generation against the share f of real data kept; also the plotted numbers (long format)."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), layout="constrained")
    shown = frame.assign(share=frame["fraction"].clip(lower=1e-3), log_var=np.log(frame["var"]))
    m, generation = int(frame["m"].iloc[0]), int(frame["generation"].iloc[0])
    data = []
    for ax, metric, label in zip(axes[[0, 2]], ("var", "w2"), (r"$\hat\sigma^2$", r"$W_2^2$ to $N(0,1)$")):
        bands = quantile_bands(shown, metric, ["share"])
        band_plot(ax, bands, "share", label="median, 5–95% of chains")
        ax.set(xscale="log", yscale="log", xlabel="share f of real data kept (0 drawn at 10⁻³)", ylabel=label)
        data.append(bands.melt(id_vars="share", var_name="statistic", value_name="value").assign(metric=metric))
    spread = shown.groupby("share")["log_var"].var().rename("value").reset_index()
    axes[1].plot(spread["share"], spread["value"], "o-", ms=4, label="over chains")
    data.append(spread.assign(metric="log_var", statistic="variance"))
    shares = np.geomspace(max(5 / m, spread["share"][spread["share"] > 1e-3].min()), 1, 60)
    law = keep_real_log_var_variance(m, shares)
    axes[1].plot(shares, law, "k--", lw=1, label=r"theory $\approx 3/(fM)$ (kept subset + fluctuation)")
    axes[1].plot(shares, 1 / (shares * m), "k:", lw=1, label=r"$1/(fM)$ (fluctuation alone)")
    axes[1].set(xscale="log", yscale="log", xlabel="share f of real data kept (0 drawn at 10⁻³)", ylabel=r"Var$[\log\hat\sigma^2]$")
    axes[1].legend(frameon=False, fontsize=8, loc="lower left")
    data.append(pd.DataFrame({"share": shares, "value": law, "metric": "log_var", "statistic": "theory_variance"}))
    measured = spread["share"][spread["share"] * m >= 5]
    data.append(pd.DataFrame({"share": measured, "value": keep_real_log_var_variance(m, measured), "metric": "log_var",
                              "statistic": "theory_at_share"}))
    fig.suptitle(f"After {generation} generations at M = {m} (MLE)")
    return fig, pd.concat(data, ignore_index=True)
