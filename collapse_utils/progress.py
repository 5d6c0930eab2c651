"""Progress reporting for long loops: one place that decides how progress is shown.

Every loop of the package that may take long (generations, epochs, beam-search batches) reports
through :func:`progress_bar`, so where and how progress appears is decided here alone.
"""

from __future__ import annotations

from typing import Any

from tqdm import tqdm


def progress_bar(total: int | None = None, desc: str = "", initial: int = 0, enabled: bool = True,
                 leave: bool = False, iterable: Any = None) -> tqdm:
    """A progress bar over ``total`` steps (or over ``iterable``); silent when ``enabled`` is false."""
    return tqdm(iterable, total=total, initial=initial, desc=desc, disable=not enabled, leave=leave,
                mininterval=0.5)
