"""The README's composite figure: the paper's phenomena side by side, from the committed figure CSVs only.

Presentation only: it reads ``figures/<figure>.csv`` of notebooks 01–05 (never a cache or a model) and
writes ``figures/00_overview.{png,pdf,csv,json}`` through :func:`plotting.save_figure`::

    python -m collapse_utils.overview          # after the notebooks' figures are final

Panels: (a) rare outcomes of a categorical distribution vanish first (01); (b) a Gaussian refitted
to its own samples loses its variance, unless 10 % real data is kept (02); (c) a Gaussian mixture
drifts away from generation 0 (03); (d) the latents of generations of VAEs contract (04); (e) a
language model's test perplexity rises over generations, less with 10 % real data (05).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from . import plotting
from .paths import REPO_ROOT, figures_dir
from .provenance import git_commit
from .reference import reference_value

NAME = "00_overview"
COLUMNS = ["panel", "series", "generation", "statistic", "value"]
SOURCES = {
    "a": "01_discrete_markov_survival",
    "b": "02_gaussian_variance",
    "c": "03_gmm_l2_distance",
    "d": "04_vae_mnist_latents",
    "e": "05_lm_wikitext2_test_perplexity",
}
TITLES = {
    "a": "a · rare outcomes vanish first (01)",
    "b": "b · a Gaussian's variance collapses (02)",
    "c": "c · a Gaussian mixture drifts (03)",
    "d": "d · VAE latents contract (04)",
    "e": "e · LM test perplexity rises (05)",
}
Y_LABELS = {
    "a": "share of runs where the outcome survives",
    "b": "variance (median over runs)",
    "c": "squared $L_2$ distance to gen. 0",
    "d": "spread of latent means",
    "e": "test perplexity",
}
GAUSSIAN_M = (100, 1000, 10000)
GMM_N = (500, 1000, 10000)


def _frame(panel: str, series: str, generation, statistic: str, value) -> pd.DataFrame:
    return pd.DataFrame({"panel": panel, "series": series, "generation": generation,
                         "statistic": statistic, "value": value})[COLUMNS]


def tails(csv: pd.DataFrame) -> pd.DataFrame:
    """01: survival of each outcome (simulated and exact) by its probability p."""
    return pd.concat([_frame("a", f"p = {p:.3g}", g["generation"], statistic, g["value"])
                      for (p, statistic), g in csv.groupby(["p", "statistic"])])


def gaussian(csv: pd.DataFrame) -> pd.DataFrame:
    """02: MLE variance, median over runs, replace for several M and keep 10 % real at M = 100."""
    csv = csv[(csv["estimator"] == "mle") & (csv["statistic"] == "median")]
    parts = [(f"replace, M = {m}", csv[(csv["policy"] == "replace") & (csv["m"] == m)]) for m in GAUSSIAN_M]
    kept = csv[csv["policy"].str.startswith("keep") & (csv["m"] == GAUSSIAN_M[0])]
    parts.append((f"keep 10 % real, M = {GAUSSIAN_M[0]}", kept))
    return pd.concat([_frame("b", label, part["generation"], part["statistic"], part["value"])
                      for label, part in parts])


def gmm(csv: pd.DataFrame) -> pd.DataFrame:
    """03: median squared L2 distance to generation 0, replace for each N and keep 10 % real at N = 1000."""
    csv = csv[(csv["statistic"] == "median") & (csv["generation"] > 0)]
    if "start" in csv:  # the paper's fresh k-means start, the default reg_covar
        csv = csv[csv["start"] == "k-means"]
    parts = [(f"replace, N = {n}", csv[(csv["policy"] == "replace") & (csv["n_samples"] == n)]) for n in GMM_N]
    parts.append(("keep 10 % real, N = 1000",
                  csv[csv["policy"].str.startswith("keep") & (csv["n_samples"] == 1000)]))
    return pd.concat([_frame("c", label, part["generation"], "median", part["value"]) for label, part in parts])


def vae(csv: pd.DataFrame) -> pd.DataFrame:
    """04: spread of the latent means under the generation-0 encoder: this run and the authors'."""
    csv = csv[(csv["panel"] == "latent_std") & csv["statistic"].isin(["mean", "min", "max"])]
    names = {"replace": "this replication", "authors": "authors (their gen. 0 = our 1)"}
    return pd.concat([_frame("d", names.get(series, series), g["generation"], g["statistic"], g["value"])
                      for series, g in csv.groupby("series", sort=False)])


def lm(csv: pd.DataFrame) -> pd.DataFrame:
    """05: test perplexity, mean and min–max over runs, for replace and keep real (beam search, the
    paper's decoding), and the pre-trained model's zero-shot value."""
    policy = csv["setting"].str.split(",").str[0].str.strip()
    beam = ~csv["setting"].str.contains("sampling")
    parts = []
    for label, mask in (("replace", beam & (policy == "replace")),
                        ("keep 10 % real", beam & policy.str.startswith("keep"))):
        stats = csv[mask].groupby("generation")["test_perplexity"].agg(["mean", "min", "max"])
        parts += [_frame("e", label, stats.index, statistic, stats[statistic]) for statistic in stats]
    zero_shot = csv.loc[csv["setting"] == "pretrained", "test_perplexity"]
    parts.append(_frame("e", "pre-trained (zero-shot)", [0], "mean", [zero_shot.mean()]))
    return pd.concat(parts)


PANELS: dict[str, Callable[[pd.DataFrame], pd.DataFrame]] = {"a": tails, "b": gaussian, "c": gmm, "d": vae, "e": lm}


def overview_data(folder: Path | None = None) -> pd.DataFrame:
    """The numbers of every panel in long format (panel, series, generation, statistic, value)."""
    folder = folder or figures_dir()
    frames = []
    for panel, source in SOURCES.items():
        path = folder / f"{source}.csv"
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing: execute notebook {source[:2]} first "
                                    f"(collapse-utils run {source[:2]} --in-place)")
        frames.append(PANELS[panel](pd.read_csv(path)))
    data = pd.concat(frames, ignore_index=True)
    data["generation"] = data["generation"].astype(int)
    return data


def _band(ax: plt.Axes, part: pd.DataFrame, low: str, high: str, color) -> None:
    wide = part.pivot_table(index="generation", columns="statistic", values="value")
    if {low, high} <= set(wide.columns):
        ax.fill_between(wide.index, wide[low], wide[high], color=color, alpha=0.2, linewidth=0)


def plot_overview(data: pd.DataFrame) -> plt.Figure:
    """Five panels in a row, one per phenomenon (see the module docstring)."""
    plotting.set_style()
    fig, axes = plt.subplots(1, 5, figsize=(19, 3.8), constrained_layout=True)
    palette = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, panel in zip(axes, SOURCES):
        part = data[data["panel"] == panel]
        for i, (series, g) in enumerate(part.groupby("series", sort=False)):
            color = palette[i % len(palette)]
            if panel == "a":
                for statistic, style in (("simulated", "-"), ("exact", ":")):
                    s = g[(g["statistic"] == statistic) & (g["generation"] > 0)]
                    ax.plot(s["generation"], s["value"], style, color=color,
                            label=series if statistic == "simulated" else None)
                continue
            if panel == "e" and series.startswith("pre-trained"):
                ax.axhline(g["value"].iloc[0], color="0.3", linestyle="--", label=series)
                continue
            centre = {"b": "median", "c": "median", "d": "mean", "e": "mean"}[panel]
            s = g[g["statistic"] == centre]
            ax.plot(s["generation"], s["value"], marker="o" if panel in "de" else None, markersize=4,
                    color=color, label=series, linestyle="--" if series.startswith("keep") else "-")
            if panel != "b":  # 02's bands overlap too much at this size; its notebook shows them
                _band(ax, g, "min", "max", color)
        if panel == "a":
            ax.set_xscale("log")
        if panel == "c":
            ax.set_yscale("log")
        ax.set_title(TITLES[panel], loc="left", fontsize=11)
        ax.set_xlabel("generation")
        ax.set_ylabel(Y_LABELS[panel])
        ax.legend(fontsize=7, frameon=False, loc="best")
    return fig


def sources_record(folder: Path | None = None) -> dict[str, str]:
    """sha256 of each source CSV: the composite is a function of these files alone."""
    folder = folder or figures_dir()
    return {f"{source}.csv": hashlib.sha256((folder / f"{source}.csv").read_bytes()).hexdigest()
            for source in SOURCES.values()}


def save_overview(folder: Path | None = None) -> list[Path]:
    """Build the composite from the CSVs of ``folder`` (default: figures/) and save figures/00_overview.*."""
    data = overview_data(folder)
    fig = plot_overview(data)
    try:
        return plotting.save_figure(fig, NAME, {"notebook": None, "sources": sources_record(folder),
                                                "git_commit": git_commit()}, data)
    finally:
        plt.close(fig)


# ----------------------------------------------------------------------------------------------
# Findings table of the README: the paper's number next to ours, from data/claims.csv (whose values
# tests/test_claims.py recomputes from the committed figure CSVs) and, for the language model, the
# committed CSV of notebook 05 with the paper's values of data/reference.csv

CLAIMS = REPO_ROOT / "data" / "claims.csv"
FINDINGS = [
    ("01", "Rare outcomes vanish; every chain ends on one outcome. Mean generations to absorption, M = 100, p = 1/2",
     "nb01_simulated_m100_half"),
    ("02", "A Gaussian refitted with the unbiased variance: E[W₂²] to the truth grows without bound (M = 100, gen. 1000)",
     "nb02_theory_w2_unbiased_m100"),
    ("03", "A Gaussian mixture drifts: median squared L₂ to generation 0 at gen. 2050, N = 500",
     "readme_nb03_l2_n500"),
    ("03", "… and at N = 10,000", "readme_nb03_l2_n10000"),
    ("04", "VAE latents contract: spread of latent means, generation 5 over 1", "vae_latent_std_ratio_gen5_gen1"),
]


def agreement(paper: float, ours: float) -> str:
    """'yes (+0.1 %)' within 10 %, 'same order (×0.40)' within a factor 3, else 'no (×…)'."""
    ratio = ours / paper
    if abs(ratio - 1) <= 0.1:
        return f"yes ({ratio - 1:+.1%})"
    return f"{'same order' if 1 / 3 <= ratio <= 3 else 'no'} (×{ratio:.2g})"


def _number(value: float) -> str:
    return f"{value:,.4g}" if abs(value) >= 1e-3 else f"{value:.2g}"


def _lm_curves(folder: Path | None) -> tuple[pd.DataFrame, float]:
    """Notebook 05's committed test-perplexity CSV and its zero-shot value."""
    csv = pd.read_csv((folder or figures_dir()) / f"{SOURCES['e']}.csv")
    return csv, float(csv.loc[csv["setting"] == "pretrained", "test_perplexity"].mean())


def lm_finding(folder: Path | None = None) -> tuple[str, str, str, str]:
    """Zero-shot over model-0 test perplexity: the paper's (115 / 34) and ours, from notebook 05's CSV."""
    from .lm_figures import mean_curve

    csv, zero = _lm_curves(folder)
    ours = mean_curve(csv, "replace")[0]
    zero_paper = float(reference_value("opt125m", "test_perplexity", "zero-shot pre-trained model"))
    model0_paper = float(reference_value("opt125m", "test_perplexity", MODEL0))
    return ("05 · Fine-tuning on real text helps: zero-shot / model-0 test perplexity",
            f"{zero_paper:.0f} / {model0_paper:.0f} = {zero_paper / model0_paper:.2f}",
            f"{zero:.1f} / {ours:.1f} = {zero / ours:.2f}", agreement(zero_paper / model0_paper, zero / ours))


MODEL0 = "model 0 fine-tuned on real WikiText-2"
#: Fig. 1's two settings in data/reference.csv (the axis range of each panel's test perplexity).
FIG1 = {"replace": ("No real data kept", "5 epochs, no original data (Fig. 1b)"),
        "keep_real": ("10 % real data kept", "10 epochs, 10% original data (Fig. 1c)")}


def lm_rise_findings(folder: Path | None = None) -> list[tuple[str, str, str, str]]:
    """Fig. 1b and 1c: model 0 against the mean of the late generations, without and with 10 % real data. The
    paper gives an axis range per panel (data/reference.csv), so ours is compared with the largest rise that
    range allows over the paper's model 0; ours comes from notebook 05's CSV."""
    from .lm_figures import LATE, mean_curve

    csv, _ = _lm_curves(folder)
    model0_paper = float(reference_value("opt125m", "test_perplexity", MODEL0))
    rows = []
    for prefix, (what, setting) in FIG1.items():
        axis = reference_value("opt125m", "test_perplexity_axis_range", setting)
        curve = mean_curve(csv, prefix)
        late, most = curve.reindex(LATE).mean(), float(axis.split("-")[1]) / model0_paper - 1
        rise = late / curve[0] - 1
        verdict = "yes" if 0 < rise <= most else "larger" if rise > 0 else "no"
        rows.append((f"05 · {what}: test perplexity, model 0 → mean of generations {LATE[0]}–{LATE[-1]}",
                     f"{model0_paper:.0f} → within {axis} ({setting.split('(')[1][:-1]}'s axis): at most {most:+.0%}",
                     f"{curve[0]:.1f} → {late:.1f}: {rise:+.0%}", f"{verdict} ({rise:+.0%} against at most {most:+.0%})"))
    return rows


def findings_markdown(folder: Path | None = None) -> str:
    """The README's findings table (phenomenon, paper, this replication, agreement)."""
    claims = pd.read_csv(CLAIMS, dtype={"paper_value": str}).set_index("id")
    rows = ["| phenomenon | paper | this replication | agreement |", "|---|---|---|---|"]
    for notebook, what, claim in FINDINGS:
        paper, ours = claims.loc[claim, "paper_value"], float(claims.loc[claim, "our_value"])
        try:
            paper_value = float(paper)
            cells = (_number(paper_value), _number(ours), agreement(paper_value, ours))
        except ValueError:  # a qualitative statement of the paper ("diverges")
            cells = (paper, _number(ours), "yes (qualitative)")
        rows.append(f"| {notebook} · {what} | {' | '.join(cells)} |")
    for row in [lm_finding(folder), *lm_rise_findings(folder)]:
        rows.append("| " + " | ".join(row) + " |")
    return "\n".join(rows) + "\n"


# ----------------------------------------------------------------------------------------------
# Rerun times, as the notebooks' opening cells and the README state them

RUN_TIMES = REPO_ROOT / "benchmarks" / "run_times.csv"


def rerun_seconds(notebook: str) -> dict[str, tuple[float, str]]:
    """Seconds a rerun takes per profile on 2 CPU cores and where the number comes from: smoke measured
    by benchmarks/run_times.py (empty cache), default the committed run (budget.DEFAULT_SECONDS), paper
    budget's estimate scaled from the default run; a notebook's own profiles (05's quick) where measured."""
    from .budget import DEFAULT_SECONDS, estimate_seconds
    from .profiles import load_settings

    from .profiles import EXTRA_PROFILES

    measured = pd.read_csv(RUN_TIMES).set_index(["notebook", "profile"])["seconds"]
    extra = {profile: (float(measured[notebook, profile]), "measured") for profile in EXTRA_PROFILES.get(notebook, ())
             if (notebook, profile) in measured.index}  # such as notebook 05's quick profile
    return {"smoke": (float(measured[notebook, "smoke"]), "measured"), **extra,
            "default": (float(DEFAULT_SECONDS[notebook]), "the committed run"),
            "paper": (estimate_seconds(notebook, load_settings(notebook, "paper")), "estimate")}


def duration(seconds: float) -> str:
    """'40 s', '12 min', '2.9 h', '102 h'."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    hours = seconds / 3600
    return f"{hours:.1f} h" if hours < 10 else f"{hours:.0f} h"


def rerun_line(notebook: str) -> str:
    """The 'Rerun time' line of a notebook's opening cell (tests/test_overview.py keeps them equal)."""
    parts = [f"{profile} {'about ' if source == 'estimate' else ''}{duration(seconds)} ({source})"
             for profile, (seconds, source) in rerun_seconds(notebook).items()]
    return "**Rerun time** on 2 CPU cores: " + " · ".join(parts) + "."


if __name__ == "__main__":
    for written in save_overview():
        print(f"wrote {written}")
