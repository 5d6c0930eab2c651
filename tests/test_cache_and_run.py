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
    run = start_run("02_gaussian", "smoke", {"n_chains": 3}, seed=1)
    frame = run.cached("demo", lambda work_dir: pd.DataFrame({"v": run.rng("x").normal(size=3)}))
    folder = run.result_dir("demo")
    record = json.loads((folder / "result.json").read_text())
    assert record["seed"] == 1 and record["settings"]["n_chains"] == 3 and record["profile"] == "smoke"
    assert "numpy" in record["versions"] and record["git_commit"]
    same = start_run("02_gaussian", "smoke", {"n_chains": 3}, seed=1)
    assert same.cached("demo", lambda work_dir: pytest.fail("should load")).equals(frame)
    other = start_run("02_gaussian", "smoke", {"n_chains": 3}, seed=2)
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
        run = start_run("02_gaussian", "smoke", {"n_chains": 5, "n_generations": 10}, seed=seed)
        run.cached("chains", lambda work_dir: gaussian.simulate_settings(run.settings, run.rng, work_dir, False))
        return (run.result_dir("chains") / "result.parquet").read_bytes()

    first, again, other = results_file(tmp_path / "a", 0), results_file(tmp_path / "b", 0), results_file(tmp_path / "c", 1)
    assert first == again
    assert first != other
