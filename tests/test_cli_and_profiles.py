"""Command line and profiles: listing, validation and clear errors for bad input."""

from __future__ import annotations

import pytest

from collapse_utils import cli
from collapse_utils.profiles import PROFILE_NAMES, PROFILES, WHY, load_settings, notebook_names, settings_table


@pytest.mark.parametrize("notebook", sorted(PROFILES))
@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_every_profile_validates(notebook, profile):
    assert load_settings(notebook, profile) is not None


def test_list_shows_notebooks_and_profiles(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    assert "02_gaussian" in out and "smoke, default, paper" in out


@pytest.mark.parametrize("argv, message", [
    (["run", "02_gaussian", "--profile", "fast"], "unknown profile 'fast'; valid profiles: smoke, default, paper"),
    (["run", "99_nothing", "--profile", "smoke"], "unknown notebook '99_nothing'; valid notebooks: 01_discrete_markov"),
    (["run", "02", "--profile", "smoke", "-p", "n_chains=many"], "setting 'n_chains' expects an integer, got 'many'"),
    (["run", "02", "--profile", "smoke", "-p", "n_chains=0"], "n_chains must be an integer >= 1"),
    (["run", "02", "--profile", "smoke", "-p", "sample_sizes=100,1"], "each sample size M must be an integer >= 2"),
    (["run", "02", "--profile", "smoke", "-p", "chains=3"], "02_gaussian has no setting 'chains'"),
    (["run", "02", "--profile", "smoke", "-p", "n_chains"], "--param expects key=value"),
    (["run", "02", "--profile", "smoke", "-p", "policies=replace,keep_real:2"], "fraction must lie in [0, 1], got 2.0"),
    (["figures", "--profile", "huge"], "unknown profile 'huge'"),
])
def test_bad_input_is_one_clear_line(capsys, argv, message):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_bad_input_loses_no_cached_result(isolated_outputs):
    cached = isolated_outputs / "results" / "02_gaussian" / "smoke" / "abc" / "chains" / "result.parquet"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"kept")
    assert cli.main(["run", "02", "--profile", "smoke", "-p", "n_chains=-1"]) == 2
    assert cached.read_bytes() == b"kept"


def test_overrides_are_coerced_to_the_profile_types():
    settings = load_settings("02_gaussian", "smoke", {"n_chains": "50", "sample_sizes": "100, 200",
                                                      "n_generations": "1e3"})
    assert settings.n_chains == 50 and settings.sample_sizes == [100, 200] and settings.n_generations == 1000
    with pytest.raises(ValueError, match="expects an integer, got '2.5'"):
        load_settings("02_gaussian", "smoke", {"n_chains": "2.5"})


def test_number_prefix_resolves_notebook():
    assert cli.resolve_notebook("01") == "01_discrete_markov"
    assert cli.resolve_notebook("02_gaussian") == "02_gaussian"


def test_output_folder_receives_the_figures_of_a_cli_run(tmp_path, monkeypatch):
    monkeypatch.delenv("COLLAPSE_FIGURES_DIR")
    assert cli.main(["run", "06", "--profile", "smoke", "--output", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "06_beyond.ipynb").exists()
    assert sorted(p.name for p in (tmp_path / "out" / "figures").glob("*.png")) == [
        "06_beyond_collapse_time.png", "06_beyond_keep_real_sweep.png"]
    assert "COLLAPSE_FIGURES_DIR" not in __import__("os").environ


@pytest.mark.parametrize("notebook", notebook_names())
def test_every_difference_from_the_paper_has_a_reason(notebook):
    table = settings_table(notebook, "default")
    unexplained = table.index[table["why"] == ""].tolist()
    stale = sorted(set(WHY[notebook]) - set(table.index[table["why"] != "same"]))
    assert not unexplained, f"{notebook}: settings that differ from the paper without a reason in profiles.WHY"
    assert not stale, f"{notebook}: reasons in profiles.WHY for settings that equal the paper's"
