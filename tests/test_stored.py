"""Stored paper-profile runs (papers_core.stored)."""
import json

import nbformat
import pandas as pd
import pytest

from papers_core.stored import record_wall_time, stored_run


def _run(tmp_path, profile="paper", cuda=None, commit="0123456789abcdef"):
    prov = {"git_commit": commit, "machine": "x86_64, 2 CPUs, torch threads 1", "cuda": cuda,
            "settings": {"profile": profile, "seed": 0, "settings": {"n_attack": 1000}}}
    (tmp_path / "provenance.json").write_text(json.dumps(prov))
    pd.DataFrame([{"paper": "demo", "claim": "c", "verdict": "holds", "profile": profile}]).to_csv(tmp_path / "claims.csv")
    pd.DataFrame({"method": ["A"], "ASR%": [99.0]}).to_csv(tmp_path / "table1.csv", index=False)
    return tmp_path


def test_a_stored_run_reads_its_tables_claims_and_says_where_it_was_measured(tmp_path):
    run = stored_run("demo", _run(tmp_path))
    assert run.table("table1")["ASR%"].tolist() == [99.0]
    assert run.claims()["verdict"].tolist() == ["holds"] and run.settings == {"n_attack": 1000}
    assert run.label == "paper profile, measured on x86_64, 2 CPUs, torch threads 1 at 0123456789"
    with pytest.raises(FileNotFoundError, match="no table9.csv"):
        run.table("table9")
    from PIL import Image

    Image.new("RGB", (4, 3), (200, 10, 10)).save(tmp_path / "fig1.png")
    shown = run.figure("fig1")      # what a notebook displays: the file's bytes, embedded in the page
    assert shown.data == (tmp_path / "fig1.png").read_bytes() and shown.format == "png"
    with pytest.raises(FileNotFoundError, match="demo .* no fig9.png"):
        run.figure("fig9")


def test_a_stored_run_gives_the_text_a_cell_of_its_notebook_showed(tmp_path):
    run = stored_run("demo", _run(tmp_path))
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell('print("a")\ndisplay(t.set_index("penalty"))')
    cell.outputs = [nbformat.v4.new_output("stream", text="MNIST: the table\n"),
                    nbformat.v4.new_output("display_data", data={"text/plain": "  penalty  S\n0.00  3"})]
    nb.cells = [nbformat.v4.new_code_cell("x = 1"), cell]
    nbformat.write(nb, tmp_path / "demo.ipynb")
    text = run.cell_text('display(t.set_index("penalty")')
    assert "MNIST: the table" in text and "0.00  3" in text
    with pytest.raises(LookupError, match="no cell with"):
        run.cell_text("nothing like this")


def test_no_stored_run_is_none_and_a_quick_run_is_refused(tmp_path):
    assert stored_run("demo", tmp_path) is None
    with pytest.raises(ValueError, match="not a paper-profile one"):
        stored_run("demo", _run(tmp_path, profile="quick"))


def test_the_wall_time_comes_from_papermill_and_lands_in_the_label(tmp_path):
    _run(tmp_path, cuda="NVIDIA H200", commit="abc-dirty")
    nb = nbformat.v4.new_notebook()
    nb.metadata["papermill"] = {"duration": 5400.04}
    (tmp_path / "demo.ipynb").write_text(nbformat.writes(nb))
    assert record_wall_time(tmp_path / "demo.ipynb", tmp_path) == pytest.approx(5400.04)
    run = stored_run("demo", tmp_path)
    assert run.wall_time_s == 5400.0
    assert run.label == ("paper profile, measured on NVIDIA H200 (x86_64, 2 CPUs, torch threads 1) at abc "
                         "with uncommitted changes, 1.5 h")
    nb.metadata["papermill"] = {}
    (tmp_path / "bare.ipynb").write_text(nbformat.writes(nb))
    with pytest.raises(ValueError, match="no papermill duration"):
        record_wall_time(tmp_path / "bare.ipynb", tmp_path)


#: the stored figure each page shows beside its own
STORED_FIGURE = {"k_anonymity": "fig1_rank_pmf", "mat": "fig4_schemes"}


@pytest.mark.parametrize("page", ["k_anonymity", "mat"])
def test_the_executed_pages_show_their_stored_run_as_stored(page):
    """The quick page shows the stored paper-profile run (its label, its Table 1's numbers, its main
    figure, its claims), or says that none is stored: the book and results/paper agree."""
    import base64
    import math

    from papers_core.runs import repo_root

    nb = nbformat.read(repo_root() / "book" / "papers" / f"{page}.ipynb", 4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    text = "\n".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/html", "")) for o in outputs)
    run = stored_run(page)
    if run is None:
        assert "no paper-profile run is stored yet" in text
        return
    assert run.label in text
    if page == "k_anonymity":   # the columns the page shows beside the paper's
        t1 = run.table("table1", index_col=0)[["ASR%", "SSIM", "MSE", "ASR% (misclassified)", "L2"]]
    else:
        t1 = run.table("table1", header=[0, 1], index_col=0)
    numbers = [v for v in t1.select_dtypes("number").to_numpy().ravel() if not math.isnan(v)]
    # as the page displays them: two decimals, without trailing zeros (80.30 shows as 80.3)
    assert numbers and all(f"{v:.2f}".rstrip("0").rstrip(".") in text for v in numbers[:20])
    stored_png = base64.b64encode((run.root / f"{STORED_FIGURE[page]}.png").read_bytes()).decode()
    assert any(o.get("data", {}).get("image/png", "").replace("\n", "") == stored_png for o in outputs), \
        f"the {page} page does not show the stored {STORED_FIGURE[page]}.png: re-execute it"
    from papers_core.claims import verdict_counts

    claims = run.claims()   # the stored run's claims, counted as the page shows them
    assert f"{run.label}: {len(claims)} claims, " + ", ".join(
        f"{k} {v}" for v, k in verdict_counts(claims["verdict"]).items()) in text


def test_a_quick_page_shows_a_stored_table_and_figure_built_its_own_way(tmp_path, capsys):
    from PIL import Image

    from papers_core.stored import show_stored_figure, show_stored_table

    root = _run(tmp_path)
    Image.new("RGB", (4, 3)).save(root / "fig1.png")
    seen = []

    def build(run):
        seen.append(run)
        return run.table("table1").rename(columns={"ASR%": "ASR% stored"})

    run = show_stored_table("demo", "quick", build, root)
    assert seen == [run] and run.label.endswith("at 0123456789")
    assert "ASR% stored" in capsys.readouterr().out
    show_stored_figure(run, "fig1", "Fig. 1, where the label ends up")
    assert capsys.readouterr().out.startswith("Fig. 1, where the label ends up (paper profile, measured on")
    assert show_stored_table("demo", "paper", build, root) is None and len(seen) == 1
    assert "this page is the paper-profile run" in capsys.readouterr().out
    assert show_stored_table("demo", "quick", build, tmp_path / "none") is None
    assert "`make reproduce PAPER=demo` makes one" in capsys.readouterr().out
    show_stored_figure(None, "fig1", "nothing")
    assert capsys.readouterr().out == ""


def test_a_quick_page_shows_the_stored_claims_under_the_runs_label(tmp_path, capsys):
    from papers_core.stored import show_stored_claims

    root = _run(tmp_path)
    pd.DataFrame([{"paper": "demo", "claim": "K = 5 spreads y", "paper_value": "<= 0.2", "this_run": "0.19",
                   "verdict": "holds", "rule": "r", "margin": "[0.17, 0.21]", "profile": "paper"},
                  {"paper": "demo", "claim": "K = 1 beats L-BFGS", "paper_value": "1.87 < 2.42", "this_run": "2.1 vs 2.0",
                   "verdict": "does not hold", "rule": "r", "margin": "[0.05, 0.12]", "profile": "paper"}]
                 ).to_csv(root / "claims.csv")
    shown = show_stored_claims("demo", "quick", root)
    out = capsys.readouterr().out
    assert "paper profile, measured on x86_64, 2 CPUs, torch threads 1 at 0123456789: 2 claims, " \
           "1 holds, 1 does not hold, 0 inconclusive" in out
    assert shown.index.name.endswith("at 0123456789)") and shown.loc["K = 1 beats L-BFGS", "verdict"] == "does not hold"
    assert list(shown.columns) == ["paper's value", "stored run", "stored run's effect [95 % interval]", "verdict", "flag"]
    assert shown["flag"].str.startswith("decided before claims had floors").all()   # old rules: not counted
    assert show_stored_claims("demo", "paper", root) is None
    assert "this page is the paper-profile run" in capsys.readouterr().out
    assert show_stored_claims("demo", "quick", tmp_path / "none") is None
    assert "no paper-profile run is stored yet" in capsys.readouterr().out
    pd.DataFrame([{"claim": "c", "verdict": "holds"}]).to_csv(root / "claims.csv")
    with pytest.raises(ValueError, match="lacks the columns"):
        show_stored_claims("demo", "quick", root)


def test_a_run_that_stored_its_per_image_values_is_re_decided_by_todays_rules(tmp_path, monkeypatch, capsys):
    """The run stored its claims' per-image values: the page and the scorecard show them decided by the
    rules in force (here a floor that a later commit raised), not as the run decided them."""
    import numpy as np

    from papers_core import claims as C
    from papers_core.claim_values import save_claim_values
    from papers_core.claims import Floor, compare_claim
    from papers_core.reports import claims_table
    from papers_core.stored import show_stored_claims

    root = _run(tmp_path)
    b = (np.random.default_rng(0).random(5000) < 0.9).astype(float)
    a = b.copy()
    a[np.flatnonzero(a == 0)[:25]] = 1.0                  # +0.5 point on 5000 images
    claims = [compare_claim("A beats B", "97.36 vs 95.76", a, b, by=Floor(0.0, "no floor then"), paper=(97.36, 95.76))]
    claims_table(claims, "demo", "paper").to_csv(root / "claims.csv")
    save_claim_values(claims, root)
    run = stored_run("demo", root)
    assert run.redecided and run.claims()["verdict"].tolist() == ["holds"]
    assert run.claims()["size"].tolist() == ["smaller than the paper's"] and run.claims()["paper_effect"][0] == "+1.6%"
    real = C.compare_claim     # a later rule: every floor at least one point
    monkeypatch.setattr(C, "compare_claim",
                        lambda *a, by, **kw: real(*a, by=Floor(max(by.value, 0.01), "raised"), **kw))
    assert run.claims()["verdict"].tolist() == ["does not hold"]
    shown = show_stored_claims("demo", "quick", root)
    assert shown["verdict"].tolist() == ["does not hold"]
    assert "re-decided by today's rules from the per-image values it stored" in capsys.readouterr().out
