"""Claims decided against the run's own sampling noise: the intervals are right, and the checks can fail."""
import numpy as np
import pytest
from scipy.stats import binomtest

from papers_core.claims import bound_claim, compare_claim, decide, rank_bound_claim, statistic_claim
from papers_core.intervals import binomial_ci, bootstrap_ci, rank_slack


def test_binomial_interval_is_clopper_pearson():
    for k, n in ((0, 20), (7, 20), (20, 20), (45, 90)):
        ref = binomtest(k, n).proportion_ci(0.95, method="exact")
        assert binomial_ci(k, n) == pytest.approx((ref.low, ref.high), abs=1e-9)
    with pytest.raises(ValueError):
        binomial_ci(3, 2)


def test_bootstrap_interval_covers_the_mean_and_shrinks_with_n():
    rng = np.random.default_rng(1)
    small, large = rng.normal(2.0, 1.0, 50), rng.normal(2.0, 1.0, 5000)
    lo, hi = bootstrap_ci(small)
    assert lo < small.mean() < hi
    lo2, hi2 = bootstrap_ci(large)
    assert hi2 - lo2 < (hi - lo) / 5
    assert bootstrap_ci(small) == bootstrap_ci(small)          # seeded: the same interval every time


def test_decide_has_three_outcomes():
    assert decide(0.1, 0.3, 0.0, "above") == "holds"
    assert decide(-0.3, -0.1, 0.0, "above") == "does not hold"
    assert decide(-0.1, 0.3, 0.0, "above") == "inconclusive"
    assert decide(-0.3, -0.1, 0.0, "below") == "holds"


def test_a_one_image_difference_is_inconclusive():
    """MAT's 'curves cross' once passed on 97.4 vs 97.2 % of 497 images: one image."""
    a = np.ones(497)
    b = np.ones(497)
    a[:13] = 0                      # 484 / 497 = 97.4 %
    b[:14] = 0                      # 483 / 497 = 97.2 %
    c = compare_claim("A beats B", "-", a, b, by=0.0)
    assert c.verdict == "inconclusive" and "497 images" in c.margin


def test_a_clear_difference_holds_and_the_reverse_does_not():
    rng = np.random.default_rng(0)
    a = (rng.random(200) < 0.8).astype(float)
    b = (rng.random(200) < 0.4).astype(float)
    assert compare_claim("A misleads more", "-", a, b, by=0.0).verdict == "holds"
    assert compare_claim("B misleads more", "-", b, a, by=0.0).verdict == "does not hold"
    assert compare_claim("A misleads less", "-", a, b, direction="below", by=0.0).verdict == "does not hold"
    with pytest.raises(ValueError, match="image by image"):
        compare_claim("x", "-", a, b[:10], by=0.0)


def test_bound_claims_use_the_exact_interval_for_rates():
    assert bound_claim("ASR >= 90 %", "-", np.r_[np.ones(99), 0], 0.9).verdict == "holds"
    assert bound_claim("ASR >= 90 %", "-", np.r_[np.ones(90), np.zeros(10)], 0.9).verdict == "inconclusive"
    assert bound_claim("ASR >= 90 %", "-", np.r_[np.ones(50), np.zeros(50)], 0.9).verdict == "does not hold"


def test_rank_slack_comes_from_n():
    assert rank_slack(90) == pytest.approx(1 - 0.025 ** (1 / 90))
    assert rank_slack(1000) < rank_slack(90) < rank_slack(20)


@pytest.mark.parametrize("K", [5, 9])
def test_k_bound_fails_for_a_no_op_and_an_overshooting_attack_and_holds_for_a_uniform_one(K):
    n = 90
    uniform = 2 + np.arange(n) % K                       # ranks 2..K+1, as even as N allows
    assert rank_bound_claim("c", "-", uniform, K).verdict == "holds"
    no_op = np.ones(n, dtype=int)                        # the true label stays on top
    assert rank_bound_claim("c", "-", no_op, K).verdict == "does not hold"
    overshoot = np.full(n, K + 3)                        # pushed past rank K + 1
    assert rank_bound_claim("c", "-", overshoot, K).verdict == "does not hold"
    piled = np.r_[np.full(n // 2, 2), 2 + np.arange(n - n // 2) % K]   # half the mass on rank 2
    assert rank_bound_claim("c", "-", piled, K).verdict == "does not hold"


def test_unpaired_comparison_for_different_image_sets():
    rng = np.random.default_rng(3)
    a, b = (rng.random(300) < 0.7).astype(float), (rng.random(500) < 0.3).astype(float)
    assert compare_claim("A above B", "-", a, b, paired=False, by=0.0).verdict == "holds"
    assert "independent bootstrap, 300 and 500 images" in compare_claim("x", "-", a, b, paired=False, by=0.0).margin
    assert compare_claim("A at most 2 points below B", "-", b[:300], b[:300], by=-0.02).verdict == "holds"


def test_claims_on_no_images_are_inconclusive():
    assert compare_claim("x", "-", np.array([]), np.array([]), by=0.0).verdict == "inconclusive"
    assert bound_claim("x", "-", np.array([]), 0.5).verdict == "inconclusive"


def test_a_numpy_bool_is_a_check_without_a_noise_margin():
    from papers_core.claims import Claim

    assert Claim("x", "-", "-", np.bool_(False)).verdict == "does not hold"
    assert Claim("x", "-", "-", np.float64(1.0) > 0).margin.startswith("point estimate")


def test_a_whole_set_statistic_is_decided_on_its_bootstrap_interval():
    rng = np.random.default_rng(0)
    a, b = rng.normal(10.0, 1.0, 400), rng.normal(5.0, 1.0, 400)

    def ratio(idx):  # a ratio of means: not a mean over images
        return a[idx].mean() / b[idx].mean()

    clear = statistic_claim("ratio above 1.5", "2", ratio, 400, 1.5)
    assert clear.verdict == "holds" and clear.this_run.startswith("2.0")
    assert statistic_claim("ratio above 2.5", "2", ratio, 400, 2.5).verdict == "does not hold"
    assert statistic_claim("ratio above 2", "2", ratio, 400, 2.0).verdict == "inconclusive"  # on the threshold
    # the interval narrows with n: the same effect is inconclusive on 10 images of a noisy statistic
    noisy_a, noisy_b = rng.normal(1.1, 1.0, 10), rng.normal(1.0, 1.0, 10)
    few = statistic_claim("mean a - b above 0", "", lambda i: noisy_a[i].mean() - noisy_b[i].mean(), 10, 0.0)
    assert few.verdict == "inconclusive"
    assert statistic_claim("x", "", ratio, 1, 0.0).verdict == "inconclusive"
    with pytest.raises(TypeError, match="function"):
        statistic_claim("x", "", 3.0, 10, 0.0)
    # deterministic
    assert statistic_claim("r", "", ratio, 400, 1.5).margin == clear.margin
    # a statistic that resampling with repeats biases (distinct values among n): the interval is
    # re-centred on the whole-set value, so the value always lies inside it
    labels = np.arange(200)
    distinct = statistic_claim("distinct share", "", lambda i: len(np.unique(labels[i])) / len(i), 200, 0.9,
                               direction="below")
    lo, hi = (float(v) for v in distinct.margin.split("]")[0].strip("[").split(","))
    assert lo <= 1.0 <= hi and distinct.verdict == "does not hold"   # all 200 distinct: 1.0, not about 0.63


# ------------------------------------------------------------------ effect sizes, floors, decidability
from papers_core.claim_values import redecide, save_claim_values
from papers_core.claims import Floor, counted, size_counts, size_vs_paper
from papers_core.intervals import bootstrap_means, decidable_bound
from papers_core.reports import claims_table


def test_the_bootstrap_matches_the_normal_closed_form_and_scipy():
    """One bootstrap for every interval: on 4000 normal values its percentile interval of the mean is the
    closed form mean +- 1.96 s / sqrt(n) to within Monte Carlo error, and scipy's percentile bootstrap
    agrees; a paired comparison's interval is exactly the bootstrap of the per-image difference."""
    from scipy.stats import bootstrap, norm

    rng = np.random.default_rng(7)
    v = rng.normal(3.0, 2.0, 4000)
    half = norm.ppf(0.975) * v.std(ddof=1) / np.sqrt(v.size)
    lo, hi = bootstrap_ci(v)
    assert lo == pytest.approx(v.mean() - half, abs=0.15 * half)
    assert hi == pytest.approx(v.mean() + half, abs=0.15 * half)
    ref = bootstrap((v,), np.mean, method="percentile", n_resamples=4000, random_state=1).confidence_interval
    assert (lo, hi) == pytest.approx((ref.low, ref.high), abs=0.15 * half)
    a, b = rng.normal(1.0, 1.0, 300), rng.normal(0.8, 1.0, 300)
    c = compare_claim("a above b", "-", a, b, by=0.0, scale=1.0, unit="", digits=6)
    lo_d, hi_d = bootstrap_ci(a - b)
    assert f"[{lo_d:.6f}, {hi_d:.6f}]" in c.margin
    ma, mb = bootstrap_means(a, b, paired=False, n_boot=4000)
    assert ma.std() == pytest.approx(a.std() / np.sqrt(a.size), rel=0.1)   # independent resamples of each
    with pytest.raises(ValueError, match="paired"):
        bootstrap_means(a, b[:10])


def test_a_tiny_significant_effect_below_its_floor_does_not_hold():
    """The MAT case: +0.1 point on 10,000 images is significant, and below a 1-point floor."""
    rng = np.random.default_rng(0)
    b = (rng.random(10000) < 0.989).astype(float)
    a = b.copy()
    a[np.flatnonzero(a == 0)[:12]] = 1.0                 # 12 more correct images: +0.12 point
    assert compare_claim("A above B", "-", a, b, by=0.0).verdict == "holds"   # the old rule: any difference
    c = compare_claim("A above B", "-", a, b, by=Floor(0.01, "practical floor: 1 point"))
    assert c.verdict == "does not hold" and "practical floor" in c.floor
    with pytest.raises(ValueError, match="floor"):
        compare_claim("A above B", "-", a, b)            # no floor: the claim must say one


def test_a_share_of_the_papers_effect_sets_the_floor_and_the_size_column():
    rng = np.random.default_rng(1)
    b = (rng.random(2000) < 0.70).astype(float)
    a = np.where(rng.random(2000) < 0.2, 1.0, b)          # about +6 points
    sub = Floor(share=0.5, source="'substantially': half the paper's gap")
    at = compare_claim("A substantially above B", "-", a, b, by=sub, paper=(76.0, 70.0))
    assert at.verdict == "holds" and at.size == "at the paper's size" and at.paper_effect == "+6.0%"
    small = compare_claim("A substantially above B", "-", a, b, by=sub, paper=(90.0, 70.0))   # paper: +20
    assert small.verdict == "does not hold" and small.size == "smaller than the paper's"
    big = compare_claim("A above B", "-", a, b, by=0.005, paper=(71.0, 70.0), tol=0.0)
    assert big.verdict == "holds" and big.size == "larger than the paper's"
    with pytest.raises(ValueError, match="share of the paper's effect"):
        compare_claim("x", "-", a, b, by=sub)
    assert size_vs_paper(None, 0.0, 1.0, "above") == "-"
    assert size_vs_paper(-0.05, -0.2, -0.1, "below") == "larger than the paper's"    # further below than the paper
    assert size_vs_paper(-0.5, -0.2, -0.1, "below") == "smaller than the paper's"


def test_a_ratio_effect_against_the_papers_relative_gap():
    """K-anonymity's 'K = 1 has a lower MSE than L-BFGS': the paper's gap is 1.87 vs 2.42 (-23 %); a run
    2.3 % lower holds in sign only against a 0 floor and does not hold against a 10 % floor."""
    rng = np.random.default_rng(2)
    lbfgs = rng.gamma(4.0, 1e-3, 1000)
    k1 = lbfgs * 0.977
    sign_only = compare_claim("K=1 lower", "-", k1, lbfgs, direction="below", effect="ratio", by=0.0,
                              paper=(1.87, 2.42))
    assert sign_only.verdict == "holds" and sign_only.size == "smaller than the paper's"
    assert sign_only.paper_effect == "-22.7%"
    assert compare_claim("K=1 lower", "-", k1, lbfgs, direction="below", effect="ratio", by=0.10,
                         paper=(1.87, 2.42)).verdict == "does not hold"


def test_a_claim_that_n_cannot_decide_is_flagged_and_not_counted():
    assert decidable_bound(250, "below") == pytest.approx(1 - 0.025 ** (1 / 250))
    flagged = bound_claim("top-1 below 1 %", "0.00 %", np.zeros(250), 0.01, direction="below")
    assert flagged.verdict == "inconclusive" and "cannot hold on 250 images" in flagged.flag and "1.46" in flagged.flag
    fine = bound_claim("top-1 below 1 %", "0.00 %", np.zeros(500), 0.01, direction="below")
    assert fine.verdict == "holds" and fine.flag == ""
    df = claims_table([flagged, fine], "p", "quick")
    assert len(counted(df)) == 1 and size_counts(df) == {"holds at size": 0, "with paper effect": 0}


def test_a_rate_goal_n_cannot_decide_becomes_the_tightest_decidable_one_with_the_n_the_paper_needs():
    from papers_core.intervals import decidable_goal

    assert decidable_goal(0.01, 250, "below", 0.001) == (0.015, "the tightest bound 250 images can decide; "
                                                                "the paper's 1 % needs 368")
    assert decidable_goal(0.01, 368, "below", 0.001) == (0.01, "")
    assert decidable_bound(367, "below") >= 0.01 > decidable_bound(368, "below")
    goal, note = decidable_goal(0.9, 30, "above", 0.01, noun="samples")
    assert goal == 0.88 and note.endswith("30 samples can decide; the paper's 90 % needs 36")
    assert decidable_bound(35, "above") <= 0.9 < decidable_bound(36, "above") and decidable_bound(30, "above") > 0.88
    # the goal it returns can hold: N of N clears it
    assert bound_claim("rate", "-", np.ones(30), goal).verdict == "holds"


def test_a_comparison_on_too_few_images_is_flagged_and_not_counted():
    a, b = np.array([0.99, 0.98, 0.99]), np.array([0.90, 0.91, 0.92])   # a clear gap, but on three images
    few = compare_claim("A above B", "-", a, b, by=0.01, scale=1.0, unit="")
    assert few.verdict == "holds" and few.flag == "too few images to decide: 3 (at least 10)"
    enough = compare_claim("A above B", "-", np.tile(a, 4), np.tile(b, 4), by=0.01, scale=1.0, unit="")
    assert enough.verdict == "holds" and enough.flag == ""
    assert compare_claim("A above B", "-", a, b, by=0.01, scale=1.0, unit="", min_images=3).flag == ""
    assert len(counted(claims_table([few, enough], "p", "quick"))) == 1


def test_stored_values_re_decide_a_run_without_its_attacks(tmp_path):
    """A run's per-image values are stored beside its claims; a rule change re-decides them: here the
    stored claim is rebuilt exactly, and a page's own override (two schemes that are one model) stays."""
    rng = np.random.default_rng(4)
    a, b = (rng.random(400) < 0.7).astype(float), (rng.random(400) < 0.5).astype(float)
    claims = [compare_claim("A above B", "70 vs 50", a, b, by=Floor(0.01, "practical"), paper=(70.0, 50.0)),
              bound_claim("A above 60 %", "-", a, 0.6),
              rank_bound_claim("K = 5 spreads", "-", 2 + np.arange(90) % 5, 5),
              compare_claim("B above A", "-", b, a, by=0.0)]
    claims[3].verdict = "inconclusive"                      # the page's override
    from papers_core.claims import Claim
    claims.append(Claim("a setting", "-", "-", True))     # no per-image values
    save_claim_values(claims, tmp_path)
    again = redecide(tmp_path / "claims_values.npz")
    assert [c.verdict for c in again] == [c.verdict for c in claims]
    assert again[0] == claims[0] and again[1] == claims[1] and again[2] == claims[2]
    assert again[3].verdict == "inconclusive" and again[4] == claims[4]
