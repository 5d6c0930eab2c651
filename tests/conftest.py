"""Shared fixtures: every test writes results and figures into its own temporary folders."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def isolated_outputs(tmp_path, monkeypatch):
    """Point the results cache and the figures folder at temporary directories."""
    monkeypatch.setenv("COLLAPSE_RESULTS_DIR", str(tmp_path / "results"))
    monkeypatch.setenv("COLLAPSE_FIGURES_DIR", str(tmp_path / "figures"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    return tmp_path
