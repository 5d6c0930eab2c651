"""Where the project reads and writes: repository root, notebooks, results, figures.

Run from a checkout (an editable install), everything lives in the repository. A non-editable
install has no repository around its package, so the project folder is the current directory
instead: results, figures and runs are written there, never into site-packages.
``COLLAPSE_NOTEBOOKS_DIR``, ``COLLAPSE_RESULTS_DIR`` and ``COLLAPSE_FIGURES_DIR`` override the
defaults (the tests point the last two at temporary folders).
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_PARENT = Path(__file__).resolve().parents[1]


def project_root(package_parent: Path = PACKAGE_PARENT) -> Path:
    """The checkout that holds the package, or the current directory for a non-editable install."""
    return package_parent if (package_parent / "pyproject.toml").is_file() else Path.cwd()


REPO_ROOT = project_root()
NOTEBOOKS_DIR = Path(os.environ.get("COLLAPSE_NOTEBOOKS_DIR", REPO_ROOT / "notebooks"))


def results_dir() -> Path:
    """Root of the results cache."""
    return Path(os.environ.get("COLLAPSE_RESULTS_DIR", REPO_ROOT / "results"))


def figures_dir() -> Path:
    """Folder the notebooks write their PNG and PDF figures to."""
    return Path(os.environ.get("COLLAPSE_FIGURES_DIR", REPO_ROOT / "figures"))
