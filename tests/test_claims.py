"""Claims decided against the run's own sampling noise: the intervals are right, and the checks can fail."""
import numpy as np
import pytest
from scipy.stats import binomtest

from papers_core.reports import (bootstrap_ci, binomial_ci, bound_claim, compare_claim, decide, rank_bound_claim, statistic_claim,
                                 rank_slack)


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
    c = compare_claim("A beats B", "-", a, b)
    assert c.holds == "inconclusive" and "497 images" in c.margin


def test_a_clear_difference_holds_and_the_reverse_does_not():
    rng = np.random.default_rng(0)
    a = (rng.random(200) < 0.8).astype(float)
    b = (rng.random(200) < 0.4).astype(float)
    assert compare_claim("A misleads more", "-", a, b).holds == "holds"
    assert compare_claim("B misleads more", "-", b, a).holds == "does not hold"
    assert compare_claim("A misleads less", "-", a, b, direction="below").holds == "does not hold"
    with pytest.raises(ValueError, match="image by image"):
        compare_claim("x", "-", a, b[:10])


def test_bound_claims_use_the_exact_interval_for_rates():
    assert bound_claim("ASR >= 90 %", "-", np.r_[np.ones(99), 0], 0.9).holds == "holds"
    assert bound_claim("ASR >= 90 %", "-", np.r_[np.ones(90), np.zeros(10)], 0.9).holds == "inconclusive"
    assert bound_claim("ASR >= 90 %", "-", np.r_[np.ones(50), np.zeros(50)], 0.9).holds == "does not hold"


def test_rank_slack_comes_from_n():
    assert rank_slack(90) == pytest.approx(1 - 0.025 ** (1 / 90))
    assert rank_slack(1000) < rank_slack(90) < rank_slack(20)


@pytest.mark.parametrize("K", [5, 9])
def test_k_bound_fails_for_a_no_op_and_an_overshooting_attack_and_holds_for_a_uniform_one(K):
    n = 90
    uniform = 2 + np.arange(n) % K                       # ranks 2..K+1, as even as N allows
    assert rank_bound_claim("c", "-", uniform, K).holds == "holds"
    no_op = np.ones(n, dtype=int)                        # the true label stays on top
    assert rank_bound_claim("c", "-", no_op, K).holds == "does not hold"
    overshoot = np.full(n, K + 3)                        # pushed past rank K + 1
    assert rank_bound_claim("c", "-", overshoot, K).holds == "does not hold"
    piled = np.r_[np.full(n // 2, 2), 2 + np.arange(n - n // 2) % K]   # half the mass on rank 2
    assert rank_bound_claim("c", "-", piled, K).holds == "does not hold"


def test_unpaired_comparison_for_different_image_sets():
    rng = np.random.default_rng(3)
    a, b = (rng.random(300) < 0.7).astype(float), (rng.random(500) < 0.3).astype(float)
    assert compare_claim("A above B", "-", a, b, paired=False).holds == "holds"
    assert "independent bootstrap, 300 and 500 images" in compare_claim("x", "-", a, b, paired=False).margin
    assert compare_claim("A at most 2 points below B", "-", b[:300], b[:300], by=-0.02).holds == "holds"


def test_claims_on_no_images_are_inconclusive():
    assert compare_claim("x", "-", np.array([]), np.array([])).holds == "inconclusive"
    assert bound_claim("x", "-", np.array([]), 0.5).holds == "inconclusive"


def test_a_numpy_bool_is_a_check_without_a_noise_margin():
    from papers_core.reports import Claim

    assert Claim("x", "-", "-", np.bool_(False)).holds == "does not hold"
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
