"""The significance rule (collapse_utils.significance) against scipy and against its own stated error rate."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from collapse_utils import significance as sig

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("values, threshold", [([101.2, 99.8, 104.1], 100.0), ([0.3, -0.1], 0.0),
                                               ([5.0, 6.5, 4.0, 7.0, 5.5], 6.0)])
def test_matches_scipy_one_sided_ttest(values, threshold):
    result = sig.mean_above(values, threshold)
    oracle = stats.ttest_1samp(values, threshold, alternative="greater")
    assert result.t == pytest.approx(oracle.statistic, rel=1e-12)
    assert result.p == pytest.approx(oracle.pvalue, rel=1e-12)
    assert result.dof == len(values) - 1 and result.n == len(values)
    assert result.mean == pytest.approx(np.mean(values)) and result.se == pytest.approx(stats.sem(values))
    assert result.met == (oracle.pvalue <= sig.ALPHA)


def test_critical_values_for_few_runs_are_students_not_normal():
    # the 3.09-standard-error margin is the normal quantile; with 3 runs the rule needs 22.3
    assert sig.mean_above([1.0, 2.0, 3.0]).critical_t == pytest.approx(22.327, abs=1e-3)
    assert sig.mean_above([1.0, 2.0]).critical_t == pytest.approx(318.31, abs=1e-2)
    # a mean 10 standard errors above the threshold is not met with 3 runs at alpha = 0.001 ...
    runs = np.array([-1.0, 0.0, 1.0]) + 10 * np.std([-1.0, 0.0, 1.0], ddof=1) / np.sqrt(3)
    assert not sig.mean_above(runs).met and 1e-3 < sig.mean_above(runs).p < 0.01
    # ... and 25 standard errors is
    assert sig.mean_above(np.array([-1.0, 0.0, 1.0]) + 25 / np.sqrt(3)).met


def test_paired_differences_and_identical_runs():
    a, b = [10.0, 12.0, 11.0], [8.0, 9.5, 8.0]
    assert sig.difference_above(a, b) == sig.mean_above(np.subtract(a, b))
    same = sig.mean_above([2.0, 2.0, 2.0], 1.0)
    assert same.t == np.inf and same.p == 0.0 and same.met
    assert not sig.mean_above([1.0, 1.0], 1.0).met
    assert "met" in sig.mean_above([5.0, 5.1, 4.9], 0.0).describe()
    assert sig.mean_above([0.1, -0.1, 0.05]).describe().startswith("not met at α = 0.001")


@pytest.mark.parametrize("call, message", [
    (lambda: sig.mean_above([1.0]), "at least 2 runs"),
    (lambda: sig.mean_above([1.0, np.nan]), "finite"),
    (lambda: sig.mean_above([1.0, 2.0], alpha=0.0), "alpha"),
    (lambda: sig.difference_above([1.0, 2.0], [1.0]), "equal shapes"),
])
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("alpha, n_runs", [(0.05, 3), (1e-3, 3), (0.01, 2)])
def test_false_success_rate_is_alpha(alpha, n_runs):
    """20,000 seeded experiments of n normal runs whose true mean equals the threshold: the share
    declared "met" is a binomial(20,000, alpha) proportion; it must lie within 4.5 binomial standard
    deviations of alpha (two-sided false-failure rate 7e-6 per case, were the rule's rate exactly alpha)."""
    draws = 20_000
    rng = np.random.default_rng(18)
    runs = 3.0 + 2.0 * rng.standard_normal((draws, n_runs))
    met = np.array([sig.mean_above(row, threshold=3.0, alpha=alpha).met for row in runs])
    tolerance = 4.5 * np.sqrt(alpha * (1 - alpha) / draws)
    assert abs(met.mean() - alpha) <= tolerance, (met.mean(), alpha)
    # the normal-theory margin it replaces says "met" far more often at the same nominal rate
    z = stats.norm.isf(alpha)
    t = (runs.mean(axis=1) - 3.0) / (runs.std(axis=1, ddof=1) / np.sqrt(n_runs))
    assert (t > z).mean() > alpha + tolerance


def test_no_computation_module_imports_the_rule():
    """The rule judges results; a module whose source keys a cache must not depend on it."""
    presentation = {"significance.py", "report.py", "notebooks.py", "cli.py"}
    for path in (ROOT / "collapse_utils").glob("*.py"):
        if path.name in presentation or path.name.endswith("_figures.py"):
            continue
        tree = ast.parse(path.read_text())
        names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                 for alias in node.names} | {node.module or "" for node in ast.walk(tree)
                                             if isinstance(node, ast.ImportFrom)}
        assert not any("significance" in name for name in names), path.name
