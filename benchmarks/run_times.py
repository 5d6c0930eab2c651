"""Wall time of `collapse-utils run NB --profile P` from an empty results cache, as a newcomer runs it.

    python benchmarks/run_times.py [--profile smoke] [NB ...]      # default: 01 02 03 04 06

Each run goes to a temporary output folder with its own empty cache (nothing committed is touched)
and its time is written to benchmarks/run_times.csv (one row per notebook and profile, replacing an
older row), with the machine's load at the start: the notebooks' opening cells and the README quote
these times, and tests/test_overview.py checks that they agree with this file.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CSV = HERE / "run_times.csv"
FIELDS = ["notebook", "profile", "seconds", "cores", "load_1min", "python", "date"]


def measure(notebook: str, profile: str) -> dict[str, str]:
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, COLLAPSE_RESULTS_DIR=f"{tmp}/results", COLLAPSE_PROGRESS="lines")
        load = os.getloadavg()[0]
        start = time.monotonic()
        subprocess.run([sys.executable, "-m", "collapse_utils", "run", notebook, "--profile", profile,
                        "--output", f"{tmp}/run"], check=True, env=env, stdout=subprocess.DEVNULL)
        seconds = time.monotonic() - start
    return {"notebook": notebook, "profile": profile, "seconds": f"{seconds:.1f}", "cores": str(os.cpu_count()),
            "load_1min": f"{load:.1f}", "python": platform.python_version(), "date": dt.date.today().isoformat()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", default=["01", "02", "03", "04", "06"])
    parser.add_argument("--profile", default="smoke")
    args = parser.parse_args()
    rows = list(csv.DictReader(CSV.open())) if CSV.exists() else []
    from collapse_utils.cli import resolve_notebook

    for short in args.notebooks:
        row = measure(resolve_notebook(short), args.profile)
        print(f"{row['notebook']} {row['profile']}: {row['seconds']} s (load {row['load_1min']})", flush=True)
        rows = [r for r in rows if (r["notebook"], r["profile"]) != (row["notebook"], row["profile"])] + [row]
        with CSV.open("w", newline="") as f:
            writer = csv.DictWriter(f, FIELDS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(sorted(rows, key=lambda r: (r["notebook"], r["profile"])))


if __name__ == "__main__":
    main()
