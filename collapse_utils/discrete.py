"""Discrete distributions re-estimated from finite samples: an absorbing Markov chain.

Each generation draws ``M`` samples from the current categorical distribution and refits it by
counting, so the counts follow a multinomial (neutral Wright-Fisher) chain whose only absorbing
states are point masses (Shumailov et al. 2024). One step is one multinomial draw per chain, so
the cost of a generation does not grow with ``M``.

Theory here: each category's count is itself a two-outcome chain (the category against the rest),
whose transition matrix gives exact survival curves and exact mean absorption times; the
diffusion approximation t(p) ~ -2M [p ln p + (1-p) ln(1-p)] is the large-M limit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Sequence

import numpy as np
import pandas as pd
from scipy import sparse, stats

from .recursion import Replace, check_positive_int, run_generations
from .schedule import log_generations


@dataclass(frozen=True)
class CategoricalExperiment:
    """Counts of ``K`` categories per chain (shape (chains, K)) refitted by maximum likelihood."""

    def fit(self, counts: np.ndarray, previous: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
        return counts / counts.sum(axis=1, keepdims=True)

    def sample(self, probs: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.multinomial(n, probs)

    def metrics(self, probs: np.ndarray) -> dict[str, np.ndarray]:
        alive = probs > 0
        return {"n_alive": alive.sum(axis=1), **{f"p{k}": probs[:, k] for k in range(probs.shape[1])}}

    def subset(self, counts: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
        return np.stack([rng.multivariate_hypergeometric(row, n) for row in counts])

    def combine(self, parts: Sequence[np.ndarray]) -> np.ndarray:
        return np.sum(parts, axis=0)


def zipf_probabilities(n_categories: int, exponent: float = 1.0) -> np.ndarray:
    """Probabilities proportional to 1/k^exponent, k = 1..K: a few common and many rare outcomes."""
    check_positive_int("n_categories", n_categories, minimum=2)
    weights = 1.0 / np.arange(1, n_categories + 1) ** exponent
    return weights / weights.sum()


def simulate_categories(probs: np.ndarray, m: int, n_generations: int, n_runs: int,
                        rng: np.random.Generator, record: Sequence[int] | None = None,
                        progress: bool = True) -> pd.DataFrame:
    """Chains started from ``M`` real samples of ``probs``; columns ``n_alive`` and ``p0..p{K-1}``."""
    check_positive_int("sample size M", m, minimum=2)
    check_positive_int("n_runs", n_runs)
    real = rng.multinomial(m, np.broadcast_to(probs, (n_runs, len(probs))))
    return run_generations(CategoricalExperiment(), real, n_generations, m, Replace(), rng,
                           record=record, progress=progress, description=f"K={len(probs)}, M={m}")


def absorption_times(m: int, p: float, n_runs: int, rng: np.random.Generator,
                     max_generations: int = 1_000_000) -> np.ndarray:
    """Generations until a two-outcome chain with initial frequency ``p`` is absorbed (0 or M).

    Generation 0 holds ``round(p M)`` real successes; each generation is one binomial draw.
    """
    check_positive_int("sample size M", m, minimum=2)
    check_positive_int("n_runs", n_runs)
    if not 0 < p < 1:
        raise ValueError(f"initial frequency p must lie strictly between 0 and 1, got {p}")
    counts = np.full(n_runs, int(round(p * m)))
    times = np.zeros(n_runs, dtype=np.int64)
    active = (counts > 0) & (counts < m)
    generation = 0
    while active.any():
        generation += 1
        if generation > max_generations:
            raise RuntimeError(f"{active.sum()} chains not absorbed after {max_generations} generations")
        counts[active] = rng.binomial(m, counts[active] / m)
        active_now = (counts > 0) & (counts < m)
        times[active & ~active_now] = generation
        active = active_now
    return times


def transition_matrix(m: int) -> np.ndarray:
    """Two-outcome chain: P[i, j] = P(j successes next | i now) = Binomial(M, i/M) at j."""
    check_positive_int("sample size M", m, minimum=2)
    states = np.arange(m + 1)
    return stats.binom.pmf(states[None, :], m, states[:, None] / m)


def exact_mean_absorption_time(m: int, p: float) -> float:
    """Exact E[absorption time] from ``round(pM)`` successes: solve (I - Q) t = 1 on transient states."""
    q = transition_matrix(m)[1:-1, 1:-1]
    t = np.linalg.solve(np.eye(m - 1) - q, np.ones(m - 1))
    start = int(round(p * m))
    return 0.0 if start in (0, m) else float(t[start - 1])


def diffusion_mean_absorption_time(m: int | np.ndarray, p: float | np.ndarray) -> np.ndarray:
    """Diffusion approximation of the mean absorption time: -2M [p ln p + (1-p) ln(1-p)]."""
    p = np.asarray(p, dtype=float)
    return -2 * np.asarray(m) * (p * np.log(p) + (1 - p) * np.log1p(-p))


def survival_curves(m: int, p_values: Sequence[float], n_generations: int) -> np.ndarray:
    """P(a category of initial frequency p still exists) at generations 0..n, exactly, for each p.

    Generation 0 is the fit on ``M`` real samples, so each curve starts at 1 - (1-p)^M. Returns
    shape (len(p_values), n_generations + 1). Transition probabilities below 1e-18 are dropped
    (a sparse matrix), which changes the curves by less than 1e-12.
    """
    step = transition_matrix(m)
    step = sparse.csr_array(np.where(step < 1e-18, 0.0, step))
    dist = stats.binom.pmf(np.arange(m + 1)[None, :], m, np.asarray(p_values, dtype=float)[:, None])
    alive = np.empty((len(p_values), n_generations + 1))
    for generation in range(n_generations + 1):
        alive[:, generation] = 1 - dist[:, 0]
        dist = (step.T @ dist.T).T
    return alive


def mean_ci(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and a normal-approximation confidence interval of the mean."""
    half = stats.norm.ppf(0.5 + level / 2) * values.std(ddof=1) / np.sqrt(len(values))
    return float(values.mean()), float(values.mean() - half), float(values.mean() + half)


def absorption_table(cases: Sequence[tuple[int, float]], n_runs: int, rng: np.random.Generator) -> pd.DataFrame:
    """For each (M, p): simulated mean absorption time with 95% CI, exact value, diffusion approximation."""
    rows = []
    for m, p in dict.fromkeys(cases):
        mean, low, high = mean_ci(absorption_times(m, p, n_runs, rng))
        rows.append({"m": m, "p": p, "mean": mean, "ci_low": low, "ci_high": high,
                     "exact": exact_mean_absorption_time(m, p),
                     "diffusion": float(diffusion_mean_absorption_time(m, p))})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class DiscreteSettings:
    """Settings of notebook 01; the defaults are the default profile (``profiles.DISCRETE``)."""

    #: Settings that change no cached number (setting -> why); every other setting keys the results.
    UNKEYED: ClassVar[dict[str, str]] = {}

    sample_sizes: list[int] = field(default_factory=lambda: [10, 20, 50, 100, 200, 500, 1000])
    n_runs: int = 2000
    p_grid: list[float] = field(default_factory=lambda: [0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5])
    p_grid_m: int = 100
    n_categories: int = 20
    tail_n_samples: int = 1000
    tail_generations: int = 3000
    tail_runs: int = 500

    def __post_init__(self) -> None:
        for m in self.sample_sizes:
            check_positive_int("each sample size M", m, minimum=2)
        check_positive_int("p_grid_m", self.p_grid_m, minimum=2)
        for p in self.p_grid:
            if not 0 < p < 1:
                raise ValueError(f"every p in p_grid must lie strictly between 0 and 1, got {p}")
        check_positive_int("n_runs", self.n_runs)
        check_positive_int("n_categories", self.n_categories, minimum=2)
        check_positive_int("tail_n_samples", self.tail_n_samples, minimum=2)
        check_positive_int("tail_generations", self.tail_generations)
        check_positive_int("tail_runs", self.tail_runs)

    def absorption_cases(self) -> list[tuple[int, float]]:
        """(M, p) pairs: every M at p = 1/2, then every p at ``p_grid_m``."""
        return [(m, 0.5) for m in self.sample_sizes] + [(self.p_grid_m, p) for p in self.p_grid]


# ---------------------------------------------------------------- the notebook's results

@dataclass
class DiscreteResults:
    """What notebook 01 plots: the category counts over generations and the absorption-time table."""

    probs: np.ndarray
    tails: pd.DataFrame
    absorption: pd.DataFrame


def run_all(run) -> DiscreteResults:
    """Notebook 01's results for ``run`` (from :func:`collapse_utils.start_run`), computed or loaded from its cache."""
    s = run.settings
    probs = zipf_probabilities(s.n_categories)
    record = log_generations(s.tail_generations, 200)
    tails = run.cached("tails", lambda work_dir: simulate_categories(
        probs, s.tail_n_samples, s.tail_generations, s.tail_runs, run.rng("tails"), record=record))
    absorption = run.cached("absorption", lambda work_dir: absorption_table(
        s.absorption_cases(), s.n_runs, run.rng("absorption")))
    return DiscreteResults(probs, tails, absorption)
