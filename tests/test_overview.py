"""The composite figure is built from the committed figure CSVs alone and is up to date with them; each
notebook opens with its question, its figure and rerun times that agree with their sources."""

from __future__ import annotations

import json
import shutil

import nbformat
import pandas as pd
import pytest

from collapse_utils import overview
from collapse_utils.budget import DEFAULT_SECONDS
from collapse_utils.paths import NOTEBOOKS_DIR, REPO_ROOT

COMMITTED = REPO_ROOT / "figures"
OPENED = ["01_discrete_markov", "02_gaussian", "03_gmm", "04_vae_mnist", "05_lm_wikitext2", "06_beyond"]


def test_panels_hold_the_numbers_of_their_source_csvs():
    data = overview.overview_data(COMMITTED)
    assert list(data.columns) == overview.COLUMNS and sorted(data["panel"].unique()) == list("abcde")
    lm = pd.read_csv(COMMITTED / f"{overview.SOURCES['e']}.csv")
    replace = lm[lm["setting"].str.match(r"replace, \d+ epochs?$")].groupby("generation")["test_perplexity"]
    shown = data[(data["panel"] == "e") & (data["series"] == "replace") & (data["statistic"] == "mean")]
    assert shown.set_index("generation")["value"].to_dict() == pytest.approx(replace.mean().to_dict())
    zero_shot = data[(data["panel"] == "e") & data["series"].str.startswith("pre-trained")]["value"]
    assert zero_shot.tolist() == pytest.approx(lm.loc[lm["setting"] == "pretrained", "test_perplexity"].tolist())
    vae = pd.read_csv(COMMITTED / f"{overview.SOURCES['d']}.csv")
    ours = vae[(vae["panel"] == "latent_std") & (vae["series"] == "replace") & (vae["statistic"] == "mean")]
    shown = data[(data["panel"] == "d") & (data["series"] == "this replication") & (data["statistic"] == "mean")]
    assert shown["value"].tolist() == pytest.approx(ours["value"].tolist())
    gaussian = data[data["panel"] == "b"]
    assert set(gaussian["series"]) == {"replace, M = 100", "replace, M = 1000", "replace, M = 10000",
                                       "keep 10 % real, M = 100"}
    assert gaussian.groupby("series")["generation"].max().eq(1000).all()


def test_committed_overview_is_up_to_date_with_the_csvs():
    committed = COMMITTED / f"{overview.NAME}.csv"
    if not committed.exists():
        pytest.skip("figures/00_overview.csv not built yet (python -m collapse_utils.overview)")
    expected = overview.overview_data(COMMITTED).to_csv(index=False, float_format="%.6g")
    assert committed.read_text() == expected, "stale: run python -m collapse_utils.overview"
    record = json.loads(committed.with_suffix(".json").read_text())
    assert record["sources"] == overview.sources_record(COMMITTED)


def test_save_overview_writes_the_four_files_from_csvs_alone(tmp_path, monkeypatch):
    for source in overview.SOURCES.values():  # only the CSVs: no PNG, cache or model is read
        shutil.copy(COMMITTED / f"{source}.csv", tmp_path / f"{source}.csv")
    monkeypatch.setenv("COLLAPSE_FIGURES_DIR", str(tmp_path))
    overview.save_overview(tmp_path)
    for ext in ("png", "pdf", "csv", "json"):
        assert (tmp_path / f"{overview.NAME}.{ext}").stat().st_size > 0
    assert pd.read_csv(tmp_path / f"{overview.NAME}.csv").shape == overview.overview_data(tmp_path).shape


def test_a_missing_source_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="01_discrete_markov_survival.csv is missing: execute notebook 01"):
        overview.overview_data(tmp_path)


def test_durations_read_as_stated():
    assert [overview.duration(s) for s in (7.04, 700, 10319, 366211)] == ["7 s", "12 min", "2.9 h", "102 h"]


@pytest.mark.parametrize("notebook", OPENED)
def test_notebook_opens_with_question_figure_and_rerun_times_from_their_sources(notebook):
    cells = nbformat.read(NOTEBOOKS_DIR / f"{notebook}.ipynb", as_version=4).cells
    parameters = next(i for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", []))
    opening = "\n".join(c.source for c in cells[:parameters] if c.cell_type == "markdown")
    assert "**Question.**" in opening and "**The figure it ends with:**" in opening
    assert overview.rerun_line(notebook) in opening, "rerun times differ from benchmarks/run_times.csv and budget.py"
    figure = opening.split("](../figures/", 1)[1].split(")", 1)[0]
    assert (REPO_ROOT / "figures" / figure).is_file() and figure.startswith(notebook)
    times = overview.rerun_seconds(notebook)
    assert times["default"][0] == DEFAULT_SECONDS[notebook]
    measured = pd.read_csv(overview.RUN_TIMES).set_index(["notebook", "profile"])["seconds"]
    assert times["smoke"][0] == measured[notebook, "smoke"] < 60  # the smoke profile's budget


def test_agreement_words():
    assert [overview.agreement(100, v) for v in (101, 40, 20)] == ["yes (+1.0%)", "same order (×0.4)", "no (×0.2)"]


def test_findings_table_is_the_generated_one():
    table = overview.findings_markdown(COMMITTED)
    assert table.count("\n") == len(overview.FINDINGS) + 5  # header, rule, one row each, the three LM rows
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert table in readme, "the findings table differs: paste overview.findings_markdown()"


def test_the_quick_profiles_time_is_its_measurement():
    from collapse_utils.budget import BASE_RUN

    measured = pd.read_csv(overview.RUN_TIMES).set_index(["notebook", "profile"])["seconds"]
    for notebook, (profile, seconds) in BASE_RUN.items():
        assert seconds == round(measured[notebook, profile]), notebook


def test_the_quick_start_states_the_measured_times():
    """The README's three commands with the times of benchmarks/run_times.csv and budget.DEFAULT_SECONDS."""
    measured = pd.read_csv(overview.RUN_TIMES).set_index(["notebook", "profile"])["seconds"]
    install, first = float(measured["(install)"].iloc[0]), float(measured["02_gaussian", "smoke"])
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert (f"first figure in about {(install + first) / 60:.1f} min: installs .venv ({install:.0f} s, once), "
            f"runs 02 ({first:.0f} s)") in readme
    assert f"every notebook on the default profile (about {sum(DEFAULT_SECONDS.values()) / 60:.0f} min on 2 cores)" in readme
