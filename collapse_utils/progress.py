"""Progress reporting for long loops: one place that decides how progress is shown.

Every loop of the package that may take long (generations, epochs, beam-search batches) reports
through :func:`progress_bar`, so where and how progress appears is decided here alone:

- ``bar``: a live tqdm bar (a widget in JupyterLab when ipywidgets is installed, text in a terminal);
- ``lines``: one short plain line at every tenth of the way and at least once a minute, and none of
  tqdm's carriage returns or ANSI codes. Used when papermill executes a notebook (the command line
  sets ``COLLAPSE_PROGRESS=lines`` for its kernels), so executed notebooks keep a few readable lines
  and the terminal streams them live;
- ``off``: nothing.

``COLLAPSE_PROGRESS`` chooses the mode; unset, a Jupyter kernel gets ``bar`` if ipywidgets is
importable (else ``lines``), a terminal gets ``bar`` and anything else (a log file, a pipe) ``lines``.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from typing import Any, Iterable, Iterator

MODES = ("bar", "lines", "off")
HEARTBEAT_SECONDS = 60.0


def in_kernel() -> bool:
    """Whether this code runs inside a Jupyter kernel (JupyterLab, papermill), not just beside one."""
    if "IPython" not in sys.modules:
        return False
    shell = sys.modules["IPython"].get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def progress_mode() -> str:
    """The display mode: ``COLLAPSE_PROGRESS`` if set, else guessed from where the code runs."""
    mode = os.environ.get("COLLAPSE_PROGRESS", "").strip().lower()
    if mode:
        if mode not in MODES:
            raise ValueError(f"COLLAPSE_PROGRESS must be one of {', '.join(MODES)}, got {mode!r}")
        return mode
    if in_kernel():
        return "bar" if importlib.util.find_spec("ipywidgets") else "lines"
    return "bar" if sys.stderr is not None and sys.stderr.isatty() else "lines"


class LineProgress:
    """A tqdm-like counter that prints one plain line per tenth of ``total`` (and per minute).

    A loop resumed part-way says so once; one resumed at its end (a finished result loaded again) prints nothing.
    """

    def __init__(self, iterable: Iterable | None = None, total: int | None = None, desc: str = "",
                 initial: int = 0, enabled: bool = True) -> None:
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)
        self.iterable, self.total, self.desc, self.n = iterable, total, desc, initial
        self.enabled = enabled and not (initial and total is not None and initial >= total)
        self._start = self._last = time.monotonic()
        self._printed_at = initial
        if self.enabled and initial:
            self._print(f"resuming at {initial}")

    def __iter__(self) -> Iterator[Any]:
        for item in self.iterable if self.iterable is not None else ():
            yield item
            self.update(1)
        self.close()

    def __enter__(self) -> "LineProgress":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def update(self, n: int = 1) -> None:
        """Count ``n`` finished steps; print a line when a tenth is crossed or a minute has passed."""
        before, self.n = self.n, self.n + n
        step = max(1, (self.total or 10) // 10)
        crossed = self.n // step > before // step or (self.total is not None and self.n >= self.total > before)
        if crossed or time.monotonic() - self._last >= HEARTBEAT_SECONDS:
            self._print()

    def close(self) -> None:
        """Print the final count if the last line did not show it."""
        if self._printed_at != self.n:
            self._print()
        self.enabled = False

    def set_description(self, desc: str = "", refresh: bool = True) -> None:
        self.desc = desc

    def set_postfix(self, *args: Any, **kwargs: Any) -> None:
        """Accepted for tqdm compatibility; lines stay short."""

    def _print(self, note: str = "") -> None:
        if not self.enabled:
            return
        self._last, self._printed_at = time.monotonic(), self.n
        elapsed = f"{self._last - self._start:.0f} s"
        count = f"{self.n}/{self.total} ({100 * self.n // max(self.total, 1)}%)" if self.total else f"{self.n}"
        print(f"{self.desc + ': ' if self.desc else ''}{note or count}, {elapsed}", file=sys.stdout, flush=True)


def progress_bar(total: int | None = None, desc: str = "", initial: int = 0, enabled: bool = True,
                 leave: bool = False, iterable: Any = None) -> Any:
    """A progress display over ``total`` steps (or over ``iterable``); silent when ``enabled`` is false.

    Returns a tqdm bar or a :class:`LineProgress` (see :func:`progress_mode`); both support
    ``update(n)``, ``close()``, iteration and ``with``.
    """
    mode = progress_mode()
    if mode != "bar":
        return LineProgress(iterable, total=total, desc=desc, initial=initial, enabled=enabled and mode == "lines")
    if in_kernel():
        from tqdm.notebook import tqdm
    else:
        from tqdm import tqdm
    return tqdm(iterable, total=total, initial=initial, desc=desc, disable=not enabled, leave=leave,
                mininterval=0.5)
