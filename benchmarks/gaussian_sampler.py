"""Exact (sufficient-statistics) vs naive (draw every sample) Gaussian recursion, side by side.

    python benchmarks/gaussian_sampler.py [--chains 1000] [--generations 20] [--m 10000]

Both simulators run the same settings in this one process, so the printed ratio is robust to a
busy machine. Then the exact simulator runs the issue's target size (1e4 chains x 1000
generations at M = 1e4) on its own.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from collapse_utils.gaussian import simulate


def seconds(method: str, m: int, generations: int, chains: int, repeats: int = 3) -> float:
    """Best wall time of ``repeats`` runs of one simulator (replace policy, final generation recorded)."""
    best = np.inf
    for repeat in range(repeats):
        start = time.perf_counter()
        simulate(m, generations, chains, "replace", np.random.default_rng(repeat), method=method,
                 record=[generations], progress=False)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--m", type=int, default=10_000)
    parser.add_argument("--chains", type=int, default=1000)
    parser.add_argument("--generations", type=int, default=20)
    args = parser.parse_args()
    exact = seconds("exact", args.m, args.generations, args.chains)
    naive = seconds("naive", args.m, args.generations, args.chains)
    print(f"M={args.m}, {args.chains} chains x {args.generations} generations: "
          f"naive {naive:.3f} s, exact {exact:.4f} s, exact is {naive / exact:.0f}x faster")
    target = seconds("exact", 10_000, 1000, 10_000, repeats=1)
    print(f"exact, M=10000, 10000 chains x 1000 generations: {target:.2f} s")


if __name__ == "__main__":
    main()
