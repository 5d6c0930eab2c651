"""BibTeX for the paper and for this replication, generated from CITATION.cff (the one source).

`collapse-utils cite` prints it; the README's "How to cite" block is this text (a test checks it).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from .paths import REPO_ROOT

CFF = REPO_ROOT / "CITATION.cff"
STOPWORDS = {"a", "an", "the", "of", "on", "in"}


def load_cff(path: Path = CFF) -> dict[str, Any]:
    """The parsed CITATION.cff; a missing file is named with where to find it."""
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run from a checkout of the repository (it holds CITATION.cff)")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _authors(authors: list[dict[str, str]]) -> str:
    names = []
    for author in authors:
        if "family-names" in author:
            names.append(f"{author['family-names']}, {author['given-names']}" if "given-names" in author
                         else author["family-names"])
        elif author.get("name") == "et al.":
            names.append("others")  # BibTeX's "and others" prints "et al."
        else:
            names.append("{" + author["name"] + "}")  # an organisation: kept as one name
    return " and ".join(names)


def _key(entry: dict[str, Any]) -> str:
    """Google Scholar's style, surname + year + first title word (shumailov2024ai); for an entry
    whose author is an organisation, the title's first two words + year (modelcollapse2026)."""
    words = [w.lower() for w in re.findall(r"[A-Za-z]+", entry["title"]) if w.lower() not in STOPWORDS]
    year = entry.get("year") or str(entry.get("date-released", ""))[:4]
    first = entry["authors"][0]
    if "family-names" in first:
        return re.sub(r"[^a-z]", "", first["family-names"].lower()) + f"{year}{words[0]}"
    return f"{words[0]}{words[1]}{year}"


def _format(kind: str, key: str, fields: dict[str, Any]) -> str:
    lines = [f"@{kind}{{{key},"]
    lines += [f"  {name} = {{{value}}}," for name, value in fields.items() if value not in (None, "")]
    return "\n".join(lines) + "\n}"


def paper_bibtex(cff: dict[str, Any] | None = None) -> str:
    """The paper (CITATION.cff's preferred-citation) as a BibTeX @article."""
    entry = (cff or load_cff())["preferred-citation"]
    pages = f"{entry['start']}--{entry['end']}" if "start" in entry else None
    return _format("article", _key(entry), {
        "title": "{" + entry["title"] + "}", "author": _authors(entry["authors"]),
        "journal": entry.get("journal"), "volume": entry.get("volume"), "pages": pages,
        "year": entry.get("year"), "doi": entry.get("doi")})


def software_bibtex(cff: dict[str, Any] | None = None) -> str:
    """This replication (CITATION.cff's own entry) as a BibTeX @software."""
    cff = cff or load_cff()
    return _format("software", _key(cff), {
        "title": "{" + cff["title"] + "}", "author": _authors(cff["authors"]),
        "version": cff.get("version"), "year": str(cff["date-released"])[:4],
        "url": cff.get("repository-code") or cff.get("url"), "doi": cff.get("doi"),
        "license": cff.get("license"), "note": "Independent reimplementation; figure CSVs "
                                               "(figures/<figure>.csv) at the commit that produced them"})


def bibtex(cff: dict[str, Any] | None = None) -> str:
    """Both entries, the paper first: what the README's "How to cite" shows."""
    cff = cff or load_cff()
    return paper_bibtex(cff) + "\n\n" + software_bibtex(cff) + "\n"
