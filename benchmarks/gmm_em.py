"""Batched EM (``collapse_utils.gmm``) against a loop of scikit-learn ``GaussianMixture`` fits.

    python benchmarks/gmm_em.py [--chains 32] [--n 1000] [--generations 10] [--seed 0]

Runs the recursive GMM experiment for a few generations. In every generation all four fitters get
the same data (N samples per chain of the current mixtures) in this one process, so the printed
ratios are robust to a busy machine; everything runs single-threaded:

- batched k-means: batched k-means++ and Lloyd start (``kmeans_init``) then one ``em_fit`` for all
  chains: the notebook's default, the authors' procedure;
- sklearn k-means: one fresh ``GaussianMixture`` per chain with its default k-means start (the authors' code);
- batched warm: one ``em_fit`` call warm-started from the previous generation's fit (the ablation);
- sklearn warm: one ``GaussianMixture`` per chain started from the same previous fit (the same algorithm).

Printed checks: the warm fits agree with scikit-learn to rounding (largest difference of the mean
log-likelihood and of the parameters, up to component order); the k-means fits use other random
numbers than scikit-learn, so only their mean log-likelihoods are compared on average.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from collapse_utils import gmm


def timed(function, *args, **kwargs):
    """``(result, seconds)`` of one call."""
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def sorted_parameters(mix: gmm.Mixture) -> np.ndarray:
    """All parameters of every chain, components ordered by first mean coordinate, flattened."""
    order = np.argsort(mix.means[..., 0], axis=1)
    parts = (np.take_along_axis(mix.weights, order, 1), np.take_along_axis(mix.means, order[..., None], 1),
             np.take_along_axis(mix.covs, order[..., None, None], 1))
    return np.concatenate([p.reshape(len(order), -1) for p in parts], axis=1)


def batched_kmeans_fit(x: np.ndarray, rng: np.random.Generator) -> gmm.EMResult:
    """A fresh fit of every chain: batched k-means start, then batched EM."""
    return gmm.em_fit(x, gmm.kmeans_init(x, 2, rng))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chains", type=int, default=32)
    parser.add_argument("--n", type=int, default=1000, help="samples per chain per generation")
    parser.add_argument("--generations", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    real = rng.standard_normal((args.chains, 1000, 2))
    current = batched_kmeans_fit(real, rng).mixture  # generation 0, not timed
    names = {"fresh": "batched EM, k-means start", "sk_fresh": "sklearn loop, k-means start",
             "warm": "batched EM, warm start", "sk_warm": "sklearn loop, warm start"}
    totals, iterations = dict.fromkeys(names, 0.0), dict.fromkeys(names, 0)
    worst_ll = worst_param = 0.0
    ll_gap = []
    for _ in range(args.generations):
        x = gmm.sample_mixture(current, args.n, rng)[0]
        fits = {}
        for name, call in (("fresh", lambda: batched_kmeans_fit(x, rng)),
                           ("sk_fresh", lambda: gmm.fit_sklearn(x, seeds=rng.integers(2**31 - 1, size=args.chains))),
                           ("warm", lambda: gmm.em_fit(x, current)),
                           ("sk_warm", lambda: gmm.fit_sklearn(x, init=current))):
            fits[name], seconds = timed(call)
            totals[name] += seconds
        for name in ("fresh", "warm"):
            iterations[name] += int(fits[name].n_iter.sum())
        for name in ("sk_fresh", "sk_warm"):
            iterations[name] += int(fits[name][1].sum())
        warm, reference = fits["warm"].mixture, fits["sk_warm"][0]
        worst_ll = max(worst_ll, np.abs(gmm.log_likelihood(warm, x) - gmm.log_likelihood(reference, x)).max())
        worst_param = max(worst_param, np.abs(sorted_parameters(warm) - sorted_parameters(reference)).max())
        ll_gap.append(gmm.log_likelihood(fits["fresh"].mixture, x) - gmm.log_likelihood(fits["sk_fresh"][0], x))
        current = fits["fresh"].mixture
    n_fits = args.chains * args.generations
    print(f"N={args.n}, {args.chains} chains x {args.generations} generations ({n_fits} fits), single-threaded")
    for name, label in names.items():
        print(f"  {label:28s} {totals[name]:8.3f} s  {1e3 * totals[name] / n_fits:7.2f} ms/fit  "
              f"{iterations[name] / n_fits:6.1f} EM iterations/fit")
    print(f"speed ratio, k-means start (sklearn loop / batched): {totals['sk_fresh'] / totals['fresh']:.1f}x")
    print(f"speed ratio, warm start    (sklearn loop / batched): {totals['sk_warm'] / totals['warm']:.1f}x")
    gap = np.concatenate(ll_gap)
    print(f"warm start agreement with sklearn: max |d mean log-lik| = {worst_ll:.1e}, max |d parameter| = {worst_param:.1e}")
    print(f"k-means start, batched minus sklearn mean log-lik per point: mean {gap.mean():+.1e} "
          f"(standard error {gap.std(ddof=1) / np.sqrt(len(gap)):.1e}), median |d| {np.median(np.abs(gap)):.1e}")


if __name__ == "__main__":
    main()
