"""Command line and profiles: listing, validation and clear errors for bad input."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from collapse_utils import cli
from collapse_utils.paths import REPO_ROOT
from collapse_utils.profiles import PROFILE_NAMES, PROFILES, WHY, load_settings, notebook_names, settings_table, show_value


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
    (["run", "02", "--profile", "smoke", "-p", "n_runs=many"], "setting 'n_runs' expects an integer, got 'many'"),
    (["run", "02", "--profile", "smoke", "-p", "n_runs=0"], "n_runs must be an integer >= 1"),
    (["run", "02", "--profile", "smoke", "-p", "sample_sizes=100,1"], "each sample size M must be an integer >= 2"),
    (["run", "02", "--profile", "smoke", "-p", "chains=3"], "02_gaussian has no setting 'chains'"),
    (["run", "02", "--profile", "smoke", "-p", "n_runs"], "--param expects key=value"),
    (["run", "02", "--profile", "smoke", "-p", "policies=replace,keep_real:2"], "expected a number in (0, 1]"),
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
    assert cli.main(["run", "02", "--profile", "smoke", "-p", "n_runs=-1"]) == 2
    assert cached.read_bytes() == b"kept"


def test_overrides_are_coerced_to_the_profile_types():
    settings = load_settings("02_gaussian", "smoke", {"n_runs": "50", "sample_sizes": "100, 200",
                                                      "n_generations": "1e3"})
    assert settings.n_runs == 50 and settings.sample_sizes == [100, 200] and settings.n_generations == 1000
    with pytest.raises(ValueError, match="expects an integer, got '2.5'"):
        load_settings("02_gaussian", "smoke", {"n_runs": "2.5"})


def test_number_prefix_resolves_notebook():
    assert cli.resolve_notebook("01") == "01_discrete_markov"
    assert cli.resolve_notebook("02_gaussian") == "02_gaussian"


@pytest.mark.parametrize("notebook", notebook_names())
def test_every_difference_from_the_paper_has_a_reason(notebook):
    table = settings_table(notebook, "default")
    unexplained = table.index[table["why"] == ""].tolist()
    stale = sorted(set(WHY[notebook]) - set(table.index[table["why"] != "same"]))
    assert not unexplained, f"{notebook}: settings that differ from the paper without a reason in profiles.WHY"
    assert not stale, f"{notebook}: reasons in profiles.WHY for settings that equal the paper's"


def test_show_lists_every_setting_with_value_type_paper_value_and_reason(capsys):
    assert cli.main(["show", "02", "--profile", "default"]) == 0
    out = capsys.readouterr().out
    header = out.splitlines()[1].split()
    assert header == ["type", "this", "run", "paper", "profile", "why"]  # the project's paper profile
    for name, value in load_settings("02_gaussian", "default").__dict__.items():
        row = next(line for line in out.splitlines() if line.startswith(name + " "))
        assert show_value(value) in row
    assert WHY["02_gaussian"]["n_runs"] in out


def _one_line_error(capsys, argv, status, message):
    assert cli.main(argv) == status
    err = capsys.readouterr().err.strip()
    assert message in err and "Traceback" not in err and len(err.splitlines()) == 1, err


def test_negative_seed_is_refused_before_a_kernel_starts(capsys, monkeypatch):
    monkeypatch.setattr(cli, "run_notebook", lambda *a, **k: pytest.fail("a kernel was started"))
    _one_line_error(capsys, ["run", "02", "--profile", "smoke", "--seed", "-1"], 2,
                    "error: seed must be an integer >= 0, got -1")


def test_settings_beyond_the_compute_bound_are_refused_and_lose_nothing(capsys, isolated_outputs):
    cached = isolated_outputs / "results" / "02_gaussian" / "smoke" / "abc" / "chains" / "result.parquet"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"kept")
    _one_line_error(capsys, ["run", "02", "--profile", "smoke", "-p", "n_generations=1e12"], 2,
                    "refusing runs estimated above 1 year")
    _one_line_error(capsys, ["run", "02", "--profile", "smoke", "-p", "n_runs=1e9"], 2, "GiB of memory")
    assert cached.read_bytes() == b"kept"


def test_long_runs_warn_and_every_profile_is_accepted():
    from collapse_utils.budget import check_budget

    for notebook in notebook_names():
        for profile in PROFILE_NAMES:
            check_budget(notebook, load_settings(notebook, profile))  # raises if refused
    assert check_budget("02_gaussian", load_settings("02_gaussian", "default")) is None
    warning = check_budget("02_gaussian", load_settings("02_gaussian", "default", {"n_generations": "1e7"}))
    assert warning.startswith("warning: 02_gaussian is estimated to take") and "days" in warning


def test_output_on_a_file_is_one_line(capsys, tmp_path):
    existing = tmp_path / "notes.txt"
    existing.write_text("kept")
    _one_line_error(capsys, ["run", "06", "--profile", "smoke", "--output", str(existing)], 1,
                    f"not a folder: {existing}")
    assert existing.read_text() == "kept"


def test_results_or_figures_folder_on_a_file_is_one_line(capsys, tmp_path, monkeypatch):
    existing = tmp_path / "figures.txt"
    existing.write_text("kept")
    monkeypatch.setenv("COLLAPSE_FIGURES_DIR", str(existing))
    monkeypatch.setattr(cli, "_logging_kernel_manager", lambda log: pytest.fail("a kernel was started"))
    _one_line_error(capsys, ["run", "06", "--profile", "smoke"], 1, f"not a folder: {existing}")
    monkeypatch.setenv("COLLAPSE_FIGURES_DIR", str(tmp_path / "figures"))
    monkeypatch.setenv("COLLAPSE_RESULTS_DIR", str(existing))
    _one_line_error(capsys, ["run", "06", "--profile", "smoke"], 1, f"not a folder: {existing}")
    assert existing.read_text() == "kept"


def test_output_in_a_read_only_folder_is_one_line(capsys, tmp_path):
    folder = tmp_path / "read_only"
    folder.mkdir()
    folder.chmod(0o555)
    immutable = os.geteuid() == 0  # root ignores permission bits: make the folder immutable instead
    if immutable:
        subprocess.run(["chattr", "+i", str(folder)], check=True)
    try:
        _one_line_error(capsys, ["run", "06", "--profile", "smoke", "--output", str(folder / "out")], 1,
                        f"{folder / 'out'}")
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        folder.chmod(0o755)


@pytest.mark.notebook
@pytest.mark.parametrize("stop, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["ctrl-c", "sigterm"])
def test_an_interrupt_is_one_line_nonzero_and_keeps_the_cache(isolated_outputs, stop, code):
    """Ctrl-C and SIGTERM say the same line (rerun to resume), exit non-zero and keep what was cached."""
    cached = isolated_outputs / "results" / "03_gmm" / "smoke" / "abc" / "chains" / "result.parquet"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"kept")
    env = {**os.environ, "COLLAPSE_RUNS_DIR": str(isolated_outputs / "runs"), "PYTHONPATH": str(REPO_ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "collapse_utils", "run", "03", "--profile", "smoke",
                                "-p", "n_generations=1e5"],  # minutes of work: still running when interrupted
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout.readline().startswith("03_gmm: executing")
    time.sleep(8)  # the kernel is up and computing
    process.send_signal(stop)
    out, err = process.communicate(timeout=60)
    assert process.returncode == code, (out, err)
    assert err.strip().splitlines()[-1] == cli.INTERRUPTED and "Traceback" not in err, err
    assert cached.read_bytes() == b"kept"


def test_every_experiment_module_computes_its_notebook_with_run_all():
    import importlib

    from collapse_utils.profiles import SETTINGS_CLASSES

    for notebook, spec in SETTINGS_CLASSES.items():
        assert callable(getattr(importlib.import_module(spec.split(":")[0]), "run_all", None)), notebook


def test_compute_fills_the_cache_that_the_notebook_then_reads(capsys, monkeypatch):
    from collapse_utils import gaussian
    from collapse_utils.run import start_run

    assert cli.main(["compute", "02", "--profile", "smoke", "-p", "n_runs=20", "-p", "n_generations=30"]) == 0
    assert "02_gaussian: results of profile smoke computed or loaded" in capsys.readouterr().out
    monkeypatch.setattr(gaussian, "simulate_settings", lambda *args: pytest.fail("not loaded from the cache"))
    frame = gaussian.run_all(start_run("02_gaussian", "smoke", {"n_runs": 20, "n_generations": 30}))
    assert frame["chain"].nunique() == 20 and frame["generation"].max() == 30
