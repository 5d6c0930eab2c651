"""Sweeps the paper does not run (notebook 06), on the exact Gaussian simulator.

- How fast does collapse come? Under *replace* the log-variance is a random walk with drift
  a(M) = psi((M-1)/2) + ln(2/c) per generation, about -2/M for the MLE, independent of the mean.
  The generations until a chain's variance first falls below a threshold t therefore grow linearly
  in M. Wald's identity gives E[time] = (ln(1/t) + E[overshoot]) / |a(M)|, so ln(t) / a(M) is a
  lower bound; Lorden's bound on the overshoot gives an upper one.
- How much real data is enough? The share of real data kept in every training set, swept from 0
  to 1, against the variance and the W2 distance after many generations. Two statistics, two laws
  (:func:`keep_real_log_var_variance`, :func:`keep_real_fluctuation_variance`): with a *fixed* kept
  subset (K = fM points drawn once per chain, as in this sweep), log var fluctuates *within a chain*
  with stationary variance 2(1-f)/(f(2-f)M) ≈ 1/(fM) around the subset's own log sample variance,
  which varies *across chains* with psi'((K-1)/2) ≈ 2/(fM): across chains the variance of log var
  is their sum, ≈ 3/(fM). With the subset *redrawn* every generation (the authors' language-model
  code) the anchor is the whole real sample, psi'((M-1)/2) ≈ 2/M across chains, and the redraws add
  to the fluctuation: 2(1-f²)/(f(2-f)M) + psi'((M-1)/2) ≈ 1/(fM) + 2/M across chains.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, ClassVar

import numpy as np
import pandas as pd
from scipy.special import digamma, polygamma

from .gaussian import ESTIMATORS, simulate
from .recursion import check_positive_int


def log_var_drift(m: int, estimator: str = "mle") -> float:
    """Mean change of log variance per generation under replace: psi((M-1)/2) + ln(2/c)."""
    return float(digamma((m - 1) / 2) + np.log(2 / (m - ESTIMATORS[estimator])))


def wald_lower_bound(m: int, threshold: float, estimator: str = "mle") -> float:
    """Wald's identity without the overshoot: mean generations until var < threshold is at least
    ln(threshold) / a(M) fits, i.e. that minus 1 generations (generation 0 is the first fit)."""
    return float(np.log(threshold) / log_var_drift(m, estimator) - 1)


def lorden_upper_bound(m: int, threshold: float, estimator: str = "mle") -> float:
    """Upper bound on the mean collapse time: Lorden's E[overshoot] <= E[X²]/E[X] added to Wald's
    identity, with X = -log(chi2_{M-1}/c) the fall of log var per fit (Var X = psi'((M-1)/2))."""
    mean = -log_var_drift(m, estimator)
    second = float(polygamma(1, (m - 1) / 2)) + mean**2
    return float((-np.log(threshold) + second / mean) / mean - 1)


def keep_real_log_var_variance(m: int, fraction: float | np.ndarray, redraw: bool = False) -> np.ndarray:
    """Variance *across chains* of log var in the stationary regime of keep-real (MLE, share f of M kept).

    Fixed subset: psi'((fM - 1)/2) from the kept subset's own sample variance (the anchor, different in
    every chain) plus the fluctuation around it, :func:`keep_real_fluctuation_variance`; ≈ 3/(fM) for
    small f. Redrawn subset: the anchor is the whole real sample, psi'((M - 1)/2), plus the fluctuation
    with the redraws' noise; ≈ 1/(fM) + 2/M. First-order (linearised) laws: within 10 % of simulation
    from fM = 10 kept points on (tests/test_beyond.py); needs fM >= 5."""
    f = np.asarray(fraction, dtype=float)
    anchor = polygamma(1, (m - 1) / 2) if redraw else polygamma(1, (f * m - 1) / 2)
    return anchor + keep_real_fluctuation_variance(m, f, redraw)


def keep_real_fluctuation_variance(m: int, fraction: float | np.ndarray, redraw: bool = False) -> np.ndarray:
    """Stationary variance of log var *within one chain* around its anchor under keep-real (MLE).

    Linearised, x' = f a + (1-f)(x + eps) with Var eps = 2/((1-f)M) from the synthetic part and a the
    kept subset's log sample variance: fixed (a constant), Var x = 2(1-f)/(f(2-f)M) ≈ 1/(fM); redrawn
    (Var a ≈ 2(1-f)/(fM) around the real sample's own value), Var x = 2(1-f²)/(f(2-f)M) ≈ 1/(fM)."""
    f = np.asarray(fraction, dtype=float)
    return 2 * (1 - f) * ((1 + f) if redraw else 1) / (f * (2 - f) * m)


def variance_collapse_times(m: int, threshold: float, n_runs: int, rng: np.random.Generator,
                            estimator: str = "mle", max_generations: int = 10_000_000) -> np.ndarray:
    """Generations until each chain's variance (replace policy) first falls below ``threshold``.

    Under replace the variance evolves on its own: var_{n+1} = var_n * chi^2_{M-1} / c, with
    var_0 = 1 before the first fit, so only the chi-square factors are drawn. Generation g is
    the (g+1)-th fit, as in :mod:`collapse_utils.gaussian`.
    """
    check_positive_int("sample size M", m, minimum=2)
    check_positive_int("n_runs", n_runs)
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must lie strictly between 0 and 1, got {threshold}")
    c = m - ESTIMATORS[estimator]
    log_var = np.zeros(n_runs)
    times = np.full(n_runs, -1, dtype=np.int64)
    generation = -1
    while (times < 0).any():
        generation += 1
        if generation >= max_generations:
            raise RuntimeError(f"{(times < 0).sum()} chains above {threshold} after {max_generations} generations")
        waiting = times < 0
        log_var[waiting] += np.log(rng.chisquare(m - 1, waiting.sum()) / c)
        times[waiting & (log_var < np.log(threshold))] = generation
    return times


@dataclass(frozen=True)
class BeyondSettings:
    """Settings of notebook 06; the defaults are the default profile (``profiles.BEYOND``)."""

    #: Settings that change no cached number (setting -> why); every other setting keys the results.
    UNKEYED: ClassVar[dict[str, str]] = {}

    sample_sizes: list[int] = field(default_factory=lambda: [10, 30, 100, 300, 1000, 3000, 10000])
    threshold: float = 0.5
    n_runs: int = 2000
    fractions: list[float] = field(default_factory=lambda: [0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0])
    sweep_m: int = 100
    sweep_generations: int = 1000
    sweep_runs: int = 1000

    def __post_init__(self) -> None:
        for m in self.sample_sizes:
            check_positive_int("each sample size M", m, minimum=2)
        if not 0 < self.threshold < 1:
            raise ValueError(f"threshold must lie strictly between 0 and 1, got {self.threshold}")
        for fraction in self.fractions:
            if not 0 <= fraction <= 1:
                raise ValueError(f"every keep-real fraction must lie in [0, 1], got {fraction}")
        check_positive_int("n_runs", self.n_runs)
        check_positive_int("sweep_m", self.sweep_m, minimum=2)
        check_positive_int("sweep_generations", self.sweep_generations)
        check_positive_int("sweep_runs", self.sweep_runs)


@dataclass
class BeyondResults:
    """What notebook 06 plots: collapse times per sample size and the keep-real sweep."""

    collapse_times: pd.DataFrame
    keep_real_sweep: pd.DataFrame


def run_all(run) -> BeyondResults:
    """Notebook 06's results for ``run`` (from :func:`collapse_utils.start_run`), computed or loaded from its cache."""
    return BeyondResults(run.cached("collapse_times", lambda work_dir: collapse_time_table(run.settings, run.rng)),
                         run.cached("keep_real_sweep", lambda work_dir: keep_real_sweep(run.settings, run.rng)))


def collapse_time_table(settings: BeyondSettings, rng_for: Callable[..., np.random.Generator]) -> pd.DataFrame:
    """Per M: quantiles of the time to fall below the threshold, and Wald's approximation."""
    rows = []
    for m in settings.sample_sizes:
        times = variance_collapse_times(m, settings.threshold, settings.n_runs, rng_for("collapse", m))
        low, median, high = np.quantile(times, [0.05, 0.5, 0.95])
        wald = wald_lower_bound(m, settings.threshold)
        rows.append({"m": m, "mean": times.mean(), "sem": times.std(ddof=1) / np.sqrt(len(times)),
                     "median": median, "low": low, "high": high, "wald": wald,
                     "lorden": lorden_upper_bound(m, settings.threshold), "mean_over_wald": times.mean() / wald})
    return pd.DataFrame(rows)


def keep_real_sweep(settings: BeyondSettings, rng_for: Callable[..., np.random.Generator]) -> pd.DataFrame:
    """Final-generation variance and W2 per chain for every keep-real fraction (MLE, M = sweep_m)."""
    frames = []
    for fraction in settings.fractions:
        policy = f"keep_real:{fraction}" if fraction > 0 else "replace"  # keeping none is replace, draw for draw
        frame = simulate(settings.sweep_m, settings.sweep_generations, settings.sweep_runs,
                         policy, rng_for("sweep", fraction), record=[settings.sweep_generations],
                         progress=False)
        frames.append(frame.assign(fraction=fraction))
    return pd.concat(frames, ignore_index=True)
