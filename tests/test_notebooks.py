"""Every notebook executes under papermill with the smoke profile and writes its figures."""

from __future__ import annotations

import json

import pytest

from collapse_utils.cli import run_notebook
from collapse_utils.notebooks import hygiene_problems
from collapse_utils.paths import NOTEBOOKS_DIR
from collapse_utils.profiles import notebook_names

NOTEBOOKS = [name for name in notebook_names() if (NOTEBOOKS_DIR / f"{name}.ipynb").exists()]


def test_every_profiled_notebook_exists():
    assert NOTEBOOKS == notebook_names()


@pytest.mark.notebook
@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_notebook_runs_on_smoke_profile(notebook, isolated_outputs):
    executed = run_notebook(notebook, "smoke", output_dir=isolated_outputs / "executed", progress=False)
    assert hygiene_problems(executed, committed=False) == []  # no error, warning, progress frame, path
    figures = sorted((isolated_outputs / "figures").glob(f"{notebook}_*.png"))
    assert figures, "the notebook saved no figure"
    for png in figures:
        assert png.with_suffix(".pdf").exists()
        record = json.loads(png.with_suffix(".json").read_text())
        assert record["profile"] == "smoke" and record["notebook"] == notebook
