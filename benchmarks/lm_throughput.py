"""Training, scoring and beam-search generation throughput of the language model of a profile.

    python benchmarks/lm_throughput.py --profile default
    python benchmarks/lm_throughput.py --profile default -p d_model=256 -p vocab_size=8192
    python benchmarks/lm_throughput.py --profile laptop                  # OPT-125m on this CPU
    python benchmarks/lm_throughput.py --profile colab --train-steps 20 --prompts 256   # on Colab's T4

Builds a randomly initialised OPT with the profile's architecture (for the laptop, colab and paper
profiles, the OPT-125m shape: vocabulary 50272, width 768, 12 layers, 12 heads, feed-forward 3072),
then times training steps (AdamW, the profile's batch size, 64-token blocks), scoring (per-sequence
perplexity) and 5-beam generation of exactly 64 new tokens with repetition penalty 3.0, exactly as
the experiment runs them (bf16 or fp16 autocast on a GPU, :func:`collapse_utils.devices.autocast_dtype`).
On a CPU each rate is given per wall second and per CPU second of the process (with one thread on a
shared machine, the second is the rate of a core of its own). Prints the projected time of the
profile's whole experiment from these rates (:func:`collapse_utils.budget.lm_seconds`: every setting x
generation x run, Accumulate's growing pool included; downloads and model loading left out).
``benchmarks/lm_throughput_cpu.txt`` records the one-thread CPU measurement that sizes the laptop
profile. On a GPU:

    python benchmarks/lm_throughput.py --profile paper --train-steps 20 --prompts 512   # <= 8 minutes
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from collapse_utils import lm_model
from collapse_utils.budget import LM_NOTEBOOK, LMRates, lm_blocks, lm_seconds
from collapse_utils.cli import parse_params
from collapse_utils.devices import pick_device
from collapse_utils.profiles import load_settings, profile_names


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


class Clock:
    """Wall seconds and, on the CPU, this process's CPU seconds since it started: with one torch thread on a
    shared machine, CPU time is what the work would take on a core of its own."""

    def __init__(self, device: torch.device):
        _sync(device)
        self.device, self.wall, self.cpu = device, time.perf_counter(), time.process_time()

    def rates(self, tokens: int) -> tuple[float, float]:
        """Tokens per wall second and per CPU second (wall again on a GPU)."""
        _sync(self.device)
        wall = tokens / (time.perf_counter() - self.wall)
        return wall, wall if self.device.type == "cuda" else tokens / (time.process_time() - self.cpu)


def train_throughput(model, settings, device, steps: int, batch_size: int, rng) -> tuple[float, float]:
    """Training tokens per second (wall, CPU) over ``steps`` optimiser steps (after one warm-up step)."""
    ids = rng.integers(2, model.config.vocab_size, size=((steps + 1) * batch_size, settings.block_size))
    lm_model.train(model, ids[:batch_size], ids[:1], 1, settings.lr, settings.lr_min, batch_size, device, rng,
                   progress=False)
    clock = Clock(device)
    lm_model.train(model, ids[batch_size:], ids[:1], 1, settings.lr, settings.lr_min, batch_size, device, rng,
                   progress=False)
    return clock.rates(steps * batch_size * settings.block_size)


def scoring_throughput(model, settings, device, n_blocks: int, rng) -> tuple[float, float]:
    """Scored tokens per second (wall, CPU; per-sequence perplexity, inference mode) of ``n_blocks`` blocks."""
    ids = rng.integers(2, model.config.vocab_size, size=(n_blocks, settings.block_size))
    lm_model.sequence_nll(model, ids[:2], device, batch_size=2)
    clock = Clock(device)
    lm_model.sequence_nll(model, ids, device, settings.batch_size)
    return clock.rates(n_blocks * settings.block_size)


def generation_throughput(model, settings, device, n_prompts: int, rng) -> tuple[float, float]:
    """Generated (new) tokens per second (wall, CPU) for ``n_prompts`` prompts in batches of the profile's size."""
    prompts = list(rng.integers(2, model.config.vocab_size, size=(n_prompts, settings.block_size)))
    args = (settings.new_tokens, settings.num_beams, settings.repetition_penalty, 0, 1, device)
    lm_model.continue_prompts(model, prompts[:2], *args, batch_size=2, progress=False)
    clock = Clock(device)
    lm_model.continue_prompts(model, prompts, *args, batch_size=settings.gen_batch_size, progress=False)
    return clock.rates(n_prompts * settings.new_tokens)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="default", choices=profile_names(LM_NOTEBOOK))
    parser.add_argument("--train-steps", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=0, help="training batch (default: the profile's)")
    parser.add_argument("--prompts", type=int, default=0, help="prompts to continue (default: one generation batch)")
    parser.add_argument("--score-blocks", type=int, default=0, help="blocks to score (default: two training batches)")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (default: the profile's)")
    parser.add_argument("--param", "-p", action="append", default=[], metavar="KEY=VALUE",
                        help="override a profile setting, e.g. -p d_model=256 (repeatable)")
    args = parser.parse_args()
    settings = load_settings(LM_NOTEBOOK, args.profile, parse_params(args.param))
    torch.set_num_threads(args.threads or settings.n_threads)
    device, rng = pick_device(), np.random.default_rng(0)
    model = lm_model.scratch_model(settings.vocab_size, settings.d_model, settings.n_layers, settings.n_heads,
                                   settings.ffn_dim, 2 * settings.block_size + settings.new_tokens, 0, 1, rng)
    model.to(device)
    batch = args.batch_size or settings.batch_size
    n_params = sum(p.numel() for p in model.parameters())
    name = torch.cuda.get_device_name() if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"profile {args.profile}: OPT with {n_params / 1e6:.2f}M parameters, vocabulary {settings.vocab_size}, "
          f"on {name}, torch {torch.__version__}", flush=True)
    cpu = device.type == "cpu"
    column = "tokens/s (wall; per CPU second)" if cpu else "tokens/s"
    show = lambda pair: f"{pair[0]:10.1f}" + (f"; {pair[1]:10.1f}" if cpu else "")
    train = train_throughput(model, settings, device, args.train_steps, batch, rng)
    print(f"training:   {show(train)} {column} (batch {batch} x {settings.block_size} tokens)", flush=True)
    n_score = args.score_blocks or 2 * settings.batch_size
    score = scoring_throughput(model, settings, device, n_score, rng)
    print(f"scoring:    {show(score)} {column} ({n_score} blocks in batches of {settings.batch_size})", flush=True)
    n_prompts = args.prompts or settings.gen_batch_size
    generate = generation_throughput(model, settings, device, n_prompts, rng)
    print(f"generation: {show(generate)} new {column} ({n_prompts} prompts, {settings.num_beams} beams, "
          f"{settings.new_tokens} new tokens, batches of {settings.gen_batch_size} prompts)")
    for label, i in (("wall", 0), ("CPU", 1)) if cpu else (("wall", 0),):
        rates = LMRates(train[i], score[i], generate[i], f"{label} rates measured now on {name}")
        print(f"estimate ({label} rates): {lm_seconds(settings, rates) / 3600:.2f} h for {len(settings.policies)} "
              f"settings x {settings.n_generations + 1} models x {settings.n_runs} runs on {lm_blocks(settings)[0]} "
              f"blocks (training, scoring and generation; downloads and model loading left out)")
    if cpu:
        print(f"load average while measuring (1, 5, 15 min): {', '.join(f'{x:.2f}' for x in os.getloadavg())}")

if __name__ == "__main__":
    main()
