"""Discrete resampling: absorption, survival of rare outcomes, mean absorption times."""

from __future__ import annotations

import numpy as np
import pytest

from collapse_utils import discrete as d


def test_every_chain_is_absorbed_on_a_point_mass():
    frame = d.simulate_categories(d.zipf_probabilities(5), 20, 400, 200, np.random.default_rng(0), progress=False)
    last = frame[frame["generation"] == 400]
    assert (last["n_alive"] == 1).all()
    probs = last[[f"p{k}" for k in range(5)]].to_numpy()
    assert np.allclose(probs.max(axis=1), 1.0)
    # outcome k wins with probability p_k (each frequency is a martingale): count ~ Binomial(200, p_0)
    p0 = d.zipf_probabilities(5)[0]
    wins = (probs[:, 0] == 1).sum()
    assert abs(wins - 200 * p0) < 4 * np.sqrt(200 * p0 * (1 - p0))  # 4 s.d.: false-failure rate ~6e-5


def test_outcomes_never_come_back():
    frame = d.simulate_categories(d.zipf_probabilities(8), 30, 60, 100, np.random.default_rng(1), progress=False)
    alive = frame.pivot(index="chain", columns="generation", values="n_alive").to_numpy()
    assert np.all(np.diff(alive, axis=1) <= 0)


def test_survival_matches_exact_curve():
    probs, m, chains = d.zipf_probabilities(10), 50, 2000
    frame = d.simulate_categories(probs, m, 40, chains, np.random.default_rng(2), progress=False, record=[40])
    common, rare = d.survival_curves(m, [probs[0], probs[-1]], 40)[:, 40]
    observed = (frame[f"p{len(probs) - 1}"] > 0).mean()
    assert abs(observed - rare) < 4 * np.sqrt(rare * (1 - rare) / chains)  # 4 s.e.: false-failure rate ~6e-5
    assert common > rare  # the common outcome outlives the rare one
    assert d.survival_curves(m, [0.3], 0)[0, 0] == pytest.approx(1 - 0.7**m)


def test_mean_absorption_time_matches_exact_and_diffusion():
    times = d.absorption_times(100, 0.5, 4000, np.random.default_rng(3))
    exact = d.exact_mean_absorption_time(100, 0.5)
    assert abs(times.mean() - exact) < 4 * times.std() / np.sqrt(len(times))  # 4 s.e.: false-failure rate ~6e-5
    assert exact == pytest.approx(d.diffusion_mean_absorption_time(100, 0.5), rel=0.03)


@pytest.mark.parametrize("p", [0.1, 0.2, 0.3, 0.5])
def test_diffusion_approximation_is_close_to_the_exact_time_away_from_one_half(p):
    # deterministic: at M = 100 the diffusion approximation overshoots the exact (I - Q)^-1 1 by
    # 1.5-2.5 % for these p (an O(1/M) correction); swapping log(1-p) for log(p) is off by 7x at p = 0.1
    assert d.diffusion_mean_absorption_time(100, p) == pytest.approx(d.exact_mean_absorption_time(100, p), rel=0.03)
    assert d.diffusion_mean_absorption_time(100, p) == pytest.approx(-200 * (p * np.log(p) + (1 - p) * np.log(1 - p)))
    assert d.diffusion_mean_absorption_time(1, 0.5) == pytest.approx(2 * np.log(2))


def test_exact_mean_time_solves_one_step_recursion():
    m = 12
    t = np.array([d.exact_mean_absorption_time(m, i / m) for i in range(m + 1)])
    assert t[0] == t[m] == 0
    assert np.allclose(t[1:-1], 1 + (d.transition_matrix(m) @ t)[1:-1])  # first-step analysis


def test_absorption_table_means_match_the_exact_values():
    table = d.absorption_table([(20, 0.5), (20, 0.2), (50, 0.5)], 3000, np.random.default_rng(4))
    # the table's 95 % intervals alone would miss one of three exact values in ~14 % of seeds;
    # three simultaneous tests at z = 3.59 (two-sided 1e-3 / 3 each) fail together with rate <= 1e-3
    half_width_95 = (table["ci_high"] - table["ci_low"]) / 2
    z = np.abs(table["mean"] - table["exact"]) / (half_width_95 / 1.959964)
    assert (z < 3.59).all()


def test_same_seed_same_result():
    first = d.absorption_times(30, 0.3, 50, np.random.default_rng(5))
    assert np.array_equal(first, d.absorption_times(30, 0.3, 50, np.random.default_rng(5)))
    assert not np.array_equal(first, d.absorption_times(30, 0.3, 50, np.random.default_rng(6)))


@pytest.mark.parametrize("call, message", [
    (lambda: d.absorption_times(1, 0.5, 10, np.random.default_rng()), "sample size M must be an integer >= 2"),
    (lambda: d.absorption_times(10, 1.0, 10, np.random.default_rng()), "strictly between 0 and 1"),
    (lambda: d.absorption_times(10, 0.5, 0, np.random.default_rng()), "n_runs must be an integer >= 1"),
    (lambda: d.zipf_probabilities(1), "n_categories must be an integer >= 2"),
    (lambda: d.DiscreteSettings(p_grid=[0.5, 1.2]), "every p in p_grid"),
    (lambda: d.DiscreteSettings(sample_sizes=[10, -5]), "each sample size M"),
])
def test_bad_input_is_a_clear_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()
