"""Generations of convolutional VAEs on MNIST (Shumailov et al., Nature 2024, supplementary VAE study).

Generation 0 is a VAE trained on real MNIST. Generation g + 1 is a *fresh* VAE trained on images
that generation g decodes from z ~ N(0, I), drawn anew for every batch (the decoder's Bernoulli
means are the images). Diagnostics per generation: digit grids from fixed latent draws, the latent
means of generated images under the generation-0 encoder (the paper's figure; their spread shrinks),
and classifier-based measures from :mod:`collapse_utils.mnist_classifier`.

Data policies reuse :mod:`collapse_utils.recursion`'s classes: a "dataset" here is a small
description of an image *source* (rows of the real images, a generation whose decoder draws fresh
images, or a size-weighted mixture), so ``KeepReal(f)`` mixes a fraction ``f`` of a fixed real
subset into every batch and ``Accumulate`` draws each batch from real data and all earlier
generations in proportion to their sizes. The chains run through
:func:`recursion.run_generations`, the project's one generational loop: a model there is a handle
to a generation's weights, cached on their own (atomically, with a checksum) because one VAE takes
minutes; the loop checkpoints after every generation and a rerun resumes, loading every generation
whose file is valid, so resumed and uninterrupted runs give the same bytes.
:func:`run_all` runs the whole notebook's computation and returns a :class:`VAEResults`.
"""

from __future__ import annotations

import io
import math
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Callable, ClassVar, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F

from . import mnist_classifier as mc
from .cache import CorruptFileError, clear, load_or_report, load_pickle, lock, save_verified, store_dir
from .data import load_mnist
from .devices import pick_device
from .profiles import result_key
from .recursion import Generation, Policy, check_positive_int, parse_policy, policy_label, run_generations

if TYPE_CHECKING:
    from .run import Run

IMAGE_SHAPE = (1, 28, 28)


# ----------------------------------------------------------------------------- settings

@dataclass(frozen=True)
class VAESettings:
    """Settings of notebook 04 (see the paper-vs-default table there); the defaults are the default profile
    (``profiles.VAE``). Validated on creation."""

    #: Settings that change no cached number (setting -> why); every other setting keys the results.
    UNKEYED: ClassVar[dict[str, str]] = {
        "shown_generations": "which generations the digit grids and latent densities show: drawn from the stored "
                             "models at every run, never cached",
    }
    #: Settings that change no trained VAE (setting -> why): the model store (:func:`models_folder`) keys on all
    #: the others, so more runs, policies or generations, or other evaluation settings, reuse every trained model.
    MODEL_STORE_UNKEYED: ClassVar[dict[str, str]] = {
        "n_generations": "a chain's generation g does not depend on how many follow it: more generations extend it",
        "n_runs": "run r has a folder of its own (run_XX) and its own random stream",
        "policies": "each policy's chain has a folder of its own, named by the policy",
        "n_eval": "evaluation only: images generated to compute the metrics",
        "classifier_epochs": "evaluation only: the classifier that scores generated digits",
        "classifier_train_size": "evaluation only: the classifier that scores generated digits",
        "n_reference": "evaluation only: real test images the metrics compare with",
        "n_threads": "CPU threads: a speed setting",
        "device": "'auto' names no device: the store keys on the device type it resolves to",
    }

    n_generations: int = 5
    n_runs: int = 5
    policies: list[str] = field(default_factory=lambda: ["replace"])
    epochs: int = 4
    images_per_epoch: int = 9216
    train_size: int = 60000
    n_eval: int = 1000
    shown_generations: list[int] = field(default_factory=lambda: [0, 1, 2, 3, 4, 5])
    classifier_epochs: int = 2
    classifier_train_size: int = 60000
    n_reference: int = 10000
    latent_dim: int = 20
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-5
    beta: float = 1.0
    n_threads: int = 1
    device: str = "auto"

    def __post_init__(self) -> None:
        for name, minimum in [("n_generations", 1), ("n_runs", 1), ("epochs", 1), ("images_per_epoch", 1),
                              ("n_eval", 2), ("classifier_epochs", 1), ("classifier_train_size", 100),
                              ("n_reference", 2), ("latent_dim", 1), ("batch_size", 1), ("n_threads", 1)]:
            check_positive_int(name, getattr(self, name), minimum)
        if not isinstance(self.train_size, int) or not 1 <= self.train_size <= 60000:
            raise ValueError(f"train_size must be an integer in [1, 60000] (MNIST has 60000 training images), "
                             f"got {self.train_size!r}")
        if self.classifier_train_size > 60000 or self.n_reference > 10000:
            raise ValueError(f"classifier_train_size must be <= 60000 and n_reference <= 10000 (MNIST's test set), "
                             f"got {self.classifier_train_size} and {self.n_reference}")
        if not self.policies:
            raise ValueError("policies must name at least one data policy, e.g. ['replace']")
        for text in self.policies:
            parse_policy(text)
        bad = [g for g in self.shown_generations if not 0 <= g <= self.n_generations]
        if not self.shown_generations or bad:
            raise ValueError(f"shown_generations must be a non-empty list within 0..n_generations="
                             f"{self.n_generations}, got {self.shown_generations}")
        for name in ("lr", "beta"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay!r}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {self.device!r}")

    @property
    def steps_per_generation(self) -> int:
        """Optimiser steps that train one VAE."""
        return self.epochs * math.ceil(self.images_per_epoch / self.batch_size)


# ----------------------------------------------------------------------------- model

class VAE(nn.Module):
    """The authors' convolutional VAE (647,081 parameters at latent 20).

    Encoder: Conv(1→64, k4 s2 p1), ReLU, Conv(64→128, k4 s2 p1), ReLU, flatten (6272), linear heads
    for μ and log σ². Decoder: Linear(latent→6272), ConvT(128→64), ReLU, ConvT(64→1), sigmoid.
    """

    def __init__(self, latent_dim: int = 20) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = nn.Sequential(nn.Conv2d(1, 64, 4, 2, 1), nn.ReLU(), nn.Conv2d(64, 128, 4, 2, 1),
                                     nn.ReLU(), nn.Flatten())
        self.mu = nn.Linear(128 * 7 * 7, latent_dim)
        self.log_var = nn.Linear(128 * 7 * 7, latent_dim)
        self.expand = nn.Linear(latent_dim, 128 * 7 * 7)
        self.decoder = nn.Sequential(nn.ConvTranspose2d(128, 64, 4, 2, 1), nn.ReLU(),
                                     nn.ConvTranspose2d(64, 1, 4, 2, 1), nn.Sigmoid())

    def encode(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """μ and log σ² of q(z | x) for images (n, 1, 28, 28)."""
        hidden = self.encoder(images)
        return self.mu(hidden), self.log_var(hidden)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Bernoulli means (n, 1, 28, 28) in (0, 1) for latents (n, latent_dim)."""
        return self.decoder(self.expand(z).view(-1, 128, 7, 7))

    def forward(self, images: torch.Tensor, noise: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Reconstruction, μ and log σ², with the reparameterised z = μ + σ·noise."""
        mu, log_var = self.encode(images)
        return self.decode(mu + torch.exp(0.5 * log_var) * noise), mu, log_var


def vae_loss(images: torch.Tensor, recon: torch.Tensor, mu: torch.Tensor, log_var: torch.Tensor,
             beta: float = 1.0) -> torch.Tensor:
    """Negative ELBO summed over the batch: pixel binary cross-entropy + β·KL(q(z|x) ‖ N(0, I))."""
    bce = F.binary_cross_entropy(recon, images, reduction="sum")
    kl = -0.5 * torch.sum(1.0 + log_var - mu.pow(2) - log_var.exp())
    return bce + beta * kl


def new_vae(latent_dim: int, seed: int, device: torch.device) -> VAE:
    """A freshly initialised VAE; ``seed`` fixes the initial weights."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return VAE(latent_dim).to(device)


def torch_generator(seed: int) -> torch.Generator:
    """CPU torch generator seeded with ``seed`` (draws are made on the CPU, then moved)."""
    return torch.Generator().manual_seed(int(seed))


@torch.no_grad()
def decode_prior(model: VAE, n: int, gen: torch.Generator, batch_size: int = 1024) -> torch.Tensor:
    """``n`` images decoded (means) from z ~ N(0, I) drawn with ``gen``, on the model's device."""
    device = next(model.parameters()).device
    z = torch.randn(n, model.latent_dim, generator=gen).to(device)
    return torch.cat([model.decode(z[i:i + batch_size]) for i in range(0, n, batch_size)])


@torch.no_grad()
def encode_means(model: VAE, images: torch.Tensor, batch_size: int = 1024) -> np.ndarray:
    """Posterior means μ(x), shape (n, latent_dim), of images under ``model``'s encoder."""
    return torch.cat([model.encode(images[i:i + batch_size])[0] for i in range(0, len(images), batch_size)]
                     ).cpu().numpy()


@torch.no_grad()
def negative_elbo(model: VAE, images: torch.Tensor, gen: torch.Generator, batch_size: int = 1000) -> float:
    """Mean negative ELBO (nats per image: BCE + KL, one posterior draw per image) of ``images``."""
    device = next(model.parameters()).device
    total = 0.0
    for start in range(0, len(images), batch_size):
        batch = images[start:start + batch_size].to(device)
        noise = torch.randn(len(batch), model.latent_dim, generator=gen).to(device)
        total += float(vae_loss(batch, *model(batch, noise)))
    return total / len(images)


def latent_statistics(means: np.ndarray) -> dict[str, float]:
    """Mean and standard deviation of latent means pooled over images and dimensions (the paper's statistics)."""
    values = np.asarray(means, dtype=np.float64).ravel()
    if values.size < 2:
        raise ValueError(f"need at least 2 latent values, got {values.size}")
    return {"latent_mean": float(values.mean()), "latent_std": float(values.std())}


# ----------------------------------------------------------------------------- image sources

class RealImages:
    """Rows ``rows`` of a chain's real images (the experiment holds the pixels, so a source pickles small).

    ``size`` is the source's weight in a :class:`Mixture` (default: the number of rows). The real
    pool of a chain is weighted like one generation's images (``images_per_epoch``) while its
    batches are drawn from all of its rows, so that Accumulate gives every generation, the real
    data included, an equal share.
    """

    def __init__(self, rows: np.ndarray, size: int | None = None) -> None:
        self.rows = np.asarray(rows, dtype=np.int64)
        self.size = len(self.rows) if size is None else size


class Decoded:
    """A virtual dataset of ``size`` images: every draw decodes fresh z ~ N(0, I) with generation ``model``."""

    def __init__(self, model: Generation | None, size: int) -> None:
        self.model, self.size = model, size


class Mixture:
    """Union of sources: each image of a batch comes from a part with probability ∝ the part's size."""

    def __init__(self, parts: Sequence[RealImages | Decoded]) -> None:
        self.parts = list(parts)
        self.size = sum(part.size for part in self.parts)


Source = RealImages | Decoded | Mixture


class SourceOps:
    """The data operations :mod:`collapse_utils.recursion`'s policies call, on source descriptions."""

    def sample(self, model: Generation | None, n: int, rng: np.random.Generator) -> Decoded:
        return Decoded(model, n)

    def subset(self, data: RealImages, n: int, rng: np.random.Generator) -> RealImages:
        return RealImages(data.rows[rng.choice(len(data.rows), size=min(n, len(data.rows)), replace=False)])

    def combine(self, parts: Sequence[Source]) -> Mixture:
        return Mixture([p for part in parts for p in (part.parts if isinstance(part, Mixture) else [part])])


class Sampler:
    """Draws batches of images from a source: rows of ``real``, or decodings of generations loaded with ``load``."""

    def __init__(self, real: torch.Tensor, load: Callable[[Generation], VAE]) -> None:
        self.real, self.load, self.models = real, load, {}

    def draw(self, source: Source, n: int, gen: torch.Generator) -> torch.Tensor:
        """``n`` images of ``source`` (real ones without repeats within a batch when it has ``n`` rows)."""
        if isinstance(source, RealImages):
            count = len(source.rows)
            pick = torch.randperm(count, generator=gen)[:n] if n <= count else torch.randint(count, (n,), generator=gen)
            return self.real[torch.as_tensor(source.rows)[pick].to(self.real.device)]
        if isinstance(source, Decoded):
            if source.model not in self.models:
                self.models[source.model] = self.load(source.model)
            return decode_prior(self.models[source.model], n, gen)
        weights = torch.tensor([float(part.size) for part in source.parts])
        counts = torch.bincount(torch.multinomial(weights, n, replacement=True, generator=gen),
                                minlength=len(source.parts)).tolist()
        return torch.cat([self.draw(part, k, gen) for part, k in zip(source.parts, counts) if k > 0])


def real_shares(policy: Policy, n: int, n_generations: int) -> list[float]:
    """Expected share of real images in the training batches of generations 0..n_generations under ``policy``
    (``n`` images per generation; the real pool is weighted like one generation, see :class:`RealImages`)."""
    ops, rng = SourceOps(), np.random.default_rng(0)  # the shares do not depend on which rows are drawn
    real = RealImages(np.arange(n))
    state, data = policy.start(ops, real, n, rng), real
    shares = []
    for generation in range(n_generations + 1):
        if generation > 0:
            data, state = policy.training_data(ops, None, state, n, rng)
        parts = data.parts if isinstance(data, Mixture) else [data]
        shares.append(sum(p.size for p in parts if isinstance(p, RealImages)) / sum(p.size for p in parts))
    return shares


# ----------------------------------------------------------------------------- training

def train_vae(draw: Callable[[int, torch.Generator], torch.Tensor], settings: VAESettings, seed: int,
              device: torch.device) -> tuple[VAE, list[float]]:
    """Train a fresh VAE on batches ``draw(batch_size, gen)``; returns it and the mean loss per image per epoch."""
    gen = torch_generator(seed)
    model = new_vae(settings.latent_dim, seed, device)
    optimiser = torch.optim.Adam(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    per_epoch = math.ceil(settings.images_per_epoch / settings.batch_size)
    losses: list[float] = []
    model.train()
    for _ in range(settings.epochs):
        total, count = 0.0, 0
        for _ in range(per_epoch):
            images = draw(settings.batch_size, gen).to(device)
            noise = torch.randn(len(images), settings.latent_dim, generator=gen).to(device)
            loss = vae_loss(images, *model(images, noise), beta=settings.beta)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total, count = total + loss.item(), count + len(images)
        losses.append(total / count)
    return model.eval(), losses


def save_generation(path: Path, model: VAE, losses: list[float], seconds: float) -> None:
    """Write one generation's weights, loss curve and training time atomically, with a checksum."""
    buffer = io.BytesIO()
    torch.save({"state_dict": model.state_dict(), "losses": losses, "seconds": seconds}, buffer)
    save_verified(path, buffer.getvalue())


def load_record(path: Path, device: torch.device | str = "cpu") -> dict | None:
    """The record of :func:`save_generation` (weights under ``state_dict``); None if absent or damaged (reported)."""
    return load_or_report(path, lambda content: torch.load(io.BytesIO(content), map_location=device,
                                                           weights_only=True))


def load_generation(path: Path, latent_dim: int, device: torch.device) -> tuple[VAE, dict]:
    """A generation saved by :func:`save_generation`: the model (eval mode) and its record."""
    record = load_record(path, device)
    if record is None:
        raise CorruptFileError(f"{path} is missing or damaged; rerun the notebook to retrain it")
    model = VAE(latent_dim).to(device)
    model.load_state_dict(record.pop("state_dict"))
    return model.eval(), record


class VAEChain(SourceOps):
    """One chain of VAEs as an experiment of :func:`~collapse_utils.recursion.run_generations`.

    Its models are :class:`Generation` handles to files in the model store ``folder``: generation 0 in
    ``folder/generation_000.pt``, shared by the chains of every policy that use the same folder and
    random stream, and generation g > 0 in ``folder/<label>/generation_{g:03d}.pt``. ``fit`` loads a
    generation whose file is valid and trains (then saves) it otherwise; either way it draws the
    generation's seed from ``rng`` first, so a resumed chain consumes its stream like an uninterrupted one
    and gives the same bytes. Data are source descriptions (:class:`RealImages`, :class:`Decoded`,
    :class:`Mixture`) over ``real``, the chain's real images.
    """

    def __init__(self, settings: VAESettings, real: torch.Tensor, folder: Path, label: str,
                 device: torch.device) -> None:
        self.settings, self.real, self.folder, self.label, self.device = settings, real, folder, label, device

    def path(self, model: Generation) -> Path:
        """The file of generation ``model``."""
        if model.number == 0:
            return self.folder / "generation_000.pt"
        return self.folder / self.label / f"generation_{model.number:03d}.pt"

    def load(self, model: Generation) -> VAE:
        return load_generation(self.path(model), self.settings.latent_dim, self.device)[0]

    def fit(self, data: Source, previous: Generation | None, rng: np.random.Generator) -> Generation:
        seed = int(rng.integers(0, 2**62))  # drawn whether the generation is trained or loaded
        model = Generation(0 if previous is None else previous.number + 1)
        if load_record(self.path(model)) is None:
            start, sampler = time.monotonic(), Sampler(self.real, self.load)
            vae, losses = train_vae(partial(sampler.draw, data), self.settings, seed, self.device)
            save_generation(self.path(model), vae, losses, time.monotonic() - start)
        return model

    def metrics(self, model: Generation) -> dict[str, np.ndarray]:
        record = load_record(self.path(model))
        losses = np.empty(1, dtype=object)
        losses[0] = [float(x) for x in record["losses"]]
        return {"seconds": np.array([float(record["seconds"])]), "final_loss": np.array([losses[0][-1]]),
                "losses": losses}

    def drop_stale_checkpoint(self, checkpoint: Path) -> None:
        """Delete ``checkpoint`` unless it is readable and every generation it has finished has a valid file;
        a damaged generation file is reported (one line) and deleted, so that the replay retrains it."""
        state = load_pickle(checkpoint)  # None when absent, or when damaged (reported)
        finished = -1 if state is None else state["generation"]
        for number in range(finished + 1):
            path = self.path(Generation(number))
            if load_record(path) is None:
                path.unlink(missing_ok=True)
                state = None
        if state is None:
            checkpoint.unlink(missing_ok=True)


def run_chain(chain: VAEChain, policy: Policy, rng: np.random.Generator, progress: bool = True) -> pd.DataFrame:
    """Generations 0..n_generations of one chain through :func:`~collapse_utils.recursion.run_generations`,
    checkpointed after every generation in ``chain.folder/<label>/checkpoint.pkl`` and resumed from it.

    One row per generation: ``generation``, ``policy``, ``path``, ``seconds``, ``final_loss``, ``losses``.
    """
    settings, checkpoint = chain.settings, chain.folder / chain.label / "checkpoint.pkl"
    with lock(chain.folder):
        chain.drop_stale_checkpoint(checkpoint)
        real = RealImages(np.arange(len(chain.real)), size=settings.images_per_epoch)
        frame = run_generations(chain, real, settings.n_generations, settings.images_per_epoch, policy, rng,
                                checkpoint=checkpoint, checkpoint_seconds=0, progress=progress,
                                description=f"VAE {chain.folder.name} {chain.label}")
    frame = frame[frame["generation"] <= settings.n_generations].drop(columns="chain")
    frame.insert(2, "path", [str(chain.path(Generation(g))) for g in frame["generation"]])
    return frame.reset_index(drop=True)


def model_key(settings: VAESettings) -> dict:
    """The settings a trained VAE depends on: :func:`~collapse_utils.profiles.result_key` less
    :attr:`VAESettings.MODEL_STORE_UNKEYED`."""
    return {name: value for name, value in result_key(settings).items() if name not in settings.MODEL_STORE_UNKEYED}


def models_folder(settings: VAESettings, seed: int, device: torch.device) -> Path:
    """Cache folder of the chains trained with these settings (:func:`model_key`), seed and device type."""
    return store_dir("04_vae_mnist/models", {**model_key(settings), "seed": seed, "device": device.type}, code=(__name__,))


def train_all(real_images: np.ndarray, settings: VAESettings, rng_for: Callable[..., np.random.Generator],
              folder: Path, device: torch.device, progress: bool = True, force: bool = False) -> pd.DataFrame:
    """Train (or load) every (policy, run) chain; a frame of (policy, run, generation, path, seconds, final_loss,
    losses).

    Run ``run``'s chains draw from ``rng_for("chain", run)`` (``run.rng`` in a notebook): under every
    policy the same stream, so they share generation 0 (common random numbers) and policies are
    compared on the same starting model. ``force`` clears ``folder`` (models and checkpoints) first
    (:func:`collapse_utils.cache.clear`).
    """
    if force:
        with lock(folder):
            clear(folder)
    real = torch.as_tensor(real_images[: settings.train_size], dtype=torch.float32).reshape(-1, *IMAGE_SHAPE)
    real = real.to(device)
    frames = []
    for run in range(settings.n_runs):
        for text in settings.policies:
            policy = parse_policy(text)
            chain = VAEChain(settings, real, folder / f"run_{run:02d}", policy_label(policy), device)
            frames.append(run_chain(chain, policy, rng_for("chain", run), progress).assign(run=run))
    models = pd.concat(frames, ignore_index=True)
    return models[["policy", "run", "generation", "path", "seconds", "final_loss", "losses"]]


# ----------------------------------------------------------------------------- evaluation

def eval_seed(rng_for: Callable[..., np.random.Generator], run: int, generation: int) -> int:
    """Seed of the images that generation ``generation`` of run ``run`` generates for evaluation
    (from ``rng_for``, a notebook's ``run.rng``; the same for every policy: common random numbers)."""
    return int(rng_for("evaluation images", run, generation).integers(0, 2**62))


def generated_latents(model: VAE, encoder: VAE, n: int, seed: int) -> tuple[torch.Tensor, np.ndarray]:
    """``n`` images decoded from the prior by ``model`` (seeded) and their means under ``encoder``."""
    images = decode_prior(model, n, torch_generator(seed))
    return images, encode_means(encoder, images)


def _chains(models: pd.DataFrame):
    """(policy, run, rows sorted by generation) for every chain of a frame from :func:`train_all`."""
    for (policy, run), chain in models.sort_values("generation").groupby(["policy", "run"], sort=False):
        yield policy, int(run), chain


def evaluate(models: pd.DataFrame, settings: VAESettings, classifier: mc.Classifier,
             real_stats: tuple[np.ndarray, np.ndarray], rng_for: Callable[..., np.random.Generator],
             device: torch.device) -> pd.DataFrame:
    """Per-generation metrics of ``n_eval`` generated images per model (one row per policy, run, generation).

    Metrics: latent mean/std under the chain's generation-0 encoder, class fractions, entropy of
    the class histogram (bits), mean predictive entropy (bits) and the Fréchet distance to
    ``real_stats`` (classifier features of real test images).
    """
    rows = []
    for policy, run, chain in _chains(models):
        encoder, _ = load_generation(Path(chain["path"].iloc[0]), settings.latent_dim, device)
        for generation, path in zip(chain["generation"], chain["path"]):
            model, _ = load_generation(Path(path), settings.latent_dim, device)
            images, means = generated_latents(model, encoder, settings.n_eval, eval_seed(rng_for, run, generation))
            probs, features = mc.predict(classifier, images, device)
            fractions = mc.class_histogram(probs.argmax(axis=1))
            rows.append({"policy": policy, "run": run, "generation": generation, **latent_statistics(means),
                         "class_entropy": float(mc.entropy_bits(fractions)),
                         "predictive_entropy": float(mc.entropy_bits(probs, axis=1).mean()),
                         "frechet": mc.frechet_distance(*mc.gaussian_stats(features), *real_stats),
                         **{f"frac_{k}": fractions[k] for k in range(mc.N_CLASSES)}})
    return pd.DataFrame(rows)


def latent_values(models: pd.DataFrame, settings: VAESettings, generations: Sequence[int],
                  rng_for: Callable[..., np.random.Generator], device: torch.device) -> pd.DataFrame:
    """Every latent-mean coordinate of the evaluation images of ``generations`` (long frame, for densities)."""
    frames = []
    for policy, run, chain in _chains(models):
        encoder, _ = load_generation(Path(chain["path"].iloc[0]), settings.latent_dim, device)
        for generation, path in zip(chain["generation"], chain["path"]):
            if generation in generations:
                model, _ = load_generation(Path(path), settings.latent_dim, device)
                _, means = generated_latents(model, encoder, settings.n_eval, eval_seed(rng_for, run, generation))
                frames.append(pd.DataFrame({"policy": policy, "run": run, "generation": generation,
                                            "value": means.ravel()}))
    return pd.concat(frames, ignore_index=True)


def real_reference(classifier: mc.Classifier, train_images: np.ndarray, test_images: np.ndarray,
                   n: int, rng: np.random.Generator, device: torch.device) -> dict:
    """Real-data baselines: test-set feature statistics, and the metrics of ``n`` real training images.

    The Fréchet distance of ``n`` real images to the test statistics is the floor that finite-sample
    bias puts under every generated set of the same size.
    """
    real_stats = mc.gaussian_stats(mc.predict(classifier, test_images, device)[1])
    sample = train_images[rng.choice(len(train_images), size=n, replace=False)]
    probs, features = mc.predict(classifier, sample, device)
    return {"stats": real_stats,
            "frechet": mc.frechet_distance(*mc.gaussian_stats(features), *real_stats),
            "class_entropy": float(mc.entropy_bits(mc.class_histogram(probs.argmax(axis=1)))),
            "predictive_entropy": float(mc.entropy_bits(probs, axis=1).mean())}


def sample_grids(models: pd.DataFrame, generations: Sequence[int], latent_dim: int, rng: np.random.Generator,
                 device: torch.device, run: int = 0, side: int = 8) -> dict[tuple[str, int], np.ndarray]:
    """``side``×``side`` digit grids (as one 2-D array) per (policy, generation), from the same latent draws
    (drawn with ``rng``)."""
    z = torch.randn(side * side, latent_dim, generator=torch_generator(int(rng.integers(0, 2**62)))).to(device)
    grids = {}
    chosen = models[(models["run"] == run) & models["generation"].isin(list(generations))]
    for policy, generation, path in chosen[["policy", "generation", "path"]].itertuples(index=False):
        model, _ = load_generation(Path(path), latent_dim, device)
        with torch.no_grad():
            digits = model.decode(z).cpu().numpy().reshape(side, side, 28, 28)
        grids[(policy, int(generation))] = digits.transpose(0, 2, 1, 3).reshape(side * 28, side * 28)
    return grids


def generation0_test_loss(models: pd.DataFrame, images: np.ndarray, latent_dim: int,
                          rng_for: Callable[..., np.random.Generator], device: torch.device) -> pd.DataFrame:
    """Negative ELBO (nats per image) of real ``images`` under each run's generation-0 VAE: (run, test_loss)."""
    x = torch.as_tensor(images, dtype=torch.float32).reshape(-1, *IMAGE_SHAPE)
    rows = []
    for run, path in models[models["generation"] == 0].drop_duplicates("run")[["run", "path"]].itertuples(index=False):
        model, _ = load_generation(Path(path), latent_dim, device)
        seed = int(rng_for("test loss", run).integers(0, 2**62))
        rows.append({"run": int(run), "test_loss": negative_elbo(model, x, torch_generator(seed))})
    return pd.DataFrame(rows)


@dataclass
class VAEResults:
    """Everything notebook 04 shows, computed (or loaded from the cache) by :func:`run_all`."""

    settings: VAESettings
    device: torch.device
    models: pd.DataFrame  # (policy, run, generation, path, seconds, final_loss, losses), from train_all
    classifier: mc.Classifier
    classifier_record: dict  # test accuracy, sizes, epochs, seed and training seconds of the classifier
    test_loss: pd.DataFrame  # (run, test_loss): generation 0's negative ELBO of the real test images
    real: dict  # real-data baselines of the classifier metrics, from real_reference
    metrics: pd.DataFrame  # one row per (policy, run, generation), from evaluate
    latents: pd.DataFrame  # latent-mean coordinates of the shown generations, from latent_values
    grids: dict[tuple[str, int], np.ndarray]  # digit grids of run 0 per (policy, shown generation)


def run_all(run: "Run", progress: bool = True) -> VAEResults:
    """Notebook 04's computation for ``run`` (from :func:`collapse_utils.start_run`): the classifier, every
    chain, the evaluation and the digit grids, each loaded from the cache when there (``run.force``
    recomputes); all randomness comes from ``run.rng`` streams."""
    s = run.settings
    device = pick_device(s.device, s.n_threads)
    train_x, train_y = load_mnist("train")
    test_x, test_y = load_mnist("test")
    n, test = s.classifier_train_size, (test_x[:s.n_reference], test_y[:s.n_reference])
    classifier_seed = int(run.rng("classifier").integers(0, 2**31))
    classifier, record = mc.load_or_train(mc.cache_folder(n, s.classifier_epochs, classifier_seed),
                                          (train_x[:n], train_y[:n]), test, s.classifier_epochs, classifier_seed,
                                          device, run.force)
    models = train_all(train_x, s, run.rng, models_folder(s, run.seed, device), device, progress, run.force)
    real = real_reference(classifier, train_x, test[0], s.n_eval, run.rng("real reference"), device)
    metrics = run.cached("metrics", lambda _: evaluate(models, s, classifier, real["stats"], run.rng, device))
    return VAEResults(
        settings=s, device=device, models=models, classifier=classifier, classifier_record=record,
        test_loss=generation0_test_loss(models, test[0], s.latent_dim, run.rng, device), real=real,
        metrics=metrics, latents=latent_values(models, s, s.shown_generations, run.rng, device),
        grids=sample_grids(models, s.shown_generations, s.latent_dim, run.rng("digit grids"), device))
