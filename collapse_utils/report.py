"""A static HTML site of the committed executed notebooks, readable offline.

``collapse-utils report`` (``make report``) writes ``build/report/``: ``index.html`` with the figure
gallery, links to each figure's CSV (the plotted numbers) and each notebook's "paper vs this run"
settings table, one page per notebook converted by nbconvert, and one page per ``docs/*.md`` (install,
profiles, command line, results, architecture) linked from the index. LaTeX in the notebooks' markdown
is converted to MathML when the site is built (browsers render MathML natively), and every script
or stylesheet that would come from a CDN is left out, so the site needs no network.
"""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

from .paths import NOTEBOOKS_DIR, REPO_ROOT, figures_dir
from .profiles import notebook_names, settings_table

DISPLAY_MATH = re.compile(r"\$\$(.+?)\$\$", re.S)
INLINE_MATH = re.compile(r"(?<![\\$])\$(?!\$)((?:[^$\n]|\n(?!\n))+?)(?<![\\$])\$(?!\$)")
REMOTE_ASSET = re.compile(r"<script[^>]*\bsrc=\"https?://[^\"]*\"[^>]*>\s*</script>|<link[^>]*\bhref=\"https?://[^\"]*\"[^>]*>")
MATHJAX_CONFIG = re.compile(r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->", re.S)
REMOTE_MODULE = re.compile(r"<script[^>]*>(?:(?!</script>).)*?import[^;]*https?://(?:(?!</script>).)*</script>", re.S)

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 72rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
nav { margin-bottom: 1.5rem; } nav a { margin-right: 1rem; }
.gallery { display: grid; grid-template-columns: repeat(auto-fill, minmax(20rem, 1fr)); gap: 1rem; }
figure { margin: 0; border: 1px solid #ddd; padding: .5rem; } figure img { width: 100%; }
figcaption { font-size: .9rem; } table { border-collapse: collapse; font-size: .85rem; margin: 1rem 0; }
td, th { border: 1px solid #ccc; padding: .2rem .5rem; text-align: left; vertical-align: top; }
"""


def _to_mathml(markdown: str, formulas: list[str]) -> str:
    """Replace ``$...$`` and ``$$...$$`` by placeholders; ``formulas`` collects their MathML."""
    from latex2mathml.converter import convert

    def replace(match: re.Match, display: str) -> str:
        formulas.append(convert(match.group(1).strip(), display=display))
        return f"MATHPLACEHOLDER{len(formulas) - 1}X"

    markdown = DISPLAY_MATH.sub(lambda m: replace(m, "block"), markdown)
    return INLINE_MATH.sub(lambda m: replace(m, "inline"), markdown)


def notebook_page(path: Path) -> str:
    """One executed notebook as a self-contained HTML page with MathML maths and no remote assets."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(path, as_version=4)
    formulas: list[str] = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":  # figure links of the notebooks' opening cells: the site's copies
            cell.source = _to_mathml(cell.source.replace("](../figures/", "](figures/"), formulas)
    page, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    page = REMOTE_ASSET.sub("", REMOTE_MODULE.sub("", MATHJAX_CONFIG.sub("", page)))
    for index, mathml in enumerate(formulas):
        page = page.replace(f"MATHPLACEHOLDER{index}X", mathml)
    nav = '<nav style="margin: 1rem 2rem"><a href="index.html">&larr; all notebooks and figures</a></nav>'
    return re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + nav, page, count=1)


def _title(path: Path) -> str:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    for cell in cells:
        first = "".join(cell["source"]).strip().splitlines()[0] if cell["cell_type"] == "markdown" else ""
        if first.startswith("# "):
            return first[2:].strip()
    return path.stem


def _gallery(notebook: str, folder: Path) -> str:
    figures = []
    for png in sorted(figures_dir().glob(f"{notebook}_*.png")):
        for ext in (".png", ".csv"):
            if png.with_suffix(ext).exists():
                shutil.copy2(png.with_suffix(ext), folder / "figures" / png.with_suffix(ext).name)
        csv = (f' · <a href="figures/{png.stem}.csv">numbers (CSV)</a>'
               if png.with_suffix(".csv").exists() else "")
        figures.append(f'<figure><img src="figures/{png.name}" alt="{png.stem}">'
                       f"<figcaption>{png.stem}{csv}</figcaption></figure>")
    return f'<div class="gallery">{"".join(figures)}</div>'


def _overview(folder: Path) -> str:
    """The composite figure of collapse_utils.overview, first on the index page."""
    for ext in (".png", ".csv"):
        if (figures_dir() / f"00_overview{ext}").exists():
            shutil.copy2(figures_dir() / f"00_overview{ext}", folder / "figures" / f"00_overview{ext}")
    csv = ' · <a href="figures/00_overview.csv">numbers (CSV)</a>' if (folder / "figures" / "00_overview.csv").exists() else ""
    return ('<section id="overview"><h2>The phenomena side by side</h2><figure><img src="figures/00_overview.png" '
            f'alt="00_overview"><figcaption>00_overview{csv}</figcaption></figure></section>')


DOCS = REPO_ROOT / "docs"


def doc_page(path: Path) -> str:
    """A ``docs/*.md`` page as HTML, its links rewritten to the site's pages and figure copies."""
    import mistune

    text = re.sub(r"\]\(\.\./notebooks/(\w+)\.ipynb\)", r"](\1.html)", path.read_text(encoding="utf-8"))
    text = text.replace("](../figures/", "](figures/").replace("](../data/README.md)", "](docs-data.html)")
    text = re.sub(r"\]\((\w+)\.md(#[\w-]+)?\)", r"](docs-\1.html\2)", text)
    return ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>'
            f'{html.escape(path.stem)}</title><link rel="stylesheet" href="style.css"></head><body>'
            f'<nav><a href="index.html">index</a></nav>{mistune.html(text)}</body></html>')


def _docs(output: Path) -> str:
    """Write every docs page (and the data sources' README); return the index's line of links to them."""
    links = []
    pages = {path.stem: path for path in sorted(DOCS.glob("*.md"))} | {"data": REPO_ROOT / "data" / "README.md"}
    for name, path in pages.items():
        (output / f"docs-{name}.html").write_text(doc_page(path), encoding="utf-8")
        links.append(f'<a href="docs-{name}.html">{name}</a>')
    return f"<nav>Documentation: {' '.join(links)}</nav>" if links else ""


def build_report(output: Path) -> Path:
    """Write the site into ``output`` (replacing it) and return the path of its index page."""
    output = Path(output)
    if output.exists():
        shutil.rmtree(output)
    (output / "figures").mkdir(parents=True)
    (output / "style.css").write_text(STYLE, encoding="utf-8")
    sections = [_docs(output)]
    sections += [_overview(output)] if (figures_dir() / "00_overview.png").exists() else []
    for notebook in notebook_names():
        path = NOTEBOOKS_DIR / f"{notebook}.ipynb"
        if not path.exists():
            continue
        (output / f"{notebook}.html").write_text(notebook_page(path), encoding="utf-8")
        table = settings_table(notebook, "default").to_html(classes="settings", border=0)
        sections.append(f'<section id="{notebook}"><h2><a href="{notebook}.html">{html.escape(_title(path))}</a></h2>'
                        f"{_gallery(notebook, output)}<details><summary>Settings: paper vs this run "
                        f"(default profile)</summary>{table}</details></section>")
    index = output / "index.html"
    index.write_text(
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Model collapse: a reference replication'
        '</title><link rel="stylesheet" href="style.css"></head><body><h1>Model collapse: a reference replication</h1>'
        "<p>Shumailov et al., <em>AI models collapse when trained on recursively generated data</em>, Nature 631, "
        '755–759 (2024), <a href="https://doi.org/10.1038/s41586-024-07566-y">doi:10.1038/s41586-024-07566-y</a>. '
        "Each section is one executed notebook (default profile): its figures, the numbers behind each figure as CSV, "
        "and which settings differ from the paper's and why.</p>"
        + "".join(sections) + "</body></html>", encoding="utf-8")
    return index
