"""How many fine-tuning blocks notebook 05's default needs for Replace to rise past generation 1 (issue 17).

    python benchmarks/lm_blocks.py run 16 32 --runs 4 --workers 4   # the default profile per block count (a GPU)
    python benchmarks/lm_blocks.py summary                          # the table of benchmarks/lm_blocks.txt

``run`` computes the default profile (both settings, generations 0-9) with ``n_train_blocks`` set to each
count and appends the test perplexities to ``benchmarks/lm_blocks.csv``. ``summary`` prints, per block
count, what decides Fig. 1's points 2 and 3: each run's generation 9 minus generation 1 (Replace), the
one-sided Student's t test of that difference over the first 2, 3 and 4 runs, and each setting's rise of
generations 5-9 over model 0.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from collapse_utils import lm
from collapse_utils.run import start_run
from collapse_utils.significance import mean_above

CSV = Path(__file__).with_name("lm_blocks.csv")
REPLACE, KEEP = "replace, 5 epochs", "keep_real_10%, 10 epochs"


def run(blocks: list[int], runs: int, workers: int) -> None:
    """Compute the default profile for every block count and append its per-generation test perplexity."""
    for count in blocks:
        start = time.time()
        results = lm.run_all(start_run("05_lm_wikitext2", "default",
                                       {"n_train_blocks": count, "n_runs": runs, "workers": workers}), progress=False)
        frame = results.metrics[["setting", "run", "generation", "test_ppl"]].assign(n_train_blocks=count)
        frame.to_csv(CSV, mode="a", header=not CSV.exists(), index=False)
        print(f"{count} blocks: {time.time() - start:.0f} s")


def summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Per block count: Replace's generation 9 - generation 1 per run, its t test over 2, 3, 4 runs, and the rises."""
    rows = []
    for count, part in frame.groupby("n_train_blocks"):
        ppl = part.pivot_table(index="generation", columns=["setting", "run"], values="test_ppl")
        rise = (ppl[REPLACE].loc[9] - ppl[REPLACE].loc[1]).to_numpy()
        row = {"n_train_blocks": count, "model_0": ppl.loc[0].mean(), "gen9_minus_gen1": " ".join(f"{d:.1f}" for d in rise)}
        for n in (2, 3, 4):
            test = mean_above(rise[:n], 0.0)
            row[f"p_{n}_runs"] = test.p
        for setting, name in ((REPLACE, "replace"), (KEEP, "keep")):
            row[f"rise_{name}_5_9"] = (ppl[setting].loc[5:9].mean() - ppl[setting].loc[0]).mean()
        rows.append(row)
    return pd.DataFrame(rows).round(3)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["run", "summary"])
    parser.add_argument("blocks", type=int, nargs="*", default=[16, 32])
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    if args.action == "run":
        run(args.blocks, args.runs, args.workers)
    else:
        print(summary(pd.read_csv(CSV)).to_string(index=False))
