"""The sampling intervals every claim is decided on: paired bootstrap means and percentile intervals,
Clopper-Pearson binomial intervals, and what a sample size can decide at all (the best bound N images
allow, the fewest images that decide a paper's bound)."""
from __future__ import annotations

import itertools

__all__ = ["percentile_interval", "LEVEL", "N_BOOT", "bootstrap_means", "bootstrap_ci", "binomial_ci", "decidable_bound", "decidable_goal", "rank_slack"]


#: The confidence level of every interval a claim is decided on.
LEVEL = 0.95


#: Bootstrap resamples behind every bootstrap interval.
N_BOOT = 4000


def bootstrap_means(*arrays, paired: bool = True, n_boot: int = N_BOOT, seed: int = 0, chunk: int = 500):
    """The bootstrap distribution of the mean of each of ``arrays`` (one value per image): ``n_boot``
    resamples of the images with replacement, drawn from a generator seeded with ``seed``. ``paired``:
    the arrays hold the same images in the same order and share every resample (so a difference of the
    returned means is the bootstrap of the per-image difference); else each array is resampled on its
    own. Resamples are drawn ``chunk`` at a time, so memory stays at ``chunk`` x N whatever ``n_boot``.
    Returns one array of ``n_boot`` means per input array. The one bootstrap of the library:
    :func:`bootstrap_ci` and :func:`compare_claim` are built on it."""
    import numpy as np

    vs = [np.asarray(a, dtype=np.float64).ravel() for a in arrays]
    if not vs or any(v.size == 0 for v in vs):
        raise ValueError("the bootstrap needs at least one value in every array.")
    if paired and len({v.size for v in vs}) > 1:
        raise ValueError(f"a paired bootstrap resamples the same images in every array: got sizes {[v.size for v in vs]}.")
    rng = np.random.default_rng(seed)
    out = [np.empty(int(n_boot)) for _ in vs]
    groups = [list(range(len(vs)))] if paired else [[k] for k in range(len(vs))]
    for group in groups:
        n = vs[group[0]].size
        for s in range(0, int(n_boot), chunk):
            idx = rng.integers(0, n, size=(min(chunk, int(n_boot) - s), n))
            for k in group:
                out[k][s:s + idx.shape[0]] = vs[k][idx].mean(1)
    return out


def percentile_interval(dist, level: float) -> tuple[float, float]:
    import numpy as np

    a = (1.0 - level) / 2.0
    return float(np.quantile(dist, a)), float(np.quantile(dist, 1.0 - a))


def bootstrap_ci(values, level: float = LEVEL, n_boot: int = N_BOOT, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values`` (one value per image), resampling the
    images with replacement ``n_boot`` times from a generator seeded with ``seed``."""
    return percentile_interval(bootstrap_means(values, n_boot=n_boot, seed=seed)[0], level)


def binomial_ci(k: int, n: int, level: float = LEVEL) -> tuple[float, float]:
    """Clopper-Pearson (exact) interval of a proportion ``k`` of ``n``."""
    from scipy.stats import beta

    if n <= 0 or not 0 <= k <= n:
        raise ValueError(f"binomial_ci needs 0 <= k <= n and n > 0, got k={k}, n={n}.")
    a = (1.0 - level) / 2.0
    lo = 0.0 if k == 0 else float(beta.ppf(a, k, n - k + 1))
    hi = 1.0 if k == n else float(beta.ppf(1.0 - a, k + 1, n - k))
    return lo, hi


def decidable_bound(n: int, direction: str, level: float = LEVEL) -> float:
    """The tightest bound a rate measured on ``n`` images can be shown to be ``direction`` ("below" or
    "above"): the upper end of the exact interval of 0 of N (below), or the lower end of N of N
    (above). A claim that a rate is below 1 % cannot hold on 250 images (0 of 250 still allows 1.46 %)."""
    if direction == "below":
        return binomial_ci(0, n, level)[1]
    if direction == "above":
        return binomial_ci(n, n, level)[0]
    raise ValueError(f"direction is 'above' or 'below', got {direction!r}.")


def decidable_goal(bound: float, n: int, direction: str, step: float, noun: str = "images",
                   level: float = LEVEL) -> tuple[float, str]:
    """The bound a rate claim on ``n`` images is decided against, and what to say about it: the paper's
    ``bound`` when ``n`` images can decide it (note ""); otherwise the tightest bound ``n`` allows
    (:func:`decidable_bound`), rounded to ``step`` on the side that stays decidable, with a note naming
    how many images the paper's bound needs. E.g. below 1 % on 250 images: (0.015, "the tightest bound
    250 images can decide; the paper's 1 % needs 368")."""
    import math

    def can(m):   # can m images (all of them on the claimed side) decide the paper's bound?
        best = decidable_bound(m, direction, level)
        return best > bound if direction == "above" else best < bound

    if can(n):
        return float(bound), ""
    best = decidable_bound(n, direction, level)
    goal = (math.floor(best / step) if direction == "above" else math.ceil(best / step)) * step
    need = next(m for m in itertools.count(n + 1) if can(m))
    return round(goal, 10), f"the tightest bound {n} {noun} can decide; the paper's {100 * bound:g} % needs {need}"


def rank_slack(n: int, level: float = LEVEL) -> float:
    """The slack on a share that should be 1, from N alone: 1 minus the lower end of the exact
    binomial interval of N successes in N (4.0 % for N = 90 at 95 %, 6.0 % for N = 60; it shrinks as 1/N)."""
    return 1.0 - binomial_ci(n, n, level)[0]
