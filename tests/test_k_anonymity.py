"""The K-anonymity paper's library parts: CW-SSIM and MS-SSIM against references, DeepFool, C&W-L2,
L-BFGS and the K-anonymity attack on a trained LeNet-5, the rank metric, and the new data loaders."""
import gzip

import numpy as np
import pytest
import torch
from scipy.signal import correlate2d

from papers_core import attacks as A
from papers_core import metrics as M
from papers_core.data import DatasetNotFoundError
from papers_core.data import images as D
from papers_core.models import LeNet5, LightCNN9, cifar_mobilenet_v2
from papers_core.train import train_classifier


# ------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def lenet():
    """LeNet-5 trained for a few seconds on scikit-learn's digits (28x28), and 48 correctly classified
    training samples."""
    torch.set_num_threads(2)
    d = D.load_digits()
    net = train_classifier(LeNet5(), d.images, d.labels, epochs=10, augment=False, seed=0)
    for p in net.parameters():
        p.requires_grad_(False)
    with torch.no_grad():
        ok = net(d.images).argmax(1) == d.labels
    idx = torch.nonzero(ok).squeeze(1)[:48]
    return net, d.images[idx], d.labels[idx]


def runner_up(model, x):
    with torch.no_grad():
        return model(x).argsort(1, descending=True)[:, 1]


# ------------------------------------------------------------------------------------ CW-SSIM, MS-SSIM
def _reference_cw_ssim(a: np.ndarray, b: np.ndarray, level: int, ori: int = 8, K: float = 1e-8) -> float:
    """A literal transcription of Sampat et al.'s cwssim_index.m on pyrtools' complex steerable pyramid."""
    from pyrtools.pyramids import SteerablePyramidFreq

    p1 = SteerablePyramidFreq(a, height=level, order=ori - 1, is_complex=True)
    p2 = SteerablePyramidFreq(b, height=level, order=ori - 1, is_complex=True)
    vals = []
    for i in range(ori):
        b1, b2 = p1.pyr_coeffs[(level - 1, i)], p2.pyr_coeffs[(level - 1, i)]
        win = np.ones((7, 7)) / 49.0
        corr = correlate2d(b1 * np.conj(b2), win, "valid")
        varr = correlate2d(np.abs(b1) ** 2 + np.abs(b2) ** 2, win, "valid")
        cmap = (2 * np.abs(corr) + K) / (varr + K)
        h, w = cmap.shape
        yy, xx = np.mgrid[0:h, 0:w]
        g = np.exp(-((yy - (h - 1) / 2) ** 2 + (xx - (w - 1) / 2) ** 2) / (2 * (b1.shape[0] / 4) ** 2))
        vals.append(float((cmap * g / g.sum()).sum()))
    return float(np.mean(vals))


@pytest.mark.parametrize("size,level", [(28, 2), (48, 2), (64, 3)])
def test_cw_ssim_matches_the_reference_transcription(size, level):
    g = torch.Generator().manual_seed(size)
    x = torch.rand(3, 1, size, size, generator=g, dtype=torch.float64)
    y = (x + 0.1 * torch.randn(x.shape, generator=g, dtype=torch.float64)).clamp(0, 1)
    ours = M.cw_ssim(x, y, level=level)
    ref = [_reference_cw_ssim(x[i, 0].numpy(), y[i, 0].numpy(), level) for i in range(3)]
    np.testing.assert_allclose(ours.numpy(), ref, atol=1e-10)


def test_steerable_bands_equal_pyrtools():
    from pyrtools.pyramids import SteerablePyramidFreq

    x = torch.rand(1, 1, 32, 40, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    bands = M.steerable_bands(x, 2, 4)[0, 0].numpy()
    pyr = SteerablePyramidFreq(x[0, 0].numpy(), height=2, order=3, is_complex=True)
    for b in range(4):
        np.testing.assert_allclose(bands[b], pyr.pyr_coeffs[(1, b)], atol=1e-12)


def test_cw_ssim_is_one_on_identical_images_and_falls_with_noise():
    g = torch.Generator().manual_seed(0)
    x = D.load_digits().images[:6]
    assert torch.allclose(M.cw_ssim(x, x), torch.ones(6), atol=1e-6)
    noise = torch.randn(x.shape, generator=g)
    scores = [float(M.cw_ssim(x, (x + s * noise).clamp(0, 1)).mean()) for s in (0.02, 0.05, 0.1, 0.2, 0.4)]
    assert all(a > b for a, b in zip(scores, scores[1:])), scores
    assert scores[0] < 1.0 and scores[-1] > 0.0


def test_cw_ssim_is_batch_consistent_differentiable_and_channel_averaged():
    g = torch.Generator().manual_seed(3)
    x = torch.rand(5, 3, 32, 32, generator=g)
    y = (x + 0.05 * torch.randn(x.shape, generator=g)).clamp(0, 1)
    full = M.cw_ssim(x, y)
    parts = torch.cat([M.cw_ssim(x[:2], y[:2]), M.cw_ssim(x[2:], y[2:])])
    torch.testing.assert_close(full, parts)
    per_channel = torch.stack([M.cw_ssim(x[:, c:c + 1], y[:, c:c + 1]) for c in range(3)], 1).mean(1)
    torch.testing.assert_close(full, per_channel)
    z = y.clone().requires_grad_(True)
    M.cw_ssim(x, z).sum().backward()
    assert z.grad.abs().sum() > 0 and torch.isfinite(z.grad).all()
    with pytest.raises(ValueError, match="at most scale"):
        M.cw_ssim(x, y, level=4)


def test_ms_ssim_equals_pytorch_msssim_on_large_images_and_adapts_to_small_ones():
    import pytorch_msssim

    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 176, 176, generator=g)
    y = (x + 0.05 * torch.randn(x.shape, generator=g)).clamp(0, 1)
    torch.testing.assert_close(M.ms_ssim(x, y), pytorch_msssim.ms_ssim(x.double(), y.double(), data_range=1.0,
                                                                       size_average=False))
    small = torch.rand(2, 3, 32, 32, generator=g)
    assert torch.allclose(M.ms_ssim(small, small), torch.ones(2, dtype=torch.float64))
    noisy = (small + 0.1 * torch.randn(small.shape, generator=g)).clamp(0, 1)
    assert (M.ms_ssim(small, noisy) < 1).all()
    with pytest.raises(ValueError, match="fewer levels"):
        M.ms_ssim(small, noisy, levels=5)


# ---------------------------------------------------------------------------------------- rank metric
def test_label_ranks_and_rank_pmf_on_constructed_scores():
    scores = torch.tensor([[0.1, 0.5, 0.2, 0.2], [0.7, 0.1, 0.1, 0.1], [0.0, 0.0, 0.4, 0.6]])
    labels = torch.tensor([0, 0, 2])
    assert M.label_ranks(scores, labels).tolist() == [4, 1, 2]
    np.testing.assert_allclose(M.rank_pmf(scores, labels), [1 / 3, 1 / 3, 0, 1 / 3])
    tie = torch.tensor([[0.5, 0.5]])
    assert M.label_ranks(tie, torch.tensor([0])).tolist() == [2]


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


# ------------------------------------------------------------------------------------ models and data
def test_paper_models_take_their_inputs_and_refuse_others():
    assert LeNet5().eval()(torch.rand(2, 1, 28, 28)).shape == (2, 10)
    assert LightCNN9(15, input_size=48).eval()(torch.rand(2, 1, 48, 48)).shape == (2, 15)
    assert cifar_mobilenet_v2(10, width_mult=0.5).eval()(torch.rand(2, 3, 32, 32)).shape == (2, 10)
    with pytest.raises(ValueError, match="28x28"):
        LeNet5()(torch.rand(2, 1, 32, 32))
    with pytest.raises(ValueError, match="input_size=64"):
        LightCNN9(15, input_size=48)(torch.rand(2, 1, 64, 64))
    with pytest.raises(ValueError, match="divisible by 16"):
        LightCNN9(15, input_size=50)


def test_digits_and_synth_faces_are_embedded_and_deterministic():
    d = D.load_digits()
    assert d.images.shape == (1797, 1, 28, 28) and d.images.min() >= 0 and d.images.max() <= 1
    assert torch.bincount(d.labels).min() >= 170
    f1, f2 = D.synth_faces(per_identity=4, seed=0), D.synth_faces(per_identity=4, seed=0)
    assert torch.equal(f1.images, f2.images) and f1.images.shape == (60, 1, 48, 48)
    assert not torch.equal(f1.images, D.synth_faces(per_identity=4, seed=1).images)
    # identities differ more than two images of one identity (a learnable identity signal)
    m = f1.images.view(15, 4, -1)
    within = (m[:, 0] - m[:, 1]).norm(dim=1).mean()
    between = (m[0, 0] - m[1:, 0]).norm(dim=1).mean()
    assert between > within


def test_mnist_and_yale_from_the_data_kit(shared_datasets):
    mn = D.load_mnist(shared_datasets, "test")
    assert mn.images.shape == (10000, 1, 28, 28) and mn.labels[:5].tolist() == [7, 2, 1, 0, 4]
    yale = D.load_yale_faces(shared_datasets, size=32)
    assert yale.images.shape == (164, 1, 32, 32) and yale.num_classes == 15
    assert torch.bincount(yale.labels).tolist() == [10] + [11] * 14  # subject01.centerlight is missing


def test_missing_or_corrupt_real_data_says_how_to_get_it(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="torchvision.datasets.MNIST"):
        D.load_mnist(tmp_path)
    with pytest.raises(DatasetNotFoundError, match="torchvision.datasets.CIFAR10"):
        D.load_cifar10(tmp_path)
    with pytest.raises(DatasetNotFoundError, match="Yale"):
        D.load_yale_faces(tmp_path)
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    with gzip.open(raw / "t10k-images-idx3-ubyte.gz", "wb") as f:
        f.write(bytes([0, 0, 8, 3]) + (100).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2 + bytes(50))
    with pytest.raises(DatasetNotFoundError, match="truncated"):
        D.load_mnist(tmp_path, "test")


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
