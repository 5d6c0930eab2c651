"""Gaussian recursion: exact simulator against the naive one and against the closed forms."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.special import polygamma

from collapse_utils import gaussian as g
from collapse_utils import gaussian_figures as gf
from collapse_utils.recursion import KeepReal, run_generations

KS_ALPHA = 1e-3  # fixed seeds: a failure means the two laws differ, not bad luck


def final(frame, column="var"):
    return frame.loc[frame["generation"] == frame["generation"].max(), column].to_numpy()


@pytest.mark.parametrize("policy", ["replace", "keep_real:0.1", "accumulate"])
def test_exact_and_naive_agree_in_distribution(policy):
    kwargs = dict(m=40, n_generations=25, n_runs=3000, policy=policy, progress=False, record=[25])
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
    # every check below: 4 standard errors, two-sided false-failure rate 6e-5 each (< 1e-3 for all six)
    assert abs(final(frame).mean() - mean_var) < 4 * se_var
    # log variance: a sum of independent log chi^2 terms with variance psi'(k/2) each
    se_log = np.sqrt(fits * polygamma(1, k / 2) / chains)
    assert abs(np.log(final(frame)).mean() - g.expected_log_var(n, m, estimator)) < 4 * se_log
    for column, theory in (("mean", lambda: g.expected_mean_sq(n, m, estimator)),
                           ("w2", lambda: g.expected_w2(n, m, estimator))):
        values = final(frame, column) ** (2 if column == "mean" else 1)
        assert abs(values.mean() - theory()) < 4 * values.std() / np.sqrt(chains)


def test_accumulate_keeps_the_variance_while_replace_collapses():
    run = dict(m=100, n_generations=1000, n_runs=500, progress=False, record=[1000])
    replace = final(g.simulate(policy="replace", rng=np.random.default_rng(6), **run))
    accumulate = final(g.simulate(policy="accumulate", rng=np.random.default_rng(6), **run))
    keep = final(g.simulate(policy="keep_real:0.1", rng=np.random.default_rng(6), **run))
    # replace: E[log var] = 1001 (psi(49.5) + ln(2/100)) = -20.2 with s.d. sqrt(1001 psi'(49.5)) = 4.5, so
    # the median var is ~1e-9 and the median of 500 chains lies below 1e-6 (3 s.d. above) with rate < 1e-3
    assert np.median(replace) < 1e-6
    # seeded runs of 10^4 chains: accumulate's log var has s.d. 0.18 (5 % quantile of var 0.72), keep 10 %'s
    # s.d. 0.58 around -0.32 (5 % quantile 0.27); a 5 % quantile of 500 chains has s.e. 0.014 and 0.019
    # (bootstrap), so both thresholds sit > 8 s.e. below (false-failure rate far below 1e-3)
    assert np.quantile(accumulate, 0.05) > 0.5
    assert np.quantile(keep, 0.05) > 0.1


def test_same_seed_same_numbers_and_different_seed_different():
    run = dict(m=50, n_generations=20, n_runs=10, policy="keep_real:0.1", progress=False)
    first = g.simulate(rng=np.random.default_rng(7), **run)
    again = g.simulate(rng=np.random.default_rng(7), **run)
    other = g.simulate(rng=np.random.default_rng(8), **run)
    assert first.equals(again)
    assert not np.allclose(first["var"], other["var"])


@pytest.mark.parametrize("estimator", ["mle", "unbiased"])
def test_mean_sq_closed_form_steps_generation_by_generation(estimator):
    # deterministic: E[mean_0^2] = 1/M (one fit of real data), and each generation adds E[var_{g-1}] / M;
    # a closed form shifted by one generation fails both
    m, generations = 10, np.arange(0, 8)
    values = g.expected_mean_sq(generations, m, estimator)
    assert values[0] == pytest.approx(1 / m)
    np.testing.assert_allclose(np.diff(values), g.expected_var(generations[:-1], m, estimator) / m, rtol=1e-12)


def test_mean_sq_closed_form_matches_simulation_at_small_generations():
    # E[mean^2] at generations 0, 1 and 3, MLE, M = 5: the mean over 40 000 chains within 4 standard
    # errors each (two-sided rate 6e-5 each); a one-generation shift moves the value by >= 17 s.e.
    m, chains = 5, 40_000
    frame = g.simulate(m, 3, chains, "replace", np.random.default_rng(13), progress=False)
    for generation in (0, 1, 3):
        values = frame.loc[frame["generation"] == generation, "mean"].to_numpy() ** 2
        theory = g.expected_mean_sq(generation, m, "mle")
        assert abs(values.mean() - theory) < 4 * values.std() / np.sqrt(chains)


class RedrawnKeepReal(KeepReal):
    """A wrong KeepReal that draws a new real subset every generation (the test below must tell it apart)."""

    def training_data(self, exp, model, state, n, rng):
        real = state[1]
        fresh = exp.subset(real, self.n_real(n), rng)
        return exp.combine([fresh, exp.sample(model, n - self.n_real(n), rng)]), state

    def start(self, exp, real, n, rng):
        return (None, real)


def late_log_var_correlation(policy, method: str) -> float:
    """Correlation over chains of log var at generations 60 and 120 (M = 100, 4000 chains)."""
    exp = g.SIMULATORS[method]("mle")
    rng = np.random.default_rng(14)
    frame = run_generations(exp, exp.real_data(100, 4000, rng), 120, 100, policy, rng, record=[60, 120],
                            progress=False)
    logs = np.log(frame["var"].to_numpy()).reshape(2, -1)
    return float(np.corrcoef(logs)[0, 1])


@pytest.mark.parametrize("method", ["exact", "naive"])
def test_keep_real_keeps_the_same_real_subset_every_generation(method):
    # With a fixed real subset (half of M = 100), log var at two late generations shares the subset's own
    # sample variance (var 2/50 of the total ≈ 0.053): correlation ≈ 0.7. A subset redrawn every generation
    # shares only the whole real sample's (2/100): ≈ 0.35. With 4000 chains the correlation has s.e. ≈ 0.01,
    # so the threshold 0.55 is > 10 s.e. from either (false-failure rate far below 1e-3).
    assert late_log_var_correlation(KeepReal(0.5), method) > 0.55
    assert late_log_var_correlation(RedrawnKeepReal(0.5), method) < 0.55


def test_theory_at_generation_zero_is_one_fit_of_real_data():
    assert g.expected_var(0, 10, "mle") == pytest.approx(0.9)
    assert g.expected_mean_sq(0, 10, "unbiased") == pytest.approx(0.1)
    assert g.expected_w2(np.array([0, 5]), 10000, "unbiased")[0] < 1e-3


@pytest.mark.parametrize("kwargs, message", [
    (dict(m=1), "sample size M must be an integer >= 2"),
    (dict(n_generations=0), "n_generations must be an integer >= 1"),
    (dict(n_runs=0), "n_runs must be an integer >= 1"),
    (dict(policy="keep_real:1.5"), r"expected a number in \(0, 1\]"),
    (dict(policy="sometimes"), "unknown data policy"),
    (dict(method="fast"), "unknown method 'fast'"),
    (dict(estimator="robust"), "unknown estimator 'robust'"),
])
def test_bad_input_is_a_clear_error(kwargs, message):
    run = dict(m=10, n_generations=2, n_runs=2, policy="replace", rng=np.random.default_rng(0), progress=False)
    with pytest.raises(ValueError, match=message):
        g.simulate(**{**run, **kwargs})


def test_settings_validation():
    with pytest.raises(ValueError, match="each sample size M must be an integer >= 2"):
        g.GaussianSettings(sample_sizes=[100, 1])
    with pytest.raises(ValueError, match="unknown data policy"):
        g.GaussianSettings(policies=["replace", "maybe"])


@pytest.mark.parametrize("policies, estimators", [(["accumulate"], ["mle", "unbiased"]), (["replace"], ["unbiased"]),
                                                  (["keep_real:0.1", "replace"], ["mle"])])
def test_figures_plot_whatever_policies_and_estimators_a_run_has(policies, estimators, tmp_path):
    settings = g.GaussianSettings(sample_sizes=[20, 50], n_generations=10, n_runs=30, policies=policies,
                                  estimators=estimators)
    frame = g.simulate_settings(settings, lambda *key: np.random.default_rng(abs(hash(key)) % 2**32), tmp_path,
                                progress=False)
    for metric in ("var", "w2"):
        fig, data = gf.plot_metric_bands(frame, metric, metric)
        assert len(fig.axes) == len(estimators) * 2
        medians = data[(data["statistic"] == "median") & (data["metric"] == metric)]
        expected = frame.groupby(["estimator", "m", "policy", "generation"])[metric].median()
        np.testing.assert_allclose(medians.set_index(["estimator", "m", "policy", "generation"])["value"]
                                   .sort_index(), expected.sort_index())
        theory = data[data["statistic"].str.startswith("theory")]
        assert theory.empty != ("replace" in policies)
    fig, data = gf.plot_single_chains(frame[frame["policy"] == frame["policy"].iloc[0]])
    assert set(data["metric"]) == {"abs_mean_error", "abs_sd_error"}
    if "replace" in policies:
        fig, data = gf.plot_estimators(frame)
        mean = data[(data["statistic"] == "mean") & (data["generation"] == 10) & (data["m"] == 20)]["value"]
        assert mean.iloc[0] == pytest.approx(frame[(frame["policy"] == "replace") & (frame["generation"] == 10)
                                                   & (frame["m"] == 20) & (frame["estimator"] == estimators[0])]["var"].mean())
    else:
        with pytest.raises(ValueError, match="needs the 'replace' policy"):
            gf.plot_estimators(frame)


# ----------------------------------------------------------------------------- the estimators, independently of ESTIMATORS

#: The documented estimators and their ddof, written out here rather than read from g.ESTIMATORS, so that a
#: changed mapping fails these tests instead of moving the simulation and the closed forms together.
STATED_DDOF = {"mle": 0, "unbiased": 1}


@pytest.mark.parametrize("estimator, ddof", STATED_DDOF.items())
def test_fits_are_numpy_var_with_the_stated_ddof(estimator, ddof):
    data = np.random.default_rng(11).normal(3.0, 2.0, (5, 12))
    naive = g.NaiveGaussian(estimator).fit(data, None, np.random.default_rng(0))
    np.testing.assert_allclose(naive.var, np.var(data, axis=1, ddof=ddof), rtol=1e-12)
    stats_ = g.SuffStats(12, data.mean(axis=1), ((data - data.mean(axis=1, keepdims=True)) ** 2).sum(axis=1))
    exact = g.ExactGaussian(estimator).fit(stats_, None, np.random.default_rng(0))
    np.testing.assert_allclose(exact.var, np.var(data, axis=1, ddof=ddof), rtol=1e-12)
    np.testing.assert_allclose(exact.mean, data.mean(axis=1), rtol=1e-12)


@pytest.mark.parametrize("estimator, ddof", STATED_DDOF.items())
def test_closed_forms_match_chains_refitted_with_numpy_var(estimator, ddof):
    """200,000 chains of M = 10 real N(0, 1) samples refitted 3 times with numpy's mean and var(ddof), all
    samples drawn: the means over chains of var, log var and W2² at generation 2 against the closed forms.
    Each within 4.5 standard errors (from the chains' own spread; two-sided false-failure rate 7e-6
    each). The MLE and unbiased values differ by 25-70 standard errors, so the wrong ddof fails."""
    m, chains, rng = 10, 200_000, np.random.default_rng(100 + ddof)
    x = rng.standard_normal((chains, m))
    for _ in range(3):  # generations 0, 1, 2
        mean, var = x.mean(axis=1), np.var(x, axis=1, ddof=ddof)
        x = mean[:, None] + np.sqrt(var)[:, None] * rng.standard_normal((chains, m))
    w2 = mean**2 + (np.sqrt(var) - 1) ** 2
    for values, theory in [(var, g.expected_var(2, m, estimator)), (np.log(var), g.expected_log_var(2, m, estimator)),
                           (w2, g.expected_w2(2, m, estimator))]:
        sem = values.std(ddof=1) / np.sqrt(chains)
        assert abs(values.mean() - float(theory)) < 4.5 * sem, (estimator, values.mean(), float(theory), sem)
