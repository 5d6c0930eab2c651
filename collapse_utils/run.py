"""A notebook's run: its settings, seeds, cached results and figures, with provenance.

Every notebook starts with ``run = start_run(NOTEBOOK, profile, overrides, seed, force)`` and
then uses ``run.rng(...)``, ``run.cached(...)`` and ``run.save_figure(...)``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from . import cache, plotting
from .profiles import SETTINGS_CLASSES, as_dict, check_seed, load_settings, result_key
from .provenance import provenance_record

SIDECAR = "result.json"  # provenance of a cached result, beside its result.parquet


def _key_int(key: Any) -> int:
    return int.from_bytes(hashlib.sha256(str(key).encode()).digest()[:8], "little")


@dataclass
class Run:
    """Settings and bookkeeping of one notebook execution."""

    notebook: str
    profile: str
    settings: Any
    seed: int = 0
    force: bool = False
    started: float = field(default_factory=time.monotonic)
    results: list[dict[str, Any]] = field(default_factory=list)  # provenance of the results used so far

    @property
    def code(self) -> tuple[str, ...]:
        """Modules whose source versions this notebook's results (its settings' module and its imports)."""
        return (SETTINGS_CLASSES[self.notebook].partition(":")[0],)

    def rng(self, *keys: Any) -> np.random.Generator:
        """Generator seeded by the run's seed and ``keys``: same keys, same stream; others independent."""
        return np.random.default_rng([self.seed, *(_key_int(k) for k in keys)])

    def provenance(self, **extra: Any) -> dict[str, Any]:
        """Provenance record of this run so far."""
        return provenance_record(self.notebook, self.profile, as_dict(self.settings), self.seed,
                                 time.monotonic() - self.started, **extra)

    def result_dir(self, name: str, **key: Any) -> Path:
        """Cache folder for result ``name``; the hash covers the settings that results depend on
        (:func:`~collapse_utils.profiles.result_key`: all but the settings class's ``UNKEYED``), the seed,
        ``key`` and the code."""
        spec = {"settings": result_key(self.settings), "seed": self.seed, "name": name, **key}
        return cache.store_dir(f"{self.notebook}/{self.profile}", spec, self.code) / name

    def cached(self, name: str, compute: Callable[[Path], pd.DataFrame], **key: Any) -> pd.DataFrame:
        """Load result ``name`` or compute it as ``compute(work_dir)`` and save it atomically.

        ``work_dir`` is where ``compute`` may keep checkpoints so that an interrupted run resumes;
        it is deleted once the result is saved. A forced run clears the folder first
        (:func:`collapse_utils.cache.clear`). A provenance sidecar ``result.json`` (with the commit and
        code version that computed it) is written beside ``result.parquet``, with its checksum; one found
        damaged is reported in one line and rewritten. Figures saved later list the results they rest on.
        """
        folder = self.result_dir(name, **key)
        work_dir = folder / "checkpoints"
        start, written = time.monotonic(), []

        def compute_fresh() -> pd.DataFrame:
            frame = compute(work_dir)
            written.append(self._write_sidecar(folder, name, key, compute_seconds=time.monotonic() - start))
            return frame

        frame, _ = cache.cached_frame(folder / "result.parquet", compute_fresh, self.force)
        shutil.rmtree(work_dir, ignore_errors=True)
        record = written[0] if written else self._read_sidecar(folder, name, key)
        self.results.append({"result": str(folder.relative_to(cache.results_dir())),
                             "git_commit": record.get("git_commit", "unknown"),
                             "code_version": record.get("code_version", "unknown")})
        return frame

    def _write_sidecar(self, folder: Path, name: str, key: dict[str, Any], **extra: Any) -> dict[str, Any]:
        record = self.provenance(result=name, key=key, code_version=cache.code_version(*self.code), **extra)
        cache.save_verified(folder / SIDECAR, (json.dumps(record, indent=2, default=str) + "\n").encode())
        return record

    def _read_sidecar(self, folder: Path, name: str, key: dict[str, Any]) -> dict[str, Any]:
        """The provenance of a cached result; a missing or damaged sidecar is reported in one line and
        rewritten from what is known now (the code version is the one the result's key was built with)."""
        path = folder / SIDECAR
        try:
            return json.loads(cache.read_verified(path))
        except (OSError, ValueError) as error:
            reason = error if isinstance(error, cache.CorruptFileError) else f"{path} cannot be read ({type(error).__name__})"
            print(f"cache: {reason}; rewriting it", file=sys.stderr)
            return self._write_sidecar(folder, name, key, compute_seconds=None, sidecar_rewritten=True)

    def save_figure(self, fig: plt.Figure, name: str, data: pd.DataFrame | None = None, **extra: Any) -> None:
        """Save ``fig`` as ``figures/<notebook>_<name>.{png,pdf}``, ``data`` (the plotted numbers, long
        format) as ``.csv``, and a provenance sidecar naming the cached results it rests on, with ``extra``
        (such as the model's name and parameter count)."""
        plotting.save_figure(fig, f"{self.notebook}_{name}", self.provenance(results=self.results, **extra), data)


    def save_table(self, frame: pd.DataFrame, name: str, **extra: Any) -> None:
        """Save ``frame`` as ``figures/<notebook>_<name>.csv`` with a provenance sidecar (and ``extra``)."""
        plotting.save_table(frame, f"{self.notebook}_{name}", self.provenance(results=self.results, **extra))


def start_run(notebook: str, profile: str = "default", overrides: dict[str, Any] | None = None,
              seed: int = 0, force: bool = False) -> Run:
    """Validate the profile, overrides and seed, set the plotting style, and return the run."""
    seed = check_seed(seed)
    settings = load_settings(notebook, profile, overrides)
    plotting.set_style()
    return Run(notebook, profile, settings, seed, bool(force))
