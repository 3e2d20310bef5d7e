"""Tables beside the paper's, and the paper's claims as checks.

The papers' own numbers are transcribed once into ``data/paper/<paper>_*.csv`` and always shown under a
"paper" label; this run's numbers carry the profile that produced them.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from .experiment import repo_root

__all__ = ["paper_table", "side_by_side", "fmt_mean_std", "Claim", "claims_table", "show_claims", "CLAIMS_KEY"]

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
        parts[(c, f"this run ({profile})")] = ours[c].reindex(rows)
    for c in ours.columns:  # this run's extra columns, which the paper does not report
        if c not in cols:
            parts[(c, f"this run ({profile})")] = ours[c].reindex(rows)
    out = pd.DataFrame(parts)
    out.columns = pd.MultiIndex.from_tuples(out.columns)
    return out.fillna("-")


@dataclass
class Claim:
    """One claim of a paper checked against this run."""

    claim: str
    paper_value: str
    this_run: str
    holds: bool


def claims_table(claims: list[Claim], paper: str, profile: str) -> pd.DataFrame:
    df = pd.DataFrame([asdict(c) for c in claims])
    df.insert(0, "paper", paper)
    df["profile"] = profile
    df["holds"] = df["holds"].map({True: "yes", False: "no"})
    return df


def show_claims(claims: list[Claim], paper: str, profile: str, results=None) -> pd.DataFrame:
    """Display the claim checks of a paper page and return them as a table.

    The displayed table (one row per claim: the paper's value, this run's, whether it holds) carries
    the claims, the profile and the git commit in its output metadata under :data:`CLAIMS_KEY`, which
    is where the front page's scorecard reads them from the executed notebook. With a
    :class:`papers_core.experiment.Results`, the table is also written as ``claims.csv``.
    """
    from IPython.display import display

    from .experiment import git_commit, repo_root

    if not claims or not all(isinstance(c, Claim) for c in claims):
        raise ValueError("show_claims takes a non-empty list of Claim objects.")
    df = claims_table(claims, paper, profile)
    commit = results.provenance["git_commit"] if results is not None else git_commit(repo_root())
    if results is not None:
        results.table(df, "claims")
    meta = {"paper": paper, "profile": profile, "git_commit": commit,
            "claims": df.drop(columns=["paper", "profile"]).to_dict(orient="records")}
    display(df.drop(columns=["paper"]).set_index("claim"), metadata={CLAIMS_KEY: meta})
    return df
