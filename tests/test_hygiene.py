"""Committed notebooks are clean: default parameters only, no warnings, ANSI codes, progress frames
or paths of the machine that ran them; the cleaner makes them so and is idempotent."""

from __future__ import annotations

import json
import shutil

import pytest

from collapse_utils import cli
from collapse_utils.notebooks import clean_notebook, hygiene_problems
from collapse_utils.paths import NOTEBOOKS_DIR

COMMITTED = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.stem)
def test_committed_notebook_is_clean(path):
    assert hygiene_problems(path) == []


def _dirty_copy(tmp_path):
    """A committed notebook as papermill leaves it: injected force=True, progress frames, paths."""
    nb = json.loads((NOTEBOOKS_DIR / "06_beyond.ipynb").read_text())
    nb["cells"] = [c for c in nb["cells"] if "injected-parameters" not in c["metadata"].get("tags", [])]
    parameters = next(i for i, c in enumerate(nb["cells"]) if "parameters" in c["metadata"].get("tags", []))
    injected = {"cell_type": "code", "execution_count": 2, "id": "injected", "outputs": [],
                "metadata": {"tags": ["injected-parameters"], "papermill": {"duration": 0.1}},
                "source": 'profile = "default"\noverrides = {}\nseed = 0\nforce = True\n'}
    nb["cells"].insert(parameters + 1, injected)
    code = next(c for c in nb["cells"][parameters + 2:] if c["cell_type"] == "code")
    code["outputs"][:0] = [
        {"output_type": "stream", "name": "stderr", "text": "\rchains:   0%|          | 0/10 [00:00<?, ?it/s]"},
        {"output_type": "stream", "name": "stderr", "text": "\x1b[A\rchains: 100%|██████████| 10/10 [00:01<00:00]\n"},
        {"output_type": "stream", "name": "stdout", "text": f"wrote {tmp_path}/repo/figures/a.png\n"},
        {"output_type": "stream", "name": "stdout", "text": "done\n"},
    ]
    nb["metadata"]["papermill"] = {"input_path": f"{tmp_path}/repo/notebooks/06_beyond.ipynb",
                                   "output_path": f"{tmp_path}/repo/notebooks/06_beyond.ipynb",
                                   "parameters": {"profile": "default", "force": True}}
    path = tmp_path / "06_beyond.ipynb"
    path.write_text(json.dumps(nb))
    return path, code["outputs"]


def test_cleaner_removes_what_papermill_leaves_and_is_idempotent(tmp_path):
    path, _ = _dirty_copy(tmp_path)
    problems = hygiene_problems(path)
    for expected in ("injected-parameters", "ANSI code", "carriage return", "absolute path"):
        assert any(expected in p for p in problems), expected
    assert clean_notebook(path) is True
    assert hygiene_problems(path) == []
    cleaned = path.read_bytes()
    assert clean_notebook(path) is False and path.read_bytes() == cleaned
    nb = json.loads(cleaned)
    stream = next(o for c in nb["cells"] if c["cell_type"] == "code" for o in c["outputs"]
                  if o["output_type"] == "stream")
    assert "".join(stream["text"]) == "wrote figures/a.png\ndone\n"  # progress gone, streams merged
    images = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c["outputs"]
              if "image/png" in o.get("data", {})]
    original = json.loads((NOTEBOOKS_DIR / "06_beyond.ipynb").read_text())
    assert len(images) == sum("image/png" in o.get("data", {}) for c in original["cells"] for o in c.get("outputs", []))


def test_cleaner_refuses_a_notebook_run_on_another_profile(tmp_path):
    path, _ = _dirty_copy(tmp_path)
    path.write_text(path.read_text().replace('profile = \\"default\\"', 'profile = \\"smoke\\"'))
    with pytest.raises(ValueError, match="executed with {'profile': 'smoke'}; committed notebooks are default"):
        clean_notebook(path)


def test_warnings_are_reported_not_hidden(tmp_path):
    path, outputs = _dirty_copy(tmp_path)
    nb = json.loads(path.read_text())
    nb["cells"][-1].setdefault("outputs", []).append(
        {"output_type": "stream", "name": "stderr", "text": "x.py:3: FutureWarning: soon\n"})
    path.write_text(json.dumps(nb))
    clean_notebook(path)
    assert any("warning" in p and "FutureWarning" in p for p in hygiene_problems(path))


def test_clean_notebooks_command_cleans_every_copy(tmp_path, capsys, monkeypatch):
    for notebook in COMMITTED:
        shutil.copy(notebook, tmp_path)
    copies = sorted(tmp_path.glob("*.ipynb"))
    assert cli.main(["clean-notebooks", *map(str, copies)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == len(copies)
    for copy in copies:
        assert not [p for p in hygiene_problems(copy) if "warning" not in p], copy.name


def test_colab_cell_is_inserted_once_before_the_parameters_and_does_nothing_elsewhere(tmp_path):
    path, _ = _dirty_copy(tmp_path)
    repository = "https://github.com/example/model-collapse"
    clean_notebook(path, repository)
    once = path.read_bytes()
    assert clean_notebook(path, repository) is False and path.read_bytes() == once
    cells = json.loads(once)["cells"]
    colab = [i for i, c in enumerate(cells) if "colab-install" in c["metadata"].get("tags", [])]
    parameters = [i for i, c in enumerate(cells) if "parameters" in c["metadata"].get("tags", [])]
    assert len(colab) == 1 and colab[0] + 1 == parameters[0]
    source = "".join(cells[colab[0]]["source"])
    assert f'"collapse-utils[lm] @ git+{repository}"' in source
    namespace = {"get_ipython": lambda: pytest.fail("the cell installed something outside Colab")}
    from IPython.core.inputtransformer2 import TransformerManager

    exec(TransformerManager().transform_cell(source), namespace)  # not on Colab: nothing happens
    assert hygiene_problems(path) == []


def test_badges_open_the_notebook_on_colab_and_binder():
    from collapse_utils.notebooks import badges

    line = badges("02_gaussian", "https://github.com/example/model-collapse")
    assert "colab.research.google.com/github/example/model-collapse/blob/main/notebooks/02_gaussian.ipynb" in line
    assert "mybinder.org/v2/gh/example/model-collapse/main?labpath=notebooks%2F02_gaussian.ipynb" in line


def test_readme_has_a_colab_and_binder_badge_per_notebook():
    from collapse_utils.notebooks import badges, repository_url
    from collapse_utils.paths import REPO_ROOT

    repository = repository_url()
    if repository is None:
        pytest.skip("pyproject.toml names no public repository yet ([project.urls] Repository)")
    readme = (REPO_ROOT / "README.md").read_text()
    missing = [p.stem for p in COMMITTED if badges(p.stem, repository) not in readme]
    assert not missing, f"README lacks the Colab/Binder badges of {missing}"


def test_environment_yml_pins_what_pyproject_pins():
    import re
    import tomllib

    from collapse_utils.paths import REPO_ROOT

    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    pins = set(project["dependencies"]) | {p for extra in project["optional-dependencies"].values() for p in extra}
    conda = set(re.findall(r"^\s+- ([\w.-]+==[\w.]+)\s*$", (REPO_ROOT / "environment.yml").read_text(), re.M))
    assert conda == pins
