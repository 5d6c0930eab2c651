"""Shared fixtures: every test writes results and figures into its own temporary folders; the language-model
tests share a tiny saved OPT and run offline on one torch thread."""

from __future__ import annotations

import pytest


#: Slow tests of the language-model test files (several processes or a real model class each), marked here
#: until those files mark them with ``@pytest.mark.slow`` themselves; ``make test-fast`` skips them.
SLOW_LM_TESTS = frozenset({"test_torchrun_processes_share_the_chains", "test_two_worker_processes_give_the_same_results_as_one",
                           "test_real_profile_runs_its_chains_through_from_pretrained",
                           "test_paper_profile_runs_a_saved_model_through_from_pretrained"})


def pytest_collection_modifyitems(config, items):
    for item in items:
        if getattr(item, "originalname", item.name) in SLOW_LM_TESTS:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def isolated_outputs(tmp_path, monkeypatch):
    """Point the results cache, the figures folder and the scratch runs folder at temporary directories."""
    monkeypatch.setenv("COLLAPSE_RESULTS_DIR", str(tmp_path / "results"))
    monkeypatch.setenv("COLLAPSE_FIGURES_DIR", str(tmp_path / "figures"))
    monkeypatch.setenv("COLLAPSE_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    return tmp_path


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
