"""Tables beside the paper's, and the display of a page's claims.

The papers' own numbers are transcribed once into ``data/paper/<paper>_*.csv`` and always shown under a
"paper" label; this run's numbers carry the profile that produced them (:func:`run_label`, the one
place a column label is made). The claims themselves are decided by :mod:`papers_core.claims`.
"""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pandas as pd

from .claim_values import save_claim_values
from .claims import Claim
from .runs import repo_root

__all__ = ["CLAIMS_KEY", "paper_table", "fmt_mean_std", "side_by_side", "show_floors", "claims_table", "SHOWN", "claims_display", "show_claims", "run_label", "STORED_RUN", "THIS_RUN"]


#: The claims table's column of this run's values (a stored run's display calls it :data:`STORED_RUN`).
THIS_RUN = "this run"

#: The label of a stored run's columns (a paper-profile run kept in ``results/paper``, :mod:`papers_core.stored`).
STORED_RUN = "stored run"


def run_label(profile: str, unit: str = "") -> str:
    """The label of this run's numbers beside the paper's, ``"this run (quick)"`` (with ``unit``:
    ``"this run (quick, %)"``); a stored run's are :data:`STORED_RUN`. Every page's column labels come
    from here."""
    return f"this run ({profile}{', ' + unit if unit else ''})"


#: The key, in a displayed output's metadata, under which :func:`show_claims` stores the claim checks
#: for the book's scorecard (:mod:`papers_core.scorecard`).
CLAIMS_KEY = "papers_core_claims"


def paper_table(name: str, root: str | Path | None = None) -> pd.DataFrame:
    """A transcribed table of a paper, e.g. ``paper_table("p_fgsm_table1")``, indexed by its first column."""
    path = Path(root or repo_root() / "data" / "paper") / f"{name}.csv"
    if not path.exists():
        raise FileNotFoundError(f"transcribed paper table {path} is missing; it ships with the repository.")
    return pd.read_csv(path, index_col=0)


def fmt_mean_std(mean: float, std: float | None, digits: int = 2) -> str:
    if pd.isna(mean):
        return "-"
    return f"{mean:.{digits}f}" + ("" if std is None or pd.isna(std) else f" ({std:.{digits}f})")


def side_by_side(ours: pd.DataFrame, paper: pd.DataFrame, profile: str) -> pd.DataFrame:
    """Interleave columns: for each column, the paper's value then this run's, under a two-level header."""
    cols = [c for c in paper.columns if c in ours.columns]
    rows = [r for r in ours.index if r in paper.index] + [r for r in ours.index if r not in paper.index]
    parts = {}
    for c in cols:
        parts[(c, "paper")] = paper[c].reindex(rows)
        parts[(c, run_label(profile))] = ours[c].reindex(rows)
    for c in ours.columns:  # this run's extra columns, which the paper does not report
        if c not in cols:
            parts[(c, run_label(profile))] = ours[c].reindex(rows)
    out = pd.DataFrame(parts)
    out.columns = pd.MultiIndex.from_tuples(out.columns)
    return out.fillna("-")


def show_floors(rows) -> pd.DataFrame:
    """Display a page's floors, stated once: ``rows`` is a list of ``(quantity, floor, scale, unit)``
    (the floor in the values' units, shown multiplied by ``scale`` in ``unit``). Returns the table."""
    from IPython.display import display

    df = pd.DataFrame([{"quantity": q, "floor": (f"{f.share:g} x the paper's effect" if f.share is not None
                                                  else f"{f.value * scale:g}{unit}"), "source": f.source}
                       for q, f, scale, unit in rows]).set_index("quantity")
    display(df)
    return df


def claims_table(claims: list[Claim], paper: str, profile: str) -> pd.DataFrame:
    df = pd.DataFrame([asdict(c) for c in claims])
    df.insert(0, "paper", paper)
    df["profile"] = profile
    return df


#: The columns of a displayed claims table, and their headers.
SHOWN = {"paper_value": "paper's value", "paper_effect": "paper's effect", "this_run": THIS_RUN,
         "margin": "run's effect [95 % interval]", "floor": "floor", "verdict": "verdict",
         "size": "size vs paper", "flag": "flag"}


def claims_display(df: pd.DataFrame) -> pd.DataFrame:
    """The claims of ``df`` (a :func:`claims_table`) as a page shows them: the paper's value and effect,
    this run's value and effect with its interval, the floor, the verdict and the size column (a flag
    column only where some claim is flagged)."""
    cols = [c for c in SHOWN if c in df and (c != "flag" or (df[c].fillna("").astype(str) != "").any())]
    return df.set_index("claim")[cols].fillna("").rename(columns=SHOWN)


def show_claims(claims: list[Claim], paper: str, profile: str, results=None) -> pd.DataFrame:
    """Display the claim checks of a paper page and return them as a table.

    The displayed table (:func:`claims_display`: one row per claim, the paper's value and effect, this
    run's value and effect with its interval, the floor, the verdict and the size column) carries the
    claims, the profile and the git commit in its output metadata under :data:`CLAIMS_KEY`, which is
    where the front page's scorecard reads them from the executed notebook. With a
    :class:`papers_core.runs.Results`, the table is also written as ``claims.csv``, and the
    per-image values behind it as ``claims_values.npz`` (:func:`save_claim_values`).
    """
    from IPython.display import display

    from .runs import git_commit, repo_root

    if not claims or not all(isinstance(c, Claim) for c in claims):
        raise ValueError("show_claims takes a non-empty list of Claim objects.")
    df = claims_table(claims, paper, profile)
    commit = results.provenance["git_commit"] if results is not None else git_commit(repo_root())
    if results is not None:
        results.table(df, "claims")
        save_claim_values(claims, results.root)
    meta = {"paper": paper, "profile": profile, "git_commit": commit,
            "claims": df.drop(columns=["paper", "profile"]).to_dict(orient="records")}
    display(claims_display(df), metadata={CLAIMS_KEY: meta})
    return df
