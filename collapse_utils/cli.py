"""Command line: list the notebooks, run one with papermill, or regenerate every figure.

    python -m collapse_utils list
    python -m collapse_utils run 02_gaussian --profile smoke --param n_chains=100 --output /tmp/out
    python -m collapse_utils figures --profile default
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from pathlib import Path
from typing import Any, Iterator, Sequence

from .paths import NOTEBOOKS_DIR
from .profiles import PROFILE_NAMES, check_notebook, check_profile, load_settings, notebook_names


def parse_params(pairs: Sequence[str]) -> dict[str, str]:
    """``["key=value", ...]`` to a dict; a clear error for an item without ``=``."""
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--param expects key=value, got {pair!r}")
        params[key.strip()] = value.strip()
    return params


def run_notebook(notebook: str, profile: str, overrides: dict[str, Any] | None = None,
                 output_dir: Path | None = None, seed: int = 0, force: bool = False,
                 progress: bool = True) -> Path:
    """Execute ``notebooks/<notebook>.ipynb`` with papermill; returns the executed notebook's path.

    Settings are validated before anything runs. Without ``output_dir`` the notebook is
    executed in place and writes ``figures/`` (this is how the committed notebooks and figures are
    made); with it, the executed notebook and its figures go to ``output_dir`` and
    ``output_dir/figures`` (unless ``COLLAPSE_FIGURES_DIR`` says otherwise).
    """
    import papermill

    check_notebook(notebook)
    check_profile(profile)
    overrides = dict(overrides or {})
    settings = load_settings(notebook, profile, overrides)
    overrides = {k: getattr(settings, k) for k in overrides}
    source = NOTEBOOKS_DIR / f"{notebook}.ipynb"
    target = (Path(output_dir) if output_dir else NOTEBOOKS_DIR) / f"{notebook}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    figures = {} if output_dir is None else {"COLLAPSE_FIGURES_DIR": str(Path(output_dir).resolve() / "figures")}
    with _environment(figures):
        papermill.execute_notebook(
            str(source), str(target), cwd=str(NOTEBOOKS_DIR), progress_bar=progress, kernel_name="python3",
            parameters={"profile": profile, "overrides": overrides, "seed": seed, "force": force},
        )
    return target


@contextlib.contextmanager
def _environment(defaults: dict[str, str]) -> Iterator[None]:
    """Set environment variables that are not set yet (the kernel inherits them), then restore."""
    added = {key: value for key, value in defaults.items() if key not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for key in added:
            os.environ.pop(key, None)


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m collapse_utils", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the notebooks and profiles")
    run = sub.add_parser("run", help="execute one notebook")
    run.add_argument("notebook", help="e.g. 02_gaussian (or 02)")
    figures = sub.add_parser("figures", help="execute every notebook, writing figures/")
    for command in (run, figures):
        command.add_argument("--profile", default="default", help=f"one of {', '.join(PROFILE_NAMES)}")
        command.add_argument("--seed", type=int, default=0)
        command.add_argument("--force", action="store_true", help="recompute instead of loading cached results")
        command.add_argument("--output", type=Path, default=None,
                             help="folder for the executed notebooks (default: in place)")
    run.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                     help="override one setting of the profile (repeatable)")
    return parser


def resolve_notebook(name: str) -> str:
    """Full notebook name from a full name or its number prefix (``02`` -> ``02_gaussian``)."""
    matches = [nb for nb in notebook_names() if nb == name or nb.split("_")[0] == name]
    if len(matches) != 1:
        return check_notebook(name)
    return matches[0]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit status (2 for bad input, with a one-line message)."""
    args = _build_parser().parse_args(argv)
    try:
        if args.command == "list":
            print("notebooks:")
            for name in notebook_names():
                print(f"  {name}" + ("" if (NOTEBOOKS_DIR / f"{name}.ipynb").exists() else "  (missing)"))
            print("profiles: " + ", ".join(PROFILE_NAMES))
            return 0
        check_profile(args.profile)
        if args.command == "run":
            names = [resolve_notebook(args.notebook)]
            overrides = parse_params(args.param)
        else:
            names = [n for n in notebook_names() if (NOTEBOOKS_DIR / f"{n}.ipynb").exists()]
            overrides = {}
        for name in names:
            load_settings(name, args.profile, overrides)
        for name in names:
            start = time.monotonic()
            target = run_notebook(name, args.profile, overrides, args.output, args.seed, args.force)
            print(f"{name}: {time.monotonic() - start:.1f} s -> {target}")
    except (ValueError, KeyError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # a cell failed: papermill keeps the partly executed notebook
        if type(error).__name__ != "PapermillExecutionError":
            raise
        print(f"error: {error.ename}: {error.evalue} (cell {error.exec_count}); "
              f"the executed notebook shows where", file=sys.stderr)
        return 1
    return 0
