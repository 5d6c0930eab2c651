"""Gaussian recursion: exact simulator against the naive one and against the closed forms."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.special import polygamma

from collapse_utils import gaussian as g

KS_ALPHA = 1e-3  # fixed seeds: a failure means the two laws differ, not bad luck


def final(frame, column="var"):
    return frame.loc[frame["generation"] == frame["generation"].max(), column].to_numpy()


@pytest.mark.parametrize("policy", ["replace", "keep_real:0.1", "accumulate"])
def test_exact_and_naive_agree_in_distribution(policy):
    kwargs = dict(m=40, n_generations=25, n_chains=3000, policy=policy, progress=False, record=[25])
    exact = g.simulate(rng=np.random.default_rng(11), method="exact", **kwargs)
    naive = g.simulate(rng=np.random.default_rng(12), method="naive", **kwargs)
    for column in ("var", "mean"):
        assert stats.ks_2samp(final(exact, column), final(naive, column)).pvalue > KS_ALPHA


def test_exact_subset_matches_a_random_subset_of_real_samples():
    rng = np.random.default_rng(3)
    naive, exact = g.NaiveGaussian(), g.ExactGaussian()
    data = naive.real_data(30, 4000, rng)
    whole = g.SuffStats(30, data.mean(axis=1), data.var(axis=1) * 30)
    picked = naive.subset(data, 7, rng)
    drawn = exact.subset(whole, 7, rng)
    assert stats.ks_2samp(drawn.mean - whole.mean, picked.mean(axis=1) - whole.mean).pvalue > KS_ALPHA
    assert stats.ks_2samp(drawn.m2 / whole.m2, picked.var(axis=1) * 7 / whole.m2).pvalue > KS_ALPHA
    assert np.all(drawn.m2 <= whole.m2 + 1e-9)  # a subset never spreads more than the whole


def test_exact_combine_equals_pooled_statistics():
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(5, 12)), rng.normal(2, 3, size=(5, 8))
    as_stats = [g.SuffStats(x.shape[1], x.mean(axis=1), x.var(axis=1) * x.shape[1]) for x in (a, b)]
    pooled = g.ExactGaussian().combine(as_stats)
    both = np.concatenate([a, b], axis=1)
    assert pooled.count == 20
    np.testing.assert_allclose(pooled.mean, both.mean(axis=1))
    np.testing.assert_allclose(pooled.m2, both.var(axis=1) * 20)


@pytest.mark.parametrize("estimator", ["mle", "unbiased"])
def test_replace_matches_closed_forms(estimator):
    m, n, chains = 20, 30, 20000
    frame = g.simulate(m, n, chains, "replace", np.random.default_rng(5), estimator=estimator,
                       progress=False, record=[n])
    fits = n + 1
    c, k = m - g.ESTIMATORS[estimator], m - 1
    # variance: a product of independent chi^2_k / c factors, so its second moment is known
    second = (k * (k + 2) / c**2) ** fits
    mean_var = g.expected_var(n, m, estimator)
    se_var = np.sqrt((second - mean_var**2) / chains)
    assert abs(final(frame).mean() - mean_var) < 4 * se_var
    # log variance: a sum of independent log chi^2 terms with variance psi'(k/2) each
    se_log = np.sqrt(fits * polygamma(1, k / 2) / chains)
    assert abs(np.log(final(frame)).mean() - g.expected_log_var(n, m, estimator)) < 4 * se_log
    for column, theory in (("mean", lambda: g.expected_mean_sq(n, m, estimator)),
                           ("w2", lambda: g.expected_w2(n, m, estimator))):
        values = final(frame, column) ** (2 if column == "mean" else 1)
        assert abs(values.mean() - theory()) < 4 * values.std() / np.sqrt(chains)


def test_accumulate_keeps_the_variance_while_replace_collapses():
    run = dict(m=100, n_generations=1000, n_chains=500, progress=False, record=[1000])
    replace = final(g.simulate(policy="replace", rng=np.random.default_rng(6), **run))
    accumulate = final(g.simulate(policy="accumulate", rng=np.random.default_rng(6), **run))
    keep = final(g.simulate(policy="keep_real:0.1", rng=np.random.default_rng(6), **run))
    # replace: E[log var] = 1001 (psi(49.5) + ln(2/100)) = -20.2, so the median var is ~1e-9
    assert np.median(replace) < 1e-6
    assert np.quantile(accumulate, 0.05) > 0.5
    assert np.quantile(keep, 0.05) > 0.1


def test_same_seed_same_numbers_and_different_seed_different():
    run = dict(m=50, n_generations=20, n_chains=10, policy="keep_real:0.1", progress=False)
    first = g.simulate(rng=np.random.default_rng(7), **run)
    again = g.simulate(rng=np.random.default_rng(7), **run)
    other = g.simulate(rng=np.random.default_rng(8), **run)
    assert first.equals(again)
    assert not np.allclose(first["var"], other["var"])


def test_theory_at_generation_zero_is_one_fit_of_real_data():
    assert g.expected_var(0, 10, "mle") == pytest.approx(0.9)
    assert g.expected_mean_sq(0, 10, "unbiased") == pytest.approx(0.1)
    assert g.expected_w2(np.array([0, 5]), 10000, "unbiased")[0] < 1e-3


@pytest.mark.parametrize("kwargs, message", [
    (dict(m=1), "sample size M must be an integer >= 2"),
    (dict(n_generations=0), "n_generations must be an integer >= 1"),
    (dict(n_chains=0), "n_chains must be an integer >= 1"),
    (dict(policy="keep_real:1.5"), r"fraction must lie in \[0, 1\]"),
    (dict(policy="sometimes"), "unknown data policy"),
    (dict(method="fast"), "unknown method 'fast'"),
    (dict(estimator="robust"), "unknown estimator 'robust'"),
])
def test_bad_input_is_a_clear_error(kwargs, message):
    run = dict(m=10, n_generations=2, n_chains=2, policy="replace", rng=np.random.default_rng(0), progress=False)
    with pytest.raises(ValueError, match=message):
        g.simulate(**{**run, **kwargs})


def test_settings_validation():
    with pytest.raises(ValueError, match="each sample size M must be an integer >= 2"):
        g.GaussianSettings(sample_sizes=[100, 1])
    with pytest.raises(ValueError, match="unknown data policy"):
        g.GaussianSettings(policies=["replace", "maybe"])
