"""The front page's scorecard (papers_core.scorecard), gathered from the executed pages' claim tables,
and the claims' display (papers_core.reports.show_claims) it reads."""
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from papers_core import scorecard
from papers_core.claims import Claim
from papers_core.reports import CLAIMS_KEY, show_claims
from papers_core.runs import Results

ROOT = Path(__file__).resolve().parents[1]


def _executed_notebook(path: Path, claims, paper="demo", profile="quick", commit="abc123", title="Demo paper"):
    """A notebook as papermill leaves it, with the claim output show_claims displays."""
    nb = nbformat.v4.new_notebook()
    out = nbformat.v4.new_output("display_data", data={"text/plain": "table"},
                                 metadata={CLAIMS_KEY: {"paper": paper, "profile": profile, "git_commit": commit,
                                                        "claims": claims}})
    code = nbformat.v4.new_code_cell("show_claims(...)")
    code.outputs = [out]
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {title}\n\ntext"), code]
    path.write_text(nbformat.writes(nb))
    return path


def _claim(text, holds, paper_value="1", this_run="2"):
    return {"claim": text, "paper_value": paper_value, "this_run": this_run, "holds": "yes" if holds else "no"}


def test_show_claims_displays_the_table_with_its_metadata(tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, metadata=None: shown.append((obj, metadata)))
    results = Results(tmp_path, profile="quick")
    claims = [Claim("a holds", "1", "1", True), Claim("b fails", "2", "3", False),
              Claim("c unclear", "3", "3", "inconclusive", "q", "r", "[1, 5]")]
    df = show_claims(claims, "demo", "quick", results)
    (table, meta), = shown
    assert list(table.index) == ["a holds", "b fails", "c unclear"]
    assert list(table["verdict"]) == ["holds", "does not hold", "inconclusive"]
    assert list(table["run's effect [95 % interval]"]) == ["point estimate only (no noise margin)"] * 2 + ["[1, 5]"]
    assert list(table["size vs paper"]) == ["-"] * 3 and "flag" not in table   # no flagged claim: no flag column
    m = meta[CLAIMS_KEY]
    assert m["paper"] == "demo" and m["profile"] == "quick" and m["git_commit"] == results.provenance["git_commit"]
    assert [c["verdict"] for c in m["claims"]] == ["holds", "does not hold", "inconclusive"]
    assert m["claims"][1]["this_run"] == "3" and m["claims"][2]["rule"] == "r"
    assert (tmp_path / "claims.csv").read_text().count("\n") == 4 and len(df) == 3
    with pytest.raises(ValueError, match="verdict is one of"):
        Claim("d", "1", "1", "yes")
    with pytest.raises(ValueError, match="non-empty list of Claim"):
        show_claims([], "demo", "quick")


def test_scorecard_collects_each_pages_claims_in_order(tmp_path):
    a = _executed_notebook(tmp_path / "a.ipynb", [_claim("x < y | z", True), _claim("*bold*", False),
                                                  {**_claim("u", True), "verdict": "inconclusive"}], title="Paper A")
    b = _executed_notebook(tmp_path / "b.ipynb", [_claim("c", True)], profile="paper", commit="def456-dirty")
    df = scorecard.collect_claims([b, a])
    assert list(df["page"]) == ["b", "a", "a", "a"] and list(df["title"]) == ["Demo paper"] + ["Paper A"] * 3
    md = scorecard.scorecard_markdown(df)
    assert "{doc}`Demo paper <papers/b>` | 1 | 1 | 0 | 0 | 0 | 0 | paper | `def456` (with uncommitted changes) |" in md
    assert "{doc}`Paper A <papers/a>` | 3 | 1 | 0 | 1 | 1 | 0 | quick | `abc123` |" in md
    assert ("in the quick profile, of **3** claims, **1** hold (**0** of them at the paper's size or larger), "
            "**1** do not hold and **1** are inconclusive") in md
    assert "in the stored paper-profile runs, of **1** claims, **1** hold" in md
    assert r"| x \< y \| z | 1 | 2 | holds | - |" in md and r"| \*bold\* | 1 | 2 | **does not hold** | - |" in md
    assert "| u | 1 | 2 | *inconclusive* | - |" in md


def test_the_scorecard_counts_claims_at_the_papers_size_and_leaves_flagged_ones_out(tmp_path):
    at = {**_claim("at size", True), "size": "at the paper's size"}
    larger = {**_claim("larger", True), "size": "larger than the paper's"}
    sign = {**_claim("sign only", True), "size": "smaller than the paper's"}
    flagged = {**_claim("N cannot decide", True), "verdict": "inconclusive", "flag": "cannot hold on 250 images"}
    a = _executed_notebook(tmp_path / "a.ipynb", [at, larger, sign, flagged], title="Paper A")
    md = scorecard.scorecard_markdown(scorecard.collect_claims([a]))
    assert "{doc}`Paper A <papers/a>` | 4 | 3 | 2 | 0 | 0 | 1 | quick | `abc123` |" in md
    assert "**3** hold (**2** of them at the paper's size or larger)" in md and "**1** are flagged and not counted" in md
    assert "| N cannot decide | 1 | 2 | *inconclusive* (flagged: not counted) | - |" in md


def test_scorecard_puts_the_comparison_under_its_own_heading_and_out_of_the_papers_totals(tmp_path):
    a = _executed_notebook(tmp_path / "a.ipynb", [_claim("paper claim", True)], title="Paper A")
    c = _executed_notebook(tmp_path / "compare.ipynb", [_claim("X survives every threat", False),
                                                        _claim("MAT undoes X", True)], title="Compared")
    md = scorecard.scorecard_markdown(scorecard.collect_claims([a, c]))
    assert "of **1** claims, **1** hold" in md and "<papers/compare>` | 2 |" not in md
    assert "### The comparison: {doc}`Compared <papers/compare>`" in md
    assert "(2: 1 hold, 1 do not hold, 0 inconclusive; quick profile" in md
    assert md.index("paper claim") < md.index("### The comparison") < md.index("| X survives every threat | 2 | **does not hold** |")


def test_the_scorecard_shows_a_stored_paper_profile_run_beside_the_quick_page(tmp_path):
    import pandas as pd

    nb = _executed_notebook(tmp_path / "demo.ipynb", [_claim("quick claim", True)], title="Paper D")
    run = tmp_path / "store" / "demo"
    run.mkdir(parents=True)
    (run / "provenance.json").write_text(json.dumps({"git_commit": "feedbeef00", "machine": "x86_64, 2 CPUs",
                                                     "cuda": None, "wall_time_s": 7200,
                                                     "settings": {"profile": "paper", "settings": {}}}))
    pd.DataFrame([{"paper": "demo", "claim": "paper claim", "paper_value": "1", "this_run": "9",
                   "verdict": "does not hold", "profile": "paper"}]).to_csv(run / "claims.csv")
    page = tmp_path / "intro.md"
    page.write_text(f"{scorecard.START}\n{scorecard.END}\n")
    assert scorecard.update_front_page(page, [nb], store=tmp_path / "store") is True
    text = page.read_text()
    assert "{doc}`Paper D <papers/demo>` | 1 | 1 | 0 | 0 | 0 | 0 | quick | `abc123` |" in text
    # a stored run decided before claims had floors, without per-image values: shown, flagged, not counted
    assert "{doc}`Paper D <papers/demo>` | 1 | 0 | 0 | 0 | 0 | 1 | paper | `feedbeef00` |" in text
    assert "Stored run (paper profile, measured on x86\\_64, 2 CPUs at feedbeef00, 2.0 h):" in text
    assert text.index("| quick claim |") < text.index("Stored run") < text.index("| paper claim | 1 | 9 | **does not hold** (flagged: not counted) | - |")
    # without a stored run, the paper profile is simply absent
    assert scorecard.collect_stored([nb], tmp_path / "nothing").empty


def test_scorecard_refuses_a_notebook_without_claims(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("1")]
    path = tmp_path / "bare.ipynb"
    path.write_text(nbformat.writes(nb))
    with pytest.raises(ValueError, match="bare.ipynb: expected one claim table.*make notebooks"):
        scorecard.collect_claims([path])


def test_front_page_update_replaces_only_the_marked_block(tmp_path):
    nb = _executed_notebook(tmp_path / "a.ipynb", [_claim("c", True)])
    page = tmp_path / "intro.md"
    page.write_text(f"# Title\n\nbefore\n\n{scorecard.START}\nSTALE TEXT\n{scorecard.END}\n\nafter\n")
    assert scorecard.update_front_page(page, [nb], check=True) is True
    assert "STALE TEXT" in page.read_text()                   # check mode writes nothing
    assert scorecard.update_front_page(page, [nb]) is True
    text = page.read_text()
    assert "STALE TEXT" not in text and text.startswith("# Title\n\nbefore\n") and text.endswith("\nafter\n")
    assert "| c | 1 | 2 | holds |" in text
    assert scorecard.update_front_page(page, [nb]) is False  # idempotent
    page.write_text("no markers")
    with pytest.raises(ValueError, match="marker lines"):
        scorecard.update_front_page(page, [nb])


def test_committed_front_page_scorecard_matches_the_executed_pages():
    """The front page shows exactly what the committed executed notebooks computed."""
    r = subprocess.run([sys.executable, "-m", "papers_core.scorecard", "--check"], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr + r.stdout
    pages = scorecard._toc_pages(ROOT)
    assert len(pages) >= 4
    df = scorecard.collect_claims(pages)
    assert set(df["page"]) == {p.stem for p in pages} and set(df["profile"]) == {"quick"}
