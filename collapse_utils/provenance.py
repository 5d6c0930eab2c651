"""Provenance records: what made a result or a figure (code version, settings, seed, time)."""

from __future__ import annotations

import datetime as dt
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from .cache import atomic_write_json
from .paths import REPO_ROOT

PACKAGES = ("numpy", "scipy", "pandas", "scikit-learn", "torch", "transformers", "matplotlib", "seaborn")


def git_commit() -> str:
    """Commit of the repository, with ``+dirty`` when the work tree has changes; 'unknown' outside git."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def package_versions() -> dict[str, str]:
    """Installed versions of the packages that shape the numbers."""
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def provenance_record(notebook: str, profile: str, settings: dict[str, Any], seed: int,
                      wall_seconds: float, **extra: Any) -> dict[str, Any]:
    """Everything a reader needs to tell what produced a file."""
    return {
        "notebook": notebook,
        "profile": profile,
        "settings": settings,
        "seed": seed,
        "wall_seconds": round(wall_seconds, 3),
        "git_commit": git_commit(),
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "versions": package_versions(),
        **extra,
    }


def write_sidecar(path: Path, record: dict[str, Any]) -> Path:
    """Write ``record`` as JSON beside ``path`` (``name.ext`` -> ``name.json``); returns its path."""
    sidecar = path.with_suffix(".json")
    atomic_write_json(sidecar, record)
    return sidecar
