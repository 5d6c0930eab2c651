"""Observations: every number the README and the notebooks state, recomputed from the committed results.

This file checks that the prose copies the results (prose = CSV). Whether a closed form behind a claimed
theory value is right is checked apart, against an independent computation or simulation, in
``tests/test_claims_theory.py``.

``data/claims.csv`` holds one row per claim: ``id, notebook, statement, paper_value, our_value,
tolerance, source``. ``source`` names a computation of :data:`COMPUTATIONS`, the figure CSV it reads
(``figures/<stem>.csv``, written by the same call that saved the figure) and the filters that pick its
rows, e.g. ``value 03_gmm_l2_distance n_samples=500 start=k-means generation=2050 statistic=median``;
``ratio`` takes two filter sets separated by `` / ``. Filters compare the CSV's text exactly
(quote a value with spaces: ``series="real images"``). ``printed <notebook> <regex>`` reads a number
that a committed notebook prints (its first group in the outputs' text; timings, which no figure
holds), e.g. ``printed 04_vae_mnist "wall time of this run: ([0-9.]+) s"``. The test
recomputes each ``our_value`` and requires it within ``tolerance`` (relative). Claims whose id starts
with ``readme_`` must also appear in README.md, written as ``format(our_value, "g")``.
"""

from __future__ import annotations

import json
import re
import shlex
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import documentation

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


def _printed(notebook: str, args: list[str]) -> float:
    """The number (first group of the regex ``args[0]``) that the committed notebook prints, exactly once."""
    cells = json.loads((ROOT / "notebooks" / f"{notebook}.ipynb").read_text(encoding="utf-8"))["cells"]
    text = "".join("".join(output.get("text", "")) for cell in cells if cell["cell_type"] == "code"
                   for output in cell.get("outputs", []))
    found = re.findall(args[0], text)
    if len(found) != 1:
        raise ValueError(f"{notebook}: {args[0]!r} matches {len(found)} printed lines, not exactly one")
    return float(found[0])


COMPUTATIONS["printed"] = _printed


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


def check_claim(claim: dict) -> None:
    """Fails unless the claim's ``our_value`` equals its recomputation within its tolerance."""
    recomputed = recompute(claim["source"])
    assert claim["our_value"] == pytest.approx(recomputed, rel=claim["tolerance"]), \
        f"{claim['id']}: {claim['statement']}: states {claim['our_value']}, the results give {recomputed}"


def unstated_readme_claims(readme: str, claims: pd.DataFrame) -> list[str]:
    """The ``readme_`` claims whose value the README does not state as ``format(our_value, "g")`` (as a
    whole number: not inside a longer one)."""
    return [f"{c['id']}: {format(c['our_value'], 'g')}" for c in claims.to_dict("records")
            if c["id"].startswith("readme_")
            and not re.search(rf"(?<![\d.,]){re.escape(format(c['our_value'], 'g'))}(?!\d|[.,]\d)", readme)]


@pytest.mark.parametrize("claim", CLAIMS.to_dict("records"), ids=list(CLAIMS["id"]))
def test_claim_matches_the_committed_results(claim):
    check_claim(claim)


def test_readme_states_every_readme_claim_as_in_the_table():
    missing = unstated_readme_claims(documentation(), CLAIMS)
    assert not missing, f"README does not state these claims' values: {missing}"


def test_a_wrong_value_fails():
    """The checks can fail: a claim stated ten tolerances off its result (a figure value and a printed
    timing) is caught, and so is a README that states another number than its claim."""
    by_id = CLAIMS.set_index("id", drop=False)
    for claim_id in ("readme_nb03_l2_n500", "readme_vae_seconds_per_generation"):
        claim = by_id.loc[claim_id].to_dict()
        check_claim(claim)
        wrong = {**claim, "our_value": claim["our_value"] * (1 + 10 * claim["tolerance"])}
        with pytest.raises(AssertionError, match=claim_id):
            check_claim(wrong)
    readme = documentation()
    seconds = f"{by_id.loc['readme_vae_seconds_per_generation', 'our_value']:g}"
    assert f"VAE training {seconds} s per generation" in readme and not unstated_readme_claims(readme, CLAIMS)
    changed = re.sub(rf"(?<![\d.,]){seconds}(?!\d|[.,]\d)", "81", readme)  # every one, not only the VAE sentence's
    assert unstated_readme_claims(changed, CLAIMS) == [f"readme_vae_seconds_per_generation: {seconds}"]
