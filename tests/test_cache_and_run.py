"""Results cache, run bookkeeping and provenance records."""

from __future__ import annotations

import json

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from collapse_utils import cache
from collapse_utils.run import start_run


def test_atomic_write_leaves_old_content_when_writing_fails(tmp_path):
    target = tmp_path / "result.bin"
    cache.atomic_write_bytes(target, b"first")


    with pytest.raises(TypeError):
        cache.atomic_write_bytes(target, object())  # not bytes: the write fails half way
    assert target.read_bytes() == b"first"
    assert [p.name for p in tmp_path.iterdir()] == ["result.bin"]  # no temporary file left behind


def test_cached_frame_loads_instead_of_recomputing_and_force_recomputes(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return pd.DataFrame({"x": [len(calls)]})

    path = tmp_path / "r.parquet"
    first, loaded = cache.cached_frame(path, compute)
    again, loaded_again = cache.cached_frame(path, compute)
    assert (loaded, loaded_again, len(calls)) == (False, True, 1)
    assert again.equals(first)
    forced, _ = cache.cached_frame(path, compute, force=True)
    assert forced["x"].item() == 2


def test_failed_computation_keeps_the_cached_result(tmp_path):
    path = tmp_path / "r.parquet"
    cache.cached_frame(path, lambda: pd.DataFrame({"x": [1]}))

    def boom():
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        cache.cached_frame(path, boom, force=True)
    assert pd.read_parquet(path)["x"].item() == 1


def test_settings_hash_depends_on_every_value():
    assert cache.settings_hash({"a": 1, "b": [1, 2]}) == cache.settings_hash({"b": [1, 2], "a": 1})
    assert cache.settings_hash({"a": 1}) != cache.settings_hash({"a": 2})


def test_run_cached_writes_provenance_and_keys_on_settings_and_seed(isolated_outputs):
    run = start_run("02_gaussian", "smoke", {"n_runs": 3}, seed=1)
    frame = run.cached("demo", lambda work_dir: pd.DataFrame({"v": run.rng("x").normal(size=3)}))
    folder = run.result_dir("demo")
    record = json.loads((folder / "result.json").read_text())
    assert record["seed"] == 1 and record["settings"]["n_runs"] == 3 and record["profile"] == "smoke"
    assert "numpy" in record["versions"] and record["git_commit"]
    same = start_run("02_gaussian", "smoke", {"n_runs": 3}, seed=1)
    assert same.cached("demo", lambda work_dir: pytest.fail("should load")).equals(frame)
    other = start_run("02_gaussian", "smoke", {"n_runs": 3}, seed=2)
    assert other.result_dir("demo") != folder
    assert not other.rng("x").normal(size=3).tolist() == frame["v"].tolist()


def test_checkpoints_are_removed_once_the_result_is_saved(isolated_outputs):
    run = start_run("02_gaussian", "smoke")

    def compute(work_dir):
        work_dir.mkdir(parents=True)
        (work_dir / "state.pkl").write_bytes(b"partial")
        return pd.DataFrame({"v": [1]})

    run.cached("demo", compute)
    assert not (run.result_dir("demo") / "checkpoints").exists()


def test_save_figure_writes_png_pdf_and_provenance(isolated_outputs):
    run = start_run("01_discrete_markov", "smoke", seed=3)
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    run.save_figure(fig, "demo")
    paths = [isolated_outputs / "figures" / f"01_discrete_markov_demo.{ext}" for ext in ("png", "pdf")]
    assert paths[0].read_bytes()[:4] == b"\x89PNG" and paths[1].read_bytes()[:4] == b"%PDF"
    record = json.loads(paths[0].with_suffix(".json").read_text())
    assert record["figure"] == "01_discrete_markov_demo" and record["seed"] == 3


def test_same_seed_gives_an_identical_results_file(tmp_path, monkeypatch):
    from collapse_utils import gaussian

    def results_file(root, seed):
        monkeypatch.setenv("COLLAPSE_RESULTS_DIR", str(root))
        run = start_run("02_gaussian", "smoke", {"n_runs": 5, "n_generations": 10}, seed=seed)
        run.cached("chains", lambda work_dir: gaussian.simulate_settings(run.settings, run.rng, work_dir, False))
        return (run.result_dir("chains") / "result.parquet").read_bytes()

    first, again, other = results_file(tmp_path / "a", 0), results_file(tmp_path / "b", 0), results_file(tmp_path / "c", 1)
    assert first == again
    assert first != other


# --- faults: damaged files, code changes, concurrent runs --------------------------------------

def test_damaged_result_is_reported_by_name_and_recomputed(isolated_outputs, capfd):
    run = start_run("02_gaussian", "smoke")
    frame = run.cached("demo", lambda work_dir: pd.DataFrame({"v": range(100)}))
    path = run.result_dir("demo") / "result.parquet"
    good = path.read_bytes()
    for damage in (good[: len(good) // 2],                                        # truncated file
                   _parquet_bytes(frame.iloc[:50])):                              # valid parquet, rows removed
        path.write_bytes(damage)
        again = start_run("02_gaussian", "smoke").cached("demo", lambda work_dir: pd.DataFrame({"v": range(100)}))
        message = capfd.readouterr().err.strip().splitlines()
        assert len(message) == 1 and str(path) in message[0] and "recomputing" in message[0]
        assert again.equals(frame) and path.read_bytes() == good


def _parquet_bytes(frame: pd.DataFrame) -> bytes:
    import io

    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def test_truncated_checkpoint_is_reported_and_the_run_starts_afresh(tmp_path, capfd):
    import numpy as np

    from collapse_utils.gaussian import NaiveGaussian
    from collapse_utils.recursion import Replace, run_generations

    def chains(checkpoint):
        real = NaiveGaussian().real_data(20, 3, np.random.default_rng(0))
        return run_generations(NaiveGaussian(), real, 5, 20, Replace(), np.random.default_rng(1),
                               checkpoint=checkpoint, progress=False)

    checkpoint = tmp_path / "state.pkl"
    expected = chains(checkpoint)
    checkpoint.write_bytes(checkpoint.read_bytes()[:40])
    assert chains(checkpoint).equals(expected)
    message = capfd.readouterr().err.strip().splitlines()
    assert len(message) == 1 and str(checkpoint) in message[0]


def test_force_clears_checkpoints_before_recomputing(isolated_outputs):
    run = start_run("02_gaussian", "smoke", force=True)
    seen = []

    def compute(work_dir):
        seen.append(sorted(p.name for p in work_dir.glob("*")) if work_dir.exists() else [])
        return pd.DataFrame({"v": [1]})

    checkpoints = run.result_dir("demo") / "checkpoints"
    checkpoints.mkdir(parents=True)
    (checkpoints / "state.pkl").write_bytes(b"stale")
    run.cached("demo", compute)
    assert seen == [[]]


@pytest.mark.parametrize("edited, edit, changes", [
    ("gaussian", "\nEDITED = 1\n", True), ("recursion", "\nEDITED = 1\n", True),  # the module and its imports
    ("plotting", "\nEDITED = 1\n", False), ("gmm", "\nEDITED = 1\n", False),     # display code, another experiment
    ("gaussian", "\n# a comment\n", False),                                        # wording is not code
    ("gaussian", '\ndef f():\n    """A docstring."""\n', False), ("gaussian", "\ndef f():\n    return 1\n", True)])
def test_code_version_follows_the_code_of_the_modules_that_compute_a_result(package_copy, edited, edit, changes):
    copy = package_copy
    if "def f" in edit:  # the same function, without and with the edit
        (copy / f"{edited}.py").write_text((copy / f"{edited}.py").read_text() + "\ndef f():\n    pass\n")
        cache._package_imports.cache_clear()
    before = cache.code_version("collapse_utils.gaussian")
    source = (copy / f"{edited}.py").read_text()
    if "def f" in edit:
        source = source[:source.rindex("\ndef f():")]
    (copy / f"{edited}.py").write_text(source + edit)
    cache._package_imports.cache_clear()
    assert (cache.code_version("collapse_utils.gaussian") != before) == changes


@pytest.mark.parametrize("edited, old, new, changes", [
    ("gaussian", "n_generations: int = 1000", "n_generations: int = 999", False),  # a settings default
    ("gaussian", "UNKEYED: ClassVar[dict[str, str]] = {}", "UNKEYED: ClassVar[dict[str, str]] = {'x': 'y'}", True),
    ("recursion", "redraw: bool = False", "redraw: bool = True", True)])  # a default of a class that is no settings
def test_a_settings_default_is_no_code(package_copy, edited, old, new, changes):
    """Settings reach results by value, through the key: moving a default must keep the cached results of every
    setting that is unchanged (here the Gaussian chains), while other class attributes stay code."""
    before = cache.code_version("collapse_utils.gaussian")
    source = (package_copy / f"{edited}.py").read_text()
    assert source.count(old) == 1
    (package_copy / f"{edited}.py").write_text(source.replace(old, new))
    assert (cache.code_version("collapse_utils.gaussian") != before) == changes


def test_a_code_change_invalidates_cached_results(isolated_outputs, request):
    run = start_run("02_gaussian", "smoke")
    run.cached("demo", lambda work_dir: pd.DataFrame({"v": [1]}))
    copy = request.getfixturevalue("package_copy")  # copied after the first result, keyed on the original
    (copy / "gaussian.py").write_text((copy / "gaussian.py").read_text() + "\nCHANGED = 1\n")  # code, not a comment
    rerun = start_run("02_gaussian", "smoke")
    assert rerun.cached("demo", lambda work_dir: pd.DataFrame({"v": [2]}))["v"].item() == 2


def _cached_in_process(args):
    """Worker for the concurrency test: load or compute one result under a shared results folder."""
    import os
    import time as _time

    results, seed = args
    os.environ["COLLAPSE_RESULTS_DIR"] = results

    def slow(work_dir):
        _time.sleep(0.5)  # both processes are inside the cached call at the same time
        return pd.DataFrame({"v": start_run("02_gaussian", "smoke", seed=seed).rng("x").normal(size=1000)})

    start_run("02_gaussian", "smoke", seed=seed).cached("demo", slow)
    run = start_run("02_gaussian", "smoke", seed=seed)
    return (run.result_dir("demo") / "result.parquet").read_bytes()


@pytest.mark.slow
def test_concurrent_runs_share_one_result_and_never_tear_it(tmp_path):
    from concurrent.futures import ProcessPoolExecutor

    alone = _cached_in_process((str(tmp_path / "alone"), 7))
    for repetition in range(3):
        shared = str(tmp_path / f"shared{repetition}")
        with ProcessPoolExecutor(2) as pool:
            assert list(pool.map(_cached_in_process, [(shared, 7), (shared, 7)])) == [alone, alone]


def test_a_bad_seed_is_refused_before_anything_runs():
    with pytest.raises(ValueError, match="seed must be an integer >= 0, got -1"):
        start_run("02_gaussian", "smoke", seed=-1)


def test_a_figure_saved_twice_has_the_same_bytes(isolated_outputs):
    def saved_bytes():
        fig, ax = plt.subplots()
        ax.plot([0, 1], [1, 0])
        start_run("01_discrete_markov", "smoke").save_figure(fig, "demo", pd.DataFrame({"x": [0, 1]}))
        plt.close(fig)
        folder = isolated_outputs / "figures"
        return {ext: (folder / f"01_discrete_markov_demo.{ext}").read_bytes() for ext in ("png", "pdf", "csv")}

    first = saved_bytes()
    assert first["csv"] == b"x\n0\n1\n"
    assert saved_bytes() == first


def test_a_non_editable_install_writes_into_the_current_folder(tmp_path, monkeypatch):
    from collapse_utils import paths

    site_packages = tmp_path / "site-packages"  # no pyproject.toml beside the installed package
    site_packages.mkdir()
    monkeypatch.chdir(tmp_path)
    assert paths.project_root(site_packages) == tmp_path
    assert paths.project_root(paths.PACKAGE_PARENT) == paths.PACKAGE_PARENT  # a checkout
