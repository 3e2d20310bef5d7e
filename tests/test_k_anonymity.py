"""The K-anonymity attack (papers_core.attacks.k_anonymity): balanced seeded groups, the label placed on
its group rank, batch consistency, and its line-search solver against Adam, on a trained LeNet-5."""

import pytest
import torch

from papers_core import attacks as A
from papers_core import metrics as M


def test_k_anonymity_groups_are_balanced_and_seeded():
    k = A.k_anonymity_groups(103, 5, seed=0)
    counts = torch.bincount(k, minlength=7)[2:7]
    assert counts.sum() == 103 and counts.max() - counts.min() <= 1
    assert torch.equal(k, A.k_anonymity_groups(103, 5, seed=0))
    assert not torch.equal(k, A.k_anonymity_groups(103, 5, seed=1))
    assert (A.k_anonymity_groups(10, 1) == 2).all()


@pytest.mark.slow
@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
@pytest.mark.parametrize("K", [1, 5])
def test_k_anonymity_attack_places_the_label_on_its_group_rank(lenet, K, solver):
    model, x, y = lenet
    budget = dict(search_steps=6, iterations=30) if solver == "lbfgs" else dict(iterations=600)
    r = A.k_anonymity_attack(model, x, y, K=K, solver=solver, **budget)
    ranks = M.label_ranks(r.probs, y)
    assert r.satisfied.float().mean() >= 0.9
    sat = r.satisfied
    assert (ranks[sat] >= r.k[sat]).all()               # the constraint: r_x(2..k) above y
    assert (ranks[sat] == r.k[sat]).float().mean() >= 0.8  # and it stops as soon as it holds
    assert r.success[sat].all()
    pmf = M.rank_pmf(r.probs, y)
    if K == 5:
        assert pmf[1:6].max() <= 1 / 5 + 0.1 and pmf[1:6].sum() >= 0.9
    else:
        assert pmf[1] >= 0.9


@pytest.mark.slow
def test_k_anonymity_attack_is_batch_consistent_and_refuses_misclassified_samples(lenet):
    model, x, y = lenet
    k = A.k_anonymity_groups(len(y), 3, seed=0)
    full = A.k_anonymity_attack(model, x, y, k=k, solver="adam", iterations=200)
    parts = A.KAnonymityResult.cat([A.k_anonymity_attack(model, x[:20], y[:20], k=k[:20], solver="adam", iterations=200),
                                    A.k_anonymity_attack(model, x[20:], y[20:], k=k[20:], solver="adam", iterations=200)])
    torch.testing.assert_close(parts.adv, full.adv, atol=1e-5, rtol=0)
    wrong = (y + 1) % 10
    with pytest.raises(ValueError, match="correctly classified"):
        A.k_anonymity_attack(model, x, wrong)
    with pytest.raises(ValueError, match="K must be"):
        A.k_anonymity_attack(model, x, y, K=10)
    with pytest.raises(ValueError, match="valid choices"):
        A.k_anonymity_attack(model, x, y, solver="sgd")


@pytest.mark.slow
def test_the_line_search_solver_reaches_smaller_perturbations_than_adam(lenet):
    """Eq. 6 solved as a generalisation of L-BFGS (L-BFGS-B, line search on c) against projected Adam:
    for K = 1 (the L-BFGS task plus the similarity term) the line search finds the smaller MSE."""
    model, x, y = lenet
    lb = A.k_anonymity_attack(model, x, y, K=1, search_steps=6, iterations=30)
    ad = A.k_anonymity_attack(model, x, y, K=1, solver="adam", iterations=300)
    both = lb.satisfied & ad.satisfied
    assert both.float().mean() >= 0.9
    assert M.mse(x, lb.adv)[both].mean() < M.mse(x, ad.adv)[both].mean()
