"""Command line: list and show the notebooks' settings, run one with papermill, regenerate every figure.

    collapse-utils list
    collapse-utils show 02_gaussian --profile smoke
    collapse-utils run 02_gaussian --profile smoke --param n_runs=100    # -> runs/02_gaussian/smoke/
    collapse-utils figures                                                 # refreshes notebooks/, figures/
    collapse-utils clean-notebooks                                         # committed form of notebooks/
    collapse-utils report                                                  # static HTML site in build/report
    collapse-utils badges                                                  # Colab/Binder badges for the README
    collapse-utils cite                                                    # BibTeX: the paper, this replication

(``python -m collapse_utils`` is the same command.) A run writes its executed notebook and figures to
``runs/<notebook>/<profile>/`` (or ``--output DIR``). Only ``figures`` on the default profile, or
``run --in-place``, rewrites the committed ``notebooks/`` and ``figures/``, and only once the
notebook has executed without error. The kernel's progress lines stream to the terminal.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any, Iterator, Sequence

from .budget import check_budget
from .cache import atomic_write_bytes
from .paths import NOTEBOOKS_DIR, REPO_ROOT, figures_dir, results_dir
from .profiles import EXTRA_PROFILES, check_notebook, check_profile, check_seed, load_settings, notebook_names, profile_names

INTERRUPTED = "interrupted; rerun the same command to resume"
#: Exit status after a stop signal: 128 + its number, as a shell reports it (Ctrl-C: 130, SIGTERM: 143).
STOPPED_STATUS = {signal.SIGINT: 130, signal.SIGTERM: 143}


def runs_dir() -> Path:
    """Scratch folder of runs that do not refresh the committed notebooks (``COLLAPSE_RUNS_DIR``)."""
    return Path(os.environ.get("COLLAPSE_RUNS_DIR", REPO_ROOT / "runs"))


def parse_params(pairs: Sequence[str]) -> dict[str, str]:
    """``["key=value", ...]`` to a dict; a clear error for an item without ``=``."""
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--param expects key=value, got {pair!r}")
        params[key.strip()] = value.strip()
    return params


def writable_folder(path: Path) -> Path:
    """Create ``path`` if needed and prove it accepts files; OSError naming it otherwise."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(20, "not a folder", str(path))
    path.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=path):
        pass
    return path


def prepare(notebook: str, profile: str, overrides: dict[str, Any] | None, seed: int) -> tuple[dict, str | None]:
    """Validate everything about a run before a kernel starts: settings (typed), seed and cost."""
    check_notebook(notebook)
    check_profile(profile)
    check_seed(seed)
    overrides = dict(overrides or {})
    settings = load_settings(notebook, profile, overrides)
    return {k: getattr(settings, k) for k in overrides}, check_budget(notebook, settings)


def run_notebook(notebook: str, profile: str, overrides: dict[str, Any] | None = None,
                 output_dir: Path | None = None, seed: int = 0, force: bool = False,
                 progress: bool = True, in_place: bool = False) -> Path:
    """Execute ``notebooks/<notebook>.ipynb`` with papermill; returns the executed notebook's path.

    Settings and output folders are checked before a kernel starts. The executed notebook goes to
    ``output_dir`` (default ``runs/<notebook>/<profile>/``), the kernel's own log to ``kernel.log``
    beside it, and its figures to ``output_dir/figures`` unless ``COLLAPSE_FIGURES_DIR`` is set. Runs
    into the same folder take turns (a lock on the folder; the second says that it waits, then loads
    what the first computed), so they never share a ``kernel.log`` or half-written notebook; the kernel
    talks over Unix sockets in a folder of its own where the platform has them, so that concurrent
    kernels never race for a TCP port. With
    ``in_place`` (default settings only) the run executes in the scratch folder and, once it
    succeeded, its cleaned notebook replaces the committed one while its figures go to ``figures/``.
    With ``progress``, the kernel's output streams to the terminal.
    """
    import papermill

    overrides, _ = prepare(notebook, profile, overrides, seed)
    if in_place and (profile != "default" or overrides or seed != 0 or output_dir is not None):
        raise ValueError("committed notebooks are default-profile runs: --in-place takes no --profile, "
                         "--param, --seed or --output")
    folder = writable_folder(Path(output_dir) if output_dir else runs_dir() / notebook / profile)
    # progress as plain lines (collapse_utils.progress); no Hugging Face bars in the cell outputs
    environment = {"COLLAPSE_PROGRESS": "lines", "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
                   "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
    if not in_place and "COLLAPSE_FIGURES_DIR" not in os.environ:
        environment["COLLAPSE_FIGURES_DIR"] = str(writable_folder(folder / "figures").resolve())
    target = folder / f"{notebook}.ipynb"
    with _environment(environment):  # every output folder accepts files before a kernel starts
        for output in [results_dir(), figures_dir()] + ([NOTEBOOKS_DIR] if in_place else []):
            writable_folder(output)
    with _one_run_at_a_time(folder), _environment(environment), open(folder / "kernel.log", "w") as kernel_log, \
            _socket_folder() as sockets:
        papermill.execute_notebook(
            str(NOTEBOOKS_DIR / f"{notebook}.ipynb"), str(target), cwd=str(NOTEBOOKS_DIR), progress_bar=False,
            kernel_name="python3",
            parameters={"profile": profile, "overrides": overrides, "seed": seed, "force": force},
            stdout_file=sys.stdout if progress else None, stderr_file=sys.stderr if progress else None,
            kernel_manager_class=_logging_kernel_manager(kernel_log, sockets),
        )
        if not in_place:
            return target
        from .notebooks import clean_notebook

        clean_notebook(target)
        committed = NOTEBOOKS_DIR / f"{notebook}.ipynb"
        atomic_write_bytes(committed, target.read_bytes())
        return committed


@contextlib.contextmanager
def _one_run_at_a_time(folder: Path) -> Iterator[None]:
    """Hold ``folder``'s run lock; say so on stderr when another run holds it and this one waits."""
    from filelock import FileLock, Timeout

    lock = FileLock(folder / ".run.lock")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        print(f"{folder}: another run is writing here; waiting for it to finish", file=sys.stderr, flush=True)
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


@contextlib.contextmanager
def _socket_folder() -> Iterator[Path | None]:
    """A fresh short folder for the kernel's Unix sockets (None where the platform has none: TCP then)."""
    if os.name != "posix":
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="cu-kernel-") as folder:
        yield Path(folder)


def _logging_kernel_manager(log: IO[str], sockets: Path | None = None) -> type:
    """A kernel manager whose kernel process writes its own messages to ``log``, not the terminal, and,
    given a ``sockets`` folder, talks over Unix sockets there rather than TCP ports (which two kernels
    started at once can both pick).

    (Cell outputs still reach the notebook and, through papermill, the terminal.)
    """
    from jupyter_client.manager import AsyncKernelManager

    class LoggingKernelManager(AsyncKernelManager):
        def __init__(self, **kw: Any) -> None:
            super().__init__(**kw)
            if sockets is not None:
                self.transport, self.ip = "ipc", str(sockets / "kernel")

        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
            await super()._async_launch_kernel(kernel_cmd, **{**kw, "stdout": log, "stderr": log})

    return LoggingKernelManager


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables (the kernel inherits them), then restore the previous ones."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="collapse-utils", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the notebooks and profiles")
    show = sub.add_parser("show", help="every setting of a notebook: value, type, paper value, reason")
    run = sub.add_parser("run", help="execute one notebook (into runs/<notebook>/<profile>/)")
    figures = sub.add_parser("figures", help="execute every notebook; the default profile refreshes the "
                                             "committed notebooks/ and figures/")
    compute = sub.add_parser("compute", help="compute a notebook's results into the cache without executing it "
                                             "(for torchrun: each process takes its share of the chains)")
    for command in (show, run, compute):
        command.add_argument("notebook", help="e.g. 02_gaussian (or 02)")
    for command in (show, run, figures, compute):
        command.add_argument("--profile", default="default", help=f"one of {', '.join(profile_names())}")
    for command in (show, run, compute):
        command.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                             help="override one setting of the profile (repeatable)")
    for command in (run, figures, compute):
        command.add_argument("--seed", type=int, default=0)
        command.add_argument("--force", action="store_true", help="recompute instead of loading cached results")
    for command in (run, figures):
        command.add_argument("--output", type=Path, default=None,
                             help="folder for the executed notebooks and their figures "
                                  "(default: runs/<notebook>/<profile>/)")
    run.add_argument("--in-place", action="store_true",
                     help="rewrite the committed notebook and figures (default profile only)")
    clean = sub.add_parser("clean-notebooks", help="bring executed notebooks into their committed form")
    clean.add_argument("paths", nargs="*", type=Path, help="notebooks (default: every one in notebooks/)")
    sub.add_parser("badges", help="README lines: open each notebook on Colab or Binder")
    sub.add_parser("cite", help="BibTeX for the paper and for this replication (from CITATION.cff)")
    report = sub.add_parser("report", help="build the static HTML report of the committed notebooks")
    report.add_argument("--output", type=Path, default=REPO_ROOT / "build" / "report")
    return parser


def resolve_notebook(name: str) -> str:
    """Full notebook name from a full name or its number prefix (``02`` -> ``02_gaussian``)."""
    matches = [nb for nb in notebook_names() if nb == name or nb.split("_")[0] == name]
    if len(matches) != 1:
        return check_notebook(name)
    return matches[0]


def _existing_notebooks() -> list[str]:
    return [n for n in notebook_names() if (NOTEBOOKS_DIR / f"{n}.ipynb").exists()]


def _show(notebook: str, profile: str, overrides: dict[str, str]) -> None:
    import pandas as pd

    from .profiles import settings_table

    table = settings_table(notebook, profile, overrides)
    if profile == "smoke":  # profiles.WHY explains the default profile; smoke is small on purpose
        table.loc[table["why"] == "", "why"] = "smoke profile: tiny sizes for tests, same code paths"
    with pd.option_context("display.max_colwidth", 90, "display.width", 250, "display.max_rows", None):
        print(f"{notebook}, profile {profile}" + (f", overrides {overrides}" if overrides else ""))
        print(table.to_string())


def _run(args: argparse.Namespace) -> None:
    if args.command == "run":
        names, overrides = [resolve_notebook(args.notebook)], parse_params(args.param)
    else:
        names, overrides = _existing_notebooks(), {}
    in_place = getattr(args, "in_place", False) or (
        args.command == "figures" and args.profile == "default" and args.output is None and args.seed == 0)
    for name in names:
        _, warning = prepare(name, args.profile, overrides, args.seed)
        if warning:
            print(warning, file=sys.stderr)
    if args.output is not None:
        writable_folder(args.output)
    for name in names:
        start = time.monotonic()
        print(f"{name}: executing, profile {args.profile}", flush=True)
        target = run_notebook(name, args.profile, overrides, args.output, args.seed, args.force, in_place=in_place)
        shown = target.resolve().relative_to(Path.cwd().resolve()) if target.resolve().is_relative_to(
            Path.cwd().resolve()) else target
        print(f"{name}: {time.monotonic() - start:.1f} s -> {shown}", flush=True)


def _compute(args: argparse.Namespace) -> None:
    """Compute (or load) the results of a notebook whose module has ``run_all(run)``, without the notebook."""
    import importlib

    from .profiles import SETTINGS_CLASSES
    from .run import start_run

    name = resolve_notebook(args.notebook)
    check_seed(args.seed)
    module = importlib.import_module(SETTINGS_CLASSES[name].split(":")[0])
    if not hasattr(module, "run_all"):
        raise ValueError(f"{name} has no separate compute step; execute it with: collapse-utils run {name}")
    start = time.monotonic()
    module.run_all(start_run(name, args.profile, parse_params(args.param), args.seed, args.force))
    print(f"{name}: results of profile {args.profile} computed or loaded in {time.monotonic() - start:.1f} s")


class Stopped(KeyboardInterrupt):
    """A stop signal (Ctrl-C or SIGTERM) arrived: unwind like Ctrl-C, remembering which signal it was."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _interrupted(signum: int, frame: Any) -> None:
    """Ctrl-C or SIGTERM: silence the log chatter of the kernel's shutdown, then stop as Ctrl-C does."""
    logging.disable(logging.CRITICAL)
    raise Stopped(signum)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status: 0, 1 (a cell or a write failed), 2 (bad input), 130 (Ctrl-C),
    143 (SIGTERM; it prints what Ctrl-C prints).

    Every failure is reported as one line on stderr.
    """
    args = _build_parser().parse_args(argv)
    previous = {signum: signal.signal(signum, _interrupted) for signum in STOPPED_STATUS}
    try:
        return _main(args)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _main(args: argparse.Namespace) -> int:
    try:
        if args.command == "list":
            print("notebooks:")
            for name in notebook_names():
                print(f"  {name}" + ("" if (NOTEBOOKS_DIR / f"{name}.ipynb").exists() else "  (missing)"))
            only = "; ".join(f"{', '.join(names)}: {notebook} only" for notebook, names in EXTRA_PROFILES.items())
            print(f"profiles: {', '.join(profile_names())} ({only})")
        elif args.command == "show":
            _show(resolve_notebook(args.notebook), check_profile(args.profile), parse_params(args.param))
        elif args.command == "clean-notebooks":
            from .notebooks import clean_notebook

            for path in args.paths or [NOTEBOOKS_DIR / f"{n}.ipynb" for n in _existing_notebooks()]:
                print(f"{path}: {'cleaned' if clean_notebook(path) else 'already clean'}")
        elif args.command == "badges":
            from .notebooks import badges, repository_url

            if not (repository := repository_url()):
                raise ValueError("pyproject.toml names no public repository: set [project.urls] Repository")
            for name in _existing_notebooks():
                print(f"- {name}: {badges(name, repository)}")
        elif args.command == "cite":
            from .citation import bibtex

            print(bibtex(), end="")
        elif args.command == "report":
            from .report import build_report

            start = time.monotonic()
            index = build_report(args.output)
            print(f"report: {index} ({time.monotonic() - start:.1f} s)")
        elif args.command == "compute":
            _compute(args)
        else:
            check_profile(args.profile)
            _run(args)
    except KeyboardInterrupt as stop:
        print(INTERRUPTED, file=sys.stderr)
        return STOPPED_STATUS.get(getattr(stop, "signum", signal.SIGINT), 130)
    except (ValueError, KeyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        where = f": {error.filename}" if error.filename else ""
        print(f"error: {error.strerror or error}{where}", file=sys.stderr)
        return 1
    except Exception as error:  # a cell failed: papermill keeps the partly executed notebook
        if type(error).__name__ != "PapermillExecutionError":
            raise
        if error.ename == "KeyboardInterrupt":
            print(INTERRUPTED, file=sys.stderr)
            return 130
        print(f"error: {error.ename}: {error.evalue} (cell {error.exec_count}); "
              f"the executed notebook shows where", file=sys.stderr)
        return 1
    return 0
