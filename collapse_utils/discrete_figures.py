"""Figures of notebook 01 (discrete distributions): they read :mod:`collapse_utils.discrete`'s results and
never enter a cache key, so editing them recomputes nothing."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .discrete import survival_curves
from .plotting import band_plot, quantile_bands


def plot_survival(frame: pd.DataFrame, probs: np.ndarray, m: int) -> tuple[plt.Figure, pd.DataFrame]:
    """Fraction of chains in which each category survives, against the exact survival curves; also the
    plotted numbers (long format: p, generation, statistic simulated/exact, value)."""
    fig, ax = plt.subplots(figsize=(7, 4))
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(probs)))
    generations = np.sort(frame["generation"].unique())
    shown = np.unique(np.round(np.geomspace(1, len(probs), 6)).astype(int) - 1)
    theory = survival_curves(m, probs[shown], generations.max())[:, generations]
    data = []
    for k, curve in zip(shown, theory):
        alive = frame.assign(alive=frame[f"p{k}"] > 0).groupby("generation")["alive"].mean()
        ax.plot(alive.index, alive.to_numpy(), color=colors[k], lw=1.8, label=f"p = {probs[k]:.3f}")
        ax.plot(generations, curve, "k--", lw=0.8)
        data += [pd.DataFrame({"p": probs[k], "generation": alive.index, "statistic": "simulated", "value": alive.to_numpy()}),
                 pd.DataFrame({"p": probs[k], "generation": generations, "statistic": "exact", "value": curve})]
    ax.set(xscale="symlog", xlabel="generation", ylabel="P(category still present)",
           title=f"Rare outcomes vanish first (M = {m}; dashed: exact theory)")
    ax.legend(frameon=False, fontsize=8, title="initial probability")
    return fig, pd.concat(data, ignore_index=True)


def plot_alive(frame: pd.DataFrame) -> tuple[plt.Figure, pd.DataFrame]:
    """Surviving categories per chain (median, 5-95% band) and the fraction of absorbed chains; also the
    plotted numbers (long format)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    bands = quantile_bands(frame, "n_alive", ["generation"])
    band_plot(axes[0], bands, "generation")
    axes[0].set(xscale="symlog", xlabel="generation", ylabel="categories with p > 0")
    absorbed = (frame["n_alive"] == 1).groupby(frame["generation"]).mean()
    axes[1].plot(absorbed.index, absorbed.to_numpy(), lw=1.8)
    axes[1].set(xlabel="generation", ylabel="fraction of chains on a point mass", ylim=(-0.02, 1.02))
    data = bands.melt(id_vars="generation", var_name="statistic", value_name="value").assign(metric="n_alive")
    absorbed_data = pd.DataFrame({"generation": absorbed.index, "statistic": "share", "value": absorbed.to_numpy(),
                                  "metric": "absorbed"})
    return fig, pd.concat([data, absorbed_data], ignore_index=True)


def plot_absorption(table: pd.DataFrame, p_grid_m: int) -> tuple[plt.Figure, pd.DataFrame]:
    """Mean absorption time against M (p = 1/2) and against p (M = ``p_grid_m``): simulation and theory;
    also the plotted numbers (long format: m, p, statistic, value)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, (x, part) in zip(axes, (("m", table[table["p"] == 0.5]), ("p", table[table["m"] == p_grid_m]))):
        part = part.sort_values(x)
        ax.errorbar(part[x], part["mean"], yerr=[part["mean"] - part["ci_low"], part["ci_high"] - part["mean"]],
                    fmt="o", ms=4, capsize=3, label="simulation (95% CI)")
        ax.plot(part[x], part["exact"], "k-", lw=1, label="exact Markov chain")
        ax.plot(part[x], part["diffusion"], "r--", lw=1, label=r"$-2M[p\ln p+(1-p)\ln(1-p)]$")
        ax.set(xlabel="sample size M" if x == "m" else "initial frequency p", ylabel="mean generations to absorption")
    axes[0].set(xscale="log", yscale="log", title="p = 1/2")
    axes[1].set(title=f"M = {p_grid_m}")
    axes[0].legend(frameon=False, fontsize=8)
    data = table.melt(id_vars=["m", "p"], value_vars=["mean", "ci_low", "ci_high", "exact", "diffusion"],
                      var_name="statistic", value_name="value")
    return fig, data
