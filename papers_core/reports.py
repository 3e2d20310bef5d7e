"""Tables beside the paper's, and the paper's claims as checks.

The papers' own numbers are transcribed once into ``data/paper/<paper>_*.csv`` and always shown under a
"paper" label; this run's numbers carry the profile that produced them.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from .experiment import repo_root

__all__ = ["paper_table", "side_by_side", "fmt_mean_std", "Claim", "claims_table", "show_claims", "CLAIMS_KEY", "VERDICTS",
           "verdict_counts",
           "bootstrap_ci", "binomial_ci", "decide", "compare_claim", "bound_claim", "rank_bound_claim", "rank_slack"]

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


#: A claim's verdict against the run's own sampling noise.
VERDICTS = ("holds", "does not hold", "inconclusive")


def verdict_counts(verdicts) -> dict[str, int]:
    """How many of ``verdicts`` (a column of verdicts) are each of :data:`VERDICTS`, in that order."""
    verdicts = list(verdicts)
    return {v: sum(x == v for x in verdicts) for v in VERDICTS}

#: The confidence level of every interval a claim is decided on.
LEVEL = 0.95


@dataclass
class Claim:
    """One claim of a paper checked against this run.

    ``holds`` is the verdict: one of :data:`VERDICTS`, or a bool for a check that involves no sampling
    noise (an exact property of the run, e.g. a setting or a count that is the same on every rerun);
    ``quantity`` says what was measured, ``rule`` how it is decided, ``margin`` the interval it was
    decided on. Build claims that rest on sampled images with :func:`compare_claim`,
    :func:`bound_claim` or :func:`rank_bound_claim`, which decide them against the run's own noise.
    """

    claim: str
    paper_value: str
    this_run: str
    holds: bool | str
    quantity: str = ""
    rule: str = ""
    margin: str = ""

    def __post_init__(self):
        if not isinstance(self.holds, str):  # a bool (Python's or NumPy's): a check without a noise margin
            self.holds = "holds" if bool(self.holds) else "does not hold"
            self.margin = self.margin or "point estimate only (no noise margin)"
        if self.holds not in VERDICTS:
            raise ValueError(f"a claim's verdict is one of {VERDICTS} (or a bool), got {self.holds!r}.")

    @property
    def verdict(self) -> str:
        return self.holds


# ------------------------------------------------------------------------------- sampling intervals
def bootstrap_ci(values, level: float = LEVEL, n_boot: int = 4000, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values`` (one value per image), resampling the
    images with replacement ``n_boot`` times from a generator seeded with ``seed``."""
    import numpy as np

    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size == 0:
        raise ValueError("bootstrap_ci needs at least one value.")
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, v.size, size=(n_boot, v.size))].mean(1)
    a = (1.0 - level) / 2.0
    return float(np.quantile(means, a)), float(np.quantile(means, 1.0 - a))


def binomial_ci(k: int, n: int, level: float = LEVEL) -> tuple[float, float]:
    """Clopper-Pearson (exact) interval of a proportion ``k`` of ``n``."""
    from scipy.stats import beta

    if n <= 0 or not 0 <= k <= n:
        raise ValueError(f"binomial_ci needs 0 <= k <= n and n > 0, got k={k}, n={n}.")
    a = (1.0 - level) / 2.0
    lo = 0.0 if k == 0 else float(beta.ppf(a, k, n - k + 1))
    hi = 1.0 if k == n else float(beta.ppf(1.0 - a, k + 1, n - k))
    return lo, hi


def decide(lo: float, hi: float, threshold: float, direction: str) -> str:
    """The verdict for a claim that a quantity is ``direction`` ("above" or "below") ``threshold``,
    given its interval [lo, hi]: holds when the whole interval is on the claimed side, does not hold
    when the whole interval is on the other side (or on the threshold), inconclusive otherwise."""
    if direction == "above":
        return "holds" if lo > threshold else ("does not hold" if hi <= threshold else "inconclusive")
    if direction == "below":
        return "holds" if hi < threshold else ("does not hold" if lo >= threshold else "inconclusive")
    raise ValueError(f"direction is 'above' or 'below', got {direction!r}.")


def _fmt(v: float, scale: float, digits: int) -> str:
    return f"{v * scale:.{digits}f}"


def compare_claim(claim: str, paper_value: str, a, b, *, names=("A", "B"), direction: str = "above",
                  by: float = 0.0, paired: bool = True, scale: float = 100.0, unit: str = "%", digits: int = 1,
                  quantity: str = "", level: float = LEVEL, seed: int = 0) -> Claim:
    """The claim that the mean of ``a`` is ``direction`` ("above"/"below") the mean of ``b``, by more
    than ``by`` (in the values' own units; "above" by -0.02 reads "at most 0.02 below"). ``a`` and ``b``
    hold one value per image (e.g. 1 where an image is misled). For two methods measured on the same
    images (``paired``) the claim is decided on the paired bootstrap interval of the mean difference
    a - b over images (:func:`bootstrap_ci`), so a difference of one image out of hundreds is
    inconclusive; for different image sets (``paired=False``) on the difference of two independent
    bootstrap means. Values are shown multiplied by ``scale`` (100: as %)."""
    import numpy as np

    a, b = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    if paired and a.shape != b.shape:
        raise ValueError(f"compare_claim pairs the two methods image by image: got {a.size} and {b.size} values.")
    if a.size == 0 or b.size == 0:
        return Claim(claim, paper_value, "no images to compare", "inconclusive", quantity, "", "no images")
    if paired:
        d = a - b
        lo, hi = bootstrap_ci(d, level, seed=seed)
        how = f"paired bootstrap, {a.size} images"
    else:
        rng = np.random.default_rng(seed)
        diffs = (a[rng.integers(0, a.size, (4000, a.size))].mean(1) - b[rng.integers(0, b.size, (4000, b.size))].mean(1))
        lo, hi = (float(np.quantile(diffs, q)) for q in ((1 - level) / 2, 1 - (1 - level) / 2))
        how = f"independent bootstrap, {a.size} and {b.size} images"
    delta = a.mean() - b.mean()
    threshold = by if direction == "above" else -by
    verdict = decide(lo, hi, threshold, direction)
    return Claim(claim, paper_value,
                 f"{names[0]} {_fmt(a.mean(), scale, digits)}{unit} vs {names[1]} {_fmt(b.mean(), scale, digits)}{unit}",
                 verdict, quantity or f"mean difference {names[0]} - {names[1]}",
                 f"difference {direction} {_fmt(threshold, scale, digits)}{unit}: the whole {int(level * 100)} % "
                 "interval on that side",
                 f"{_fmt(delta, scale, digits)}{unit} [{_fmt(lo, scale, digits)}, {_fmt(hi, scale, digits)}] ({how})")


def bound_claim(claim: str, paper_value: str, values, bound: float, *, direction: str = "above",
                scale: float = 100.0, unit: str = "%", digits: int = 1, quantity: str = "",
                level: float = LEVEL, seed: int = 0) -> Claim:
    """The claim that the mean of ``values`` (one per image) is ``direction`` ``bound``. 0/1 values
    are decided on the exact binomial interval, others on the bootstrap interval of the mean."""
    import numpy as np

    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size == 0:
        return Claim(claim, paper_value, "no images", "inconclusive", quantity, "", "no images")
    binary = bool(np.isin(v, (0.0, 1.0)).all())
    lo, hi = binomial_ci(int(v.sum()), v.size, level) if binary else bootstrap_ci(v, level, seed=seed)
    return Claim(claim, paper_value, f"{_fmt(v.mean(), scale, digits)}{unit}", decide(lo, hi, bound, direction),
                 quantity or f"mean over {v.size} images",
                 f"{direction} {_fmt(bound, scale, digits)}{unit}: the whole {int(level * 100)} % interval on that side",
                 f"[{_fmt(lo, scale, digits)}, {_fmt(hi, scale, digits)}] "
                 f"({'exact binomial' if binary else 'bootstrap'}, {v.size} images)")


def statistic_claim(claim: str, paper_value: str, statistic, n: int, threshold: float, *,
                    direction: str = "above", scale: float = 1.0, unit: str = "", digits: int = 2,
                    quantity: str = "", level: float = LEVEL, n_boot: int = 1000, seed: int = 0) -> Claim:
    """The claim that a whole-set ``statistic`` is ``direction`` ``threshold``, for statistics that are
    not a mean over images (a ratio of means, a spread, a share of a total). ``statistic(idx)`` computes
    it on the images ``idx`` (an integer array of length ``n``, with repeats); it is evaluated on all
    ``n`` images for the point estimate and on ``n_boot`` bootstrap resamples of the images for the
    interval, which decides the claim (:func:`decide`). The interval is the bootstrap distribution's
    central ``level`` range re-centred on the whole-set value (shifted by value - bootstrap median):
    resampling with repeats biases statistics such as a histogram's distance to uniform (repeated
    images concentrate the histogram), and the shift keeps that bias out of the verdict while keeping
    the spread."""
    import numpy as np

    n = int(n)
    if n < 2:
        return Claim(claim, paper_value, "too few images", "inconclusive", quantity, "", f"{n} images")
    if not callable(statistic):
        raise TypeError("statistic_claim's statistic is a function of an index array (the images to use).")
    rng = np.random.default_rng(seed)
    point = float(statistic(np.arange(n)))
    boots = np.array([float(statistic(rng.integers(0, n, n))) for _ in range(int(n_boot))])
    boots = boots[np.isfinite(boots)]
    if boots.size < 0.9 * n_boot or not np.isfinite(point):
        return Claim(claim, paper_value, f"{_fmt(point, scale, digits)}{unit}", "inconclusive",
                     quantity or f"statistic over {n} images", "",
                     "the statistic is undefined on too many resamples")
    a = (1.0 - level) / 2.0
    shift = point - float(np.median(boots))
    lo, hi = float(np.quantile(boots, a)) + shift, float(np.quantile(boots, 1.0 - a)) + shift
    return Claim(claim, paper_value, f"{_fmt(point, scale, digits)}{unit}", decide(lo, hi, threshold, direction),
                 quantity or f"statistic over {n} images",
                 f"{direction} {_fmt(threshold, scale, digits)}{unit}: the whole {int(level * 100)} % interval on that side",
                 f"[{_fmt(lo, scale, digits)}, {_fmt(hi, scale, digits)}] (bootstrap of the images, {boots.size} resamples, "
                 "re-centred on the whole-set value)")


def rank_slack(n: int, level: float = LEVEL) -> float:
    """The slack on a share that should be 1, from N alone: 1 minus the lower end of the exact
    binomial interval of N successes in N (4.0 % for N = 90 at 95 %, 6.0 % for N = 60; it shrinks as 1/N)."""
    return 1.0 - binomial_ci(n, n, level)[0]


def rank_bound_claim(claim: str, paper_value: str, ranks, K: int, *, level: float = LEVEL) -> Claim:
    """Condition (5) of the K-anonymity paper for one run: the true label's rank after the attack is
    spread over ranks 2..K+1 with P(rank = j) <= 1/K.

    ``ranks`` holds each sample's rank of the true label (1 = top). Two parts, both required:

    * the mass on ranks 2..K+1 is at least 1 - slack (:func:`rank_slack`, from N): a no-op attack (all
      mass at rank 1) or one that overshoots (mass beyond K+1) fails here;
    * no rank j in 2..K+1 is significantly above 1/K (the lower end of its exact binomial interval,
      Bonferroni-corrected over the K ranks, is above 1/K: does not hold).

    Holds when the mass's interval reaches 1 - slack (its upper end is at least 1 - slack and the point
    estimate too) and no rank is significantly above 1/K; does not hold when the mass's whole interval
    is below 1 - slack or some rank is significantly above 1/K; inconclusive otherwise.
    """
    import numpy as np

    r = np.asarray(ranks).ravel()
    n = r.size
    slack = rank_slack(n, level)
    inside = (r >= 2) & (r <= K + 1)
    m = inside.mean()
    m_lo, m_hi = binomial_ci(int(inside.sum()), n, level)
    per = {j: int((r == j).sum()) for j in range(2, K + 2)}
    corrected = 1.0 - (1.0 - level) / K
    above = [j for j, k in per.items() if binomial_ci(k, n, corrected)[0] > 1.0 / K]
    worst = max(per.values()) / n
    if above or m_hi < 1.0 - slack:
        verdict = "does not hold"
    elif m >= 1.0 - slack:
        verdict = "holds"
    else:
        verdict = "inconclusive"
    return Claim(claim, paper_value,
                 f"mass on ranks 2..{K + 1}: {100 * m:.1f} %; largest P(rank = j): {worst:.3f}",
                 verdict, f"ranks of the true label over {n} samples",
                 f"mass >= {100 * (1 - slack):.1f} % (slack from N) and no P(rank = j) significantly above 1/{K}",
                 f"mass [{100 * m_lo:.1f}, {100 * m_hi:.1f}] %; ranks significantly above 1/{K}: "
                 f"{', '.join(map(str, above)) or 'none'} (exact binomial, Bonferroni over {K})")


def claims_table(claims: list[Claim], paper: str, profile: str) -> pd.DataFrame:
    df = pd.DataFrame([asdict(c) for c in claims]).rename(columns={"holds": "verdict"})
    df.insert(0, "paper", paper)
    df["profile"] = profile
    return df


def show_claims(claims: list[Claim], paper: str, profile: str, results=None) -> pd.DataFrame:
    """Display the claim checks of a paper page and return them as a table.

    The displayed table (one row per claim: the paper's value, this run's, the verdict, the rule and the
    interval it was decided on) carries
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
    shown = df.set_index("claim")[["paper_value", "this_run", "verdict", "rule", "margin"]]
    display(shown.rename(columns={"rule": "decision rule", "margin": "decided on"}), metadata={CLAIMS_KEY: meta})
    return df
