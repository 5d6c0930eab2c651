"""Results cache: atomic writes, loading instead of recomputing, keyed by a hash of settings.

A result lives in ``results/<experiment>/<profile>/<hash>/``: the hash covers the settings and
the seed, so changing any of them computes anew while a rerun with the same ones loads.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, Callable

import pandas as pd

from .paths import results_dir


def settings_hash(settings: dict[str, Any]) -> str:
    """Stable 12-character hash of a JSON-serialisable settings dict."""
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def result_dir(experiment: str, profile: str, settings: dict[str, Any]) -> Path:
    """Folder that holds the results of one experiment run with these settings."""
    return results_dir() / experiment / profile / settings_hash(settings)


def atomic_write_bytes(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` through a temporary file and a rename, never half-written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def atomic_write_stream(path: Path, write: Callable[[BinaryIO], Any]) -> None:
    """Atomically write what ``write(file)`` puts into a binary file (``np.save``, ``torch.save``...)."""
    buffer = io.BytesIO()
    write(buffer)
    atomic_write_bytes(path, buffer.getvalue())


def atomic_write_json(path: Path, obj: Any) -> None:
    """Atomically write ``obj`` as indented JSON."""
    atomic_write_bytes(path, (json.dumps(obj, indent=2, default=str) + "\n").encode())


def save_pickle(path: Path, obj: Any) -> None:
    """Pickle ``obj`` to ``path`` atomically."""
    atomic_write_bytes(path, pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))


def load_pickle(path: Path) -> Any:
    """Load a pickle written by :func:`save_pickle`."""
    with open(path, "rb") as handle:
        return pickle.load(handle)


def save_frame(path: Path, frame: pd.DataFrame) -> None:
    """Write a frame as Parquet, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.tmp")
    frame.to_parquet(temp, index=False)
    os.replace(temp, path)


def cached_frame(path: Path, compute: Callable[[], pd.DataFrame], force: bool = False) -> tuple[pd.DataFrame, bool]:
    """Load the frame at ``path`` or compute and save it; returns (frame, loaded_from_cache)."""
    if path.exists() and not force:
        return pd.read_parquet(path), True
    frame = compute()
    save_frame(path, frame)
    return frame, False
