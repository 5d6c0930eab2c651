"""The static report builds from the committed notebooks and reads well offline in headless Chromium:
every image loads, no page shows an error or a traceback, the maths is rendered as MathML."""

from __future__ import annotations

import os
import re
import shutil

import pytest

from collapse_utils.paths import NOTEBOOKS_DIR, figures_dir
from collapse_utils.report import build_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]
PAGE_CHECKS = """() => {
  const images = Array.from(document.images);
  const maths = Array.from(document.querySelectorAll('math'));
  const markdown = Array.from(document.querySelectorAll('.jp-MarkdownOutput, .jp-RenderedMarkdown'))
    .map(e => e.innerText).join('\\n');
  return {
    images: images.length,
    broken: images.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src.slice(0, 80)),
    maths: maths.length,
    flat: maths.filter(m => { const r = m.getBoundingClientRect(); return r.width === 0 || r.height === 0; }).length,
    dollars: (markdown.match(/\\$[^$\\n]+\\$/g) || []).slice(0, 3),
    errors: Array.from(document.querySelectorAll('[data-mime-type="application/vnd.jupyter.stderr"]'))
      .filter(e => /Error|Exception|Traceback/.test(e.innerText)).length,
    text: document.body.innerText,
  };
}"""


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing in CI: .ci/run must install it (apt-get install chromium)")
        pytest.skip("chromium is not installed (Debian: apt-get install chromium); CI installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


def test_report_pages_load_offline_with_images_and_maths(tmp_path, browser, monkeypatch):
    monkeypatch.delenv("COLLAPSE_FIGURES_DIR")  # the committed figures
    index = build_report(tmp_path / "report")
    pages = sorted(index.parent.glob("*.html"))
    docs = [f"docs-{p.stem}" for p in (NOTEBOOKS_DIR.parent / "docs").glob("*.md")] + ["docs-data"]
    assert [p.stem for p in pages] == sorted([p.stem for p in NOTEBOOKS_DIR.glob("*.ipynb")] + docs + ["index"])
    page = browser.new_page()
    remote = []
    page.route("**/*", lambda route: (remote.append(route.request.url), route.abort())
               if not route.request.url.startswith(("file:", "data:")) else route.continue_())
    for path in pages:
        page.goto(path.as_uri(), wait_until="load")
        seen = page.evaluate(PAGE_CHECKS)
        assert (seen["images"] > 0 or path.stem.startswith("docs-")) and not seen["broken"], (path.name, seen["broken"])
        assert seen["errors"] == 0 and "Traceback" not in seen["text"], path.name
        notebook = NOTEBOOKS_DIR / f"{path.stem}.ipynb"
        if notebook.exists() and "$" in notebook.read_text():
            assert seen["maths"] > 0 and seen["flat"] == 0, (path.name, seen["maths"], seen["flat"])
            assert not seen["dollars"], (path.name, seen["dollars"])  # no LaTeX left unrendered
    assert remote == [], "the report asked the network for " + ", ".join(remote[:3])
    page.goto(index.as_uri())
    csv_links = page.eval_on_selector_all(
        "a[href$='.csv']", "links => links.map(a => a.getAttribute('href'))")
    committed = sorted(f"figures/{p.name}" for p in figures_dir().glob("*.csv") if p.with_suffix(".png").exists())
    assert sorted(csv_links) == committed and all((index.parent / link).is_file() for link in csv_links)
    page.screenshot(path=str(tmp_path / "index.png"))


def test_the_docs_pages_are_in_the_report_and_every_local_link_resolves(tmp_path, monkeypatch):
    from collapse_utils.paths import REPO_ROOT

    monkeypatch.setenv("COLLAPSE_FIGURES_DIR", str(REPO_ROOT / "figures"))  # read only: the committed figures
    index = build_report(tmp_path / "site")
    assert all(f'href="docs-{name}.html"' in index.read_text() for name in ("install", "profiles", "results", "data"))
    broken = [(page.name, ref) for page in index.parent.glob("*.html")
              for ref in re.findall(r'(?:href|src)="([^"#:]+)(?:#[^"]*)?"', page.read_text())
              if not (index.parent / ref).exists()]
    assert not broken, broken
