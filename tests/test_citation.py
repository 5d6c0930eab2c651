"""The README's BibTeX is the one generated from CITATION.cff, and the generator handles its cases."""

from __future__ import annotations

import re

import pytest

from collapse_utils import cli
from collapse_utils.citation import bibtex, load_cff, paper_bibtex, software_bibtex
from collapse_utils.paths import REPO_ROOT


def test_readme_bibtex_is_generated_from_citation_cff():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bibtex\n(.*?)```", readme, re.DOTALL)
    assert blocks == [bibtex()], "README's BibTeX differs: paste the output of `collapse-utils cite`"


def test_cite_command_prints_both_entries(capsys):
    assert cli.main(["cite"]) == 0
    out = capsys.readouterr().out
    assert out == bibtex()
    cff = load_cff()
    paper = cff["preferred-citation"]
    assert f"doi = {{{paper['doi']}}}" in out and f"pages = {{{paper['start']}--{paper['end']}}}" in out
    assert out.count("@article{") == 1 and out.count("@software{") == 1
    assert out.count("{") == out.count("}")


def test_entries_from_a_made_up_cff():
    cff = {"title": "The toy replication", "date-released": "2025-01-02", "version": "2.0",
           "authors": [{"name": "Toy Lab"}], "repository-code": "https://example.org/toy",
           "preferred-citation": {"title": "On toys", "year": 2020, "journal": "J",
                                  "authors": [{"family-names": "Doe", "given-names": "Jane"}, {"name": "et al."}]}}
    assert paper_bibtex(cff).splitlines()[:3] == [
        "@article{doe2020toys,", "  title = {{On toys}},", "  author = {Doe, Jane and others},"]
    software = software_bibtex(cff)
    assert software.startswith("@software{toyreplication2025,")
    assert "author = {{Toy Lab}}" in software and "url = {https://example.org/toy}" in software
    assert "doi =" not in software  # fields the file lacks are left out


def test_missing_citation_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="CITATION.cff not found"):
        load_cff(tmp_path / "CITATION.cff")
