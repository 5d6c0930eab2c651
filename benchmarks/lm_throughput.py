"""Training and beam-search generation throughput of the language model of a profile.

    python benchmarks/lm_throughput.py --profile default
    python benchmarks/lm_throughput.py --profile default -p d_model=256 -p vocab_size=8192
    python benchmarks/lm_throughput.py --profile paper --train-steps 20 --prompts 128   # on a GPU

Builds a randomly initialised OPT with the profile's architecture (for the paper profile, the
OPT-125m shape: vocabulary 50272, width 768, 12 layers, 12 heads, feed-forward 3072), then times
training steps (AdamW, the profile's batch size, 64-token blocks) and 5-beam generation of
exactly 64 new tokens with repetition penalty 3.0, exactly as the experiment runs them (bf16
autocast on a GPU). Prints tokens per second for both and the projected wall time of the
profile's whole experiment (every setting x generation x run, Accumulate's growing pool included),
from those two rates alone: an estimate that leaves out evaluation and loading. On a GPU:

    python benchmarks/lm_throughput.py --profile paper --train-steps 20 --prompts 512   # <= 8 minutes
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from collapse_utils import lm_model
from collapse_utils.devices import pick_device
from collapse_utils.cli import parse_params
from collapse_utils.profiles import load_settings


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def train_throughput(model, settings, device, steps: int, batch_size: int, rng) -> float:
    """Training tokens per second over ``steps`` optimiser steps (after one warm-up step)."""
    ids = rng.integers(2, model.config.vocab_size, size=((steps + 1) * batch_size, settings.block_size))
    lm_model.train(model, ids[:batch_size], ids[:1], 1, settings.lr, settings.lr_min, batch_size, device, rng,
                   progress=False)
    _sync(device)
    start = time.perf_counter()
    lm_model.train(model, ids[batch_size:], ids[:1], 1, settings.lr, settings.lr_min, batch_size, device, rng,
                   progress=False)
    _sync(device)
    return steps * batch_size * settings.block_size / (time.perf_counter() - start)


def generation_throughput(model, settings, device, n_prompts: int, rng) -> float:
    """Generated (new) tokens per second for ``n_prompts`` prompts in batches of the profile's size."""
    prompts = list(rng.integers(2, model.config.vocab_size, size=(n_prompts, settings.block_size)))
    args = (settings.new_tokens, settings.num_beams, settings.repetition_penalty, 0, 1, device)
    lm_model.continue_prompts(model, prompts[:2], *args, batch_size=2, progress=False)
    _sync(device)
    start = time.perf_counter()
    lm_model.continue_prompts(model, prompts, *args, batch_size=settings.gen_batch_size, progress=False)
    _sync(device)
    return n_prompts * settings.new_tokens / (time.perf_counter() - start)


#: Training blocks of the full WikiText-2 training split in 64-token blocks of the OPT tokenizer (raw
#: text, one row at a time with its BOS token); the fine-tuning set of the paper profile.
PAPER_TRAIN_BLOCKS = 36_718


def projected_hours(settings, n_blocks: int, train_tps: float, gen_tps: float) -> float:
    """Wall hours of fine-tuning and generation for every chain of ``settings`` at the measured rates."""
    seconds = 0.0
    for policy, epochs in settings.settings_list():
        for g in range(settings.n_generations + 1):
            pool = n_blocks * (g + 1) if policy.name == "accumulate" else n_blocks
            seconds += epochs * pool * settings.block_size / train_tps
            if g < settings.n_generations:
                seconds += n_blocks * settings.new_tokens / gen_tps
    return seconds * settings.n_runs / 3600


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="default", choices=["smoke", "default", "paper"])
    parser.add_argument("--train-steps", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=0, help="training batch (default: the profile's)")
    parser.add_argument("--prompts", type=int, default=0, help="prompts to continue (default: one generation batch)")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (default: the profile's)")
    parser.add_argument("--param", "-p", action="append", default=[], metavar="KEY=VALUE",
                        help="override a profile setting, e.g. -p d_model=256 (repeatable)")
    args = parser.parse_args()
    settings = load_settings("05_opt125m_wikitext2", args.profile, parse_params(args.param))
    torch.set_num_threads(args.threads or settings.threads)
    device, rng = pick_device(), np.random.default_rng(0)
    model = lm_model.scratch_model(settings.vocab_size, settings.d_model, settings.n_layers, settings.n_heads,
                                   settings.ffn_dim, 2 * settings.block_size + settings.new_tokens, 0, 1, rng)
    model.to(device)
    batch = args.batch_size or settings.batch_size
    n_params = sum(p.numel() for p in model.parameters())
    name = torch.cuda.get_device_name() if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"profile {args.profile}: OPT with {n_params / 1e6:.2f}M parameters, vocabulary {settings.vocab_size}, "
          f"on {name}")
    train_tps = train_throughput(model, settings, device, args.train_steps, batch, rng)
    gen_tps = generation_throughput(model, settings, device, args.prompts or settings.gen_batch_size, rng)
    print(f"training:   {train_tps:10.0f} tokens/s (batch {batch} x {settings.block_size} tokens)")
    print(f"generation: {gen_tps:10.0f} new tokens/s ({settings.num_beams} beams, {settings.new_tokens} new tokens, "
          f"batches of {settings.gen_batch_size} prompts); {settings.new_tokens / gen_tps:.3f} s per prompt")
    n_blocks = settings.n_train_blocks or PAPER_TRAIN_BLOCKS
    print(f"estimate: {projected_hours(settings, n_blocks, train_tps, gen_tps):.1f} h for {len(settings.policies)} "
          f"settings x {settings.n_generations + 1} models x {settings.n_runs} runs on {n_blocks} blocks "
          f"(fine-tuning and generation only, from the two rates above)")


if __name__ == "__main__":
    main()
