"""The layers of the package: computation apart from presentation, one declaration of what a cached result
depends on, one source of each setting, and invalidation in one place (issue 16)."""

from __future__ import annotations

import dataclasses
import importlib
import json

import pandas as pd
import pytest

from collapse_utils import cache
from collapse_utils.profiles import SETTINGS_CLASSES, load_settings, notebook_names, result_key, settings_class
from collapse_utils.run import start_run

#: Each notebook's computation and the module that presents its results (figures, tables, markdown).
SPLIT = {"01_discrete_markov": ("discrete", "discrete_figures"), "02_gaussian": ("gaussian", "gaussian_figures"),
         "03_gmm": ("gmm", "gmm_figures"), "04_vae_mnist": ("vae", "vae_figures"),
         "05_lm_wikitext2": ("lm", "lm_figures"), "06_beyond": ("beyond", "beyond_figures")}


def _edit(path, old, new):
    text = path.read_text()
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1))


def _versioned(module: str) -> set[str]:
    """The modules whose source makes ``module``'s code version: it and what it imports, directly or not,
    through modules that are not bookkeeping (as :func:`collapse_utils.cache.code_version` walks them)."""
    seen, todo = set(), [module]
    while todo:
        name = todo.pop()
        if name not in seen and name not in cache.BOOKKEEPING:
            seen.add(name)
            todo.extend(cache._package_imports(name))
    return seen


@pytest.mark.parametrize("notebook", sorted(SPLIT))
def test_no_presentation_module_enters_a_code_version(notebook):
    compute, _ = SPLIT[notebook]
    assert start_run(notebook, "smoke").code == (f"collapse_utils.{compute}",)
    versioned = _versioned(compute)
    assert not {name for name in versioned if name.endswith("_figures")}, f"{compute} imports a presentation module"
    assert {"plotting", "report"} <= cache.BOOKKEEPING and not versioned & {"plotting", "report"}


@pytest.mark.parametrize("notebook", sorted(SPLIT))
def test_a_presentation_edit_recomputes_nothing_and_a_computation_edit_recomputes(notebook, package_copy):
    compute, figures = SPLIT[notebook]
    run = start_run(notebook, "smoke")
    calls = []

    def result(work_dir):
        calls.append(1)
        return pd.DataFrame({"v": [len(calls)]})

    folder = run.result_dir("demo")
    assert run.cached("demo", result)["v"].item() == 1
    _edit(package_copy / f"{figures}.py", '"""', '"""A figure title or a sentence of the text, edited. ')
    _edit(package_copy / "plotting.py", '"""', '"""The shared style, edited. ')
    cache._package_imports.cache_clear()
    assert start_run(notebook, "smoke").result_dir("demo") == folder
    assert start_run(notebook, "smoke").cached("demo", result)["v"].item() == 1  # loaded, not recomputed
    _edit(package_copy / f"{compute}.py", "\nfrom __future__ import annotations\n",
          "\nfrom __future__ import annotations\n\nEDITED = True  # the computation changed\n")
    cache._package_imports.cache_clear()
    assert start_run(notebook, "smoke").result_dir("demo") != folder
    assert start_run(notebook, "smoke").cached("demo", result)["v"].item() == 2  # recomputed
    assert len(calls) == 2


def _unkeyed_declarations(cls) -> dict[str, dict[str, str]]:
    return {name: getattr(cls, name) for name in dir(cls) if name.endswith("UNKEYED")}


@pytest.mark.parametrize("notebook", notebook_names())
def test_every_unkeyed_setting_is_a_real_field_with_a_reason(notebook):
    cls = settings_class(notebook)
    fields = {field.name for field in dataclasses.fields(cls)}
    for declaration, reasons in _unkeyed_declarations(cls).items():
        assert isinstance(reasons, dict), f"{cls.__name__}.{declaration} must map setting -> reason"
        assert not set(reasons) - fields, f"{cls.__name__}.{declaration} names no setting {set(reasons) - fields}"
        for name, why in reasons.items():
            assert isinstance(why, str) and why.strip(), f"{cls.__name__}.{declaration}[{name!r}] gives no reason"
    assert set(result_key(cls())) == fields - set(getattr(cls, "UNKEYED", {}))


@pytest.mark.parametrize("notebook", notebook_names())
def test_the_settings_defaults_are_the_default_profile(notebook):
    assert settings_class(notebook)() == load_settings(notebook, "default")


def test_results_key_on_every_setting_but_the_unkeyed_ones():
    smoke = start_run("04_vae_mnist", "smoke")
    assert "shown_generations" in smoke.settings.UNKEYED
    other_view = start_run("04_vae_mnist", "smoke", {"shown_generations": [0, 1]})
    other_eval = start_run("04_vae_mnist", "smoke", {"n_eval": 300})
    assert other_view.result_dir("metrics") == smoke.result_dir("metrics")
    assert other_eval.result_dir("metrics") != smoke.result_dir("metrics")


def test_the_vae_model_store_keys_on_what_trains_a_vae():
    from collapse_utils import vae

    device = vae.torch.device("cpu")
    base = load_settings("04_vae_mnist", "smoke")
    folder = vae.models_folder(base, 0, device)
    for name, value in {"n_generations": 3, "n_runs": 3, "policies": ["replace"], "n_eval": 300, "n_threads": 2,
                        "shown_generations": [0]}.items():
        assert vae.models_folder(load_settings("04_vae_mnist", "smoke", {name: value}), 0, device) == folder, name
    for name, value in {"epochs": 2, "batch_size": 32, "lr": 2e-3, "latent_dim": 8}.items():
        assert vae.models_folder(load_settings("04_vae_mnist", "smoke", {name: value}), 0, device) != folder, name
    assert vae.models_folder(base, 1, device) != folder


def test_clear_forgets_results_checkpoints_and_models_but_keeps_locks(tmp_path):
    folder = tmp_path / "result"
    for relative in ("result.parquet", "result.parquet.sha256", "checkpoints/m100.pkl", "run_00/generation_000.pt",
                     "run_00/replace/checkpoint.pkl", ".lock", "run_00/.lock"):
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_bytes(b"x")
    cache.clear(folder, keep=["result.parquet"])
    left = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert left == [".lock", "result.parquet", "run_00/.lock"]
    assert not (folder / "checkpoints").exists()
    cache.clear(folder)
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) == [".lock", "run_00/.lock"]
    cache.clear(tmp_path / "absent")  # nothing to clear: no error


def test_force_clears_the_result_and_its_checkpoints_then_computes_anew():
    run = start_run("02_gaussian", "smoke")
    run.cached("demo", lambda work_dir: pd.DataFrame({"v": [1]}))
    stale = run.result_dir("demo") / "checkpoints" / "state.pkl"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"stale")
    seen = []

    def compute(work_dir):
        seen.append(sorted(p.name for p in work_dir.glob("*")) if work_dir.exists() else [])
        return pd.DataFrame({"v": [2]})

    assert start_run("02_gaussian", "smoke", force=True).cached("demo", compute)["v"].item() == 2
    assert seen == [[]]


def test_a_damaged_result_sidecar_is_reported_in_one_line_and_rewritten(capsys):
    run = start_run("02_gaussian", "smoke")
    run.cached("demo", lambda work_dir: pd.DataFrame({"v": [1]}))
    sidecar = run.result_dir("demo") / "result.json"
    first = json.loads(sidecar.read_text())
    assert first["result"] == "demo" and first["code_version"] == cache.code_version(*run.code)
    capsys.readouterr()
    for damage in (b"{broken", None):  # edited, then deleted
        sidecar.unlink() if damage is None else sidecar.write_bytes(damage)
        rerun = start_run("02_gaussian", "smoke")
        assert rerun.cached("demo", lambda work_dir: pytest.fail("the result itself is intact"))["v"].item() == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and str(sidecar) in err[0] and err[0].endswith("rewriting it"), err
        record = json.loads(cache.read_verified(sidecar))
        assert record["code_version"] == first["code_version"] and record["sidecar_rewritten"] is True
        assert rerun.results[0]["code_version"] == first["code_version"]
    start_run("02_gaussian", "smoke").cached("demo", lambda work_dir: pytest.fail("cached"))
    assert capsys.readouterr().err == ""  # rewritten once, then read quietly


def test_every_compute_module_keeps_its_settings_class():
    for notebook, spec in SETTINGS_CLASSES.items():
        module, _, name = spec.partition(":")
        assert hasattr(importlib.import_module(module), name), notebook
