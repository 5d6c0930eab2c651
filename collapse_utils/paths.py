"""Where the project reads and writes: repository root, results, figures.

``COLLAPSE_RESULTS_DIR`` and ``COLLAPSE_FIGURES_DIR`` override the defaults (the tests point them
at temporary folders).
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"


def results_dir() -> Path:
    """Root of the results cache."""
    return Path(os.environ.get("COLLAPSE_RESULTS_DIR", REPO_ROOT / "results"))


def figures_dir() -> Path:
    """Folder the notebooks write their PNG and PDF figures to."""
    return Path(os.environ.get("COLLAPSE_FIGURES_DIR", REPO_ROOT / "figures"))
