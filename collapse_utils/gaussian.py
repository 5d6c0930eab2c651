"""Single Gaussian refit on its own samples: exact fast simulator, naive reference, theory.

Each generation estimates a mean and a variance from ``M`` samples of the previous generation's
fit, starting from N(0, 1). Two simulators implement the :class:`~collapse_utils.recursion.Experiment`
protocol, vectorised over chains:

- :class:`ExactGaussian` never draws the ``M`` samples. A dataset is represented by its sufficient
  statistics (count, mean, sum of squared deviations); their joint law is known (mean ~ N(mu, s^2/M),
  M2 / s^2 ~ chi^2(M-1), independent), so a generation costs O(1) per chain whatever ``M``.
  Pooling (``combine``) and random subsets (``subset``) are exact too, which makes
  ``Accumulate`` and ``KeepReal`` exact.
- :class:`NaiveGaussian` draws every sample; it is the reference the exact simulator is tested against.

The closed-form expectations of the paper's Gaussian theorem (Shumailov et al. 2024) are below.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, ClassVar, Sequence

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln

from .progress import progress_bar
from .recursion import check_positive_int, parse_policy, run_generations
from .schedule import log_generations

ESTIMATORS = {"mle": 0, "unbiased": 1}


@dataclass(frozen=True)
class GaussianModel:
    """Fitted mean and variance of every chain."""

    mean: np.ndarray
    var: np.ndarray


@dataclass(frozen=True)
class SuffStats:
    """Sufficient statistics of one dataset per chain: size, mean and sum of squared deviations."""

    count: int
    mean: np.ndarray
    m2: np.ndarray


def _chi2(rng: np.random.Generator, df: int, size: int) -> np.ndarray:
    return rng.chisquare(df, size) if df > 0 else np.zeros(size)


def standard_stats(count: int, n_runs: int, rng: np.random.Generator) -> SuffStats:
    """Statistics of ``count`` N(0, 1) samples per chain, drawn from their exact joint law."""
    return SuffStats(count, rng.standard_normal(n_runs) / np.sqrt(count), _chi2(rng, count - 1, n_runs))


@dataclass(frozen=True)
class _Estimator:
    """Mean and variance estimation shared by both simulators (ddof 0: MLE, 1: unbiased)."""

    estimator: str = "mle"

    def __post_init__(self) -> None:
        if self.estimator not in ESTIMATORS:
            raise ValueError(f"unknown estimator {self.estimator!r}; use one of {', '.join(ESTIMATORS)}")

    @property
    def ddof(self) -> int:
        return ESTIMATORS[self.estimator]

    def metrics(self, model: GaussianModel) -> dict[str, np.ndarray]:
        """Mean, variance and squared Wasserstein-2 distance to N(0, 1)."""
        return {"mean": model.mean, "var": model.var, "w2": wasserstein2_sq(model.mean, model.var)}


@dataclass(frozen=True)
class ExactGaussian(_Estimator):
    """O(1)-per-chain simulator working on sufficient statistics (exact in distribution)."""

    def real_data(self, count: int, n_runs: int, rng: np.random.Generator) -> SuffStats:
        return standard_stats(count, n_runs, rng)

    def fit(self, data: SuffStats, previous: GaussianModel | None, rng: np.random.Generator) -> GaussianModel:
        return GaussianModel(data.mean.copy(), data.m2 / (data.count - self.ddof))

    def sample(self, model: GaussianModel, n: int, rng: np.random.Generator) -> SuffStats:
        z = standard_stats(n, len(model.mean), rng)
        sd = np.sqrt(model.var)
        return SuffStats(n, model.mean + sd * z.mean, model.var * z.m2)

    def combine(self, parts: Sequence[SuffStats]) -> SuffStats:
        pooled = parts[0]
        for part in parts[1:]:
            count = pooled.count + part.count
            delta = part.mean - pooled.mean
            mean = pooled.mean + delta * part.count / count
            m2 = pooled.m2 + part.m2 + delta**2 * pooled.count * part.count / count
            pooled = SuffStats(count, mean, m2)
        return pooled

    def subset(self, data: SuffStats, n: int, rng: np.random.Generator) -> SuffStats:
        """Statistics of a uniformly random ``n``-point subset, given the whole dataset's statistics.

        Given its mean and M2, a Gaussian sample's residual vector is uniform on a sphere of
        radius sqrt(M2) in the sum-zero hyperplane. A normalised Gaussian residual vector has that
        law, and a subset's statistics depend on it only through the statistics of the subset
        and of its complement, which are drawn exactly.
        """
        if not 1 <= n <= data.count:
            raise ValueError(f"subset size must lie in [1, {data.count}], got {n}")
        if n == data.count:
            return data
        chains = len(data.mean)
        inside, outside = standard_stats(n, chains, rng), standard_stats(data.count - n, chains, rng)
        grand = (n * inside.mean + (data.count - n) * outside.mean) / data.count
        radius_sq = inside.m2 + outside.m2 + (inside.mean - outside.mean) ** 2 * n * (data.count - n) / data.count
        scale = np.sqrt(data.m2 / radius_sq)
        return SuffStats(n, data.mean + scale * (inside.mean - grand), scale**2 * inside.m2)


@dataclass(frozen=True)
class NaiveGaussian(_Estimator):
    """Reference simulator that draws all samples: data arrays of shape (chains, n)."""

    def real_data(self, count: int, n_runs: int, rng: np.random.Generator) -> np.ndarray:
        return rng.standard_normal((n_runs, count))

    def fit(self, data: np.ndarray, previous: GaussianModel | None, rng: np.random.Generator) -> GaussianModel:
        return GaussianModel(data.mean(axis=1), data.var(axis=1, ddof=self.ddof))

    def sample(self, model: GaussianModel, n: int, rng: np.random.Generator) -> np.ndarray:
        noise = rng.standard_normal((len(model.mean), n))
        return model.mean[:, None] + np.sqrt(model.var)[:, None] * noise

    def combine(self, parts: Sequence[np.ndarray]) -> np.ndarray:
        return np.concatenate(parts, axis=1)

    def subset(self, data: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
        order = np.argsort(rng.random(data.shape), axis=1)[:, :n]
        return np.take_along_axis(data, order, axis=1)


SIMULATORS = {"exact": ExactGaussian, "naive": NaiveGaussian}


def wasserstein2_sq(mean: np.ndarray, var: np.ndarray) -> np.ndarray:
    """Squared Wasserstein-2 distance between N(mean, var) and N(0, 1)."""
    return mean**2 + (np.sqrt(var) - 1.0) ** 2


@dataclass(frozen=True)
class GaussianSettings:
    """Settings of notebook 02: sample sizes M, generations, chains, data policies, simulator. The defaults are
    the default profile (``profiles.GAUSSIAN``)."""

    #: Settings that change no cached number (setting -> why); every other setting keys the results.
    UNKEYED: ClassVar[dict[str, str]] = {}

    sample_sizes: list[int] = field(default_factory=lambda: [100, 500, 1000, 10000])
    n_generations: int = 1000
    n_runs: int = 1000
    policies: list[str] = field(default_factory=lambda: ["replace", "keep_real:0.1", "accumulate"])
    estimators: list[str] = field(default_factory=lambda: ["mle", "unbiased"])
    method: str = "exact"

    def __post_init__(self) -> None:
        if not self.sample_sizes:
            raise ValueError("sample_sizes must list at least one sample size M")
        for m in self.sample_sizes:
            check_positive_int("each sample size M", m, minimum=2)
        check_positive_int("n_generations", self.n_generations)
        check_positive_int("n_runs", self.n_runs)
        for policy in self.policies:
            parse_policy(policy)
        for estimator in self.estimators:
            _Estimator(estimator)
        if self.method not in SIMULATORS:
            raise ValueError(f"unknown method {self.method!r}; use one of {', '.join(SIMULATORS)}")


def simulate(m: int, n_generations: int, n_runs: int, policy: str, rng: np.random.Generator,
             estimator: str = "mle", method: str = "exact", record: Sequence[int] | None = None,
             **loop_options) -> pd.DataFrame:
    """Chains of recursively refitted Gaussians started from ``M`` real N(0, 1) samples."""
    check_positive_int("sample size M", m, minimum=2)
    check_positive_int("n_runs", n_runs)
    if method not in SIMULATORS:
        raise ValueError(f"unknown method {method!r}; use one of {', '.join(SIMULATORS)}")
    exp = SIMULATORS[method](estimator)
    real = exp.real_data(m, n_runs, rng)
    frame = run_generations(exp, real, n_generations, m, parse_policy(policy), rng, record=record,
                            description=f"M={m} {policy} {estimator}", **loop_options)
    frame.insert(0, "m", m)
    frame.insert(1, "estimator", estimator)
    return frame


def run_all(run) -> pd.DataFrame:
    """Notebook 02's runs for ``run`` (from :func:`collapse_utils.start_run`), computed or loaded from its cache:
    one row per (setting, run, recorded generation), see :func:`simulate_settings`."""
    return run.cached("chains", lambda work_dir: simulate_settings(run.settings, run.rng, work_dir))


def simulate_settings(settings: GaussianSettings, rng_for: Callable[..., np.random.Generator],
                      work_dir: Path, progress: bool = True) -> pd.DataFrame:
    """Every (M, policy, estimator) of ``settings``, each from its own seeded stream and checkpoint.

    ``rng_for(*keys)`` gives the Generator of one configuration (``Run.rng``); checkpoints in
    ``work_dir`` let an interrupted run resume, finished configurations included.
    """
    record = log_generations(settings.n_generations, 150)
    configs = list(itertools.product(settings.sample_sizes, settings.policies, settings.estimators))
    frames = []
    for m, policy, estimator in progress_bar(iterable=configs, desc="M x policy x estimator", enabled=progress):
        frames.append(simulate(m, settings.n_generations, settings.n_runs, policy, rng_for(m, policy, estimator),
                               estimator=estimator, method=settings.method, record=record, progress=False,
                               checkpoint=work_dir / f"m{m}_{policy.replace(':', '')}_{estimator}.pkl"))
    return pd.concat(frames, ignore_index=True)


# ---------------------------------------------------------------- theory (replace policy)
# Generation g has been estimated g + 1 times (generation 0 is the fit on real data), so the
# closed forms below, stated for n estimation steps, are evaluated at n = g + 1.

def _c(m: int, estimator: str) -> int:
    return m - ESTIMATORS[estimator]


def _steps(generations: np.ndarray) -> np.ndarray:
    return np.asarray(generations, dtype=float) + 1


def expected_var(generations: np.ndarray, m: int, estimator: str) -> np.ndarray:
    """E[var] after n fits: ((M-1)/M)^n for the MLE, 1 for the unbiased estimator."""
    return ((m - 1) / _c(m, estimator)) ** _steps(generations)


def expected_log_var(generations: np.ndarray, m: int, estimator: str) -> np.ndarray:
    """E[log var_n] = n (psi((M-1)/2) + ln(2/c)), c = M (MLE) or M-1 (unbiased): negative, so chains collapse."""
    return _steps(generations) * (digamma((m - 1) / 2) + np.log(2 / _c(m, estimator)))


def expected_mean_sq(generations: np.ndarray, m: int, estimator: str) -> np.ndarray:
    """E[mean_n^2] = sum_{k<n} E[var_k] / M: n/M (unbiased), 1 - ((M-1)/M)^n (MLE)."""
    n = _steps(generations)
    ratio = (m - 1) / _c(m, estimator)
    if ratio == 1.0:
        return n / m
    return (1 - ratio**n) / (1 - ratio) / m


def expected_sd(generations: np.ndarray, m: int, estimator: str) -> np.ndarray:
    """E[sd_n] = (sqrt(2/c) Gamma(M/2) / Gamma((M-1)/2))^n, a product of independent chi factors."""
    log_factor = 0.5 * np.log(2 / _c(m, estimator)) + gammaln(m / 2) - gammaln((m - 1) / 2)
    return np.exp(_steps(generations) * log_factor)


def expected_w2(generations: np.ndarray, m: int, estimator: str) -> np.ndarray:
    """E[W2^2(N(0,1), N(mean_n, var_n))] = E[mean^2] + E[var] - 2 E[sd] + 1."""
    return (expected_mean_sq(generations, m, estimator) + expected_var(generations, m, estimator)
            - 2 * expected_sd(generations, m, estimator) + 1)
