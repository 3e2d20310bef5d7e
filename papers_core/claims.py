"""The papers' claims as checks that can fail: a :class:`Claim` carries the paper's value and effect,
the run's value and effect with its 95 % interval, the floor the effect must clear (:class:`Floor`) and
the verdict (one of :data:`VERDICTS`), decided against the run's own sampling noise
(:mod:`papers_core.intervals`) by :func:`compare_claim`, :func:`bound_claim`, :func:`statistic_claim`
or :func:`rank_bound_claim`; the per-image values are kept so that a stored run can be re-decided by
today's rules (:mod:`papers_core.claim_values`)."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .intervals import LEVEL, binomial_ci, bootstrap_ci, bootstrap_means, decidable_bound, percentile_interval, rank_slack

__all__ = ["VERDICTS", "SIZES", "NO_PAPER_EFFECT", "verdict_counts", "MIN_IMAGES", "Floor", "as_floor", "Claim", "decide", "size_vs_paper", "compare_claim", "bound_claim", "statistic_claim", "rank_bound_claim", "counted", "size_counts"]


#: A claim's verdict against the run's own sampling noise.
VERDICTS = ("holds", "does not hold", "inconclusive")


#: How a comparative claim's effect compares with the paper's own effect (the ``size`` column): the
#: paper's effect lies inside the run's interval (widened by the claim's tolerance), the run's interval
#: lies beyond it on the claimed side, or short of it (the relation reproduced in sign at most).
SIZES = ("at the paper's size", "larger than the paper's", "smaller than the paper's")


#: The size label of a claim whose paper gives no effect to compare with.
NO_PAPER_EFFECT = "-"


def verdict_counts(verdicts) -> dict[str, int]:
    """How many of ``verdicts`` (a column of verdicts) are each of :data:`VERDICTS`, in that order."""
    verdicts = list(verdicts)
    return {v: sum(x == v for x in verdicts) for v in VERDICTS}


#: The fewest images a comparison is decided on: below it the bootstrap draws too few distinct samples
#: for its interval to be a 95 % interval (3 images have 10 distinct resamples), so the claim is flagged
#: (shown, not counted).
MIN_IMAGES = 10


@dataclass(frozen=True)
class Floor:
    """The smallest effect with which a comparative claim counts as holding, and where it comes from.

    ``value`` is in the compared values' own units (a difference of rates: 0.01 is one point; for
    ``effect="ratio"`` a relative change: 0.05 is 5 %), signed in the claim's direction: a claim that A
    is above B "by a floor of 0.01" needs the whole interval of A - B above +0.01; a negative floor
    reads "at most that much on the other side" (a claim of no loss). With ``share`` the floor is that
    share of the paper's own effect instead (e.g. "substantially": ``Floor(share=0.5, source=...)``,
    half the paper's gap), which needs the paper's effect. ``source`` says where the floor comes from:
    the paper's wording, or the page's floor of practical relevance where the paper states no size.
    """

    value: float = 0.0
    source: str = ""
    share: float | None = None

    def resolve(self, paper_effect: float | None) -> float:
        """The floor in the values' units, given the paper's effect (same units) where it is a share."""
        if self.share is None:
            return float(self.value)
        if paper_effect is None or not paper_effect == paper_effect:
            raise ValueError(f"the floor {self.source!r} is a share of the paper's effect, but the claim gives none "
                             "(pass paper=(a, b) or paper_effect=...).")
        return float(self.share) * abs(float(paper_effect))


def as_floor(by) -> Floor:
    """``by`` as a :class:`Floor`: a Floor as it is, a number as a floor with no stated source."""
    if isinstance(by, Floor):
        return by
    if by is None:
        raise ValueError("a comparative claim needs its floor (by=): the paper's size where its wording gives one "
                         "(e.g. Floor(share=0.5, source=\"'substantially': half the paper's gap\")), else the "
                         "page's floor of practical relevance.")
    return Floor(float(by), "")


@dataclass
class Claim:
    """One claim of a paper checked against this run.

    ``verdict`` is one of :data:`VERDICTS`, or a bool for a check that involves no sampling
    noise (an exact property of the run, e.g. a setting or a count that is the same on every rerun);
    ``quantity`` says what was measured, ``rule`` how it is decided, ``margin`` the run's effect and the
    interval it was decided on. Comparative claims also carry the paper's effect (``paper_effect``,
    computed from the transcribed numbers), the floor the run's effect must clear (``floor``, with its
    source) and ``size``: whether the run's effect is at the paper's size, larger, or smaller
    (:data:`SIZES`; ``-`` where the paper gives no effect). ``flag`` is set when the profile's sample
    size cannot decide the claim (it says the best interval N allows): such a claim is shown but not
    counted (:func:`verdict_counts` callers use :func:`counted`). Build claims that rest on sampled
    images with :func:`compare_claim`, :func:`bound_claim` or :func:`rank_bound_claim`, which decide
    them against the run's own noise.
    """

    claim: str
    paper_value: str
    this_run: str
    verdict: bool | str
    quantity: str = ""
    rule: str = ""
    margin: str = ""
    paper_effect: str = NO_PAPER_EFFECT
    floor: str = ""
    size: str = NO_PAPER_EFFECT
    flag: str = ""

    def __post_init__(self):
        if not isinstance(self.verdict, str):  # a bool (Python's or NumPy's): a check without a noise margin
            self.verdict = "holds" if bool(self.verdict) else "does not hold"
            self.margin = self.margin or "point estimate only (no noise margin)"
        if self.verdict not in VERDICTS:
            raise ValueError(f"a claim's verdict is one of {VERDICTS} (or a bool), got {self.verdict!r}.")
        self._values = None  # the per-image values and the call that decided it (for re-deciding a stored run)



def decide(lo: float, hi: float, threshold: float, direction: str) -> str:
    """The verdict for a claim that a quantity is ``direction`` ("above" or "below") ``threshold``,
    given its interval [lo, hi]: holds when the whole interval is on the claimed side, does not hold
    when the whole interval is on the other side (or on the threshold), inconclusive otherwise."""
    if direction == "above":
        return "holds" if lo > threshold else ("does not hold" if hi <= threshold else "inconclusive")
    if direction == "below":
        return "holds" if hi < threshold else ("does not hold" if lo >= threshold else "inconclusive")
    raise ValueError(f"direction is 'above' or 'below', got {direction!r}.")


def size_vs_paper(paper_effect: float | None, lo: float, hi: float, direction: str, tol: float = 0.0) -> str:
    """Whether the run's interval [lo, hi] of an effect matches the paper's effect (same units): the
    paper's effect inside [lo - tol, hi + tol] is "at the paper's size"; an interval wholly beyond it on
    the claimed side ("above": larger values) is "larger than the paper's"; short of it, "smaller than
    the paper's" (the relation reproduced in sign at most). ``-`` without a paper effect."""
    if paper_effect is None or not paper_effect == paper_effect:
        return NO_PAPER_EFFECT
    if direction not in ("above", "below"):
        raise ValueError(f"direction is 'above' or 'below', got {direction!r}.")
    if lo - tol <= paper_effect <= hi + tol:
        return SIZES[0]
    beyond = lo - tol > paper_effect if direction == "above" else hi + tol < paper_effect
    return SIZES[1] if beyond else SIZES[2]


def _fmt(v: float, scale: float, digits: int) -> str:
    return f"{v * scale:.{digits}f}"


def _signed(v: float, scale: float, digits: int) -> str:
    return f"{v * scale:+.{digits}f}"


def compare_claim(claim: str, paper_value: str, a, b, *, names=("A", "B"), direction: str = "above",
                  by: float | Floor | None = None, paper=None, paper_effect: float | None = None,
                  effect: str = "difference", tol: float | None = None, paired: bool = True, scale: float = 100.0,
                  unit: str = "%", digits: int = 1, quantity: str = "", level: float = LEVEL,
                  min_images: int = MIN_IMAGES, seed: int = 0) -> Claim:
    """The claim that the mean of ``a`` is ``direction`` ("above"/"below") the mean of ``b`` by at
    least the floor ``by`` (a :class:`Floor`, or a number in the values' own units; "above" by -0.02
    reads "at most 0.02 below"). ``a`` and ``b`` hold one value per image (e.g. 1 where an image is
    misled).

    The effect is ``mean(a) - mean(b)`` (``effect="difference"``, shown multiplied by ``scale`` in
    ``unit``) or ``mean(a) / mean(b) - 1`` (``effect="ratio"``, shown in %). For two methods measured on
    the same images (``paired``) it is decided on the paired bootstrap interval over images
    (:func:`bootstrap_means`), so a difference of one image out of hundreds is inconclusive; for
    different image sets (``paired=False``) on two independent bootstraps. Holds when the whole
    interval is beyond the floor, does not hold when the whole interval is short of it.

    The paper's effect comes from its two numbers, ``paper=(A's, B's)`` in the display units (as
    transcribed: % for ``scale=100``), or directly as ``paper_effect`` (display units; a ratio's in %);
    the claim's ``size`` then says whether the run's effect is at the paper's size (the paper's effect
    inside the run's interval widened by ``tol``, in the values' units; default: the floor's size).
    A comparison on fewer than ``min_images`` images (of either method) is flagged: shown, not counted.
    """
    import numpy as np

    if effect not in ("difference", "ratio"):
        raise ValueError(f"effect is 'difference' or 'ratio', got {effect!r}.")
    a, b = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    if paired and a.shape != b.shape:
        raise ValueError(f"compare_claim pairs the two methods image by image: got {a.size} and {b.size} values.")
    show = (100.0, "%") if effect == "ratio" else (scale, unit)
    if paper is not None:
        pa, pb = (float(v) for v in paper)
        paper_effect = (pa / pb - 1.0) * 100.0 if effect == "ratio" else pa - pb
    p_eff = None if paper_effect is None else float(paper_effect) / show[0]   # in the values' units
    floor = as_floor(by)
    by_v = floor.resolve(p_eff)
    threshold = by_v if direction == "above" else -by_v
    floor_txt = (f"{direction} {_signed(threshold, show[0], digits)}{show[1]}"
                 + (f" ({floor.source})" if floor.source else ""))
    p_txt = NO_PAPER_EFFECT if p_eff is None else f"{_signed(p_eff, show[0], digits)}{show[1]}"
    what = "ratio - 1" if effect == "ratio" else "difference"
    if a.size == 0 or b.size == 0:
        return Claim(claim, paper_value, "no images to compare", "inconclusive", quantity, "", "no images",
                     p_txt, floor_txt)
    ma, mb = bootstrap_means(a, b, paired=paired, seed=seed)
    if effect == "ratio":
        with np.errstate(divide="ignore", invalid="ignore"):
            dist, delta = ma / mb - 1.0, a.mean() / b.mean() - 1.0
    else:
        dist, delta = ma - mb, a.mean() - b.mean()
    lo, hi = percentile_interval(dist[np.isfinite(dist)], level) if np.isfinite(dist).any() else (float("nan"),) * 2
    how = f"paired bootstrap, {a.size} images" if paired else f"independent bootstrap, {a.size} and {b.size} images"
    verdict = decide(lo, hi, threshold, direction) if np.isfinite([lo, hi]).all() else "inconclusive"
    tol_v = abs(by_v) if tol is None else float(tol)
    c = Claim(claim, paper_value,
              f"{names[0]} {_fmt(a.mean(), scale, digits)}{unit} vs {names[1]} {_fmt(b.mean(), scale, digits)}{unit}",
              verdict, quantity or f"mean {what} {names[0]} {'/' if effect == 'ratio' else '-'} {names[1]}",
              f"{what} {direction} {_signed(threshold, show[0], digits)}{show[1]}: the whole {int(level * 100)} % "
              "interval on that side" + (f"; at the paper's size: its effect within the interval +- "
                                         f"{_fmt(tol_v, show[0], digits)}{show[1]}" if p_eff is not None else ""),
              f"{_signed(delta, show[0], digits)}{show[1]} [{_fmt(lo, show[0], digits)}, {_fmt(hi, show[0], digits)}] ({how})",
              p_txt, floor_txt, size_vs_paper(p_eff, lo, hi, direction, tol_v),
              f"too few images to decide: {min(a.size, b.size)} (at least {min_images})"
              if min(a.size, b.size) < min_images else "")
    c._values = dict(builder="compare_claim", built=(c.verdict, c.margin), arrays=dict(a=a, b=b),
                     kwargs=dict(names=list(names), direction=direction, by=[floor.value, floor.source, floor.share],
                                 paper_effect=paper_effect, effect=effect, tol=tol, paired=paired, scale=scale,
                                 unit=unit, digits=digits, quantity=quantity, level=level, min_images=min_images,
                                 seed=seed))
    return c


def bound_claim(claim: str, paper_value: str, values, bound: float, *, direction: str = "above",
                paper: float | None = None, tol: float = 0.0, scale: float = 100.0, unit: str = "%", digits: int = 1,
                quantity: str = "", level: float = LEVEL, seed: int = 0) -> Claim:
    """The claim that the mean of ``values`` (one per image) is ``direction`` ``bound``. 0/1 values
    are decided on the exact binomial interval, others on the bootstrap interval of the mean.

    ``paper`` is the paper's own value (display units: % for ``scale=100``); the claim's ``size`` then
    says whether it lies inside the run's interval (widened by ``tol``, in the values' units). A rate
    claim that N images cannot decide (the bound is tighter than :func:`decidable_bound` allows, e.g.
    below 1 % on 250 images) is flagged: shown, with the best bound N can decide, and not counted."""
    import numpy as np

    v = np.asarray(values, dtype=np.float64).ravel()
    p_eff = None if paper is None else float(paper) / scale
    p_txt = NO_PAPER_EFFECT if p_eff is None else f"{_fmt(p_eff, scale, digits)}{unit}"
    floor_txt = f"{direction} {_fmt(bound, scale, digits)}{unit}"
    if v.size == 0:
        return Claim(claim, paper_value, "no images", "inconclusive", quantity, "", "no images", p_txt, floor_txt)
    binary = bool(np.isin(v, (0.0, 1.0)).all())
    lo, hi = binomial_ci(int(v.sum()), v.size, level) if binary else bootstrap_ci(v, level, seed=seed)
    flag = ""
    if binary:
        best = decidable_bound(v.size, direction, level)
        if (direction == "below" and best >= bound) or (direction == "above" and best <= bound):
            flag = (f"cannot hold on {v.size} images: even {'0' if direction == 'below' else v.size} of {v.size} "
                    f"leaves the interval {'up to' if direction == 'below' else 'down to'} "
                    f"{_fmt(best, scale, 2)}{unit}")
    c = Claim(claim, paper_value, f"{_fmt(v.mean(), scale, digits)}{unit}", decide(lo, hi, bound, direction),
              quantity or f"mean over {v.size} images",
              f"{direction} {_fmt(bound, scale, digits)}{unit}: the whole {int(level * 100)} % interval on that side",
              f"[{_fmt(lo, scale, digits)}, {_fmt(hi, scale, digits)}] "
              f"({'exact binomial' if binary else 'bootstrap'}, {v.size} images)",
              p_txt, floor_txt, size_vs_paper(p_eff, lo, hi, direction, tol), flag)
    c._values = dict(builder="bound_claim", built=(c.verdict, c.margin), arrays=dict(values=v),
                     kwargs=dict(bound=bound, direction=direction, paper=paper, tol=tol, scale=scale, unit=unit,
                                 digits=digits, quantity=quantity, level=level, seed=seed))
    return c


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
    c = Claim(claim, paper_value,
                 f"mass on ranks 2..{K + 1}: {100 * m:.1f} %; largest P(rank = j): {worst:.3f}",
                 verdict, f"ranks of the true label over {n} samples",
                 f"mass >= {100 * (1 - slack):.1f} % (slack from N) and no P(rank = j) significantly above 1/{K}",
                 f"mass [{100 * m_lo:.1f}, {100 * m_hi:.1f}] %; ranks significantly above 1/{K}: "
                 f"{', '.join(map(str, above)) or 'none'} (exact binomial, Bonferroni over {K})",
                 floor=f"mass >= {100 * (1 - slack):.1f} %; P(rank = j) <= 1/{K}")
    c._values = dict(builder="rank_bound_claim", built=(c.verdict, c.margin), arrays=dict(ranks=r), kwargs=dict(K=int(K), level=level))
    return c





def counted(df: pd.DataFrame) -> pd.DataFrame:
    """The rows of a claims table that count in a scorecard: all but those flagged as undecidable at
    the profile's sample size (their verdict is shown, not counted)."""
    if "flag" not in df:
        return df
    return df[df["flag"].fillna("").astype(str) == ""]


def size_counts(df: pd.DataFrame) -> dict[str, int]:
    """Of the counted claims of ``df`` that hold, how many hold at the paper's size (or larger), and how
    many compare with a paper effect at all."""
    df = counted(df)
    if "size" not in df:
        return {"holds at size": 0, "with paper effect": 0}
    holds = df[df["verdict"] == "holds"]
    return {"holds at size": int(holds["size"].isin(SIZES[:2]).sum()),
            "with paper effect": int((df["size"].fillna(NO_PAPER_EFFECT) != NO_PAPER_EFFECT).sum())}
