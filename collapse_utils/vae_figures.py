"""Figures, tables and the summary of notebook 04 (VAE on MNIST): they read :mod:`collapse_utils.vae`'s
results and never enter a cache key, so editing them recomputes nothing. Every plot function returns the
figure and its plotted numbers in long format (panel, series, generation, x, statistic, value), for
``run.save_figure(fig, name, data=frame)``."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from . import mnist_classifier as mc
from . import plotting
from .plotting import band_plot
from .reference import REFERENCE, reference_value


def paper_reference(path: Path = REFERENCE) -> pd.DataFrame:
    """The authors' latent-mean standard deviations in our numbering: generation, mean, min and max over their 5 runs."""
    table = pd.read_csv(path)
    rows = table[(table["experiment"] == "vae") & table["quantity"].str.startswith("latent_mean_std")].copy()
    rows["generation"] = rows["setting"].str.extract(r"generation (\d+)")[0].astype(int)
    rows["statistic"] = rows["quantity"].map({"latent_mean_std": "mean", "latent_mean_std_min": "min",
                                              "latent_mean_std_max": "max"})
    wide = rows.pivot(index="generation", columns="statistic", values="value").astype(float)
    return wide[["mean", "min", "max"]].reset_index().rename_axis(columns=None)


def paper_value(quantity: str, path: Path = REFERENCE) -> float:
    """The single VAE value of ``quantity`` in ``data/reference.csv`` (e.g. ``train_loss_final``)."""
    return float(reference_value("vae", quantity, path=path))


def over_runs(metrics: pd.DataFrame, column: str) -> pd.DataFrame:
    """Mean, min and max of ``column`` over runs per (policy, generation)."""
    return plotting.over_runs(metrics, column, ["policy", "generation"])[["policy", "generation", "mean", "min", "max"]]


def compare_with_paper(metrics: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """Std of latent means per (policy, generation): mean, min and max over runs, beside the authors' (same statistics)."""
    table = over_runs(metrics, "latent_std")
    paper = reference.set_index("generation")
    for statistic in ("mean", "min", "max"):
        table[f"paper {statistic}"] = table["generation"].map(paper[statistic])
    return table.round(3)


def _long(panel: str, series: str, generation, x, statistic: str, value) -> pd.DataFrame:
    return pd.DataFrame({"panel": panel, "series": series, "generation": generation, "x": x,
                         "statistic": statistic, "value": value})


def plot_grids(grids: dict[tuple[str, int], np.ndarray]) -> tuple[plt.Figure, pd.DataFrame]:
    """Digit grids: one row per policy, one column per generation.

    Data: (policy, generation, pixel, level): every non-zero pixel of each grid image as an 8-bit grey level
    (0-255; pixel = row · width + column), a compact long format for images (all other figures use :func:`_long`).
    """
    policies = list(dict.fromkeys(p for p, _ in grids))
    generations = sorted({g for _, g in grids})
    fig, axes = plt.subplots(len(policies), len(generations), squeeze=False,
                             figsize=(2.3 * len(generations), 2.5 * len(policies)))
    for i, policy in enumerate(policies):
        for j, generation in enumerate(generations):
            ax = axes[i, j]
            ax.imshow(grids[(policy, generation)], cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
            ax.set_xticks([]), ax.set_yticks([]), ax.grid(False)
            ax.set_title(f"generation {generation}", fontsize=9)
            if j == 0:
                ax.set_ylabel(policy)
    frames = []
    for (policy, generation), grid in grids.items():
        levels = np.rint(grid.ravel() * 255).astype(np.int64)  # the PNG's 8 bits; zero pixels are left out
        kept = np.flatnonzero(levels)
        frames.append(pd.DataFrame({"policy": policy, "generation": generation, "pixel": kept, "level": levels[kept]}))
    return fig, pd.concat(frames, ignore_index=True)


def plot_latents(latents: pd.DataFrame, metrics: pd.DataFrame, shown: Sequence[int],
                 reference: pd.DataFrame | None = None) -> tuple[plt.Figure, pd.DataFrame]:
    """Density of latent means per shown generation (first policy), and their std and mean over generations."""
    fig, (ax_d, ax_s, ax_m) = plt.subplots(1, 3, figsize=(13, 3.6))
    policy = latents["policy"].iloc[0]
    first = latents[latents["policy"] == policy]
    colours = plt.cm.viridis(np.linspace(0, 0.9, len(shown)))
    bins = np.linspace(-3.5, 3.5, 71)
    frames = []
    for colour, generation in zip(colours, shown):
        values = first.loc[first["generation"] == generation, "value"]
        density, _ = np.histogram(values, bins=bins, density=True)
        ax_d.stairs(density, bins, color=colour, lw=1.4, label=f"gen {generation}")
        frames.append(_long("density", policy, generation, (bins[:-1] + bins[1:]) / 2, "density", density))
    ax_d.set(xlabel="latent mean μ(x) under the generation-0 encoder", ylabel="density",
             title=f"{policy}: all runs pooled")
    ax_d.legend(fontsize=8)
    frames.append(_by_generation(ax_s, metrics, "latent_std", "spread", "std of latent means"))
    frames.append(_by_generation(ax_m, metrics, "latent_mean", "centre", "mean of latent means"))
    if reference is not None and len(reference):
        ax_s.errorbar(reference["generation"], reference["mean"],
                      yerr=[reference["mean"] - reference["min"], reference["max"] - reference["mean"]],
                      fmt="*", ms=10, color="black", capsize=3, zorder=5, label="authors: mean, min–max of 5 runs")
        ax_s.legend(fontsize=7)
        frames += [_long("latent_std", "authors", reference["generation"], reference["generation"], statistic,
                         reference[statistic]) for statistic in ("mean", "min", "max")]
    fig.tight_layout()
    return fig, pd.concat(frames, ignore_index=True)


def _by_generation(ax: plt.Axes, metrics: pd.DataFrame, column: str, title: str, ylabel: str,
                   real_value: float | None = None) -> pd.DataFrame:
    """One line per policy of ``column`` over generations (mean over runs, band min–max), real-data level dashed."""
    frames = []
    n_runs = metrics["run"].nunique()
    for policy, summary in over_runs(metrics, column).groupby("policy", sort=False):
        band_plot(ax, summary, "generation", label=policy, center="mean", low="min", high="max")
        frames += [_long(column, policy, summary["generation"], summary["generation"], statistic, summary[statistic])
                   for statistic in ("mean", "min", "max")]
    if real_value is not None:
        ax.axhline(real_value, color="grey", ls="--", lw=1, label="real images")
        frames.append(_long(column, "real images", np.nan, np.nan, "value", [real_value]))
    spread = "one run" if n_runs == 1 else f"line: mean, band: min–max of {n_runs} runs"
    ax.set(xlabel="generation", ylabel=ylabel, title=f"{title} ({spread})")
    ax.title.set_fontsize(9)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=7)
    return pd.concat(frames, ignore_index=True)


def plot_training(models: pd.DataFrame, test_loss: pd.DataFrame, paper_loss: float) -> tuple[plt.Figure, pd.DataFrame]:
    """Left: generation 0's training loss per epoch (mean over runs), its real test -ELBO and the authors' final loss.
    Right: the last epoch's training loss of every generation (on that generation's own training images)."""
    fig, (ax_0, ax_g) = plt.subplots(1, 2, figsize=(10, 3.6))
    first = models[models["policy"] == models["policy"].iloc[0]]
    curves = np.array(first.loc[first["generation"] == 0, "losses"].tolist())
    epochs = np.arange(1, curves.shape[1] + 1)
    ax_0.plot(epochs, curves.mean(axis=0), marker="o", label="training loss (epoch mean), mean of runs")
    ax_0.axhline(test_loss["test_loss"].mean(), color="C1", ls=":", label="test images, mean of runs")
    ax_0.axhline(paper_loss, color="black", ls="--", lw=1, label=f"authors (30 epochs of 60,000): ≈ {paper_loss:.0f}")
    ax_0.set(xlabel="epoch", ylabel="nats per image (BCE + KL)", title="generation 0 (real MNIST)")
    ax_0.set_xticks(epochs)
    ax_0.legend(fontsize=7)
    frames = [_long("generation0_loss", "training", 0, epochs, "mean", curves.mean(axis=0)),
              _long("generation0_loss", "test images", 0, np.nan, "mean", [test_loss["test_loss"].mean()]),
              _long("generation0_loss", "authors", 0, np.nan, "value", [paper_loss])]
    frames.append(_by_generation(ax_g, models, "final_loss", "last epoch's training loss", "nats per image"))
    fig.tight_layout()
    return fig, pd.concat(frames, ignore_index=True)


def plot_classifier(metrics: pd.DataFrame, real: dict) -> tuple[plt.Figure, pd.DataFrame]:
    """Class fractions per generation (first policy, mean over runs), two entropies, and the Fréchet distance."""
    fig, (ax_h, ax_c, ax_p, ax_f) = plt.subplots(1, 4, figsize=(17, 3.8))
    policy = metrics["policy"].iloc[0]
    first = metrics[metrics["policy"] == policy]
    fractions = first.groupby("generation")[[f"frac_{k}" for k in range(mc.N_CLASSES)]].mean()
    image = ax_h.imshow(fractions.to_numpy(), aspect="auto", cmap="magma", vmin=0,
                        extent=(-0.5, 9.5, fractions.index.max() + 0.5, fractions.index.min() - 0.5))
    fig.colorbar(image, ax=ax_h, label="fraction of generated digits")
    ax_h.set(xlabel="predicted digit", ylabel="generation", xticks=range(10),
             title=f"class histogram ({policy}, mean over runs)")
    ax_h.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax_h.grid(False)
    frames = [_long("class_fraction", policy, generation, np.arange(mc.N_CLASSES), "mean", row.to_numpy())
              for generation, row in fractions.iterrows()]
    frames.append(_by_generation(ax_c, metrics, "class_entropy", "entropy of the class histogram",
                                 "bits (max log2 10 = 3.32)", real["class_entropy"]))
    frames.append(_by_generation(ax_p, metrics, "predictive_entropy", "mean entropy of each digit's prediction",
                                 "bits", real["predictive_entropy"]))
    frames.append(_by_generation(ax_f, metrics, "frechet", "Fréchet distance to real test digits",
                                 "squared distance (features)", real["frechet"]))
    ax_f.set_yscale("log")
    fig.tight_layout()
    return fig, pd.concat(frames, ignore_index=True)


def summary_markdown(metrics: pd.DataFrame, models: pd.DataFrame, test_loss: pd.DataFrame,
                     reference: pd.DataFrame, real: dict, paper_loss: float) -> str:
    """The notebook's summary, every number computed from this run's results (first policy)."""
    policy = metrics["policy"].iloc[0]
    first = metrics[metrics["policy"] == policy]
    spread = over_runs(first, "latent_std").set_index("generation")
    last, n_runs = int(spread.index.max()), first["run"].nunique()
    per_run = first.pivot(index="generation", columns="run", values="latent_std")
    falling = int((per_run.diff().iloc[1:] < 0).all().sum())
    both = reference.set_index("generation").add_suffix("_paper").join(spread).dropna()
    inside = int(((both["mean"] >= both["min_paper"]) & (both["mean"] <= both["max_paper"])).sum())
    ratio = lambda frame, column, a, b: frame.loc[b, column] / frame.loc[a, column]  # noqa: E731
    loss0 = models[(models["policy"] == policy) & (models["generation"] == 0)]["final_loss"].mean()
    mean = lambda column: over_runs(first, column).set_index("generation")["mean"]  # noqa: E731
    steps = lambda column, sign: int((sign * mean(column).diff().iloc[1:] > 0).sum())  # noqa: E731
    chain = " → ".join(f"{v:.3f}" for v in spread["mean"])
    lines = [
        f"- **Collapse ({policy}).** The std of the latent means under the generation-0 encoder, mean of "
        f"{n_runs} runs, generations 0–{last}: {chain}; it falls at every generation in {falling} of {n_runs} runs.",
    ]
    if len(both):
        a, b = int(both.index.min()), int(both.index.max())
        lines.append(
            f"- **Against the authors** (generations {a}–{b} in our numbering, their 5 runs): our mean lies inside "
            f"their min–max range at {inside} of {len(both)} generations; the std falls to "
            f"{ratio(both, 'mean', a, b):.2f}× its generation-{a} value from generation {a} to {b} "
            f"(authors: {ratio(both, 'mean_paper', a, b):.2f}×).")
    lines += [
        f"- **Training budget.** Generation 0's last-epoch training loss is {loss0:.1f} nats per image (mean of "
        f"{n_runs} runs; {test_loss['test_loss'].mean():.1f} on the real test images) against the authors' ≈ "
        f"{paper_loss:.0f}: a gap of {loss0 - paper_loss:.1f} nats per image.",
        f"- **Classifier (beyond the paper).** Mean predictive entropy {mean('predictive_entropy').iloc[0]:.2f} → "
        f"{mean('predictive_entropy').iloc[-1]:.2f} bits, rising at {steps('predictive_entropy', 1)} of {last} "
        f"generations (real digits {real['predictive_entropy']:.2f}); class-histogram entropy "
        f"{mean('class_entropy').iloc[0]:.2f} → {mean('class_entropy').iloc[-1]:.2f} bits, falling at "
        f"{steps('class_entropy', -1)} of {last} (real {real['class_entropy']:.2f}); Fréchet distance to real test "
        f"digits {mean('frechet').iloc[0]:.0f} → {mean('frechet').iloc[-1]:.0f}, rising at {steps('frechet', 1)} of "
        f"{last} (floor of as many real training images: {real['frechet']:.1f}); each the mean of {n_runs} runs.",
    ]
    return "\n".join(lines)
