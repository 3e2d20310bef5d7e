"""The sparse attacks, JSMA and SparseFool: their rules on constructed cases and trained models."""
import math

import pytest
import torch

from papers_core.attacks import deepfool, jsma, linear_solver, sparsefool


def _sequential_linear_solver(x0, normal, boundary, margin=1e-3, min_step=1e-4):
    """Algorithm 2 of the SparseFool paper as its authors' code runs it: one coordinate at a time."""
    x = x0.clone().flatten()
    w, xb = normal.flatten().clone(), boundary.flatten()
    coord = w.clone()
    f = torch.dot(w, x - xb)
    sign_true = 1.0 if f >= 0 else -1.0
    while coord.abs().max() > 0:
        f = torch.dot(w, x - xb)
        if (1.0 if f > 0 else (-1.0 if f < 0 else 0.0)) != sign_true:
            break
        d = int(coord.abs().argmax())
        step = max(float((f.abs() + margin) / coord[d].abs()), min_step)
        x[d] = (x[d] - sign_true * math.copysign(step, float(coord[d]))).clamp(0.0, 1.0)
        coord[d] = 0.0
    return x.view_as(x0)


@pytest.mark.parametrize("seed", range(6))
def test_sparsefool_linear_solver_equals_the_sequential_algorithm(seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(3, 1, 6, 6, generator=g)
    w = torch.randn(3, 1, 6, 6, generator=g)
    w = w / w.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
    xb = x + (0.2 + torch.rand(3, 1, 1, 1, generator=g)) * w       # plane ahead of x along w
    xb[2] = x[2] - 0.3 * w[2]                                       # and one behind
    ours = linear_solver(x, w, xb)
    for i in range(3):
        ref = _sequential_linear_solver(x[i:i + 1], w[i:i + 1], xb[i:i + 1])
        assert torch.allclose(ours[i:i + 1], ref, atol=1e-6)
    # it crossed the plane and stayed in the box
    f_after = ((ours - xb) * w).flatten(1).sum(1)
    f_before = ((x - xb) * w).flatten(1).sum(1)
    assert (torch.sign(f_after) != torch.sign(f_before)).all()
    assert ours.min() >= 0 and ours.max() <= 1


def test_sparsefool_fools_with_few_pixels(model, batch):
    x, _ = batch
    r = sparsefool(model, x)
    assert r.success.float().mean() >= 0.9
    changed = ((r.adv - x).abs() > 1e-6).flatten(1).sum(1).float()
    d = x[0].numel()
    assert changed.median() < 0.1 * d, "SparseFool's perturbations should be sparse"
    # DeepFool on the same images changes almost every pixel
    dense = ((deepfool(model, x).adv - x).abs() > 1e-6).flatten(1).sum(1).float()
    assert changed.median() < dense.median() / 4
    assert r.adv.min() >= 0 and r.adv.max() <= 1


def test_jsma_reaches_targets_with_bounded_l0(model, batch):
    x, _ = batch
    with torch.no_grad():
        pred = model(x).argmax(1)
    t = (pred + 1) % 30
    r = jsma(model, x, targets=t, theta=1.0, gamma=0.1)
    budget = math.floor(0.1 * x[0].numel() / 2)
    # about half reach a class two ranks away within 10 % of the features on this model (torchattacks'
    # JSMA reaches the same ones); here every sample that fails has spent its whole budget
    assert r.success.float().mean() >= 0.4
    assert (r.success | (r.iterations == budget)).all()
    diff = (r.adv - x).flatten(1)
    changed = (diff.abs() > 0).sum(1)
    assert (changed <= 2 * r.iterations).all()
    assert (diff >= 0).all(), "theta > 0 only increases features"
    assert (r.iterations <= budget).all()
    assert torch.equal(r.target, t)
    # stopped samples are exactly those that reached the target (or ran out of budget)
    reached = r.prediction == t
    assert torch.equal(reached, r.success)


def test_jsma_decreasing_and_candidate_search_on_a_365_class_model():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.Flatten(),
                              torch.nn.Linear(4 * 24 * 24, 365)).eval()
    x = torch.rand(4, 3, 24, 24)
    t = torch.tensor([5, 17, 200, 364])
    r = jsma(net, x, targets=t, theta=-1.0, gamma=0.2, max_candidates=256)   # D = 1728 > 256: candidate search
    diff = (r.adv - x).flatten(1)
    assert (diff <= 0).all()
    assert (r.iterations > 0).all()
    assert ((diff != 0).sum(1) <= 2 * r.iterations).all()


def test_jsma_bad_arguments(model, batch):
    x, _ = batch
    t = torch.zeros(len(x), dtype=torch.long)
    with pytest.raises(ValueError, match="theta must be non-zero"):
        jsma(model, x, targets=t, theta=0.0)
    with pytest.raises(ValueError, match="labels|targets"):
        jsma(model, x, targets=torch.full((len(x),), 99))


def _full_pair_search(alpha, beta, domain, increase, max_candidates):
    """JSMA's pair search over every D x D pair (papers_core before the Pareto pruning): the reference."""
    n, d = alpha.shape
    if not increase:
        alpha, beta = -alpha, -beta
    cand = None
    if d > max_candidates:
        score = (alpha - beta).masked_fill(~domain, float("-inf"))
        cand = score.topk(max_candidates, dim=1).indices
        alpha, beta, domain = alpha.gather(1, cand), beta.gather(1, cand), domain.gather(1, cand)
    k = alpha.shape[1]
    a = alpha.masked_fill(~domain, float("-inf"))
    score = (a[:, :, None] + a[:, None, :]).clamp_min(0.0) * (beta[:, :, None] + beta[:, None, :])
    score.diagonal(dim1=1, dim2=2).zero_()
    value, best = score.flatten(1).min(1)
    p, q = best // k, best % k
    if cand is not None:
        p, q = cand.gather(1, p[:, None]).squeeze(1), cand.gather(1, q[:, None]).squeeze(1)
    return p, q, value < 0


@pytest.mark.parametrize("seed", range(8))
def test_jsma_pareto_pair_search_equals_the_full_search(seed):
    """The pruned search returns the full search's pair (the first best one, ties included) and the same
    'found', on random gradients, on gradients with many exact ties (rounded), and for both signs."""
    from papers_core.attacks.jsma import _best_pairs

    g = torch.Generator().manual_seed(seed)
    n, d = 16, 300
    alpha, beta = torch.randn(n, d, generator=g), torch.randn(n, d, generator=g)
    if seed % 2:                                      # coarse values: exact ties in both coordinates
        alpha, beta = (alpha * 2).round() / 2, (beta * 2).round() / 2
    if seed % 4 == 3:                                 # anti-correlated: long Pareto fronts
        beta = -alpha + 0.1 * beta
    domain = torch.rand(n, d, generator=g) < 0.8
    domain[0] = False                                 # no feature left
    domain[1, 2:] = False                             # one pair left
    alpha[2] = -alpha[2].abs()                        # no valid pair
    for increase in (True, False):
        for mc in (1024, 64):
            ours = _best_pairs(alpha, beta, domain, increase, mc)
            ref = _full_pair_search(alpha, beta, domain, increase, mc)
            assert torch.equal(ours[2], ref[2])
            f = ref[2]
            assert torch.equal(ours[0][f], ref[0][f]) and torch.equal(ours[1][f], ref[1][f])


def test_jsma_images_are_those_of_the_full_pair_search(model, batch, monkeypatch):
    """The whole attack, on a trained LeNet-5's batch: identical images with the pruned search."""
    import sys

    J = sys.modules["papers_core.attacks.jsma"]    # the module (the package exports the function by this name)
    x, y = batch[0][:8], batch[1][:8]              # the reference's full D x D search is slow: 8 images
    t = (y + 1) % 10
    ours = jsma(model, x, targets=t, gamma=0.1)
    monkeypatch.setattr(J, "_best_pairs", _full_pair_search)
    ref = jsma(model, x, targets=t, gamma=0.1)
    assert torch.equal(ours.adv, ref.adv) and torch.equal(ours.iterations, ref.iterations)
