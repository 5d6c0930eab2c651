"""A small MNIST classifier that measures generated digits: class mix, ambiguity, Fréchet distance.

Beyond the paper (Shumailov et al., Nature 2024, show only digit grids and latent densities):
a convolutional classifier trained once on real MNIST (cached) labels generated digits, so that
"tails disappear and modes merge" become numbers: the class histogram and its entropy, the mean
predictive entropy of each digit, and the Fréchet distance between generated and real images in
the classifier's penultimate feature space (the idea of the FID, with an MNIST network).
"""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import numpy as np
import scipy.linalg
import torch
from torch import nn
from torch.nn import functional as F

from .cache import clear, load_or_report, save_verified, store_dir

N_CLASSES = 10
FEATURE_DIM = 128


class Classifier(nn.Module):
    """Two conv blocks and a 128-unit hidden layer; the hidden layer is the feature space."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(64 * 5 * 5, FEATURE_DIM), nn.ReLU(),
        )
        self.head = nn.Linear(FEATURE_DIM, N_CLASSES)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """Penultimate activations, shape (n, 128), of images shaped (n, 1, 28, 28)."""
        return self.body(images)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images))


def as_batch(images: np.ndarray | torch.Tensor, device: torch.device) -> torch.Tensor:
    """Images (n, 28, 28) or (n, 1, 28, 28) in [0, 1] as a float tensor (n, 1, 28, 28) on ``device``."""
    tensor = torch.as_tensor(images, dtype=torch.float32)
    if tensor.ndim == 3:
        tensor = tensor.unsqueeze(1)
    if tensor.ndim != 4 or tensor.shape[1:] != (1, 28, 28):
        raise ValueError(f"expected images of shape (n, 28, 28) or (n, 1, 28, 28), got {tuple(tensor.shape)}")
    return tensor.to(device)


def train_classifier(images: np.ndarray, labels: np.ndarray, epochs: int, seed: int,
                     device: torch.device, batch_size: int = 64, lr: float = 1e-3) -> Classifier:
    """Train :class:`Classifier` with Adam and cross-entropy; ``seed`` fixes init and batch order."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Classifier().to(device)
    order = np.random.default_rng(seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    x, y = as_batch(images, device), torch.as_tensor(labels, device=device)
    model.train()
    for _ in range(epochs):
        for batch in np.array_split(order.permutation(len(x)), max(1, len(x) // batch_size)):
            index = torch.as_tensor(batch, device=device)
            loss = F.cross_entropy(model(x[index]), y[index])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    return model.eval()


@torch.no_grad()
def predict(model: Classifier, images: np.ndarray | torch.Tensor, device: torch.device,
            batch_size: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """Class probabilities (n, 10) and features (n, 128) of ``images``, in batches."""
    x = as_batch(images, device)
    probs, feats = [], []
    for start in range(0, len(x), batch_size):
        features = model.features(x[start:start + batch_size])
        probs.append(F.softmax(model.head(features), dim=1).cpu().numpy())
        feats.append(features.cpu().numpy())
    return np.concatenate(probs), np.concatenate(feats).astype(np.float64)


def accuracy(model: Classifier, images: np.ndarray, labels: np.ndarray, device: torch.device) -> float:
    """Fraction of ``images`` whose most probable class is the label."""
    probs, _ = predict(model, images, device)
    return float(np.mean(probs.argmax(axis=1) == labels))


def cache_folder(train_size: int, epochs: int, seed: int) -> Path:
    """Cache folder of the classifier trained with these settings (shared by every profile)."""
    return store_dir("mnist_classifier", {"train_size": train_size, "epochs": epochs, "seed": seed}, code=(__name__,))


def load_or_train(folder: Path, train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray],
                  epochs: int, seed: int, device: torch.device, force: bool = False) -> tuple[Classifier, dict]:
    """The cached classifier in ``folder`` (trained and saved atomically if absent or ``force``) and its record.

    The record holds the test accuracy, the training size, epochs, seed and training seconds.
    """
    weights, record_path = folder / "classifier.pt", folder / "classifier.json"
    if force:
        clear(folder)
    model = Classifier().to(device)
    state = load_or_report(weights, lambda content: torch.load(io.BytesIO(content), map_location=device,
                                                               weights_only=True))
    record = load_or_report(record_path, json.loads)
    if state is not None and record is not None:
        model.load_state_dict(state)
        return model.eval(), record
    start = time.monotonic()
    model = train_classifier(*train, epochs=epochs, seed=seed, device=device)
    record = {"test_accuracy": accuracy(model, *test, device), "train_size": len(train[0]),
              "test_size": len(test[0]), "epochs": epochs, "seed": seed,
              "train_seconds": round(time.monotonic() - start, 2)}
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    save_verified(weights, buffer.getvalue())
    save_verified(record_path, json.dumps(record, indent=2).encode())
    return model, record


def entropy_bits(probabilities: np.ndarray, axis: int = -1) -> np.ndarray:
    """Shannon entropy in bits along ``axis`` (0 log 0 = 0); rows need not be normalised."""
    p = np.asarray(probabilities, dtype=np.float64)
    p = p / p.sum(axis=axis, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, -p * np.log2(p), 0.0)
    return terms.sum(axis=axis)


def class_histogram(predicted: np.ndarray) -> np.ndarray:
    """Fraction of predictions in each of the 10 classes."""
    counts = np.bincount(np.asarray(predicted, dtype=np.int64), minlength=N_CLASSES)
    return counts / max(1, counts.sum())


def gaussian_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (unbiased) covariance of feature rows."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(f"need a 2-D array of at least 2 feature rows, got shape {features.shape}")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance(mean_a: np.ndarray, cov_a: np.ndarray, mean_b: np.ndarray, cov_b: np.ndarray) -> float:
    """Squared Fréchet (Wasserstein-2) distance between N(mean_a, cov_a) and N(mean_b, cov_b).

    ``|m_a - m_b|² + tr(C_a + C_b - 2 (C_a^½ C_b C_a^½)^½)``; the symmetric form keeps the matrix
    square root real for positive semi-definite inputs.
    """
    root_a = _psd_sqrt(np.atleast_2d(cov_a))
    cross = _psd_sqrt(root_a @ np.atleast_2d(cov_b) @ root_a)
    diff = np.atleast_1d(mean_a) - np.atleast_1d(mean_b)
    value = diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2.0 * np.trace(cross)
    return float(max(value, 0.0))


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    values, vectors = scipy.linalg.eigh((matrix + matrix.T) / 2.0)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T
