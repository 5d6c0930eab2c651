"""Gaussian-mixture collapse (the paper's Supplementary GMM experiment), batched over chains.

Real data are points from a 2-D standard normal; every generation fits a full-covariance
Gaussian mixture by EM and the next generation refits on samples of that fit (Shumailov et al.,
Nature 631, 755-759, 2024, Methods). The distance of generation n to generation 0 is the squared
L2 distance between mixture densities, which has a closed form (:func:`l2_distance_sq`).

As the authors did, every generation is a fresh fit from scikit-learn's default start (k-means,
:func:`kmeans_init`, batched over chains); starting EM from the previous generation's fit (a warm
start) is kept as an ablation. Speed comes from :func:`em_fit`, an EM that fits all chains at once
with array operations. It follows scikit-learn's ``GaussianMixture`` step by step (same M-step,
``reg_covar`` on the diagonal, stop when the mean log-likelihood changes by less than ``tol``), so
with the same starting point the two give the same fit; :func:`fit_sklearn` is that reference, used
by the tests and ``benchmarks/gmm_em.py``.

Every M-step reproduces the data's sample covariance (divided by N, plus ``reg_covar``) as the
mixture's total covariance, so the total covariance follows a Wishart recursion;
:func:`log_det_theory` is its expected log-determinant.
The trick: the log-density of a Gaussian is linear in the features ``[1, x, x_i x_j]``, so one
E-step is one batched matrix product plus a log-sum-exp, and one M-step is another product.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, NamedTuple, Sequence

import numpy as np
import pandas as pd
from scipy.special import digamma, polygamma
from threadpoolctl import threadpool_limits

from .recursion import Accumulate, KeepReal, Replace, check_positive_int, parse_policy, run_generations
from .schedule import log_generations

if TYPE_CHECKING:
    from .run import Run

_EPS = 10 * np.finfo(np.float64).eps  # added to component masses, as scikit-learn does


@dataclass(frozen=True)
class Mixture:
    """One Gaussian mixture per chain: weights (C, K), means (C, K, d), covariances (C, K, d, d)."""

    weights: np.ndarray
    means: np.ndarray
    covs: np.ndarray

    @property
    def n_runs(self) -> int:
        return self.weights.shape[0]

    def take(self, chains: np.ndarray | Sequence[int]) -> "Mixture":
        """The mixtures of the given chains."""
        return Mixture(self.weights[chains], self.means[chains], self.covs[chains])

    def shifted(self, offset: np.ndarray) -> "Mixture":
        """Every chain's mixture moved by ``offset`` (shape (C, d))."""
        return Mixture(self.weights, self.means + offset[:, None, :], self.covs)


# --- closed-form L2 distance -------------------------------------------------------------------

def gaussian_overlap(p: Mixture, q: Mixture) -> np.ndarray:
    """``∫ p(x) q(x) dx`` per chain: ``Σ_ij a_i b_j N(μ_i − ν_j; 0, Σ_i + Γ_j)``."""
    cov = p.covs[:, :, None] + q.covs[:, None, :]  # (C, K, L, d, d)
    diff = p.means[:, :, None] - q.means[:, None, :]  # (C, K, L, d)
    _, logdet = np.linalg.slogdet(cov)
    maha = np.einsum("...i,...i->...", diff, np.linalg.solve(cov, diff[..., None])[..., 0])
    d = diff.shape[-1]
    density = np.exp(-0.5 * (maha + logdet + d * np.log(2 * np.pi)))
    return np.einsum("ck,cl,ckl->c", p.weights, q.weights, density)


def l2_distance_sq(p: Mixture, q: Mixture) -> np.ndarray:
    """Squared L2 distance ``∫ (p − q)²`` between the mixture densities, per chain (closed form)."""
    value = gaussian_overlap(p, p) + gaussian_overlap(q, q) - 2 * gaussian_overlap(p, q)
    return np.maximum(value, 0.0)  # rounding can leave -1e-17 for identical mixtures


def total_covariance(mix: Mixture) -> np.ndarray:
    """Covariance of each chain's whole mixture, ``Σ_k w_k (Σ_k + μ_k μ_kᵀ) − μ̄ μ̄ᵀ``, shape (C, d, d)."""
    mean = np.einsum("ck,cki->ci", mix.weights, mix.means)
    second = np.einsum("ck,ckij->cij", mix.weights, mix.covs + mix.means[..., :, None] * mix.means[..., None, :])
    return second - mean[:, :, None] * mean[:, None, :]


def log_det_step(n: int | np.ndarray, d: int = 2) -> np.ndarray:
    """Expected change of log det of the covariance per generation fitted on ``n`` Gaussian points.

    The fit's covariance is the sample covariance S = W / n with W ~ Wishart_d(n − 1, Σ); by Bartlett's
    decomposition log det W − log det Σ is a sum of independent log χ²_{n−i}, i = 1..d, so
    E log det S − log det Σ = Σ_i [ψ((n − i)/2) + ln(2/n)] (for d = 2: ψ((n−1)/2) + ψ((n−2)/2) + 2 ln(2/n)).
    """
    n = np.asarray(n, dtype=float)
    return sum(digamma((n - i) / 2) + np.log(2 / n) for i in range(1, d + 1))


def log_det_variance_step(n: int | np.ndarray, d: int = 2) -> np.ndarray:
    """Variance of that change per generation: Σ_i ψ′((n − i)/2) (the log χ² terms are independent)."""
    n = np.asarray(n, dtype=float)
    return sum(polygamma(1, (n - i) / 2) for i in range(1, d + 1))


def mardia_kurtosis(mix: Mixture) -> np.ndarray:
    """Mardia's kurtosis E[(zᵀz)²] of each chain's mixture, z its whitened point (Gaussian: d(d+2)).

    For component k with offset a = μ_k − μ̄ and P the inverse total covariance, the quadratic form
    (a + y)ᵀP(a + y), y ~ N(0, Σ_k), has second moment (aᵀPa + tr PΣ_k)² + 2 tr (PΣ_k)² + 4 aᵀPΣ_kPa.
    """
    precision = np.linalg.inv(total_covariance(mix))
    mean = np.einsum("ck,cki->ci", mix.weights, mix.means)
    offset = mix.means - mean[:, None, :]
    ps = precision[:, None] @ mix.covs  # (C, K, d, d)
    c = np.einsum("cki,cij,ckj->ck", offset, precision, offset)
    t1 = np.einsum("ckii->ck", ps)
    t2 = np.einsum("ckij,ckji->ck", ps, ps)
    s = np.einsum("cki,ckij,cjl,ckl->ck", offset, ps, precision, offset)
    return np.einsum("ck,ck->c", mix.weights, (c + t1) ** 2 + 2 * t2 + 4 * s)


def log_det_step_with_kurtosis(n: int, kurtosis: np.ndarray, d: int = 2) -> np.ndarray:
    """Expected change of log det per generation when the N points come from a distribution of Mardia
    kurtosis β₂ rather than a Gaussian: to first order in 1/N, E log det S − log det Σ = −[d + (β₂ − d)/2]/N
    (a delta-method expansion; for β₂ = d(d+2) it is the Wishart value), so the excess kurtosis adds
    −(β₂ − d(d+2))/(2N) to :func:`log_det_step`."""
    return log_det_step(n, d) - (np.asarray(kurtosis) - d * (d + 2)) / (2 * n)


def log_det_theory(generations: np.ndarray, n_samples: int, n_real: int, d: int = 2) -> np.ndarray:
    """E log det Σₙ of the total covariance at each generation when the truth is N(0, I_d): generation 0
    is fitted on ``n_real`` real points, each later one on ``n_samples`` samples of the one before
    (Replace). Valid while ``reg_covar`` is negligible against the covariance, and exact for Gaussian
    data; a fitted mixture is close to Gaussian here, so it holds to within a few per cent."""
    generations = np.asarray(generations, dtype=float)
    return log_det_step(n_real, d) + generations * log_det_step(n_samples, d)


# --- sampling and likelihood ---------------------------------------------------------------------

def sample_mixture(mix: Mixture, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points of every chain's mixture: points (C, n, d) and their components (C, n)."""
    check_positive_int("n", n)
    cumulative = np.cumsum(mix.weights, axis=1)
    labels = (rng.random((mix.n_runs, n))[..., None] >= cumulative[:, None, :-1]).sum(-1)
    noise = rng.standard_normal((mix.n_runs, n, mix.means.shape[-1]))
    chol = np.linalg.cholesky(mix.covs)  # x = mean + L z, one lower-triangular L per component
    points = np.take_along_axis(mix.means, labels[..., None], axis=1)
    for i, j in zip(*np.tril_indices(mix.means.shape[-1])):
        points[..., i] += np.take_along_axis(chol[..., i, j], labels, axis=1) * noise[..., j]
    return points, labels


def log_likelihood(mix: Mixture, x: np.ndarray) -> np.ndarray:
    """Mean log-likelihood per point of ``x`` (C, n, d) under each chain's mixture, shape (C,)."""
    shift = x.mean(axis=1)
    features = _features(x - shift[:, None, :])
    return _e_step(features, _coefficients(mix.shifted(-shift)))[0]


# --- batched EM ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class EMResult:
    """A batched EM fit: the mixtures, the last mean log-likelihood (scikit-learn's
    ``lower_bound_``), the iterations used and whether ``tol`` was reached, per chain."""

    mixture: Mixture
    lower_bound: np.ndarray
    n_iter: np.ndarray
    converged: np.ndarray


def _features(x: np.ndarray) -> np.ndarray:
    """``[1, x_1..x_d, x_i x_j (i <= j)]`` per point, transposed: shape (C, m, n)."""
    rows, cols = np.triu_indices(x.shape[-1])
    xt = x.transpose(0, 2, 1)
    return np.concatenate([np.ones_like(xt[:, :1]), xt, xt[:, rows] * xt[:, cols]], axis=1)


def _coefficients(mix: Mixture) -> np.ndarray:
    """Weights ``W`` (C, K, m) with ``log w_k + log N(x; μ_k, Σ_k) = W_k · features(x)``."""
    d = mix.means.shape[-1]
    rows, cols = np.triu_indices(d)
    precision = np.linalg.inv(mix.covs)
    _, logdet = np.linalg.slogdet(mix.covs)
    linear = np.einsum("ckij,ckj->cki", precision, mix.means)
    const = (np.log(mix.weights) - 0.5 * (d * np.log(2 * np.pi) + logdet)
             - 0.5 * np.einsum("cki,cki->ck", linear, mix.means))
    quad = -precision[..., rows, cols] * np.where(rows == cols, 0.5, 1.0)
    return np.concatenate([const[..., None], linear, quad], axis=-1)


def _e_step(features: np.ndarray, coef: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean log-likelihood (C,) and responsibilities (C, K, n)."""
    resp = coef @ features  # the log-joint densities, turned into responsibilities in place
    top = resp.max(axis=1, keepdims=True)
    resp -= top
    np.exp(resp, out=resp)
    total = resp.sum(axis=1, keepdims=True)
    resp /= total
    return (top + np.log(total))[:, 0].mean(axis=1), resp


def _m_step(resp: np.ndarray, features: np.ndarray, d: int, reg_covar: float) -> Mixture:
    """Weights, means and covariances from responsibilities, as scikit-learn computes them."""
    stats = resp @ features.transpose(0, 2, 1)  # (C, K, m): sums of r, r x, r x_i x_j
    mass = stats[..., 0]
    nk = mass + _EPS
    first = stats[..., 1:1 + d]
    means = first / nk[..., None]
    rows, cols = np.triu_indices(d)
    second = np.zeros(mass.shape + (d, d))
    second[..., rows, cols] = stats[..., 1 + d:]
    second[..., cols, rows] = stats[..., 1 + d:]
    # Σ r (x − m)(x − m)ᵀ / nk with m = first / nk, expanded in the sums
    covs = second / nk[..., None, None] - (1 + _EPS / nk)[..., None, None] * means[..., :, None] * means[..., None, :]
    covs += reg_covar * np.eye(d)
    return Mixture(nk / nk.sum(axis=1, keepdims=True), means, covs)


def em_fit(x: np.ndarray, init: Mixture, tol: float = 1e-5, max_iter: int = 2000,
           reg_covar: float = 1e-6) -> EMResult:
    """Fit every chain of ``x`` (C, n, d) by EM, starting from ``init``; chains stop one by one.

    Each iteration is an E-step (whose mean log-likelihood is the criterion) then an M-step;
    a chain stops when that log-likelihood changes by less than ``tol``, as in scikit-learn.
    The data are centred per chain first, so that the quadratic features stay well scaled.
    """
    shift = x.mean(axis=1)
    features = _features(x - shift[:, None, :])
    current = init.shifted(-shift)
    final = Mixture(*(np.empty_like(a) for a in (current.weights, current.means, current.covs)))
    lower_bound = np.full(len(x), -np.inf)
    n_iter = np.zeros(len(x), dtype=int)
    converged = np.zeros(len(x), dtype=bool)
    active = np.arange(len(x))  # chains still iterating; `current`, `features`, `bound` hold only these
    bound = lower_bound.copy()
    for iteration in range(1, max_iter + 1):
        previous = bound
        bound, resp = _e_step(features, _coefficients(current))
        current = _m_step(resp, features, x.shape[-1], reg_covar)
        done = np.abs(bound - previous) < tol
        if iteration == max_iter:
            _store(final, current, active, ~done)
            lower_bound[active], n_iter[active] = bound, iteration
        if done.any():
            _store(final, current, active, done)
            lower_bound[active[done]], n_iter[active[done]], converged[active[done]] = bound[done], iteration, True
            keep = ~done
            active, features, current, bound = active[keep], features[keep], current.take(keep), bound[keep]
            if not len(active):
                break
    return EMResult(final.shifted(shift), lower_bound, n_iter, converged)


def _store(target: Mixture, source: Mixture, chains: np.ndarray, which: np.ndarray) -> None:
    """Copy the mixtures ``source[which]`` into ``target`` at ``chains[which]``."""
    for out, values in zip((target.weights, target.means, target.covs), (source.weights, source.means, source.covs)):
        out[chains[which]] = values[which]


def _squared_distances(x: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Squared distances of every point of ``x`` (C, n, d) to every centre (C, k, d): shape (C, k, n)."""
    return ((x[:, None, :, :] - centers[:, :, None, :]) ** 2).sum(-1)


def kmeans_plusplus(x: np.ndarray, n_clusters: int, rng: np.random.Generator) -> np.ndarray:
    """Greedy k-means++ seeding per chain, as scikit-learn's ``_kmeans_plusplus``: the first centre is a
    uniform random point; each next one is the best (lowest potential) of ``2 + ⌊ln k⌋`` candidates
    drawn with probability proportional to the squared distance to the nearest centre. Shape (C, k, d)."""
    n_runs, n, _ = x.shape
    chains = np.arange(n_runs)
    trials = 2 + int(np.log(n_clusters))
    centers = np.empty((n_runs, n_clusters, x.shape[-1]))
    centers[:, 0] = x[chains, rng.integers(n, size=n_runs)]
    closest = _squared_distances(x, centers[:, :1])[:, 0]  # (C, n)
    for c in range(1, n_clusters):
        cumulative = np.cumsum(closest, axis=1)
        targets = rng.random((n_runs, trials)) * cumulative[:, -1:]
        ids = np.minimum((cumulative[:, None, :] < targets[:, :, None]).sum(-1), n - 1)  # searchsorted per chain
        candidates = x[chains[:, None], ids]  # (C, trials, d)
        nearest = np.minimum(closest[:, None], _squared_distances(x, candidates))  # (C, trials, n)
        best = nearest.sum(-1).argmin(axis=1)
        centers[:, c] = candidates[chains, best]
        closest = nearest[chains, best]
    return centers


def kmeans_labels(x: np.ndarray, n_clusters: int, rng: np.random.Generator, max_iter: int = 300,
                  tol: float = 1e-4) -> np.ndarray:
    """One k-means run per chain (scikit-learn's ``KMeans(n_init=1)``: k-means++ seeding, then Lloyd
    iterations until the labels stop changing or the centres move by less than ``tol`` times the mean
    per-coordinate variance), all chains at once; chains stop one by one. Returns the labels (C, n)."""
    x = x - x.mean(axis=1, keepdims=True)
    threshold = tol * x.var(axis=1).mean(axis=1)
    centers = kmeans_plusplus(x, n_clusters, rng)
    final = centers.copy()
    active = np.arange(len(x))  # chains still iterating; `points`, `centers`, `labels`, `threshold` hold only these
    points, xt, labels = x, x.transpose(0, 2, 1), np.full(x.shape[:2], -1)
    clusters = np.arange(n_clusters)[None, :, None]
    for _ in range(max_iter):
        new_labels = _nearest(xt, centers)
        onehot = (new_labels[:, None, :] == clusters).astype(float)
        counts = onehot.sum(-1)
        means = np.where(counts[..., None] > 0, (onehot @ points) / np.maximum(counts, 1)[..., None], centers)
        stable = (new_labels == labels).all(axis=1)  # labels unchanged: the centres are final
        done = stable | (((means - centers) ** 2).sum((1, 2)) <= threshold)
        centers = np.where(stable[:, None, None], centers, means)
        final[active[done]] = centers[done]
        keep = ~done
        active, points, xt, labels = active[keep], points[keep], xt[keep], new_labels[keep]
        centers, threshold = centers[keep], threshold[keep]
        if not len(active):
            break
    final[active] = centers
    return _nearest(x.transpose(0, 2, 1), final)


def _nearest(xt: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Index of the nearest centre (C, k, d) of every point of ``xt`` (C, d, n): argmax of c·x − |c|²/2."""
    return (centers @ xt - 0.5 * (centers ** 2).sum(-1)[..., None]).argmax(axis=1)


def kmeans_init(x: np.ndarray, n_components: int, rng: np.random.Generator, reg_covar: float = 1e-6) -> Mixture:
    """scikit-learn's default start, batched: k-means labels per chain, then an M-step on them."""
    labels = kmeans_labels(x, n_components, rng)
    resp = (labels[:, None, :] == np.arange(n_components)[None, :, None]).astype(float)
    shift = x.mean(axis=1)
    return _m_step(resp, _features(x - shift[:, None, :]), x.shape[-1], reg_covar).shifted(shift)


def fit_sklearn(x: np.ndarray, n_components: int = 2, tol: float = 1e-5, max_iter: int = 2000,
                reg_covar: float = 1e-6, init: Mixture | None = None,
                seeds: Sequence[int] | None = None) -> tuple[Mixture, np.ndarray]:
    """The reference: one scikit-learn ``GaussianMixture`` fit per chain, in a loop.

    With ``init`` the fit starts from those mixtures; otherwise from k-means with ``seeds``
    (one per chain). Returns the mixtures and the number of EM iterations per chain.
    """
    from sklearn.mixture import GaussianMixture

    fits = []
    with threadpool_limits(1):  # single-threaded, like em_fit; OpenMP threads only contend here
        for chain, points in enumerate(x):
            start = {} if init is None else dict(
                weights_init=init.weights[chain], means_init=init.means[chain],
                precisions_init=np.linalg.inv(init.covs[chain]))
            model = GaussianMixture(n_components, covariance_type="full", tol=tol, max_iter=max_iter,
                                    reg_covar=reg_covar, random_state=None if seeds is None else int(seeds[chain]),
                                    **start).fit(points)
            fits.append(model)
    mixture = Mixture(np.stack([m.weights_ for m in fits]), np.stack([m.means_ for m in fits]),
                      np.stack([m.covariances_ for m in fits]))
    return mixture, np.array([m.n_iter_ for m in fits])


# --- the experiment for run_generations ---------------------------------------------------------

@dataclass(frozen=True)
class GMMModel:
    """Generation n's mixtures, the generation-0 mixtures they are compared with, and EM diagnostics."""

    mixture: Mixture
    origin: Mixture
    fit: EMResult


@dataclass
class GMMExperiment:
    """Mixture fitting for :func:`~collapse_utils.recursion.run_generations`; data are (C, n, d).

    Every fit starts from scikit-learn's default k-means initialisation unless ``warm_start`` is
    set, in which case a later generation's EM starts from ``previous`` (the model that drew its
    data). Generation 0's mixture is carried along as ``origin`` for the distance metrics.
    """

    n_components: int = 2
    tol: float = 1e-5
    max_iter: int = 2000
    reg_covar: float = 1e-6
    warm_start: bool = False

    def fit(self, data: np.ndarray, previous: GMMModel | None, rng: np.random.Generator) -> GMMModel:
        warm = previous is not None and self.warm_start
        start = previous.mixture if warm else kmeans_init(data, self.n_components, rng, self.reg_covar)
        result = em_fit(data, start, self.tol, self.max_iter, self.reg_covar)
        return GMMModel(result.mixture, previous.origin if previous is not None else result.mixture, result)

    def sample(self, model: GMMModel, n: int, rng: np.random.Generator) -> np.ndarray:
        return sample_mixture(model.mixture, n, rng)[0]

    def metrics(self, model: GMMModel) -> dict[str, np.ndarray]:
        mix = model.mixture
        d = mix.means.shape[-1]
        spread = np.sqrt(np.einsum("ckii->ck", mix.covs) / d)  # per component
        minor = mix.weights.argmin(axis=1)
        total = total_covariance(mix)
        return {
            "l2_sq": l2_distance_sq(mix, model.origin),
            "spread": (mix.weights * spread).sum(axis=1),
            "total_spread": np.sqrt(np.einsum("cii->c", total) / d),
            "log_det_total": np.linalg.slogdet(total)[1],
            "minor_weight": mix.weights.min(axis=1),
            "minor_spread": spread[np.arange(len(minor)), minor],
            "log_likelihood": model.fit.lower_bound,
            "n_iter": model.fit.n_iter,
            "converged": model.fit.converged,
            **mixture_columns(mix),
        }

    def subset(self, data: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
        order = np.argsort(rng.random(data.shape[:2]), axis=1)[:, :n]
        return np.take_along_axis(data, order[..., None], axis=1)

    def combine(self, parts: Sequence[np.ndarray]) -> np.ndarray:
        return np.concatenate(list(parts), axis=1)


def mixture_columns(mix: Mixture) -> dict[str, np.ndarray]:
    """The mixture parameters as flat columns (``weight_k``, ``mean_k_i``, ``cov_k_ij``), per chain."""
    columns = {}
    n_components, d = mix.means.shape[1:]
    for k in range(n_components):
        columns[f"weight_{k}"] = mix.weights[:, k]
        for i in range(d):
            columns[f"mean_{k}_{i}"] = mix.means[:, k, i]
        for i, j in zip(*np.triu_indices(d)):
            columns[f"cov_{k}_{i}{j}"] = mix.covs[:, k, i, j]
    return columns


def mixture_from_columns(rows: pd.DataFrame) -> Mixture:
    """Inverse of :func:`mixture_columns`: one mixture per row of a frame of recorded metrics."""
    n_components = sum(1 for c in rows.columns if c.startswith("weight_"))
    d = sum(1 for c in rows.columns if c.startswith("mean_0_"))
    weights = np.stack([rows[f"weight_{k}"] for k in range(n_components)], axis=1)
    means = np.stack([[rows[f"mean_{k}_{i}"] for i in range(d)] for k in range(n_components)]).transpose(2, 0, 1)
    covs = np.zeros((len(rows), n_components, d, d))
    for k in range(n_components):
        for i, j in zip(*np.triu_indices(d)):
            covs[:, k, i, j] = covs[:, k, j, i] = rows[f"cov_{k}_{i}{j}"]
    return Mixture(weights, means, covs)


# --- settings and the notebook's runs -----------------------------------------------------------

class Condition(NamedTuple):
    """One run of all chains: sample size, data policy, generations, EM start and ``reg_covar``."""

    n_samples: int
    policy: str
    generations: int
    warm_start: bool
    reg_covar: float


@dataclass(frozen=True)
class GMMSettings:
    """Settings of notebook 03_gmm (validated on creation); the defaults are the default profile (``profiles.GMM``)."""

    #: Settings that change no cached number (setting -> why); every other setting keys the results.
    UNKEYED: ClassVar[dict[str, str]] = {}

    sample_sizes: list[int] = field(default_factory=lambda: [500, 1000, 10000])  # N of the Replace chains, one line per N
    n_generations: int = 2050  # generations after generation 0 (the paper: 2050)
    n_runs: int = 16  # independent chains per condition (bands over chains)
    n_real: int = 1000  # real points per chain, from a 2-D standard normal
    n_components: int = 2
    policies: list[str] = field(default_factory=lambda: ["keep_real:0.1", "accumulate"])  # beside replace
    focus_sample_size: int = 1000  # N of the snapshots and of the policy comparison
    accumulate_generations: int = 100  # Accumulate's pool grows by N each generation: fewer generations
    shown_generations: list[int] = field(default_factory=lambda: [0, 50, 100, 150, 200, 350, 2000])
    tol: float = 1e-5
    max_iter: int = 2000
    reg_covar: float = 1e-6
    warm_start: bool = False  # False: a fresh k-means start every generation (the authors' procedure)
    warm_start_ablation: bool = True  # also run Replace and keep_real with the other start, side by side
    reg_covar_sweep: list[float] = field(default_factory=lambda: [1e-9])  # other reg_covar values, Replace only
    reg_covar_sweep_sizes: list[int] = field(default_factory=lambda: [500])  # the N of that sweep
    n_threads: int = 1  # BLAS/OpenMP threads

    def __post_init__(self) -> None:
        if not self.sample_sizes:
            raise ValueError("sample_sizes must list at least one sample size N, e.g. [500, 1000]")
        for n in self.sample_sizes:
            check_positive_int("each of sample_sizes", n, minimum=2)
        for name in ("n_generations", "n_runs", "n_components", "max_iter", "n_threads"):
            check_positive_int(name, getattr(self, name))
        check_positive_int("n_real", self.n_real, minimum=max(2, self.n_components))
        check_positive_int("accumulate_generations", self.accumulate_generations)
        if self.accumulate_generations > self.n_generations:
            raise ValueError(f"accumulate_generations ({self.accumulate_generations}) must not exceed "
                             f"n_generations ({self.n_generations})")
        if self.focus_sample_size not in self.sample_sizes:
            raise ValueError(f"focus_sample_size ({self.focus_sample_size}) must be one of sample_sizes "
                             f"{self.sample_sizes}: the policies are compared with its Replace chains")
        for text in self.policies:
            policy = parse_policy(text)
            if isinstance(policy, Replace):
                raise ValueError("policies lists the policies compared with replace; do not list 'replace' itself")
            if isinstance(policy, KeepReal) and policy.n_real(self.focus_sample_size) > self.n_real:
                raise ValueError(f"{text} at N={self.focus_sample_size} keeps {policy.n_real(self.focus_sample_size)} "
                                 f"real points but n_real is {self.n_real}; raise n_real or lower the fraction")
        late = [g for g in self.shown_generations if not 0 <= g <= self.n_generations]
        if late or not self.shown_generations:
            raise ValueError(f"shown_generations must be a non-empty list of generations in "
                             f"[0, n_generations={self.n_generations}], got {self.shown_generations}")
        if not (self.tol > 0 and self.reg_covar > 0 and all(r > 0 for r in self.reg_covar_sweep)):
            raise ValueError(f"tol, reg_covar and every reg_covar_sweep value must be > 0 (reg_covar keeps "
                             f"covariances positive definite), got tol={self.tol}, reg_covar={self.reg_covar}, "
                             f"reg_covar_sweep={self.reg_covar_sweep}")
        if not set(self.reg_covar_sweep_sizes) <= set(self.sample_sizes):
            raise ValueError(f"reg_covar_sweep_sizes {self.reg_covar_sweep_sizes} must be among sample_sizes "
                             f"{self.sample_sizes}: the sweep is compared with their Replace chains")

    def experiment(self, warm_start: bool | None = None, reg_covar: float | None = None) -> GMMExperiment:
        """The experiment with these settings (``warm_start`` and ``reg_covar`` overridable per condition)."""
        return GMMExperiment(self.n_components, self.tol, self.max_iter,
                             self.reg_covar if reg_covar is None else reg_covar,
                             self.warm_start if warm_start is None else warm_start)

    def conditions(self) -> list[Condition]:
        """Every run: Replace per N, the other policies at the focus N, then the ablation runs with the
        other EM start (Replace per N and keep_real), then the ``reg_covar`` sweep (Replace)."""
        def main(n: int, text: str, warm: bool) -> Condition:
            generations = self.accumulate_generations if isinstance(parse_policy(text), Accumulate) else self.n_generations
            return Condition(n, text, generations, warm, self.reg_covar)

        runs = [main(n, "replace", self.warm_start) for n in self.sample_sizes]
        runs += [main(self.focus_sample_size, text, self.warm_start) for text in self.policies]
        if self.warm_start_ablation:
            runs += [main(n, "replace", not self.warm_start) for n in self.sample_sizes]
            runs += [main(self.focus_sample_size, text, not self.warm_start) for text in self.policies
                     if isinstance(parse_policy(text), KeepReal)]
        runs += [Condition(n, "replace", self.n_generations, self.warm_start, reg)
                 for reg in self.reg_covar_sweep for n in self.reg_covar_sweep_sizes if reg != self.reg_covar]
        return runs


def real_data(settings: GMMSettings, rng: np.random.Generator) -> np.ndarray:
    """Each chain's real data: ``n_real`` points of a 2-D standard normal, shape (C, n_real, 2)."""
    return rng.standard_normal((settings.n_runs, settings.n_real, 2))


def record_generations(n_generations: int, snapshots: Sequence[int], n_points: int = 300) -> np.ndarray:
    """Generations to record: dense at the start (log-spaced), every few later, and the snapshots."""
    wanted = n_generations / n_points  # round steps, so that generations such as 100 and 500 are recorded
    scale = 10 ** int(np.floor(np.log10(max(wanted, 1.0))))
    step = next(m * scale for m in (1, 2, 5, 10) if m * scale >= wanted)
    grid = np.concatenate([log_generations(n_generations, n_points // 3), np.arange(0, n_generations + 1, step),
                           [g for g in snapshots if g <= n_generations], [n_generations]])
    return np.unique(grid)


def start_label(warm_start: bool) -> str:
    """How EM starts each generation: 'k-means' (fresh, the authors' way) or 'warm'."""
    return "warm" if warm_start else "k-means"


def run_condition(settings: GMMSettings, condition: Condition, real: np.ndarray, rng: np.random.Generator,
                  checkpoint: Path | None = None, progress: bool = True) -> pd.DataFrame:
    """Run one condition over all chains; tidy frame with ``n_samples``, ``start``, ``reg_covar`` and ``policy``."""
    n, policy, generations, warm, reg = condition
    with threadpool_limits(settings.n_threads):
        frame = run_generations(settings.experiment(warm, reg), real, generations, n, parse_policy(policy), rng,
                                record=record_generations(generations, settings.shown_generations),
                                checkpoint=checkpoint, progress=progress,
                                description=f"N={n} {policy} {start_label(warm)} reg {reg:g}")
    frame.insert(0, "n_samples", n)
    frame.insert(1, "start", start_label(warm))
    frame.insert(2, "reg_covar", reg)
    return frame


def run_all(run: "Run", progress: bool = True) -> pd.DataFrame:
    """Every condition of ``run.settings``, each cached (and resumable) on its own; one frame."""
    settings = run.settings
    real = real_data(settings, run.rng("real"))
    frames = []
    for condition in settings.conditions():
        def compute(folder: Path, condition: Condition = condition) -> pd.DataFrame:
            checkpoint = folder / "checkpoint.pkl"
            rng = run.rng("chains", condition.n_samples, condition.policy, condition.warm_start, condition.reg_covar)
            frame = run_condition(settings, condition, real, rng, checkpoint, progress)
            checkpoint.unlink(missing_ok=True)  # the cached frame replaces it
            return frame
        frames.append(run.cached("chains", compute, **condition._asdict()))
    return pd.concat(frames, ignore_index=True)


# --- theory over recorded chains ---------------------------------------------------------------

def log_det_kurtosis_prediction(rows: pd.DataFrame, n_samples: int, n_real: int) -> pd.Series:
    """Mean over chains of the predicted E log det Σ per recorded generation, each chain's drift taken from
    its own recorded mixtures' Mardia kurtosis (:func:`log_det_step_with_kurtosis`, left Riemann sum over
    the recorded generations); ``rows`` are one Replace condition's rows, generation 0 included."""
    rows = rows.sort_values(["chain", "generation"])
    kurtosis = mardia_kurtosis(mixture_from_columns(rows))
    frames = []
    for chain, part in rows.assign(kurtosis=kurtosis).groupby("chain"):
        generations = part["generation"].to_numpy()
        drift = log_det_step_with_kurtosis(n_samples, part["kurtosis"].to_numpy())
        path = log_det_step(n_real) + np.concatenate([[0.0], np.cumsum(drift[:-1] * np.diff(generations))])
        frames.append(pd.Series(path, index=generations))
    return pd.concat(frames).groupby(level=0).mean().rename_axis("generation")
