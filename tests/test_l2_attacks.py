"""The L2 attacks: DeepFool (minimal and batch-consistent), C&W-L2 (targeted and untargeted) and the
L-BFGS attack with its line search on c and the batched L-BFGS-B solver, on a trained LeNet-5."""
import pytest
import torch

from papers_core import attacks as A


def runner_up(model, x):
    with torch.no_grad():
        return model(x).argsort(1, descending=True)[:, 1]


# ------------------------------------------------------------------------------------ DeepFool and C&W
@pytest.mark.slow
def test_deepfool_succeeds_minimally_and_batch_consistently(lenet):
    model, x, y = lenet
    r = A.deepfool(model, x, y)
    assert r.success.float().mean() >= 0.95
    assert (r.target == -1).all() and (r.iterations >= 1).all()
    # near the boundary: half the perturbation leaves most samples on their label
    half = (x + 0.5 * (r.adv - x)).clamp(0, 1)
    with torch.no_grad():
        assert (model(half).argmax(1) == y).float().mean() >= 0.8
    parts = A.AttackResult.cat([A.deepfool(model, x[:20], y[:20]), A.deepfool(model, x[20:], y[20:])])
    torch.testing.assert_close(parts.adv, r.adv, atol=1e-5, rtol=0)


@pytest.mark.slow
def test_deepfool_candidate_classes_limit_the_search(lenet):
    model, x, y = lenet
    r2 = A.deepfool(model, x, y, num_candidates=2)
    with torch.no_grad():
        second = model(x).argsort(1, descending=True)[:, 1]
    # with one candidate, a successful sample can only move to the clean runner-up (or beyond by overshoot)
    moved = r2.success & (r2.prediction != second)
    assert moved.float().mean() <= 0.2


@pytest.mark.slow
def test_cw_l2_targeted_reaches_targets_with_small_perturbations(lenet):
    model, x, y = lenet
    t = runner_up(model, x)
    r = A.cw_l2(model, x, targets=t, binary_search_steps=6, iterations=100)
    assert r.success.float().mean() >= 0.9
    assert (r.target == t).all()
    ok = r.success
    with torch.no_grad():  # minimal: 70 % of the perturbation no longer reaches the target for most
        back = model((x + 0.7 * (r.adv - x)).clamp(0, 1)).argmax(1)
    assert (back[ok] != t[ok]).float().mean() >= 0.7
    # unreached samples come back unchanged
    fail = A.cw_l2(model, x[:4], targets=t[:4], binary_search_steps=1, iterations=1, initial_const=1e-6)
    assert torch.equal(fail.adv[~fail.success], x[:4][~fail.success])


@pytest.mark.slow
def test_cw_l2_is_batch_consistent_and_untargeted_works(lenet):
    model, x, y = lenet
    kw = dict(binary_search_steps=3, iterations=50, initial_const=1.0)
    r = A.cw_l2(model, x[:12], y[:12], **kw)
    assert r.success.float().mean() >= 0.9 and (r.target == -1).all()
    parts = A.AttackResult.cat([A.cw_l2(model, x[:5], y[:5], **kw), A.cw_l2(model, x[5:12], y[5:12], **kw)])
    torch.testing.assert_close(parts.adv, r.adv, atol=1e-5, rtol=0)


# ------------------------------------------------------------------------------- L-BFGS and K-anonymity
@pytest.mark.slow
def test_lbfgs_attack_reaches_the_target_and_the_line_search_shrinks_the_perturbation(lenet):
    model, x, y = lenet
    t = runner_up(model, x[:16])
    one = A.lbfgs_attack(model, x[:16], targets=t, search_steps=1, iterations=30)
    many = A.lbfgs_attack(model, x[:16], targets=t, search_steps=5, iterations=30)
    assert many.success.float().mean() >= 0.9
    both = one.success & many.success
    n1 = (one.adv - x[:16]).flatten(1).norm(dim=1)[both]
    n5 = (many.adv - x[:16]).flatten(1).norm(dim=1)[both]
    assert (n5 <= n1 + 1e-6).all()
    assert (many.adv >= 0).all() and (many.adv <= 1).all()


def test_the_line_search_keeps_the_best_iterate_on_the_solvers_path():
    """A goal that the objective's minimiser overshoots (met only while the mean pixel is in [0.1, 0.5],
    while the loss pulls every pixel to 1): judged at the minimiser alone it is never met; watching every
    iterate the solver evaluates finds one that meets it, and keeps the smallest such perturbation."""
    from papers_core.attacks.lbfgs import c_line_search, smooth_l2

    x = torch.zeros(3, 1, 4, 4)

    def met(z):
        m = z.flatten(1).mean(1)
        return (m >= 0.1) & (m <= 0.5)

    def pull(z):
        return 0.1 * (z - 1.0).flatten(1).pow(2).sum(1)

    end_only, found = c_line_search(x, pull, met, c_init=1e-3, search_steps=1, iterations=20)
    assert not found.any() and torch.equal(end_only, x)
    best, found = c_line_search(x, lambda z: (pull(z), met(z.detach())), met, c_init=1e-3, search_steps=1,
                                iterations=20)
    assert found.all() and met(best).all()
    assert (smooth_l2(best - x) < smooth_l2(torch.ones_like(x))).all()


def test_lbfgs_b_path_does_not_depend_on_the_number_of_blas_threads():
    """OpenBLAS splits a long dot product across its threads, so L-BFGS-B's iterates would depend on the
    core count of the machine (which made a page's numbers differ between two machines); lbfgs_b runs
    the solver's BLAS on one thread whatever the caller's setting."""
    from threadpoolctl import threadpool_limits

    from papers_core.attacks.lbfgs import lbfgs_b

    g = torch.Generator().manual_seed(0)
    # 24 576 variables, badly conditioned; float64, where a difference in the last bit stays visible
    a = torch.rand(8, 3, 32, 32, generator=g, dtype=torch.float64) * 100 + 0.01
    target = torch.rand(8, 3, 32, 32, generator=g, dtype=torch.float64)

    def objective(z):
        r = z - target
        return (a * r * r + r.abs() ** 3).flatten(1).sum(1)

    runs = []
    for threads in (1, 2, 4):
        with threadpool_limits(limits=threads, user_api="blas"):
            runs.append(lbfgs_b(objective, torch.full_like(a, 0.5), iterations=50))
    assert all(torch.equal(runs[0], r) for r in runs[1:])
    start = torch.full_like(a, 0.5)
    assert float(objective(runs[0]).sum()) < 1e-3 * float(objective(start).sum())   # and it does solve it
