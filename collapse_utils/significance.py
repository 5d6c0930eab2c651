"""The project's one rule for "this mean is above that threshold", judged from a few runs.

A notebook that runs an experiment a few times (the VAE and language-model notebooks run 2–5 runs
per setting) and then says a point is *met* decides whether the mean over runs lies above a
threshold (or whether the mean of paired differences lies above 0). With n runs the standard error
is estimated from the runs themselves and has n − 1 degrees of freedom, so the decision is a
one-sided Student's t test: the point is met when

    t = (mean − threshold) / (s / √n)  >  t_{1−α, n−1},

i.e. when the one-sided p-value P(T_{n−1} ≥ t) is at most α. If the true mean equals the threshold
and the runs are independent and normal, the rule says "met" with probability exactly α (its
false-success rate). A normal-theory margin such as "3.09 standard errors" (the 0.999 quantile of
the normal law) says "met" at the threshold with probability P(T_2 >= 3.09) = 4.5 % with 3 runs,
not 0.1 %, because the standard error itself is estimated from the runs: t_{0.999, 2} = 22.3.

``ALPHA = 0.001`` is the project's stated error rate, the same as its tests' false-failure rates.
With 2–3 runs the quantile is large (t_{0.999, 1} = 318.3, t_{0.999, 2} = 22.3, t_{0.999, 4} = 7.2),
so every result also carries ``t`` and ``p``: a notebook prints "met at p = 0.0004" or "not met at
α = 0.001 (p = 0.02)" and the reader sees how far the evidence goes.

This module only judges results; no computation (nothing that a cache keys on) imports it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

#: The rule's error rate: the probability of saying "met" when the true mean equals the threshold.
ALPHA = 1e-3


@dataclass(frozen=True)
class Significance:
    """The one-sided t test of "mean > threshold" on ``n`` runs."""

    mean: float       # mean over runs (of the values, or of the paired differences)
    se: float         # standard error of that mean, s / sqrt(n) with s the sample sd (ddof 1)
    dof: int          # degrees of freedom, n - 1
    t: float          # (mean - threshold) / se; +-inf when every run gives the same value
    p: float          # one-sided p-value, P(T_dof >= t)
    met: bool         # p <= alpha
    threshold: float
    alpha: float

    @property
    def n(self) -> int:
        return self.dof + 1

    @property
    def critical_t(self) -> float:
        """The t statistic a mean must exceed to be met: t_{1-alpha, dof}."""
        return float(stats.t.isf(self.alpha, self.dof))

    def describe(self) -> str:
        """One phrase for prose and tables, e.g. "met (t = 25.1, 2 dof, p = 0.0008)"."""
        verdict = "met" if self.met else f"not met at α = {self.alpha:g}"
        return f"{verdict} (t = {self.t:.1f}, {self.dof} dof, p = {self.p:.2g})"


def mean_above(values, threshold: float = 0.0, alpha: float = ALPHA) -> Significance:
    """Is the mean of ``values`` (one per independent run) above ``threshold``? One-sided t test."""
    x = np.asarray(values, dtype=float).ravel()
    if x.size < 2:
        raise ValueError(f"a significance rule needs at least 2 runs, got {x.size}")
    if not np.isfinite(x).all():
        raise ValueError(f"every run's value must be finite, got {x.tolist()}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha}")
    dof = x.size - 1
    mean = float(x.mean())
    se = float(x.std(ddof=1) / np.sqrt(x.size))
    gap = mean - threshold
    if se > 0:
        t = gap / se
    else:  # identical runs: no spread to judge by, the sign decides
        t = float(np.sign(gap)) * np.inf if gap else 0.0
    p = float(stats.t.sf(t, dof))
    return Significance(mean=mean, se=se, dof=dof, t=float(t), p=p, met=bool(p <= alpha),
                        threshold=float(threshold), alpha=float(alpha))


def difference_above(a, b, threshold: float = 0.0, alpha: float = ALPHA) -> Significance:
    """Is the mean of the paired differences ``a - b`` (run i of ``a`` with run i of ``b``, e.g. the
    same seed under two settings) above ``threshold``? The one-sided t test of :func:`mean_above`."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired runs need equal shapes, got {a.shape} and {b.shape}")
    return mean_above(a - b, threshold, alpha)
