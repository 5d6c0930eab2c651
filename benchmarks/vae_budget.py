"""Training budget of one VAE generation on the CPU: cost per image by batch size, and loss by budget.

    python benchmarks/vae_budget.py [--configs 64x20480 128x40960 ...] [--rounds 6] [--seed 0]

Part 1 (cost, side by side): optimiser steps of every batch size run in interleaved rounds in this
one process, on real images and on freshly decoded ones (what generations g > 0 train on), so the
printed ratios (per image, against batch 64) hold on a busy machine even when the seconds do not.

Part 2 (quality): one generation-0 VAE per configuration ``BATCHxIMAGES`` (images = total images
trained on, in 2 epochs), same seed, one torch thread. Printed: seconds (wall, this machine, now),
the last epoch's mean training loss (nats per image, the statistic of the authors' ≈ 99) and the
negative ELBO of 10,000 real test images. The committed output is ``benchmarks/vae_budget_results.txt``.
"""

from __future__ import annotations

import argparse
import time
from functools import partial

import numpy as np
import torch

from collapse_utils import data, vae
from collapse_utils.profiles import VAE as PROFILES


def step_seconds(model: vae.VAE, optimiser: torch.optim.Optimizer, draw, batch: int, steps: int,
                 gen: torch.Generator) -> float:
    """Seconds for ``steps`` optimiser steps of ``batch`` images drawn with ``draw(batch, gen)``."""
    start = time.perf_counter()
    for _ in range(steps):
        images = draw(batch, gen)
        loss = vae.vae_loss(images, *model(images, torch.randn(len(images), model.latent_dim, generator=gen)))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return time.perf_counter() - start


def real_draw(real: torch.Tensor):
    """Batches drawn at random from all of ``real`` (as for generation 0)."""
    return partial(vae.Sampler(real, load=None).draw, vae.RealImages(np.arange(len(real))))


def cost_table(real: torch.Tensor, batches: list[int], rounds: int, images_per_round: int) -> None:
    """Milliseconds per trained image by batch size, real and decoded sources, interleaved rounds."""
    gen = vae.torch_generator(1)
    sampler = vae.Sampler(real, load=lambda _: vae.new_vae(20, 1, torch.device("cpu")))
    sources = {"real": real_draw(real), "decoded": partial(sampler.draw, vae.Decoded(vae.Generation(0), 1))}
    seconds = {(name, b): 0.0 for name in sources for b in batches}
    for _ in range(rounds):
        for name, source in sources.items():
            for b in batches:
                model = vae.new_vae(20, 0, torch.device("cpu"))
                optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
                seconds[(name, b)] += step_seconds(model, optimiser, source, b, images_per_round // b, gen)
    print("cost per trained image (ms), interleaved rounds; ratio to batch 64 of the same source")
    for name in sources:
        base = seconds[(name, 64)]
        for b in batches:
            per_image = 1000 * seconds[(name, b)] / (rounds * (images_per_round // b) * b)
            print(f"  {name:8s} batch {b:4d}: {per_image:6.3f} ms/image  ratio {seconds[(name, b)] / base:5.2f}")


def quality_table(real: torch.Tensor, test: torch.Tensor, configs: list[str], seed: int) -> None:
    """Seconds, last-epoch training loss and test negative ELBO of one generation-0 VAE per config."""
    print("config (batch x images)  steps  seconds  train loss (last epoch)  test -ELBO  (nats per image)")
    for config in configs:
        batch, images = (int(x) for x in config.split("x"))
        settings = vae.VAESettings(**{**PROFILES["default"], "batch_size": batch, "epochs": 2,
                                      "images_per_epoch": images // 2})
        start = time.perf_counter()
        model, losses = vae.train_vae(real_draw(real), settings, seed, torch.device("cpu"))
        seconds = time.perf_counter() - start
        test_loss = vae.negative_elbo(model, test, vae.torch_generator(seed))
        print(f"  {config:22s} {settings.steps_per_generation:6d} {seconds:8.1f} {losses[-1]:12.1f} {test_loss:20.1f}",
              flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=["64x20480", "64x40960", "128x40960", "32x40960",
                                                         "64x61440", "128x61440"])
    parser.add_argument("--batches", nargs="+", type=int, default=[32, 64, 128, 256])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    train, _ = data.load_mnist("train")
    test, _ = data.load_mnist("test")
    real = torch.as_tensor(train, dtype=torch.float32).reshape(-1, *vae.IMAGE_SHAPE)
    test_t = torch.as_tensor(test, dtype=torch.float32).reshape(-1, *vae.IMAGE_SHAPE)
    cost_table(real, args.batches, args.rounds, 2048)
    quality_table(real, test_t, args.configs, args.seed)


if __name__ == "__main__":
    main()
