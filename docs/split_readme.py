"""Scratch tool for issue 19's README restructure: moves README.md's sections, unchanged, into docs/*.md
and writes docs/README-draft.md (results first). Rerun it on the final README; delete it afterwards.

    python docs/split_readme.py [--in-place]     # --in-place: README-draft.md becomes README.md
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from collapse_utils.budget import DEFAULT_SECONDS  # noqa: E402
from collapse_utils.overview import findings_markdown, rerun_seconds  # noqa: E402


def sections(text: str) -> dict[str, str]:
    """Heading line -> its text up to the next heading of the same or a higher level (## or ###)."""
    parts = re.split(r"(?m)^(?=#{2,3} )", text)
    out = {"intro": parts[0]}
    for part in parts[1:]:
        out[part.splitlines()[0]] = part
    return out


def relink(text: str) -> str:
    """Links as seen from docs/."""
    text = re.sub(r"\]\((figures|notebooks|data|benchmarks|collapse_utils)/", r"](../\1/", text)
    text = text.replace("](docs/", "](").replace("](CITATION.cff)", "](../CITATION.cff)")
    return text.replace("(#running-the-real-opt-125m)", "(results.md#running-the-real-opt-125m)")


MARKER = "<!-- moved unchanged from README.md by docs/split_readme.py (issue 19) -->"
# `make .venv/.installed` on a fresh clone, 2 shared cores, PyPI reachable (issue 19's measurement, 2026-12-04)
INSTALL_SECONDS = 133


def main() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    s = sections(readme)
    heads = list(s)

    def span(start: str, stop: str | None) -> str:
        i, j = heads.index(start), (heads.index(stop) if stop else len(heads))
        return "".join(s[h] for h in heads[i:j])

    gallery = span("## Figure gallery", "## Paper vs this replication")
    intro_rest = s["intro"].split("\n\n", 2)[2]  # the intro's paragraphs after the first
    pages = {
        "results.md": "# Results: every figure, notebook by notebook\n\n" + intro_rest + "\n"
        + gallery.replace("## Figure gallery\n", "", 1).replace("\n### ", "\n## ").replace("\n#### ", "\n### "),
        "cli.md": "# Running the notebooks: the command line, results, the report, Colab and Binder\n\n"
        + span("### Running notebooks", "### Profiles").replace("### Running notebooks\n", "", 1)
        + span("### Results, figures and the report", "## Figure gallery").replace("\n### ", "\n## "),
        "profiles.md": "# Profiles\n\n" + s["### Profiles"].replace("### Profiles\n", "", 1),
        "architecture.md": "# Architecture: layout, modules, your own data policy, tests\n\n"
        + span("## Repository layout", "## How to cite").replace("\n### ", "\n## ").replace("## Repository layout", "## Layout"),
    }
    for name, text in pages.items():  # never over a page someone else wrote (no MARKER in it)
        page = ROOT / "docs" / name
        if page.exists() and MARKER not in page.read_text(encoding="utf-8"):
            print(f"docs/{name}: kept (not written by this script); moved text not copied there")
            continue
        page.write_text(MARKER + "\n" + relink(text).rstrip() + "\n", encoding="utf-8")

    smoke = rerun_seconds("02_gaussian")["smoke"][0]
    default = sum(DEFAULT_SECONDS.values())  # every notebook's committed run, 05 included
    title, first = s["intro"].split("\n\n", 2)[:2]
    draft = f"""{title}

{first}

![The paper's phenomena side by side](figures/00_overview.png)

**a** rare outcomes of a categorical distribution vanish first (notebook 01); **b** a Gaussian refitted
to its own samples loses its variance, unless 10 % real data is kept (02); **c** a Gaussian mixture
drifts away from generation 0 (03); **d** the latents of generations of VAEs contract (04); **e** a
language model's test perplexity rises over generations, less when 10 % real data is kept (05). Built
by `python -m collapse_utils.overview` from the committed figure CSVs; every figure is in
[docs/results.md](docs/results.md).

## Findings

{findings_markdown()}
Paper values are the authors' reported or plotted numbers (`data/claims.csv`, `data/reference.csv`);
ours are read from the committed figure CSVs, and `tests/test_claims.py` keeps them equal.

## Quick start

```bash
make notebook NB=02 PROFILE=smoke   # first figure in about {(INSTALL_SECONDS + smoke) / 60:.1f} min: installs .venv ({INSTALL_SECONDS} s, once), runs 02 ({smoke:.0f} s)
make test                           # unit, fault and claims tests, a smoke run of every notebook
make figures                        # every notebook on the default profile (about {default / 60:.0f} min on 2 cores)
```

`make` needs only Python 3.11–3.13; it installs the lock for the machine (Linux x86-64 with torch's CPU
build, macOS arm64, Windows by pip): see [docs/install.md](docs/install.md).

## More

- [docs/install.md](docs/install.md): the lock files, Windows, conda, GPUs, where files go
- [docs/profiles.md](docs/profiles.md): smoke, default, paper and the language model's laptop and colab profiles
- [docs/cli.md](docs/cli.md): `collapse-utils`, results and their provenance, the HTML report, Colab and Binder
- [docs/results.md](docs/results.md): every figure with what it shows, notebook by notebook
- [docs/architecture.md](docs/architecture.md): the layout, one module per concern, your own data policy, the tests

{s["## Paper vs this replication"].rstrip()}

{s["## How to cite"].rstrip()}
"""
    target = ROOT / ("README.md" if "--in-place" in sys.argv else "docs/README-draft.md")
    target.write_text(draft, encoding="utf-8")
    print(f"{target.relative_to(ROOT)}: {draft.count(chr(10))} lines (README.md now {readme.count(chr(10))})")


if __name__ == "__main__":
    main()
