"""Data files: lookup order, checksum verification, clear errors, IDX parsing."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from collapse_utils import data


def test_mnist_test_split_loads_verified():
    images, labels = data.load_mnist("test")
    assert images.shape == (10000, 28, 28) and images.dtype == np.float32
    assert 0.0 == images.min() and images.max() == 1.0
    assert labels[:5].tolist() == [7, 2, 1, 0, 4] and np.bincount(labels).sum() == 10000


def test_missing_file_error_names_file_checksum_and_remedy(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "data_dirs", lambda: [tmp_path])
    with pytest.raises(data.DataFileError) as error:
        data.read_verified("mnist/t10k-labels-idx1-ubyte")
    message = str(error.value)
    assert "mnist/t10k-labels-idx1-ubyte" in message
    assert data.MANIFEST["mnist/t10k-labels-idx1-ubyte"] in message
    assert "COLLAPSE_DATA_DIR" in message and str(tmp_path) in message


def test_corrupt_file_error_gives_expected_and_actual_checksum(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "data_dirs", lambda: [tmp_path])
    corrupt = tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz"
    corrupt.parent.mkdir()
    corrupt.write_bytes(gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x01\x07"))
    with pytest.raises(data.DataFileError, match="is corrupt") as error:
        data.read_verified("mnist/t10k-labels-idx1-ubyte")
    assert data.MANIFEST["mnist/t10k-labels-idx1-ubyte"] in str(error.value)
    assert str(corrupt) in str(error.value)


@pytest.mark.parametrize("content", [b"not gzip at all", gzip.compress(b"\x00" * 5000)[:30]],
                         ids=["bad-gzip", "truncated-gzip"])
def test_unreadable_gz_file_is_named_with_checksum_and_remedy(tmp_path, monkeypatch, content):
    monkeypatch.setattr(data, "data_dirs", lambda: [tmp_path])
    corrupt = tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz"
    corrupt.parent.mkdir()
    corrupt.write_bytes(content)
    with pytest.raises(data.DataFileError, match="cannot be read") as error:
        data.read_verified("mnist/t10k-labels-idx1-ubyte")
    message = str(error.value)
    assert str(corrupt) in message and data.MANIFEST["mnist/t10k-labels-idx1-ubyte"] in message
    assert "\n" not in message and "COLLAPSE_DATA_DIR" in message


def test_local_data_dir_comes_first(tmp_path, monkeypatch):
    shared = data.find_file("mnist/t10k-labels-idx1-ubyte")
    local = tmp_path / "mnist" / "t10k-labels-idx1-ubyte"
    local.parent.mkdir()
    local.write_bytes(gzip.decompress(shared.read_bytes()))
    monkeypatch.setenv("COLLAPSE_DATA_DIR", str(tmp_path))
    assert data.find_file("mnist/t10k-labels-idx1-ubyte") == local
    assert data.read_verified("mnist/t10k-labels-idx1-ubyte") == local.read_bytes()


def test_parse_idx_round_trip_and_bad_magic():
    header = b"\x00\x00\x08\x02" + (2).to_bytes(4, "big") + (3).to_bytes(4, "big")
    assert data.parse_idx(header + bytes(range(6))).tolist() == [[0, 1, 2], [3, 4, 5]]
    with pytest.raises(ValueError, match="bad magic"):
        data.parse_idx(b"\x00\x01\x08\x01")
    with pytest.raises(ValueError, match="promises shape"):
        data.parse_idx(header + bytes(5))


def test_wikitext_tokens_splits_and_bad_names():
    valid = data.load_wikitext2("valid", "tokens")
    assert valid.splitlines()[1] == " = Homarus gammarus = "
    assert data.wikitext2_available("train", "tokens")
    with pytest.raises(ValueError, match="unknown WikiText-2 split 'dev'"):
        data.load_wikitext2("dev")
    with pytest.raises(ValueError, match="unknown WikiText-2 variant"):
        data.load_wikitext2("test", "bpe")
    with pytest.raises(KeyError, match="unknown data file"):
        data.find_file("mnist/emnist")
