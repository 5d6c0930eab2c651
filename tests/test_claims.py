"""Every number the README and the notebooks state, recomputed from the committed figure data.

``data/claims.csv`` holds one row per claim: ``id, notebook, statement, paper_value, our_value,
tolerance, source``. ``source`` names a computation of :data:`COMPUTATIONS`, the figure CSV it reads
(``figures/<stem>.csv``, written by the same call that saved the figure) and the filters that pick its
rows, e.g. ``value 03_gmm_l2_distance n_samples=500 start=k-means generation=2050 statistic=median``;
``ratio`` takes two filter sets separated by `` / ``. Filters compare the CSV's text exactly
(quote a value with spaces: ``series="real images"``). The test
recomputes each ``our_value`` and requires it within ``tolerance`` (relative). Claims whose id starts
with ``readme_`` must also appear in README.md, written as ``format(our_value, "g")``.
"""

from __future__ import annotations

import shlex
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = ["id", "notebook", "statement", "paper_value", "our_value", "tolerance", "source"]


def load_claims() -> pd.DataFrame:
    """The claims table ``data/claims.csv``."""
    return pd.read_csv(ROOT / "data" / "claims.csv", dtype={"paper_value": str})


@cache
def figure_data(stem: str) -> pd.DataFrame:
    """A figure's plotted numbers, every column as text except ``value``."""
    frame = pd.read_csv(ROOT / "figures" / f"{stem}.csv", dtype=str)
    return frame.assign(value=frame["value"].astype(float))


def select(stem: str, filters: list[str]) -> pd.Series:
    """The ``value`` of the rows of figure ``stem`` matching every ``column=text`` filter."""
    frame = figure_data(stem)
    mask = np.ones(len(frame), dtype=bool)
    for item in filters:
        column, _, text = item.partition("=")
        if column not in frame.columns:
            raise KeyError(f"{stem}.csv has no column {column!r}; columns: {', '.join(frame.columns)}")
        mask &= (frame[column] == text).to_numpy()
    return frame.loc[mask, "value"]


def one(stem: str, filters: list[str]) -> float:
    values = select(stem, filters)
    if len(values) != 1:
        raise ValueError(f"{stem} {' '.join(filters)} matches {len(values)} rows, not exactly one")
    return float(values.iloc[0])


def _ratio(stem: str, args: list[str]) -> float:
    split = args.index("/")
    return one(stem, args[:split]) / one(stem, args[split + 1:])


COMPUTATIONS = {
    "value": one,
    "ratio": _ratio,
    "min": lambda stem, args: float(select(stem, args).min()),
    "max": lambda stem, args: float(select(stem, args).max()),
}


def recompute(source: str) -> float:
    name, stem, *args = shlex.split(source)
    return COMPUTATIONS[name](stem, args)


CLAIMS = load_claims()


def test_claims_table_is_well_formed():
    assert list(CLAIMS.columns) == COLUMNS
    assert CLAIMS["id"].is_unique
    assert (CLAIMS["tolerance"] > 0).all() and CLAIMS["statement"].str.len().gt(10).all()
    for source in CLAIMS["source"]:
        assert source.split()[0] in COMPUTATIONS, source


@pytest.mark.parametrize("claim", CLAIMS.to_dict("records"), ids=list(CLAIMS["id"]))
def test_claim_matches_the_committed_figure_data(claim):
    recomputed = recompute(claim["source"])
    assert claim["our_value"] == pytest.approx(recomputed, rel=claim["tolerance"]), claim["statement"]


def test_readme_states_every_readme_claim_as_in_the_table():
    readme = (ROOT / "README.md").read_text()
    missing = [f"{c['id']}: {format(c['our_value'], 'g')}" for c in CLAIMS.to_dict("records")
               if c["id"].startswith("readme_") and format(c["our_value"], "g") not in readme]
    assert not missing, f"README does not state these claims' values: {missing}"


def test_a_wrong_value_would_fail():
    claim = CLAIMS.iloc[0]
    assert recompute(claim["source"]) != pytest.approx(claim["our_value"] * (1 + 10 * claim["tolerance"]),
                                                       rel=claim["tolerance"])
