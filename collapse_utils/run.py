"""A notebook's run: its settings, seeds, cached results and figures, with provenance.

Every notebook starts with ``run = start_run(NOTEBOOK, profile, overrides, seed, force)`` and
then uses ``run.rng(...)``, ``run.cached(...)`` and ``run.save_figure(...)``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from . import cache, plotting
from .profiles import SETTINGS_CLASSES, as_dict, check_seed, load_settings
from .provenance import provenance_record, write_sidecar


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
        """Cache folder for result ``name``; the hash covers the settings, the seed, ``key`` and the code."""
        spec = {"settings": as_dict(self.settings), "seed": self.seed, "name": name, **key}
        return cache.store_dir(f"{self.notebook}/{self.profile}", spec, self.code) / name

    def cached(self, name: str, compute: Callable[[Path], pd.DataFrame], **key: Any) -> pd.DataFrame:
        """Load result ``name`` or compute it as ``compute(work_dir)`` and save it atomically.

        ``work_dir`` is where ``compute`` may keep checkpoints so that an interrupted run resumes;
        it is deleted once the result is saved, and before computing when the run is forced. A
        provenance sidecar ``result.json`` (with the commit and code version that computed it) is
        written beside ``result.parquet``; figures saved later list the results they rest on.
        """
        folder = self.result_dir(name, **key)
        work_dir = folder / "checkpoints"
        start = time.monotonic()

        def compute_fresh() -> pd.DataFrame:
            if self.force:
                shutil.rmtree(work_dir, ignore_errors=True)
            frame = compute(work_dir)
            record = self.provenance(result=name, key=key, code_version=cache.code_version(*self.code),
                                     compute_seconds=time.monotonic() - start)
            write_sidecar(folder / "result.parquet", record)
            return frame

        frame, _ = cache.cached_frame(folder / "result.parquet", compute_fresh, self.force)
        shutil.rmtree(work_dir, ignore_errors=True)
        self._note_result(folder / "result.json")
        return frame

    def _note_result(self, sidecar: Path) -> None:
        try:
            record = json.loads(sidecar.read_text())
        except (OSError, ValueError):
            record = {}
        self.results.append({"result": str(sidecar.parent.relative_to(cache.results_dir())),
                             "git_commit": record.get("git_commit", "unknown"),
                             "code_version": record.get("code_version", "unknown")})

    def save_figure(self, fig: plt.Figure, name: str, data: pd.DataFrame | None = None) -> None:
        """Save ``fig`` as ``figures/<notebook>_<name>.{png,pdf}``, ``data`` (the plotted numbers, long
        format) as ``.csv``, and a provenance sidecar naming the cached results it rests on."""
        plotting.save_figure(fig, f"{self.notebook}_{name}", self.provenance(results=self.results), data)


def start_run(notebook: str, profile: str = "default", overrides: dict[str, Any] | None = None,
              seed: int = 0, force: bool = False) -> Run:
    """Validate the profile, overrides and seed, set the plotting style, and return the run."""
    seed = check_seed(seed)
    settings = load_settings(notebook, profile, overrides)
    plotting.set_style()
    return Run(notebook, profile, settings, seed, bool(force))
