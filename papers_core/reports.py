"""Tables beside the paper's, and the paper's claims as checks.

The papers' own numbers are transcribed once into ``data/paper/<paper>_*.csv`` and always shown under a
"paper" label; this run's numbers carry the profile that produced them.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from .experiment import repo_root

__all__ = ["paper_table", "side_by_side", "fmt_mean_std", "Claim", "claims_table"]


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
