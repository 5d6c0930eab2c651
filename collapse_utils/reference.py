"""The paper's numbers as this project records them: one lookup into ``data/reference.csv``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .paths import REPO_ROOT

REFERENCE = REPO_ROOT / "data" / "reference.csv"


def reference_value(experiment: str, quantity: str, setting: str | None = None, path: Path = REFERENCE) -> str:
    """The one recorded value of ``quantity`` for ``experiment`` (and ``setting``, when given), as written."""
    table = pd.read_csv(path, dtype={"value": str})
    rows = table[(table["experiment"] == experiment) & (table["quantity"] == quantity)]
    if setting is not None:
        rows = rows[rows["setting"] == setting]
    if len(rows) != 1:
        raise ValueError(f"expected one {experiment} row for {quantity!r} {setting or ''} in {path}, found {len(rows)}")
    return rows["value"].iloc[0]
