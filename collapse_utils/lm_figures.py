"""Presentation of notebook 05: tidy frames, the paper's Fig. 1 points, figures and Markdown.

Everything here reads :class:`collapse_utils.lm.LMResults` (or the CSVs written from it) and computes
nothing that is cached, so no cache key holds this module: editing a figure or a sentence recomputes
no language model. Decisions over runs use :mod:`collapse_utils.significance` (a one-sided Student's t
test with n - 1 degrees of freedom).
"""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator
import numpy as np
import pandas as pd

from .lm import SCRATCH, LMResults
from .pretrained import PINNED
from .reference import reference_value
from .plotting import band_plot, over_runs
from .significance import Significance, mean_above

# Tidy frames behind the figures (written next to them as CSV; the tests read them back).

def test_perplexity_frame(results: LMResults) -> pd.DataFrame:
    """``setting, run, generation, test_perplexity``; the pre-trained model is setting 'pretrained', generation 0
    (one model, shared by every run of a seed)."""
    frame = results.metrics[["setting", "run", "generation", "test_ppl"]].rename(columns={"test_ppl": "test_perplexity"})
    pretrained = pd.DataFrame({"setting": ["pretrained"], "run": [0], "generation": [0],
                               "test_perplexity": [results.zero_shot]})
    return pd.concat([pretrained, frame], ignore_index=True)


def sequence_frame(results: LMResults, generations: Sequence[int]) -> pd.DataFrame:
    """``setting, run, generation, perplexity``: one row per training sequence of the given generations,
    scored by model 0 of its chain."""
    frame = results.sequences[results.sequences["generation"].isin(list(generations))]
    return frame[["setting", "run", "generation", "ppl"]].rename(columns={"ppl": "perplexity"}).reset_index(drop=True)


def ngram_frame(results: LMResults) -> pd.DataFrame:
    """``setting, run, generation, distinct_2, repeat_4, loop_share`` of each generation's training data."""
    return results.metrics[["setting", "run", "generation", "distinct_2", "repeat_4", "loop_share"]].reset_index(drop=True)


def forgetting_frame(results: LMResults, quantiles: Sequence[float] = (0.5, 0.9, 0.99)) -> pd.DataFrame:
    """``setting, run, generation, quantile, perplexity``: quantiles of the real test blocks' perplexities under
    model n."""
    grouped = results.forgetting.groupby(["setting", "run", "generation"])["ppl"]
    frame = grouped.quantile(list(quantiles)).rename("perplexity").reset_index()
    return frame.rename(columns={"level_3": "quantile"})


def examples_table(results: LMResults, index: int = 0) -> pd.DataFrame:
    """Each model's continuation of the example prompt (run ``index``), one row per generation."""
    frame = results.metrics[results.metrics["run"] == index]
    return frame.pivot(index="generation", columns="setting", values="example")


# ----------------------------------------------------------------------------------------------
# Figures


def _settings_axes(settings: Sequence[str], height: float = 3.2) -> tuple[plt.Figure, np.ndarray]:
    fig, axes = plt.subplots(1, len(settings), figsize=(4.6 * len(settings), height), squeeze=False,
                             sharex=True, sharey=True)
    return fig, axes[0]


#: The band of the run-to-run spread: mean ± 1 sd (:func:`collapse_utils.plotting.over_runs`).
SD_BAND = dict(center="mean", low="sd_low", high="sd_high", lw=None)


def _finish(fig: plt.Figure, title: str | None) -> plt.Figure:
    """Lay the figure out under its title (the model, so that every figure says which model it shows)."""
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def model_title(results: LMResults) -> str:
    """'SmolLM2-135M-Instruct (134.5M parameters) fine-tuned on WikiText-2' and the like."""
    pinned = PINNED.get(results.model_name)
    name = pinned.about.split(",")[0] if pinned else (
        "a small OPT pre-trained here" if results.model_name == SCRATCH else results.model_name)
    size = f"{results.n_parameters / 1e6:.1f}M" if results.n_parameters >= 1e6 else f"{results.n_parameters / 1e3:.0f}k"
    return f"{name} ({size} parameters) fine-tuned on WikiText-2"


def _band_label(n: int) -> str:
    return f"mean ± 1 sd over {n} runs" if n > 1 else "one run (no spread)"


def plot_test_perplexity(tests: pd.DataFrame, title: str | None = None) -> plt.Figure:
    """Test perplexity over generations, one panel per setting: runs as thin lines, mean with a ±1 sd band."""
    zero = float(tests.loc[tests["setting"] == "pretrained", "test_perplexity"].iloc[0])
    settings = [name for name in dict.fromkeys(tests["setting"]) if name != "pretrained"]
    fig, axes = _settings_axes(settings)
    for ax, setting in zip(axes, settings):
        frame = tests[tests["setting"] == setting]
        for _, chain in frame.groupby("run"):
            ax.plot(chain["generation"], chain["test_perplexity"], color="0.75", lw=0.8)
        stats = over_runs(frame, "test_perplexity", ["generation"])
        band_plot(ax, stats, "generation", _band_label(int(stats["count"].min())), "C0", 0.25, **SD_BAND, marker="o")
        ax.axhline(zero, ls="--", color="C3", lw=1, label="pre-trained (zero-shot)")
        ax.set(title=setting, xlabel="generation", ylabel="test perplexity")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(fontsize=8)
    return _finish(fig, title)


def plot_sequence_histograms(sequences: pd.DataFrame, title: str | None = None) -> plt.Figure:
    """Histograms (log x, log y) of the perplexity, under model 0, of each generation's training sequences
    (all runs pooled); each histogram shows the fraction of that generation's sequences per bin."""
    settings = list(dict.fromkeys(sequences["setting"]))
    generations = sorted(sequences["generation"].unique())
    fig, axes = _settings_axes(settings)
    n_bins = int(np.clip(3 * np.sqrt(sequences.groupby(["setting", "generation"]).size().median()), 10, 60))
    bins = np.geomspace(max(sequences["perplexity"].min(), 1.0) * 0.9, sequences["perplexity"].max() * 1.1, n_bins)
    palette = plt.get_cmap("viridis")(np.linspace(0, 0.9, len(generations)))
    for ax, setting in zip(axes, settings):
        for color, g in zip(palette, generations):
            values = sequences[(sequences["setting"] == setting) & (sequences["generation"] == g)]["perplexity"]
            if len(values):
                ax.hist(values, bins=bins, histtype="step", lw=1.4, color=color,
                        weights=np.full(len(values), 1 / len(values)), label=f"generation {g}")
        ax.set(xscale="log", yscale="log", title=setting, xlabel="perplexity of training sequence under model 0",
               ylabel="fraction of sequences")
        ax.legend(fontsize=7)
    return _finish(fig, title)


def plot_ngrams(ngrams: pd.DataFrame, title: str | None = None) -> plt.Figure:
    """Distinct bigrams (corpus diversity), repeated 4-grams and share of looping sequences per generation:
    mean over runs with a ±1 sd band."""
    columns = (("distinct_2", "distinct bigrams / all bigrams"), ("repeat_4", "4-grams repeated in a sequence"),
               ("loop_share", "sequences with a 4-gram ≥ 4 times"))
    fig, axes = plt.subplots(1, len(columns), figsize=(13, 3.4))
    for i, setting in enumerate(dict.fromkeys(ngrams["setting"])):
        frame = ngrams[ngrams["setting"] == setting]
        for ax, (column, label) in zip(axes, columns):
            band_plot(ax, over_runs(frame, column, ["generation"]), "generation", setting, f"C{i}", **SD_BAND,
                      marker=".")
            ax.set(xlabel="generation", ylabel=label)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[0].legend(fontsize=7, title=_band_label(int(ngrams.groupby(["setting", "generation"]).size().min())),
                   title_fontsize=7)
    return _finish(fig, title)


def plot_forgetting(forgetting: pd.DataFrame, title: str | None = None) -> plt.Figure:
    """Quantiles of the perplexity of the real test blocks under model n, per setting (mean over runs)."""
    settings = list(dict.fromkeys(forgetting["setting"]))
    fig, axes = _settings_axes(settings)
    for ax, setting in zip(axes, settings):
        frame = forgetting[forgetting["setting"] == setting]
        for i, (q, part) in enumerate(frame.groupby("quantile")):
            band_plot(ax, over_runs(part, "perplexity", ["generation"]), "generation", f"{q:.0%} quantile", f"C{i}",
                      **SD_BAND, marker=".")
        ax.set(yscale="log", title=setting, xlabel="generation", ylabel="perplexity of real test blocks")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(fontsize=7)
    return _finish(fig, title)


def decoding_comparison(tests: pd.DataFrame, ngrams: pd.DataFrame,
                        generations: Sequence[int] = (0, 1, 5, 9)) -> pd.DataFrame:
    """Replace with the paper's beam search beside Replace with ancestral sampling: mean over runs of the
    test perplexity, distinct bigrams and loop share of the training data at ``generations``."""
    names = [name for name in dict.fromkeys(tests["setting"]) if name.startswith("replace")]
    frame = tests.merge(ngrams, on=["setting", "run", "generation"])
    frame = frame[frame["setting"].isin(names) & frame["generation"].isin(list(generations))]
    table = frame.groupby(["setting", "generation"])[["test_perplexity", "distinct_2", "loop_share"]].mean()
    return table.unstack("setting").swaplevel(axis=1).sort_index(axis=1, level=0, sort_remaining=False)



# ----------------------------------------------------------------------------------------------
# The points of the paper's Fig. 1 that notebook 05 checks (issue 17). A point with a run-to-run spread is
# decided per run (a value or a difference of each run) by the one-sided t test of
# :mod:`collapse_utils.significance` at its ALPHA; the table shows t, the degrees of freedom and p.

#: Test generations whose mean rise point 3 compares (the paper's late generations).
LATE = (5, 6, 7, 8, 9)
#: The points' error rate: with 5 runs a t test has 4 degrees of freedom, and the project's 1e-3
#: (t > 7.17; t > 22.3 with 3 runs) could only be met by runs that agree closely; 0.05 (t > 2.13 with 5
#: runs, > 2.92 with 3) is the rate at which a point whose true effect is nil would still be called met.
ALPHA = 0.05


def _setting(frame: pd.DataFrame, prefix: str) -> str | None:
    """The first setting whose label starts with ``prefix`` and that decodes by beam search (the paper's)."""
    names = [name for name in dict.fromkeys(frame["setting"])
             if name.startswith(prefix) and not name.endswith(", sampling")]
    return names[0] if names else None


def mean_curve(tests: pd.DataFrame, prefix: str) -> pd.Series:
    """Mean test perplexity over runs per generation of the paper's setting (beam search) named ``prefix``."""
    return _curve(tests, _setting(tests, prefix)).mean()


def _curve(tests: pd.DataFrame, setting: str) -> pd.DataFrame:
    """Test perplexity of ``setting``: one row per run, one column per generation."""
    return tests[tests["setting"] == setting].pivot(index="run", columns="generation", values="test_perplexity")


def _above(values, threshold: float = 0.0) -> Significance | bool:
    """The t test of "the mean of ``values`` (one per run) is above ``threshold``", or with one run the bare
    comparison (there is no spread to test against)."""
    values = np.asarray(values, dtype=float).ravel()
    return mean_above(values, threshold, ALPHA) if len(values) > 1 else bool(values.mean() > threshold)


def _row(point: int, what: str, measured: str, tests: Sequence[Significance | bool]) -> dict:
    """One point: met when every test is; the weakest test (largest p) is shown."""
    if not all(isinstance(test, Significance) for test in tests):
        return {"point": point, "what": what, "measured": measured, "met": all(map(bool, tests)),
                "test": "one run: the criterion on its value, no test"}
    weakest = max(tests, key=lambda test: test.p)
    return {"point": point, "what": what, "measured": measured, "met": all(test.met for test in tests),
            "test": weakest.describe()}


def fig1_points(tests: pd.DataFrame, sequences: pd.DataFrame, ngrams: pd.DataFrame,
                late: Sequence[int] = LATE) -> pd.DataFrame:
    """Points 1-6 of issue 17 measured on the tidy frames (or the committed CSVs): one row per point with
    the measured values, the criterion, whether it is met and the deciding t test (points 4 and 6 are
    descriptive: pooled quantiles and a count)."""
    replace, keep = _setting(tests, "replace"), _setting(tests, "keep_real")
    zero = float(tests.loc[tests["setting"] == "pretrained", "test_perplexity"].iloc[0])
    curve = _curve(tests, replace)
    last, model0 = int(curve.columns.max()), curve[0]
    g1 = curve[1] if 1 in curve else model0
    rows = [_row(1, "zero-shot / model-0 test perplexity >= 1.3",
                 f"zero-shot {zero:.1f}, model 0 {model0.mean():.1f} ± {model0.std():.1f}: ratio {zero / model0.mean():.2f}",
                 [_above(zero / model0, 1.3)]),
            _row(2, f"replace: generation {last} > generation 1 > model 0, generation 1 < zero-shot",
                 f"model 0 {model0.mean():.1f}, generation 1 {g1.mean():.1f} ± {g1.std():.1f}, generation {last} "
                 f"{curve[last].mean():.1f} ± {curve[last].std():.1f} (zero-shot {zero:.1f})",
                 [_above(curve[last] - g1), _above(g1 - model0), _above(zero - g1)])]
    late_ = [g for g in late if g in curve]
    if keep is None or not late_:
        rows.append({"point": 3, "what": "keep 10 % real: smaller rise than replace", "measured": "not run",
                     "met": False, "test": ""})
    else:
        kept = _curve(tests, keep)
        rise_r, rise_k = curve[late_].mean(axis=1) - curve[0], kept[late_].mean(axis=1) - kept[0]
        rows.append(_row(3, f"keep 10 % real: smaller rise than replace at generations {late_[0]}-{late_[-1]} "
                            f"(run i of one setting against run i of the other: independent chains)",
                         f"mean rise over model 0: replace {rise_r.mean():.1f} ± {rise_r.std():.1f}, "
                         f"keep real {rise_k.mean():.1f} ± {rise_k.std():.1f}",
                         [_above(rise_r.to_numpy() - rise_k.to_numpy())]))
    seq = sequences[sequences["setting"] == replace].groupby("generation")["perplexity"]
    median, p99 = seq.median(), seq.quantile(0.99)
    later = [g for g in median.index if g >= 2]
    lower = all(median[g] < median[0] for g in later)
    longer = [g for g in later if p99[g] > p99[1]] if 1 in p99 else []
    rows.append({"point": 4, "what": "replace histograms (all runs pooled): later generations' median below the "
                                     "real data's, 99th percentile above generation 1's",
                 "measured": "; ".join(f"gen {g}: median {median[g]:.1f}, p99 {p99[g]:.1f}" for g in median.index),
                 "met": bool(later) and lower and len(longer) == len(later), "test": "descriptive"})
    per_run = ngrams[ngrams["setting"] == replace].pivot(index="run", columns="generation")
    g = 1 if 1 in per_run["distinct_2"] else 0
    share = per_run["distinct_2"][g] / per_run["distinct_2"][0]
    loops = per_run["loop_share"][g]
    rows.append(_row(5, "generation 1: < 10 % of sequences loop, distinct-2 >= half the real data's",
                     f"loop share {loops.mean():.3f}, distinct-2 real {per_run['distinct_2'][0].mean():.3f} "
                     f"-> generation 1 {per_run['distinct_2'][g].mean():.3f} (ratio {share.mean():.2f})",
                     [_above(0.1 - loops), _above(share, 0.5)]))
    runs = tests[tests["setting"] != "pretrained"].groupby("setting")["run"].nunique()
    rows.append({"point": 6, "what": ">= 2 runs per setting", "measured": ", ".join(f"{k}: {v}" for k, v in runs.items()),
                 "met": bool((runs >= 2).all()), "test": "count"})
    return pd.DataFrame(rows).set_index("point")


def points_markdown(points: pd.DataFrame) -> str:
    """The table of :func:`fig1_points` as Markdown (the README shows it; a test keeps the two equal)."""
    lines = ["| point | paper's observation (criterion) | measured | met | one-sided t test over runs |",
             "|---|---|---|---|---|"]
    for point, row in points.iterrows():
        lines.append(f"| {point} | {row['what']} | {row['measured']} | {'yes' if row['met'] else 'no'} | {row['test']} |")
    return "\n".join(lines)


#: Generations of the example continuations shown beside the paper's Example 1.
EXAMPLE_GENERATIONS = (0, 1, 5, 9)


def example_frame(results: LMResults, generations: Sequence[int] = EXAMPLE_GENERATIONS) -> pd.DataFrame:
    """``setting, run, generation, text``: each model's beam-search continuation of the example prompt."""
    frame = results.metrics[results.metrics["generation"].isin(list(generations))]
    return frame[["setting", "run", "generation", "example"]].rename(columns={"example": "text"}).reset_index(drop=True)


def cost_table(results: LMResults) -> pd.DataFrame:
    """Mean seconds per generation of fine-tuning, beam search (writing the next generation's data) and scoring,
    per setting (the chains ran side by side in ``workers`` processes, one torch thread each)."""
    columns = {"train_seconds": "fine-tune", "sample_seconds": "generate next data", "score_seconds": "score"}
    frame = results.metrics.rename(columns=columns).groupby("setting")[list(columns.values())].mean()
    return frame.assign(total=frame.sum(axis=1)).round(0)


def findings_markdown(points: pd.DataFrame, tests: pd.DataFrame, ngrams: pd.DataFrame) -> str:
    """What the run shows, point by point, in sentences whose every number comes from the frames (or, for the
    paper, from ``data/reference.csv``)."""
    replace, keep = _setting(tests, "replace"), _setting(tests, "keep_real")
    zero = float(tests.loc[tests["setting"] == "pretrained", "test_perplexity"].iloc[0])
    curve = _curve(tests, replace).mean()
    runs = int(tests[tests["setting"] == replace]["run"].nunique())
    verdict = lambda p: f"point {p}, {'met' if points.loc[p, 'met'] else 'not met'}"
    paper_zero = reference_value("opt125m", "test_perplexity", "zero-shot pre-trained model")
    paper_model0 = reference_value("opt125m", "test_perplexity", "model 0 fine-tuned on real WikiText-2")
    lines = [f"Means over the {runs} runs of each setting; \"met\" is the one-sided Student's t test over runs at "
             f"α = {ALPHA:g} (table above).", "",
             f"- **Fine-tuning helps ({verdict(1)}).** Zero-shot test perplexity {zero:.1f}, model 0 {curve[0]:.1f} "
             f"(the paper: {paper_zero} and {paper_model0} for OPT-125m).",
             f"- **No real data kept ({verdict(2)}).** Generation 1 {curve.get(1, np.nan):.1f}, generation "
             f"{int(curve.index.max())} {curve.iloc[-1]:.1f}; the mean over generations {LATE[0]}-{LATE[-1]} is "
             f"{curve.reindex(LATE).mean():.1f}; the highest mean of any generation is {curve.max():.1f}, "
             f"{'below' if curve.max() < zero else 'above'} the pre-trained model's {zero:.1f}."]
    if keep is not None:
        kept = _curve(tests, keep).mean()
        lines.append(f"- **Keeping 10 % real data ({verdict(3)}).** Model 0 {kept[0]:.1f}, generation "
                     f"{int(kept.index.max())} {kept.iloc[-1]:.1f}; {points.loc[3, 'measured']}.")
    lines.append(f"- **The generated data under model 0 ({verdict(4)}).** {points.loc[4, 'measured']}.")
    lines.append(f"- **Generation 1's data ({verdict(5)}).** {points.loc[5, 'measured']}.")
    return "\n".join(lines)


def chain_minutes(results: LMResults) -> float:
    """Minutes that fine-tuning, beam search and scoring took, summed over every generation of every chain."""
    return float(results.metrics[["train_seconds", "sample_seconds", "score_seconds"]].fillna(0).to_numpy().sum() / 60)
