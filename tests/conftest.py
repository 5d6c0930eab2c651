"""Shared fixtures: every test writes results and figures into its own temporary folders; the language-model
tests share a tiny saved OPT and run offline on one torch thread."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def isolated_outputs(tmp_path, monkeypatch):
    """Point the results cache, the figures folder and the scratch runs folder at temporary directories."""
    monkeypatch.setenv("COLLAPSE_RESULTS_DIR", str(tmp_path / "results"))
    monkeypatch.setenv("COLLAPSE_FIGURES_DIR", str(tmp_path / "figures"))
    monkeypatch.setenv("COLLAPSE_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    return tmp_path


@pytest.fixture
def package_copy(tmp_path, monkeypatch):
    """A copy of the package's source that code versions are computed from (edit it freely)."""
    import shutil

    from collapse_utils import cache

    copy = tmp_path / "pkg"
    shutil.copytree(cache.PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(cache, "PACKAGE_DIR", copy)
    cache._package_imports.cache_clear()
    yield copy
    cache._package_imports.cache_clear()


@pytest.fixture
def offline_one_thread(monkeypatch):
    """One torch thread, and the Hugging Face hub marked offline (nothing is downloaded)."""
    import huggingface_hub.constants
    import torch

    torch.set_num_threads(1)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory):
    """A tiny random OPT and its tokenizer saved with save_pretrained, as a stand-in for facebook/opt-125m."""
    import numpy as np

    from collapse_utils import data, lm_data, lm_model

    folder = tmp_path_factory.mktemp("tiny-opt")
    tokenizer = lm_data.train_tokenizer(data.load_wikitext2("valid", "tokens")[:60_000], 300, folder)
    model = lm_model.scratch_model(len(tokenizer), 16, 1, 2, 32, 64, tokenizer.pad_token_id,
                                   tokenizer.eos_token_id, np.random.default_rng(0))
    model.save_pretrained(str(folder))
    return folder


def documentation() -> str:
    """The README and every page under docs/ (the README links them; numbers stated anywhere there are checked)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    return "\n".join(path.read_text(encoding="utf-8") for path in [root / "README.md", *sorted((root / "docs").glob("*.md"))])
