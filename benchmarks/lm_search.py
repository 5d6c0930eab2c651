"""Configuration search for notebook 05's default profile (issue 9): one short chain per configuration.

    python benchmarks/lm_search.py NAME key=value ...   # appends one row to benchmarks/lm_search.csv

Runs the default profile with the given overrides on one chain (Replace, 5 epochs, seed 0, unless
overridden) for ``n_generations`` (default 2) generations and records what decides points 1, 2 and 5 of issue 9
(and, with ``policies=replace,keep_real:0.1 epochs=5,10 n_generations=4``, the rises of point 3):
zero-shot and model-0 test perplexity (point 1: ratio >= 1.3), test perplexity of generations 1
and 2 (point 2: rising, generation 1 below the pre-trained model), distinct bigrams of the real
blocks and of generation 1's data, and the share of generation-1 sequences with a 4-gram
repeated 4 or more times (point 5). Wall time includes pre-training unless it was cached.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pandas as pd

from collapse_utils import lm
from collapse_utils.cli import parse_params
from collapse_utils.run import start_run

CSV = Path(__file__).with_name("lm_search.csv")


def summarise(results: lm.LMResults) -> dict:
    """The numbers of one short chain that decide points 1, 2 and 5 (first setting), and with several
    settings each setting's rise (point 3): mean test perplexity of generations >= 3 minus model 0's."""
    first = results.metrics["setting"].iloc[0]
    rises = {f"rise_{label.split(',')[0]}": rise(frame) for label, frame in results.metrics.groupby("setting")}
    m = results.metrics[results.metrics["setting"] == first].set_index("generation")
    seq = results.sequences.groupby("generation")["ppl"]
    row = {"zero_shot": results.zero_shot, **{f"test_ppl_{g}": m.loc[g, "test_ppl"] for g in m.index},
           "distinct_2_real": m.loc[0, "distinct_2"], "distinct_2_gen1": m.loc[1, "distinct_2"],
           "loop_share_gen1": m.loc[1, "loop_share"], "median_seq_ppl_real": seq.median()[0],
           "median_seq_ppl_gen1": seq.median()[1], "example_gen0": m.loc[0, "example"][:160].replace("\n", " ")}
    row.update(rises)
    row["point1"] = row["zero_shot"] / row["test_ppl_0"] >= 1.3
    row["point2_gen1_below_pretrained"] = row["test_ppl_1"] < row["zero_shot"]
    row["point5"] = row["loop_share_gen1"] < 0.1 and row["distinct_2_gen1"] >= 0.5 * row["distinct_2_real"]
    return row


def rise(metrics: pd.DataFrame) -> float:
    """Mean test perplexity over generations >= 3 (the plateau) minus model 0's, over runs."""
    ppl = metrics.groupby("generation")["test_ppl"].mean()
    return float(ppl[ppl.index >= 3].mean() - ppl[0]) if ppl.index.max() >= 3 else float("nan")


def main(name: str, params: list[str]) -> None:
    overrides = {"policies": ["replace"], "epochs": [5], "n_generations": 2, "n_runs": 1,
                 "shown_generations": [0], "decodings": [], **parse_params(params)}
    start = time.monotonic()
    results = lm.run_all(start_run("05_lm_wikitext2", "default", overrides), progress=True)
    row = {"name": name, "overrides": " ".join(params), **summarise(results),
           "minutes": (time.monotonic() - start) / 60}
    frame = pd.DataFrame([row])
    table = pd.concat([pd.read_csv(CSV), frame], ignore_index=True) if CSV.exists() else frame
    table.to_csv(CSV, index=False, float_format="%.4g")
    print(frame.T.to_string())


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
