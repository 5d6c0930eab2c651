"""Where runs write: scratch runs never touch the committed notebooks and figures; in-place runs
replace the committed notebook only after a successful execution, cleaned."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess

import pytest

from collapse_utils import cli
from collapse_utils.notebooks import hygiene_problems
from collapse_utils.paths import NOTEBOOKS_DIR, REPO_ROOT


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def test_runs_folder_is_ignored_by_git():
    if not (REPO_ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    assert subprocess.run(["git", "check-ignore", "-q", "runs/02_gaussian/smoke/02_gaussian.ipynb"],
                          cwd=REPO_ROOT).returncode == 0


@pytest.mark.notebook
def test_a_smoke_run_writes_only_to_its_scratch_folder(isolated_outputs, monkeypatch):
    monkeypatch.delenv("COLLAPSE_FIGURES_DIR")
    monkeypatch.setenv("COLLAPSE_RUNS_DIR", str(isolated_outputs / "runs"))
    committed = _digest(NOTEBOOKS_DIR), _digest(REPO_ROOT / "figures")
    assert cli.main(["run", "06", "--profile", "smoke"]) == 0
    assert (_digest(NOTEBOOKS_DIR), _digest(REPO_ROOT / "figures")) == committed
    folder = isolated_outputs / "runs" / "06_beyond" / "smoke"
    assert sorted(p.name for p in (folder / "figures").glob("*.png")) == [
        "06_beyond_collapse_time.png", "06_beyond_keep_real_sweep.png"]
    cells = json.loads((folder / "06_beyond.ipynb").read_text())["cells"]
    injected = [c for c in cells if "injected-parameters" in c["metadata"].get("tags", [])]
    assert 'profile = "smoke"' in "".join(injected[0]["source"])  # a scratch run says what it ran
    assert "COLLAPSE_FIGURES_DIR" not in __import__("os").environ


def test_in_place_takes_only_the_default_settings(capsys):
    assert cli.main(["run", "06", "--profile", "smoke", "--in-place"]) == 2
    assert "committed notebooks are default-profile runs" in capsys.readouterr().err


@pytest.mark.notebook
def test_in_place_replaces_the_committed_notebook_only_after_success(isolated_outputs, monkeypatch):
    notebooks = isolated_outputs / "notebooks"
    notebooks.mkdir()
    shutil.copy(NOTEBOOKS_DIR / "06_beyond.ipynb", notebooks)
    monkeypatch.setattr(cli, "NOTEBOOKS_DIR", notebooks)
    monkeypatch.setenv("COLLAPSE_RUNS_DIR", str(isolated_outputs / "runs"))
    broken = json.loads((notebooks / "06_beyond.ipynb").read_text())
    code = [c for c in broken["cells"] if c["cell_type"] == "code"]
    code[-1]["source"] = "raise RuntimeError('boom')"
    (notebooks / "06_beyond.ipynb").write_text(json.dumps(broken))
    before = (notebooks / "06_beyond.ipynb").read_bytes()
    assert cli.main(["run", "06", "--in-place"]) == 1
    assert (notebooks / "06_beyond.ipynb").read_bytes() == before  # a failed run leaves it as it was
    shutil.copy(NOTEBOOKS_DIR / "06_beyond.ipynb", notebooks)
    assert cli.main(["run", "06", "--in-place", "--force"]) == 0
    assert hygiene_problems(notebooks / "06_beyond.ipynb") == []


def test_saving_a_figure_twice_writes_the_same_bytes(isolated_outputs, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from collapse_utils import plotting

    fig, ax = plt.subplots()
    ax.plot([0, 1, 2], [1, 0, 2])
    digests = []
    for clock in (1e9, 2e9):  # PDF and PNG writers would stamp the time: they must not
        monkeypatch.setattr("time.time", lambda: clock)
        paths = plotting.save_figure(fig, "same")
        digests.append([hashlib.sha256(p.read_bytes()).hexdigest() for p in paths])
    assert digests[0] == digests[1]
