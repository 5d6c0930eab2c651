"""Theory checks: every claim of data/claims.csv that states a closed form's value, recomputed independently.

tests/test_claims.py checks that the prose copies the results; that would pass with a wrong formula, since
the figures draw the same formula. Here each theory value is recomputed without the project's closed-form
code: by numerical integration over the exact law (scipy.integrate.quad against scipy.stats densities, no
digamma), by solving the Markov chain from scipy.stats.binom, or by simulating chains with numpy. Seeded
simulations state their tolerance and false-failure rate; integrations are exact to 1e-8.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, linalg, stats

from collapse_utils.gaussian import ExactGaussian
from collapse_utils.recursion import KeepReal, run_generations
from test_claims import CLAIMS, figure_data

BY_ID = CLAIMS.set_index("id")
#: CSV statistics that are closed-form theory: each claim that reads one needs a check below.
THEORY_STATISTICS = ("statistic=exact", "statistic=diffusion", "statistic=theory_", "statistic=mean_over_wald")


def claimed(claim_id: str) -> tuple[float, float]:
    return float(BY_ID.loc[claim_id, "our_value"]), float(BY_ID.loc[claim_id, "tolerance"])


def _expect(function, df: int) -> float:
    """E function(chi2_df), integrated over the density's mass (40 standard deviations each side)."""
    width = 40 * np.sqrt(2 * df)
    value, _ = integrate.quad(lambda x: function(x) * stats.chi2.pdf(x, df), max(0.0, df - width), df + width + 40,
                              points=[df], limit=400, epsabs=1e-13, epsrel=1e-11)
    return value


def mean_log_chi2_over(df: int, c: float) -> float:
    """E log(chi2_df / c) by integrating against the chi-square density (no digamma)."""
    return _expect(lambda x: np.log(x / c), df)


def mean_sqrt_chi2_over(df: int, c: float) -> float:
    return _expect(lambda x: np.sqrt(x / c), df)


def exact_absorption_time(m: int, p: float) -> float:
    """Mean generations to absorption of the two-outcome resampling chain from count round(pM): first-step
    equations (I - Q) t = 1 over the transient counts, Q from scipy.stats.binom."""
    counts = np.arange(1, m)
    q = stats.binom.pmf(counts[None, :], m, counts[:, None] / m)
    times = linalg.solve(np.eye(m - 1) - q, np.ones(m - 1))
    return float(times[int(round(p * m)) - 1])


def test_every_theory_claim_has_a_check_here():
    theory = [i for i, source in zip(CLAIMS["id"], CLAIMS["source"]) if any(s in source for s in THEORY_STATISTICS)]
    unchecked = sorted(set(theory) - CHECKED)
    assert not unchecked, f"theory claims without an independent check: {unchecked}"


def test_discrete_absorption_times():
    """The exact mean absorption time (solved here from the binomial transition matrix), the diffusion
    approximation (2M ln 2 at p = 1/2, by hand) and their ratios; exact to the claims' rounding."""
    exact = {m: exact_absorption_time(m, 0.5) for m in (10, 50, 100)}
    value, tol = claimed("nb01_exact_m100_half")
    assert value == pytest.approx(exact[100], rel=tol)
    value, tol = claimed("nb01_diffusion_m100_half")
    assert value == pytest.approx(2 * 100 * np.log(2), rel=tol)
    for m in (10, 50):
        value, tol = claimed(f"nb01_diffusion_over_exact_m{m}")
        assert value == pytest.approx(2 * m * np.log(2) / exact[m], rel=tol)
    # and the simulation of 2000 chains agrees with the exact value: within 3.3 standard errors (the CSV's
    # 95 % interval is 1.96 s.e. each side), two-sided false-failure rate 1e-3
    rows = figure_data("01_discrete_markov_absorption_time")
    at = rows[(rows["m"] == "100") & (rows["p"] == "0.5")].set_index("statistic")["value"]
    sem = (at["ci_high"] - at["ci_low"]) / (2 * 1.96)
    assert abs(at["mean"] - exact[100]) < 3.3 * sem


@pytest.mark.parametrize("estimator, c", [("mle", 100), ("unbiased", 99)])
def test_gaussian_closed_forms_at_generation_1000(estimator, c):
    """exp E[log var] and E[W2²] at generation 1000 (1001 fits), M = 100, from integrals over chi2_99."""
    m, n = 100, 1001
    if estimator == "mle":
        value, tol = claimed("nb02_theory_median_var_mle_m100")
        assert value == pytest.approx(np.exp(n * mean_log_chi2_over(m - 1, c)), rel=tol)
    var = ((m - 1) / c) ** np.arange(n + 1)  # E var_k = ((M-1)/c)^k, E chi2_{M-1} = M - 1
    mean_sq = var[:n].sum() / m  # E mean_n² = sum_{k<n} E var_k / M
    sd = mean_sqrt_chi2_over(m - 1, c) ** n
    value, tol = claimed(f"nb02_theory_w2_{estimator}_m100")
    assert value == pytest.approx(mean_sq + var[n] - 2 * sd + 1, rel=tol)


def test_gmm_wishart_log_det_at_generation_2050():
    """E log det of the total covariance at generation 2050, N = 500, real sample of 1000 points: the
    generation-0 fit plus 2050 refits, each adding E log det of a 2-D sample covariance = sum over
    i = 1, 2 of E log(chi2_{n-i} / n) (Bartlett), integrated here."""
    step = lambda n: sum(mean_log_chi2_over(n - i, n) for i in (1, 2))  # noqa: E731
    value, tol = claimed("nb03_logdet_n500_theory")
    assert value == pytest.approx(step(1000) + 2050 * step(500), rel=tol)


def test_wald_bound_and_its_ratios():
    """Wald's lower bound ln(1/2)/a(M) - 1 with a(M) = E log(chi2_{M-1}/M) integrated here; the claimed
    ratios are the simulated mean collapse times (CSV) over this bound."""
    rows = figure_data("06_beyond_collapse_time")
    for m in (10, 100, 10000):
        at = rows[rows["m"] == str(m)].drop_duplicates("statistic").set_index("statistic")["value"]
        bound = np.log(0.5) / mean_log_chi2_over(m - 1, m) - 1
        assert at["wald"] == pytest.approx(bound, rel=1e-5), f"M = {m}: the CSV's bound {at['wald']}, Wald's {bound}"
        value, tol = claimed(f"readme_nb06_wald_ratio_m{m}")
        assert value == pytest.approx(at["mean"] / bound, rel=tol), f"M = {m}: ratio {value}, mean/bound {at['mean'] / bound}"
    # the claim that the bound is a lower bound: no mean lies below it by more than 3.3 s.e. (1e-3 each)
    for m, group in rows.groupby("m"):
        at = group.drop_duplicates("statistic").set_index("statistic")["value"]
        assert at["mean"] > at["wald"] - 3.3 * at["sem"], m
    assert 1 <= claimed("nb06_wald_ratio_min_large_m")[0]


def test_keep_real_law_against_simulated_chains():
    """The claimed law at f = 10 %, M = 100 (fixed kept subset) against the variance across 20,000 chains
    of log var after 200 generations (exact simulator, MLE). Tolerance: 10 % for the law's linearisation
    (measured 3 % off here) plus 4.5 standard errors of a sample variance, sqrt(2/n): two-sided false-failure
    rate 7e-6 were the law exact to 10 %. The measured value of the committed sweep (1000 chains) also
    agrees with it within the same 10 % plus 4.5 of its standard errors."""
    law, tol = claimed("readme_nb06_keep_real_law_f10")
    rng, exp, chains = np.random.default_rng(2024), ExactGaussian("mle"), 20_000
    frame = run_generations(exp, exp.real_data(100, chains, rng), 200, 100, KeepReal(0.1), rng, record=[200],
                            progress=False)
    simulated = np.log(frame["var"]).var(ddof=1)
    assert abs(simulated / law - 1) < 0.10 + 4.5 * np.sqrt(2 / chains), (simulated, law)
    measured, _ = claimed("readme_nb06_keep_real_log_var_f10")
    assert abs(measured / law - 1) < 0.10 + 4.5 * np.sqrt(2 / 1000), (measured, law)


CHECKED = {"nb01_exact_m100_half", "nb01_diffusion_m100_half", "nb01_diffusion_over_exact_m50",
           "nb01_diffusion_over_exact_m10", "nb02_theory_median_var_mle_m100", "nb02_theory_w2_mle_m100",
           "nb02_theory_w2_unbiased_m100", "nb03_logdet_n500_theory", "readme_nb06_wald_ratio_m10",
           "readme_nb06_wald_ratio_m100", "readme_nb06_wald_ratio_m10000", "nb06_wald_ratio_min_large_m",
           "readme_nb06_keep_real_law_f10"}
