"""Per-generation costs of notebook 05's two models, measured side by side in one process on one torch thread.

The default profile's SmolLM2-135M against the quick profile's small scratch OPT (same shape, random
weights: the cost does not depend on the weights): one epoch of fine-tuning on 16 blocks, a 5-beam
search continuing 4 blocks by 64 tokens (repetition penalty 3.0), and scoring 64 blocks. The two models
alternate within each repeat, so that a busy machine slows both alike; the medians and their ratios
are printed. Usage: ``python benchmarks/lm_costs.py [repeats]`` (the output is kept in
``benchmarks/lm_costs_cpu.txt``).
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np
import torch

from collapse_utils import lm_model, pretrained
from collapse_utils.profiles import load_settings

NOTEBOOK = "05_lm_wikitext2"
BLOCK, TRAIN_BLOCKS, PROMPTS, SCORED = 64, 16, 4, 64


def models() -> dict[str, torch.nn.Module]:
    """The default profile's pinned model and the quick profile's scratch OPT."""
    quick = load_settings(NOTEBOOK, "quick")
    scratch = lm_model.scratch_model(quick.vocab_size, quick.d_model, quick.n_layers, quick.n_heads, quick.ffn_dim,
                                     3 * BLOCK, 0, 1, np.random.default_rng(0))
    smollm = lm_model.load_model(pretrained.resolve(load_settings(NOTEBOOK, "default").model_name), torch.device("cpu"))
    return {"SmolLM2-135M": smollm, "scratch OPT (quick)": scratch}


def costs(model, rng: np.random.Generator) -> dict[str, float]:
    """Seconds of one fine-tuning epoch, one beam search and one scoring pass of ``model``."""
    cpu = torch.device("cpu")
    vocab = model.config.vocab_size
    ids = rng.integers(3, vocab, size=(TRAIN_BLOCKS + SCORED, BLOCK))
    timed = {}
    start = time.perf_counter()
    lm_model.train(model, ids[:TRAIN_BLOCKS], ids[:2], 1, 1e-4, 1e-6, 4, cpu, rng, progress=False)
    timed["fine-tune 1 epoch of 16 blocks"] = time.perf_counter() - start
    start = time.perf_counter()
    lm_model.continue_prompts(model, list(ids[:PROMPTS]), BLOCK, 5, 3.0, 0, 1, cpu, PROMPTS, progress=False)
    timed["beam search, 4 prompts"] = time.perf_counter() - start
    start = time.perf_counter()
    lm_model.sequence_nll(model, ids[TRAIN_BLOCKS:], cpu, 16)
    timed["score 64 blocks"] = time.perf_counter() - start
    return timed


def main(repeats: int = 3) -> None:
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    loaded = models()
    seen: dict[str, dict[str, list[float]]] = {name: {} for name in loaded}
    for _ in range(repeats):
        for name, model in loaded.items():
            for what, seconds in costs(model, rng).items():
                seen[name].setdefault(what, []).append(seconds)
    big, small = loaded
    print(f"one torch thread, {repeats} repeats, medians in seconds")
    print(f"{'':34s}{big:>16s}{small:>22s}{'ratio':>10s}")
    for what in seen[big]:
        a, b = statistics.median(seen[big][what]), statistics.median(seen[small][what])
        print(f"{what:34s}{a:16.2f}{b:22.3f}{a / b:10.0f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
