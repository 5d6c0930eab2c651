"""Which generations a long chain records: part of the computation (it decides which rows a cached result
holds), so it lives here and not in :mod:`collapse_utils.plotting`, whose edits never change a cache key."""

from __future__ import annotations

import numpy as np


def log_generations(n_generations: int, n_points: int = 120) -> np.ndarray:
    """About ``n_points`` generations 0..n, dense at the start, spaced evenly on a log axis."""
    grid = np.unique(np.round(np.geomspace(1, n_generations, n_points)).astype(int))
    return np.concatenate([[0], grid])
