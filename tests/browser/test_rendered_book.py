"""The built book, rendered in a real headless browser (Debian's Chromium driven by Playwright).

Runs after the HTML is built (``make test`` builds it, then runs this with
``PAPERS_CORE_BROWSER_TEST=required``, so that a missing browser or build fails instead of skipping).
By hand: ``make html`` then ``PAPERS_CORE_BROWSER_TEST=1 .venv/bin/python -m pytest tests/browser``.
"""
import functools
import http.server
import os
import shutil
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"
MODE = os.environ.get("PAPERS_CORE_BROWSER_TEST", "")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Chromium flags for a closed network and a root user (see the machine notes in the README).
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


def _unavailable(reason):
    if MODE == "required":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def site():
    if not MODE:
        pytest.skip("browser test: build the book (`make html`) and set PAPERS_CORE_BROWSER_TEST=1 (make test does)")
    if not (HTML / "index.html").exists():
        _unavailable(f"no built book at {HTML}: run `make html` first")
    if CHROMIUM is None:
        _unavailable("Chromium is not installed: `make browser` installs Debian's chromium package")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed: pip install -e '.[test]'")
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(HTML))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser, f"http://127.0.0.1:{server.server_address[1]}"
        browser.close()
    server.shutdown()


def _open(site, path):
    browser, base = site
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    response = page.goto(f"{base}/{path}", wait_until="load")
    assert response is not None and response.ok, f"{path}: HTTP {response and response.status}"
    return page


def _loaded_figures(page):
    """Images in the page's main content that the browser decoded (natural width > 0)."""
    return page.evaluate("""() => Array.from(document.querySelectorAll('main img, article img'))
        .filter(i => i.complete && i.naturalWidth > 0 && !i.src.includes('_static')).length""")


def test_front_page_shows_the_scorecard(site):
    page = _open(site, "index.html")                         # jupyter-book's root redirects to the front page
    page.wait_for_url("**/book/intro.html")
    assert "reproducible companion" in page.title()
    text = page.inner_text("main")
    assert "Reproduction scorecard" in text and "In all," in text
    section = page.locator("section#reproduction-scorecard")
    summary = section.locator("table").first
    header = summary.locator("th").all_inner_texts()
    assert [h.strip().replace("\u2019", "'") for h in header] == [
        "paper", "claims", "hold", "of which at the paper's size", "do not hold", "inconclusive",
        "flagged, not counted", "profile", "commit"]
    rows = summary.locator("tbody tr")
    assert rows.count() >= 4
    for i in range(rows.count()):
        cells = rows.nth(i).locator("td").all_inner_texts()
        hold, at_size, no, unclear, flagged = (int(c) for c in cells[2:7])
        # every claim is counted once: as a verdict, or flagged; those at the paper's size are among those that hold
        assert int(cells[1]) == hold + no + unclear + flagged and at_size <= hold and cells[7] in ("quick", "paper"), cells
        assert rows.nth(i).locator("a").count() == 1          # a link to the paper's page
    # one claim table per paper page and profile, then the comparison page's verdicts under their heading
    assert section.locator("table").count() == 1 + rows.count() + 1
    assert "The comparison:" in text and "survives every threat" in text


def test_comparison_page_has_its_summary_plots_and_verdicts(site):
    page = _open(site, "book/papers/compare.html")
    text = page.inner_text("main")
    for heading in ("The summary table", "Which protection survives which threat", "Privacy against quality",
                    "What MAT does to each protection", "Verdicts"):
        assert heading in text, heading
    assert page.locator("main table").count() >= 6
    assert _loaded_figures(page) >= 2                          # the privacy-quality panels, the rank pmf
    assert "survives every threat" in page.locator("main table").last.inner_text()


def test_paper_page_has_its_tables_figures_claims_and_launch_buttons(site):
    page = _open(site, "book/papers/p_fgsm.html")
    text = page.inner_text("main")
    for heading in ("Table 1", "Table 2", "Fig. 1", "Fig. 2", "Fig. 3", "Explore", "claims, checked"):
        assert heading in text, heading
    assert page.locator("main table").count() >= 3           # Table 1, Table 2, the claims
    assert _loaded_figures(page) >= 5                          # Figs. 1-3 and the two explorers
    claims = page.locator("main table").last
    assert "verdict" in claims.inner_text() and "holds" in claims.inner_text()
    # the Colab bootstrap cell and the live sliders stay out of the HTML
    assert "papers_core_repo" not in text and "SelectionSlider" not in text
    html = page.content()
    assert "mybinder.org" in html and "colab.research.google.com" in html
