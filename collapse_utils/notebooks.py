"""Committed notebooks: cleaning what papermill leaves behind, and checking that they stay clean.

:func:`clean_notebook` turns a papermill-executed notebook into its committed form: papermill's
``injected-parameters`` cell and run metadata (paths, timings) go, progress-bar frames and ANSI
codes leave the outputs, and paths of the machine that ran it become relative. It is idempotent and
refuses a notebook executed with anything but the default settings. Once ``pyproject.toml`` names
the public repository (``[project.urls] Repository``), it also puts the Colab install cell
(:func:`colab_cell_source`) before the ``parameters`` cell. :func:`hygiene_problems` lists what
would make a committed notebook unclean; the tests run it over every committed notebook.

    python -m collapse_utils clean-notebooks            # every notebook in notebooks/
    python -m collapse_utils clean-notebooks path.ipynb
"""

from __future__ import annotations

import ast
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import nbformat

from .cache import atomic_write_bytes
from .paths import REPO_ROOT

ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
PROGRESS_FRAME = re.compile(r"\d+%\|.*\|\s*\d+/\d+|\d+it \[\d")
WARNING = re.compile(r"\b[A-Z]\w*Warning\b")
ABSOLUTE_PATH = re.compile(r"(?<![\w.:/-])(?:/(?:work|tmp|root|home|Users|usr|opt|var|mnt|content|private)/"
                           r"|[A-Za-z]:\\\\?(?:Users|Windows))")
DEFAULT_PARAMETERS = {"profile": "default", "overrides": {}, "seed": 0, "force": False}
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
CELL_METADATA_DROPPED = ("execution", "papermill", "collapsed", "scrolled")


COLAB_TAG = "colab-install"


def repository_url() -> str | None:
    """The public repository named in ``pyproject.toml`` (``[project.urls] Repository``), if any."""
    pyproject = REPO_ROOT / "pyproject.toml"
    if not pyproject.exists():
        return None
    return tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"].get("urls", {}).get("Repository")


def colab_cell_source(repository: str) -> str:
    """First code cell of every notebook: on Google Colab only, install the package from ``repository``."""
    return (
        "# On Google Colab only: install this replication's package; elsewhere this cell does nothing.\n"
        "import os, sys\n"
        "if \"google.colab\" in sys.modules:\n"
        f"    %pip install --quiet \"collapse-utils[lm] @ git+{repository}\"\n"
        "    os.environ.setdefault(\"COLLAPSE_RESULTS_DIR\", \"/content/results\")\n"
        "    os.environ.setdefault(\"COLLAPSE_FIGURES_DIR\", \"/content/figures\")"
    )


def badges(notebook: str, repository: str, branch: str = "main") -> str:
    """Markdown badges that open ``notebooks/<notebook>.ipynb`` of ``repository`` on Colab and Binder."""
    slug = repository.removeprefix("https://github.com/").removesuffix(".git")
    return (f"[![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            f"(https://colab.research.google.com/github/{slug}/blob/{branch}/notebooks/{notebook}.ipynb) "
            f"[![Binder](https://mybinder.org/badge_logo.svg)]"
            f"(https://mybinder.org/v2/gh/{slug}/{branch}?labpath=notebooks%2F{notebook}.ipynb)")


def _ensure_colab_cell(nb: nbformat.NotebookNode, repository: str) -> None:
    source = colab_cell_source(repository)
    existing = [c for c in nb.cells if COLAB_TAG in _tags(c)]
    if existing:
        existing[0].source = source
        return
    index = next((i for i, c in enumerate(nb.cells) if "parameters" in _tags(c)), 0)
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": [COLAB_TAG]})
    cell.id = "colab-install"
    nb.cells.insert(index, cell)


def _tags(cell: dict) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _parameters(source: str) -> dict[str, Any]:
    """Literal assignments of a parameters cell (``name = value`` lines)."""
    values = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            values[node.targets[0].id] = ast.literal_eval(node.value)
    return values


def _strip_progress(text: str) -> str:
    """Keep what a terminal would finally show of each line, without ANSI codes or progress bars."""
    lines = []
    for line in ANSI.sub("", text).split("\n"):
        shown = line.rstrip("\r").split("\r")[-1]
        if not PROGRESS_FRAME.search(shown):
            lines.append(shown)
    return "\n".join(lines)


def _relative(text: str, roots: list[tuple[str, str]]) -> str:
    for root, short in roots:
        text = text.replace(root + "/", f"{short}/" if short != "." else "").replace(root, short)
    return text


def _clean_outputs(outputs: list[dict], roots: list[tuple[str, str]]) -> list[dict]:
    cleaned: list[dict] = []
    for output in outputs:
        if output.get("output_type") == "stream":
            text = _relative(_strip_progress("".join(output["text"])), roots)
            if not text.strip():
                continue
            if cleaned and cleaned[-1].get("output_type") == "stream" and cleaned[-1]["name"] == output["name"]:
                previous = cleaned[-1]["text"]
                cleaned[-1]["text"] = previous + ("" if previous.endswith("\n") else "\n") + text
                continue
            output = {**output, "text": text}
        elif "data" in output:
            data = {k: v for k, v in output["data"].items() if k != WIDGET_VIEW}
            if not data:
                continue
            for mime, value in data.items():
                if mime.startswith("text/"):
                    data[mime] = _relative(ANSI.sub("", value if isinstance(value, str) else "".join(value)), roots)
            output = {**output, "data": data}
        cleaned.append(output)
    return cleaned


def _roots(metadata: dict) -> list[tuple[str, str]]:
    """Folders of the machine that executed the notebook (longest first) and what replaces them."""
    papermill = metadata.get("papermill", {})
    roots = {str(REPO_ROOT): "."}
    for key in ("input_path", "output_path"):
        if papermill.get(key):
            roots[str(Path(papermill[key]).parent.parent)] = "."
    roots.setdefault(str(Path.home()), "~")
    return sorted(((r, s) for r, s in roots.items() if r not in ("/", ".")), key=lambda p: len(p[0]), reverse=True)


def clean_notebook(path: Path, repository: str | None = None) -> bool:
    """Bring the executed notebook at ``path`` into its committed form in place; True if it changed.

    Raises ValueError if papermill ran it with parameters other than the defaults (committed
    notebooks are default-profile runs). ``repository`` (default: :func:`repository_url`) is where
    the Colab install cell installs from; without one, no such cell is added.
    """
    path = Path(path)
    original = path.read_text(encoding="utf-8")
    nb = nbformat.reads(original, as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in _tags(c)]
    ran_with = dict(DEFAULT_PARAMETERS)
    for cell in injected:
        ran_with.update(_parameters(cell.source))
    differing = {k: v for k, v in ran_with.items() if k != "force" and v != DEFAULT_PARAMETERS[k]}
    if differing:
        raise ValueError(f"{path.name} was executed with {differing}; committed notebooks are default-profile runs")
    roots = _roots(nb.metadata)
    nb.cells = [c for c in nb.cells if "injected-parameters" not in _tags(c)]
    for cell in nb.cells:
        for key in CELL_METADATA_DROPPED:
            cell.metadata.pop(key, None)
        if not cell.metadata.get("tags", True):
            cell.metadata.pop("tags")
        if cell.cell_type == "code":
            cell.outputs = [nbformat.from_dict(o) for o in _clean_outputs(cell.outputs, roots)]
        if "parameters" in _tags(cell):
            cell.source = re.sub(r"(?m)^force\s*=\s*True\b", "force = False", cell.source)
    for key in ("papermill", "widgets"):
        nb.metadata.pop(key, None)
    if repository := repository or repository_url():
        _ensure_colab_cell(nb, repository)
    text = nbformat.writes(nb) + "\n"
    if text == original:
        return False
    atomic_write_bytes(path, text.encode("utf-8"))
    return True


def _output_texts(output: dict) -> list[str]:
    if output.get("output_type") == "stream":
        return ["".join(output.get("text", ""))]
    if output.get("output_type") == "error":
        return ["\n".join(output.get("traceback", []))]
    return ["".join(v) if isinstance(v, list) else str(v) for k, v in output.get("data", {}).items()
            if k.startswith("text/") or k.endswith("json")]


def hygiene_problems(path: Path, committed: bool = True) -> list[str]:
    """What keeps the notebook at ``path`` from being clean (empty list: clean).

    Outputs must hold no error, widget, warning, ANSI code, carriage return or absolute path. A
    ``committed`` notebook must also have only default parameters, no papermill cell or metadata,
    and every code cell executed.
    """
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    problems, texts = [], []
    if committed:
        parameters = [c for c in nb["cells"] if "parameters" in _tags(c)]
        if len(parameters) != 1:
            problems.append(f"{len(parameters)} cells tagged 'parameters' (want 1)")
        elif (values := _parameters("".join(parameters[0]["source"]))) != DEFAULT_PARAMETERS:
            problems.append(f"parameters cell sets {values}, want {DEFAULT_PARAMETERS}")
        if any("injected-parameters" in _tags(c) for c in nb["cells"]):
            problems.append("papermill's injected-parameters cell is still there")
        texts.append(("metadata", json.dumps(nb["metadata"])))
    for index, cell in enumerate(nb["cells"]):
        if committed:
            texts.append((f"cell {index} metadata", json.dumps(cell.get("metadata", {}))))
            if cell["cell_type"] == "code" and cell.get("execution_count") is None and COLAB_TAG not in _tags(cell):
                problems.append(f"cell {index} was not executed")
        for output in cell.get("outputs", []):
            where = f"cell {index} output"
            if output.get("output_type") == "error":
                problems.append(f"{where}: error {output.get('ename')}")
            if WIDGET_VIEW in output.get("data", {}):
                problems.append(f"{where}: a widget (empty outside a live kernel)")
            texts += [(where, text) for text in _output_texts(output)]
    for where, text in texts:
        for name, pattern in (("ANSI code", ANSI), ("carriage return", re.compile("\r")),
                              ("warning", WARNING), ("absolute path", ABSOLUTE_PATH)):
            if match := pattern.search(text):
                problems.append(f"{where}: {name} {text[max(0, match.start() - 30):match.end() + 30]!r}")
    return problems
