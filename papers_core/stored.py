"""Paper-profile runs measured by the project and stored in the repository, shown in the book.

A run of ``make reproduce PAPER=<paper>`` writes its tables (CSV), figures, claims and provenance to
``results/paper/<paper>/``. Where such a run could be measured (on the CPU here, or on a GPU machine),
its folder is committed: ``results/paper/`` is tracked, the rest of ``results/`` is not. The paper's
page, run in the quick profile, then shows the stored tables and figures beside its own, labelled
"paper profile, measured on <machine> at <commit>", and the front page's scorecard counts the stored
claims under the paper profile.

:func:`stored_run` reads a stored run (its tables, figures and claims); :func:`record_wall_time` adds
the papermill wall time of the executed notebook to its provenance (``reproduce`` calls it after a run).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

__all__ = ["StoredRun", "stored_run", "record_wall_time", "show_stored_table", "show_stored_figure", "show_stored_claims",
           "STORE"]

#: The flag of a stored claim decided before claims had floors (any non-zero difference held) and that
#: stored no per-image values to re-decide it: the page shows it, the scorecard does not count it.
OLD_RULES = ("decided before claims had floors (a difference of any size held) and stored no per-image values: "
             "not counted; rerun `make reproduce` to re-decide it")

#: Where paper-profile runs are written, relative to the repository root.
STORE = Path("results") / "paper"


@dataclass
class StoredRun:
    """One stored paper-profile run: its folder, provenance and claims."""

    paper: str
    root: Path
    provenance: dict

    @property
    def commit(self) -> str:
        return str(self.provenance.get("git_commit", "unknown"))

    @property
    def wall_time_s(self) -> float | None:
        w = self.provenance.get("wall_time_s")
        return float(w) if w is not None else None

    @property
    def label(self) -> str:
        """``paper profile, measured on <machine> at <commit> (<wall time>)``."""
        wall = self.wall_time_s
        took = f", {wall / 3600:.1f} h" if wall and wall >= 3600 else (f", {wall / 60:.0f} min" if wall else "")
        machine = self.provenance.get("machine", "an unrecorded machine")
        gpu = self.provenance.get("cuda")
        where = f"{gpu} ({machine})" if gpu else machine
        commit = self.commit.replace("-dirty", "")[:10] + (" with uncommitted changes" if self.commit.endswith("-dirty") else "")
        return f"paper profile, measured on {where} at {commit}{took}"

    @property
    def settings(self) -> dict:
        """The page's settings of the run (``papers_core.profiles``), with its overrides."""
        return dict(self.provenance.get("settings", {}).get("settings", {}))

    def table(self, name: str, **read_csv) -> pd.DataFrame:
        """The stored table ``<name>.csv``; an error that names the run if it is not there."""
        path = self.root / f"{name}.csv"
        if not path.is_file():
            raise FileNotFoundError(f"the stored paper-profile run of {self.paper} ({self.root}) has no {name}.csv; "
                                    "rerun `make reproduce` for it.")
        return pd.read_csv(path, **read_csv)

    def figure(self, name: str):
        """The stored figure ``<name>.png``, ready to display in a notebook (an ``IPython.display.Image``:
        the executed page embeds it); an error that names the run if it is not there."""
        from IPython.display import Image

        path = self.root / f"{name}.png"
        if not path.is_file():
            raise FileNotFoundError(f"the stored paper-profile run of {self.paper} ({self.root}) has no {name}.png; "
                                    "rerun `make reproduce` for it.")
        return Image(filename=str(path))

    def cell_text(self, source_contains: str) -> str:
        """The text the run's executed notebook printed or displayed in its first cell whose source holds
        ``source_contains`` (for a table the run showed but did not store as a file); an error that names
        the run if no cell holds it."""
        import json

        nb = json.loads((self.root / f"{self.paper}.ipynb").read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] == "code" and source_contains in "".join(cell["source"]):
                out = []
                for o in cell.get("outputs", []):
                    text = o.get("text") or o.get("data", {}).get("text/plain") or ""
                    out.append("".join(text))
                return "\n".join(out)
        raise LookupError(f"the stored paper-profile run of {self.paper} ({self.root}) has no cell with "
                          f"{source_contains!r}; rerun `make reproduce` for it.")

    @property
    def redecided(self) -> bool:
        """Whether the run stored the per-image values behind its claims (``claims_values.npz``), so that
        :meth:`claims` decides them by today's rules rather than showing them as the run decided them."""
        from .claim_values import VALUES_FILE

        return (self.root / VALUES_FILE).is_file()

    def claims(self) -> pd.DataFrame:
        """The run's claim checks: re-decided by today's rules from the per-image values the run stored
        (:func:`papers_core.claim_values.redecide`), or, for a run that stored none, ``claims.csv`` as
        :func:`papers_core.reports.show_claims` wrote it."""
        from .claim_values import VALUES_FILE, redecide
        from .reports import claims_table

        if self.redecided:
            return claims_table(redecide(self.root / VALUES_FILE), self.paper, "paper")
        df = self.table("claims", index_col=0)
        if "floor" not in df:   # decided before claims had floors and paper effects: shown, not counted
            df["flag"] = OLD_RULES
        return df


def stored_run(paper: str, root: str | Path | None = None) -> StoredRun | None:
    """The stored paper-profile run of ``paper`` (``results/paper/<paper>/`` under the repository, or under
    ``root``), or None when none is stored (no ``provenance.json`` and ``claims.csv`` there)."""
    from .runs import repo_root

    folder = Path(root) if root is not None else repo_root() / STORE / paper
    if not ((folder / "provenance.json").is_file() and (folder / "claims.csv").is_file()):
        return None
    prov = json.loads((folder / "provenance.json").read_text())
    profile = prov.get("settings", {}).get("profile")
    if profile != "paper":
        raise ValueError(f"{folder} holds a {profile!r} run, not a paper-profile one.")
    return StoredRun(paper, folder, prov)


def record_wall_time(executed_notebook: str | Path, results_dir: str | Path) -> float:
    """Write the papermill wall time of ``executed_notebook`` (its metadata's ``papermill.duration``, in
    seconds) into ``results_dir/provenance.json`` as ``wall_time_s``; returns it."""
    from .download import atomic_path

    nb = json.loads(Path(executed_notebook).read_text())
    wall = nb.get("metadata", {}).get("papermill", {}).get("duration")
    if wall is None:
        raise ValueError(f"{executed_notebook} has no papermill duration: was it executed by papermill to the end?")
    path = Path(results_dir) / "provenance.json"
    prov = json.loads(path.read_text())
    prov["wall_time_s"] = round(float(wall), 1)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(prov, indent=2, default=str))
    return float(wall)


def _none_stored(paper: str, profile: str) -> str:
    return ("this page is the paper-profile run" if profile != "quick" else
            f"no paper-profile run is stored yet: `make reproduce PAPER={paper}` makes one (see Reproduce)")


def show_stored_table(paper: str, profile: str, build, root: str | Path | None = None) -> StoredRun | None:
    """On a quick page, display ``build(run)``, a table the page makes from ``paper``'s stored
    paper-profile run (e.g. its Table 1 beside the paper's), and return the run; otherwise say why there
    is none (no run stored, or the page is the paper-profile run) and return None."""
    from IPython.display import display

    run = stored_run(paper, root) if profile == "quick" else None
    if run is None:
        print(_none_stored(paper, profile))
        return None
    display(build(run))
    return run


def show_stored_figure(run: StoredRun | None, name: str, caption: str) -> None:
    """Display the stored run's figure ``name`` under ``caption`` and the run's label (nothing without a run)."""
    from IPython.display import display

    if run is not None:
        print(f"{caption} ({run.label})")
        display(run.figure(name))


def show_stored_claims(paper: str, profile: str, root: str | Path | None = None) -> pd.DataFrame | None:
    """On a quick page, display the claim checks of ``paper``'s stored paper-profile run under its label
    (the claim, the paper's value, the run's, the verdict and what it was decided on), or say that none
    is stored; on a paper-profile run, say that the page is that run. Returns the displayed table, or None.

    The table carries no scorecard metadata: the scorecard reads stored claims from ``results/paper``
    (:func:`papers_core.scorecard.collect_stored`), so they are never counted twice."""
    from IPython.display import display

    from .claims import verdict_counts
    from .reports import STORED_RUN, THIS_RUN, claims_display

    if profile != "quick":
        print(_none_stored(paper, profile) + ": its claims are the ones above")
        return None
    run = stored_run(paper, root)
    if run is None:
        print(_none_stored(paper, profile))
        return None
    df = run.claims()
    missing = {"claim", "paper_value", "this_run", "verdict", "margin"} - set(df.columns)
    if missing:
        raise ValueError(f"{run.root / 'claims.csv'} lacks the columns {sorted(missing)}: it was not written by "
                         "papers_core.reports.show_claims; rerun `make reproduce` for it.")
    shown = claims_display(df).rename(columns={THIS_RUN: STORED_RUN, "run's effect [95 % interval]":
                                               "stored run's effect [95 % interval]"})
    shown.index.name = f"claim ({run.label})"
    how = ("re-decided by today's rules from the per-image values it stored" if run.redecided else
           "as the run decided them (it stored no per-image values: rerun `make reproduce` to re-decide them)")
    print(f"{run.label}: {len(df)} claims, " + ", ".join(f"{k} {v}" for v, k in verdict_counts(df["verdict"]).items())
          + f"; {how}")
    display(shown)
    return shown
