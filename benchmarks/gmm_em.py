"""Batched EM (``collapse_utils.gmm.em_fit``) against a loop of scikit-learn ``GaussianMixture`` fits.

    python benchmarks/gmm_em.py [--chains 32] [--n 1000] [--generations 10] [--seed 0]

Runs the recursive GMM experiment for a few generations. In every generation all three fitters get
the same data (N samples per chain of the current mixtures) in this one process, so the printed
ratios are robust to a busy machine; everything runs single-threaded:

- batched: one ``em_fit`` call for all chains, warm-started from the previous generation's fit;
- sklearn warm: one ``GaussianMixture`` per chain started from the same previous fit (the same algorithm);
- sklearn k-means: one fresh ``GaussianMixture`` per chain with its default k-means start (the authors' way).

The batched fit is also checked against "sklearn warm": the largest difference of the mean
log-likelihood and of the parameters (up to component order) is printed.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chains", type=int, default=32)
    parser.add_argument("--n", type=int, default=1000, help="samples per chain per generation")
    parser.add_argument("--generations", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    real = rng.standard_normal((args.chains, 1000, 2))
    current = gmm.em_fit(real, gmm.kmeans_init(real, 2, rng)).mixture  # generation 0, not timed
    totals = dict(batched=0.0, warm=0.0, kmeans=0.0)
    iterations = dict(batched=0, warm=0, kmeans=0)
    worst_ll = worst_param = 0.0
    for _ in range(args.generations):
        x = gmm.sample_mixture(current, args.n, rng)[0]
        fit, seconds = timed(gmm.em_fit, x, current)
        totals["batched"] += seconds
        iterations["batched"] += int(fit.n_iter.sum())
        (warm, warm_iter), seconds = timed(gmm.fit_sklearn, x, init=current)
        totals["warm"] += seconds
        iterations["warm"] += int(warm_iter.sum())
        (_, cold_iter), seconds = timed(gmm.fit_sklearn, x, seeds=rng.integers(2**31 - 1, size=args.chains))
        totals["kmeans"] += seconds
        iterations["kmeans"] += int(cold_iter.sum())
        worst_ll = max(worst_ll, np.abs(gmm.log_likelihood(fit.mixture, x) - gmm.log_likelihood(warm, x)).max())
        worst_param = max(worst_param, np.abs(sorted_parameters(fit.mixture) - sorted_parameters(warm)).max())
        current = fit.mixture
    fits = args.chains * args.generations
    print(f"N={args.n}, {args.chains} chains x {args.generations} generations ({fits} fits), single-threaded")
    for name, label in (("batched", "batched EM (warm)"), ("warm", "sklearn loop (warm)"),
                        ("kmeans", "sklearn loop (k-means)")):
        print(f"  {label:24s} {totals[name]:8.3f} s  {1e3 * totals[name] / fits:7.2f} ms/fit  "
              f"{iterations[name] / fits:6.1f} EM iterations/fit")
    print(f"speed ratio vs sklearn warm start:    {totals['warm'] / totals['batched']:.1f}x")
    print(f"speed ratio vs sklearn k-means start: {totals['kmeans'] / totals['batched']:.1f}x")
    print(f"agreement with sklearn warm start: max |d mean log-lik| = {worst_ll:.1e}, "
          f"max |d parameter| = {worst_param:.1e}")


if __name__ == "__main__":
    main()
