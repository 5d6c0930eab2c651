"""A notebook's run: its settings, seeds, cached results and figures, with provenance.

Every notebook starts with ``run = start_run(NOTEBOOK, profile, overrides, seed, force)`` and
then uses ``run.rng(...)``, ``run.cached(...)`` and ``run.save_figure(...)``.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from . import cache, plotting
from .profiles import as_dict, load_settings
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

    def rng(self, *keys: Any) -> np.random.Generator:
        """Generator seeded by the run's seed and ``keys``: same keys, same stream; others independent."""
        return np.random.default_rng([self.seed, *(_key_int(k) for k in keys)])

    def provenance(self, **extra: Any) -> dict[str, Any]:
        """Provenance record of this run so far."""
        return provenance_record(self.notebook, self.profile, as_dict(self.settings), self.seed,
                                 time.monotonic() - self.started, **extra)

    def result_dir(self, name: str, **key: Any) -> Path:
        """Cache folder for result ``name``; the hash covers the settings, the seed and ``key``."""
        spec = {"settings": as_dict(self.settings), "seed": self.seed, "name": name, **key}
        return cache.result_dir(self.notebook, self.profile, spec) / name

    def cached(self, name: str, compute: Callable[[Path], pd.DataFrame], **key: Any) -> pd.DataFrame:
        """Load result ``name`` or compute it as ``compute(work_dir)`` and save it atomically.

        ``work_dir`` is where ``compute`` may keep checkpoints so that an interrupted run resumes;
        it is deleted once the result is saved. A provenance sidecar ``result.json`` is written
        beside ``result.parquet``.
        """
        folder = self.result_dir(name, **key)
        work_dir = folder / "checkpoints"
        start = time.monotonic()
        frame, loaded = cache.cached_frame(folder / "result.parquet", lambda: compute(work_dir), self.force)
        shutil.rmtree(work_dir, ignore_errors=True)
        if not loaded:
            write_sidecar(folder / "result.parquet",
                          self.provenance(result=name, key=key, compute_seconds=time.monotonic() - start))
        return frame

    def save_figure(self, fig: plt.Figure, name: str, data: pd.DataFrame | None = None) -> None:
        """Save ``fig`` as ``figures/<notebook>_<name>.{png,pdf}``, ``data`` (the plotted numbers, long
        format) as ``.csv``, and a provenance sidecar."""
        plotting.save_figure(fig, f"{self.notebook}_{name}", self.provenance(), data)


def start_run(notebook: str, profile: str = "default", overrides: dict[str, Any] | None = None,
              seed: int = 0, force: bool = False) -> Run:
    """Validate the profile and overrides, set the plotting style, and return the run."""
    settings = load_settings(notebook, profile, overrides)
    plotting.set_style()
    return Run(notebook, profile, settings, int(seed), bool(force))
