"""The generational loop: policies, recording, checkpoints and resuming."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import documentation
from collapse_utils.gaussian import ExactGaussian, NaiveGaussian
from collapse_utils.recursion import Accumulate, KeepReal, Replace, parse_policy, policy_label, run_generations


class Interrupt(Exception):
    pass


class InterruptedGaussian(NaiveGaussian):
    """Raises after ``fits`` calls of fit, as a killed process would stop."""

    def __init__(self, fits):
        super().__init__("mle")
        object.__setattr__(self, "left", fits)

    def fit(self, data, previous, rng):
        object.__setattr__(self, "left", self.left - 1)
        if self.left < 0:
            raise Interrupt
        return super().fit(data, previous, rng)


def run(exp, policy, rng, **options):
    real = NaiveGaussian().real_data(20, 3, np.random.default_rng(0))
    return run_generations(exp, real, 15, 20, policy, rng, progress=False, **options)


@pytest.mark.parametrize("policy", [Replace(), KeepReal(0.25), KeepReal(0.25, redraw=True), Accumulate()])
def test_interrupted_run_resumes_to_identical_result(tmp_path, policy):
    uninterrupted = run(NaiveGaussian(), policy, np.random.default_rng(1))
    checkpoint = tmp_path / "state.pkl"
    with pytest.raises(Interrupt):
        run(InterruptedGaussian(9), policy, np.random.default_rng(1), checkpoint=checkpoint, checkpoint_seconds=0)
    assert checkpoint.exists()
    resumed = run(NaiveGaussian(), policy, np.random.default_rng(999), checkpoint=checkpoint)
    assert resumed.equals(uninterrupted)


def test_policies_build_training_sets_of_the_right_size():
    exp, rng = NaiveGaussian(), np.random.default_rng(2)
    real = exp.real_data(10, 4, rng)
    model = exp.fit(real, None, rng)
    keep = KeepReal(0.3)
    state = keep.start(exp, real, 10, rng)
    data, _ = keep.training_data(exp, model, state, 10, rng)
    assert data.shape == (4, 10)
    assert all(np.isin(data[c, :3], real[c]).all() for c in range(4))  # 3 kept real points per chain
    pool = Accumulate().start(exp, real, 10, rng)
    for _ in range(3):
        _, pool = Accumulate().training_data(exp, model, pool, 10, rng)
    assert pool.shape == (4, 40)
    assert np.array_equal(pool[:, :10], real)


def test_keep_real_redraw_draws_new_real_points_every_generation():
    """Fixed: the same 5 real points in every generation; redraw: a new subset each time (two draws of 5
    of 40 distinct points coincide with probability 1 / C(40, 5) = 1.5e-6 per chain)."""
    exp, rng = NaiveGaussian(), np.random.default_rng(5)
    real = exp.real_data(40, 3, rng)
    model = exp.fit(real, None, rng)
    for policy, same in [(KeepReal(0.125), True), (KeepReal(0.125, redraw=True), False)]:
        state = policy.start(exp, real, 40, rng)
        kept = [np.sort(policy.training_data(exp, model, state, 40, rng)[0][:, :5], axis=1) for _ in range(2)]
        assert all(np.isin(k, real).all() for k in kept)
        assert (kept[0] == kept[1]).all(axis=1).tolist() == [same] * 3


def test_keep_real_extremes():
    exp, rng = ExactGaussian(), np.random.default_rng(3)
    real = exp.real_data(10, 4, rng)
    model = exp.fit(real, None, rng)
    everything = KeepReal(1.0)
    data, _ = everything.training_data(exp, model, everything.start(exp, real, 10, rng), 10, rng)
    assert np.array_equal(data.mean, real.mean)
    nothing = KeepReal(0.0)
    assert nothing.start(exp, real, 10, rng) is None


def test_record_limits_rows_and_labels_policy():
    frame = run(NaiveGaussian(), KeepReal(0.1), np.random.default_rng(4), record=[0, 15])
    assert sorted(frame["generation"].unique()) == [0, 15]
    assert set(frame["policy"]) == {"keep_real_10%"} and len(frame) == 6


def test_parse_policy_and_labels():
    assert policy_label(parse_policy("replace")) == "replace"
    assert policy_label(parse_policy("accumulate")) == "accumulate"
    assert parse_policy("keep_real:0.25") == KeepReal(0.25)
    for bad, message in [("keep_real:-0.1", r"in \(0, 1\]"), ("keep_real:0", r"in \(0, 1\]"), ("keep_real:abc", "bad keep_real fraction"),
                         ("replace:3", "unknown data policy")]:
        with pytest.raises(ValueError, match=message):
            parse_policy(bad)


@pytest.mark.parametrize("kwargs, message", [
    (dict(n_generations=0), "n_generations must be an integer >= 1"),
    (dict(n_samples=1), "n_samples must be an integer >= 2"),
    (dict(n_generations=2.5), "n_generations must be an integer"),
])
def test_loop_rejects_bad_sizes(kwargs, message):
    exp = NaiveGaussian()
    args = dict(exp=exp, real=exp.real_data(5, 2, np.random.default_rng()), n_generations=3, n_samples=5,
                policy=Replace(), rng=np.random.default_rng(), progress=False)
    with pytest.raises(ValueError, match=message):
        run_generations(**{**args, **kwargs})


class CountingPolicy:
    """A custom stateful policy: keeps the first real points and counts generations in its state."""

    name = "counting"

    def start(self, exp, real, n, rng):
        return {"kept": exp.subset(real, 2, rng), "generation": 0}

    def training_data(self, exp, model, state, n, rng):
        state = {**state, "generation": state["generation"] + 1}
        fresh = exp.sample(model, n - 2 - state["generation"] % 3, rng)
        return exp.combine([state["kept"], fresh]), state


def test_a_custom_stateful_policy_resumes_exactly(tmp_path):
    uninterrupted = run(NaiveGaussian(), CountingPolicy(), np.random.default_rng(4))
    checkpoint = tmp_path / "state.pkl"
    with pytest.raises(Interrupt):
        run(InterruptedGaussian(7), CountingPolicy(), np.random.default_rng(4), checkpoint=checkpoint,
            checkpoint_seconds=0)
    resumed = run(NaiveGaussian(), CountingPolicy(), np.random.default_rng(0), checkpoint=checkpoint)
    assert resumed.equals(uninterrupted)
    assert (uninterrupted["policy"] == "counting").all()


def test_the_readme_custom_policy_example_runs_and_holds_the_variance(capsys):
    import re

    from collapse_utils.paths import REPO_ROOT

    readme = documentation()
    section = readme[readme.index("# Your own data policy"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    frame = namespace["frame"]
    assert frame["generation"].nunique() == 201 and frame["chain"].nunique() == 500
    assert (frame["policy"] == "keep_real_half").all()
    # Keeping half the real points pins the variance near the real sample's (median about 0.95 here);
    # under Replace the median at generation 200 would be ((M-1)/M)^200 = 0.13. 0.8 separates the two by
    # far more than the seeded spread of a 500-chain median (about 0.01).
    assert frame.loc[frame["generation"] == 200, "var"].median() > 0.8
    assert "200" in capsys.readouterr().out
