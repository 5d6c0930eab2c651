"""Local datasets: find MNIST and WikiText-2 files, verify their checksums, load them.

Files are looked up in the data folders: ``$COLLAPSE_DATA_DIR`` (one folder or several separated by
``os.pathsep``, searched in order), by default ``data/cache`` in the repository; ``make`` and CI set
it to the offline copy they are given. Each file may be
stored plain or gzip-compressed (``name`` or ``name.gz``); its *uncompressed* content must match
the sha256 in :data:`MANIFEST`. When no local copy exists, the WikiText-2 and MNIST loaders fall
back to the Hugging Face hub through ``datasets`` (needs the internet).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import zlib
from functools import lru_cache
from pathlib import Path

import numpy as np

from .paths import REPO_ROOT

#: sha256 of the uncompressed content of every file the project can read, by relative path.
MANIFEST: dict[str, str] = {
    "mnist/train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "mnist/train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "mnist/t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "mnist/t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    "wikitext-2-raw/wiki.train.raw": "6707892fa3788b5ab9ed78ab5ff37d9fe825f6011a2ad4fcd6a6d467f0e7da57",
    "wikitext-2-raw/wiki.valid.raw": "4cd0f6876d07a413aa911261ff6d363c72d757d47f0fdd6015702014c89cb9c7",
    "wikitext-2-raw/wiki.test.raw": "173c87a53759e0201f33e0ccf978e510c2042d7f2cb78229d9a50d79b9e7dd08",
    "wikitext-2-v1-tokens/wiki.train.tokens": "9e9fa1ad55b1c2c95b08e37dd8e653f638fac2c6de904b79e813611eefbc985f",
    "wikitext-2-v1-tokens/wiki.valid.tokens": "f0737ed31fc1329026e95cb8b98e19c2a182c39c240ab909dc31abf2f8af58e8",
    "wikitext-2-v1-tokens/wiki.test.tokens": "d790b833ef8cf03a90db7bf1271b7520b83c45ce07ba3c1a9699df81e239eca0",
    "tokenizers/gpt2/vocab.json": "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783",
    "tokenizers/gpt2/merges.txt": "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5",
}

HOW_TO_GET = (
    "Download it from the original source listed in data/README.md and place it (plain or .gz) "
    "under {data_dir}, or set COLLAPSE_DATA_DIR to a folder that holds it."
)


class DataFileError(FileNotFoundError):
    """A data file is missing or does not match its expected checksum."""


def data_dirs() -> list[Path]:
    """Folders searched for data files, in order of preference: ``$COLLAPSE_DATA_DIR`` or ``data/cache``."""
    folders = os.environ.get("COLLAPSE_DATA_DIR", "")
    return [Path(f).expanduser() for f in folders.split(os.pathsep) if f] or [REPO_ROOT / "data" / "cache"]


def _read_bytes(path: Path) -> bytes:
    if path.suffix == ".gz":
        with gzip.open(path, "rb") as handle:
            return handle.read()
    return path.read_bytes()


def find_file(name: str) -> Path | None:
    """First local copy of ``name`` (a key of :data:`MANIFEST`), plain or ``.gz``; None if absent."""
    if name not in MANIFEST:
        raise KeyError(f"unknown data file {name!r}; known files: {', '.join(sorted(MANIFEST))}")
    for folder in data_dirs():
        for candidate in (folder / name, folder / f"{name}.gz"):
            if candidate.is_file():
                return candidate
    return None


@lru_cache(maxsize=16)
def _verified_bytes(path: Path, expected: str, mtime: float) -> bytes:
    remedy = "Delete it and fetch a fresh copy. " + HOW_TO_GET.format(data_dir=data_dirs()[0])
    try:
        content = _read_bytes(path)
    except (OSError, EOFError, zlib.error) as error:  # gzip.BadGzipFile is an OSError
        raise DataFileError(f"{path} is corrupt: it cannot be read ({error}); expected the sha256 of its "
                            f"uncompressed content to be {expected}. {remedy}") from None
    actual = hashlib.sha256(content).hexdigest()
    if actual != expected:
        raise DataFileError(f"{path} is corrupt: the sha256 of its uncompressed content is {actual}, "
                            f"expected {expected}. {remedy}")
    return content


def read_verified(name: str) -> bytes:
    """Uncompressed, checksum-verified content of the data file ``name``.

    Raises :class:`DataFileError` naming the file, the expected sha256 and how to get it when no
    local copy exists or the copy found is corrupt.
    """
    path = find_file(name)
    if path is None:
        searched = ", ".join(str(d) for d in data_dirs())
        raise DataFileError(
            f"data file {name!r} (sha256 {MANIFEST[name]}) was not found in: {searched}. "
            + HOW_TO_GET.format(data_dir=data_dirs()[0])
        )
    return _verified_bytes(path, MANIFEST[name], path.stat().st_mtime)


def parse_idx(content: bytes) -> np.ndarray:
    """Decode an IDX file (the MNIST format) into a uint8 array."""
    if len(content) < 4 or content[:2] != b"\x00\x00" or content[2] != 0x08:
        raise ValueError("not an unsigned-byte IDX file (bad magic number)")
    ndim = content[3]
    shape = tuple(int.from_bytes(content[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(content, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"IDX payload has {data.size} bytes, header promises shape {shape}")
    return data.reshape(shape)


def load_mnist(split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """MNIST images as float32 in [0, 1] with shape (n, 28, 28), and int64 labels."""
    prefix = {"train": "train", "test": "t10k"}.get(split)
    if prefix is None:
        raise ValueError(f"unknown MNIST split {split!r}; use 'train' or 'test'")
    names = [f"mnist/{prefix}-images-idx3-ubyte", f"mnist/{prefix}-labels-idx1-ubyte"]
    missing = [name for name in names if find_file(name) is None]
    if missing:
        images, labels = _mnist_from_hub(split, missing[0])
    else:
        images, labels = (parse_idx(read_verified(name)) for name in names)
    return images.astype(np.float32) / 255.0, labels.astype(np.int64)


def _mnist_from_hub(split: str, name: str) -> tuple[np.ndarray, np.ndarray]:
    """MNIST split from the Hugging Face hub (``ylecun/mnist``); the error names the missing local file."""
    try:
        import datasets

        rows = datasets.load_dataset("ylecun/mnist", split=split)
        images = np.stack([np.asarray(image, dtype=np.uint8) for image in rows["image"]])
        labels = np.asarray(rows["label"])
    except Exception as error:  # no internet, no `datasets`, or the hub refused
        raise DataFileError(
            f"data file {name!r} (sha256 {MANIFEST[name]}) is not available locally and the "
            f"Hugging Face hub could not be reached ({type(error).__name__}: {error}). "
            + HOW_TO_GET.format(data_dir=data_dirs()[0])
        ) from error
    return images, labels


WIKITEXT_SPLITS = ("train", "valid", "test")
_HUB_SPLIT = {"train": "train", "valid": "validation", "test": "test"}


def load_wikitext2(split: str, variant: str = "raw") -> str:
    """One WikiText-2 split as a single string (the file's lines joined by newlines).

    ``variant='raw'`` is ``wikitext-2-raw-v1`` (the paper's data); ``variant='tokens'`` is
    ``wikitext-2-v1``, where words seen fewer than three times are replaced by ``<unk>``.
    Local verified files are used first; otherwise the split is fetched from the Hugging Face hub.
    """
    name = wikitext2_file(split, variant)
    if find_file(name) is not None:
        return read_verified(name).decode("utf-8")
    return _wikitext2_from_hub(split, variant, name)


def _wikitext2_from_hub(split: str, variant: str, name: str) -> str:
    config = {"raw": "wikitext-2-raw-v1", "tokens": "wikitext-2-v1"}[variant]
    try:
        import datasets

        rows = datasets.load_dataset("Salesforce/wikitext", config, split=_HUB_SPLIT[split])
    except Exception as error:  # no internet, no `datasets`, or the hub refused
        raise DataFileError(
            f"data file {name!r} (sha256 {MANIFEST[name]}) is not available locally and the "
            f"Hugging Face hub could not be reached ({type(error).__name__}: {error}). "
            + HOW_TO_GET.format(data_dir=data_dirs()[0])
            + " Offline, data_variant='tokens' reads the tokenized WikiText-2, which has all three splits."
        ) from error
    return "".join(rows["text"])


def wikitext2_file(split: str, variant: str) -> str:
    """The :data:`MANIFEST` key of a WikiText-2 split; clear error for a bad split or variant."""
    if split not in WIKITEXT_SPLITS:
        raise ValueError(f"unknown WikiText-2 split {split!r}; use one of {WIKITEXT_SPLITS}")
    folders = {"raw": ("wikitext-2-raw", "raw"), "tokens": ("wikitext-2-v1-tokens", "tokens")}
    if variant not in folders:
        raise ValueError(f"unknown WikiText-2 variant {variant!r}; use 'raw' or 'tokens'")
    folder, suffix = folders[variant]
    return f"{folder}/wiki.{split}.{suffix}"


def wikitext2_available(split: str, variant: str) -> bool:
    """Whether a local copy of a WikiText-2 split exists (no download attempted)."""
    return find_file(wikitext2_file(split, variant)) is not None
