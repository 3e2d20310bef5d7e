"""Metrics (papers_core.metrics) against reference implementations and constructed cases: PSNR, SSIM,
MS-SSIM, CW-SSIM, MAD, BRISQUE, the classification metrics, CIELAB and CIEDE2000."""
import csv
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.signal import correlate2d
from skimage.color import deltaE_ciede2000, rgb2lab
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from papers_core import data as D
from papers_core import metrics as M


@pytest.fixture(scope="module")
def pair():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(4, 3, 40, 36, generator=g)
    y = (x + 0.05 * torch.randn(x.shape, generator=g)).clamp(0, 1)
    return x, y


def test_psnr_and_mse_match_scikit_image(pair):
    x, y = pair
    ours = M.psnr(x, y)
    for i in range(len(x)):
        ref = peak_signal_noise_ratio(x[i].double().numpy(), y[i].double().numpy(), data_range=1.0)
        assert ours[i].item() == pytest.approx(ref, abs=1e-6)
    assert M.mse(x, x).eq(0).all() and torch.isinf(M.psnr(x, x)).all()


def test_ssim_matches_scikit_image(pair):
    x, y = pair
    ours = M.ssim(x, y)
    for i in range(len(x)):
        ref = structural_similarity(x[i].double().numpy(), y[i].double().numpy(), channel_axis=0, data_range=1.0,
                                    gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
        assert ours[i].item() == pytest.approx(ref, abs=1e-6)
    assert torch.allclose(M.ssim(x, x), torch.ones(len(x), dtype=torch.float64))


def test_brisque_matches_the_package_and_ranks_noise_worse():
    from skimage import data

    img = torch.from_numpy(data.astronaut()[::2, ::2].copy()).permute(2, 0, 1)[None].float() / 255
    ours = M.brisque(img)[0]
    ref = M.quality._brisque_model().score(np.round(img[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8))
    assert ours == pytest.approx(ref, abs=1e-9)
    assert 0 < ours < 40  # a clean natural photograph
    noisy = (img + 0.1 * torch.randn(img.shape, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
    assert M.brisque(noisy)[0] > ours + 20


def test_topk_accuracy():
    scores = torch.tensor([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2], [0.2, 0.3, 0.5]])
    labels = torch.tensor([1, 2, 0])
    acc = M.topk_accuracy(scores, labels, ks=(1, 2, 3))
    assert acc[1] == pytest.approx(100 / 3) and acc[2] == pytest.approx(100 / 3) and acc[3] == 100
    with pytest.raises(ValueError, match="exceeds the number of classes"):
        M.topk_accuracy(scores, labels, ks=(5,))


def test_irreversibility_on_constructed_distributions():
    D = 10
    # one true class, every image mapped to the same target: distance of a one-hot to uniform
    one_hot = math.sqrt((1 - 1 / D) ** 2 + (D - 1) / D ** 2)
    assert M.irreversibility(torch.zeros(20, dtype=torch.long), torch.full((20,), 3), D) == pytest.approx(one_hot)
    # targets spread exactly uniformly: distance 0
    assert M.irreversibility(torch.zeros(D, dtype=torch.long), torch.arange(D), D) == pytest.approx(0.0)
    # averaged over true classes: class 0 one-hot, class 1 uniform -> mean of the two
    y = torch.tensor([0] * D + [1] * D)
    t = torch.cat([torch.zeros(D, dtype=torch.long), torch.arange(D)])
    mean, per = M.irreversibility(y, t, D, per_class=True)
    assert per[0] == pytest.approx(one_hot) and per[1] == pytest.approx(0.0)
    assert mean == pytest.approx(one_hot / 2)
    # the paper's scale: 50 distinct targets among 365 classes
    assert M.irreversibility(torch.zeros(50, dtype=torch.long), torch.arange(50), 365) == pytest.approx(
        math.sqrt(1 / 50 - 1 / 365))


def test_target_frequencies_sum_to_100():
    f = M.target_frequencies(torch.tensor([0, 0, 1, 4]), 5)
    assert f.tolist() == [50.0, 25.0, 0.0, 0.0, 25.0]


def test_metric_input_errors(pair):
    x, y = pair
    with pytest.raises(ValueError, match="differ in shape"):
        M.psnr(x, y[:, :, :10])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        M.ssim(x * 255, y)
    with pytest.raises(ValueError, match="at least 11x11"):
        M.ssim(x[:, :, :8, :8], y[:, :, :8, :8])
    with pytest.raises(ValueError, match="targets must lie in"):
        M.target_frequencies(torch.tensor([0, 7]), 5)


def _scene(n=3, size=64, seed=0):
    from papers_core.data import synth_scenes

    return synth_scenes("test", n_per_class=1, size=size, seed=seed).images[:n]


def test_mad_is_zero_for_identical_images_and_grows_with_visible_noise():
    x = _scene()
    assert torch.equal(M.mad(x, x), torch.zeros(len(x)))
    g = torch.Generator().manual_seed(0)
    z = torch.randn(x.shape, generator=g)
    scores = torch.stack([M.mad(x, (x + s / 255 * z).clamp(0, 1)) for s in (1, 8, 16, 32, 64, 96)])
    assert (scores[1:] >= scores[:-1]).all(), scores         # more noise, never less apparent distortion
    assert (scores[-3:][1:] > scores[-3:][:-1]).all(), scores  # and strictly more once it is visible
    assert (scores[0] == 0).all() and (scores[-1] > 0).all()  # 1 grey level is below the detection threshold


def test_mad_is_per_image_and_blends_its_two_indices():
    from papers_core.metrics.mad import _gray255, _mad_appearance, _mad_detection

    x = _scene(4)
    y = (x + 24 / 255 * torch.randn(x.shape, generator=torch.Generator().manual_seed(1))).clamp(0, 1)
    batch = M.mad(x, y)
    single = torch.cat([M.mad(x[i:i + 1], y[i:i + 1]) for i in range(4)])
    assert torch.allclose(batch, single, rtol=1e-5)
    hi, lo = _mad_detection(_gray255(x), _gray255(y)), _mad_appearance(_gray255(x), _gray255(y))
    b1, b2 = math.exp(-2.55 / 3.35), 1 / (math.log(10) * 3.35)
    a = 1 / (1 + b1 * hi ** b2)
    assert torch.allclose(batch.double(), hi ** a * lo ** (1 - a), rtol=1e-5)
    assert (lo > 0).all() and (hi > 0).all()


def test_mad_csf_and_log_gabor_filters():
    from papers_core.metrics.mad import _log_gabor_bank, _mad_csf

    csf = _mad_csf(64, 64)
    assert csf[32, 32] == pytest.approx(0.9809)                 # flat low-pass plateau at DC
    assert csf[32, 63] < csf[32, 40]                             # falls at high frequencies
    assert csf[32, 56] > csf[8, 56]                              # oblique effect: diagonals less visible
    bank = _log_gabor_bank(64, 64)
    assert bank.shape == (5, 4, 64, 64) and bank[:, :, 32, 32].abs().max() == 0
    peak = bank[0, 0, 32].argmax().item()                       # finest scale, horizontal: peak at 1/3 cycles/px
    assert abs(abs(peak - 32) / 64 - 1 / 3) < 0.03


def test_mad_rejects_small_or_mismatched_images():
    with pytest.raises(ValueError, match="16x16"):
        M.mad(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8))
    with pytest.raises(ValueError):
        M.mad(torch.rand(1, 3, 32, 32), torch.rand(1, 3, 16, 16))


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


DATA = Path(__file__).parent / "data"


def sharma_pairs():
    with open(DATA / "ciede2000_sharma2005.csv") as f:
        rows = list(csv.DictReader(ln for ln in f if not ln.startswith("#")))
    lab1 = torch.tensor([[float(r[k]) for k in ("L1", "a1", "b1")] for r in rows], dtype=torch.float64)
    lab2 = torch.tensor([[float(r[k]) for k in ("L2", "a2", "b2")] for r in rows], dtype=torch.float64)
    return lab1, lab2, torch.tensor([float(r["dE00"]) for r in rows], dtype=torch.float64)


# ---------------------------------------------------------------------------------------- colour
def test_rgb_to_lab_matches_scikit_image():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(3, 3, 8, 8, generator=g, dtype=torch.float64)
    x[0, :, 0, 0], x[0, :, 0, 1], x[0, :, 0, 2] = 0.0, 1.0, 0.02  # black, white, the linear segment
    ref = np.stack([rgb2lab(im.permute(1, 2, 0).numpy()) for im in x])
    np.testing.assert_allclose(M.rgb_to_lab(x).permute(0, 2, 3, 1).numpy(), ref, atol=1e-9)
    assert M.rgb_to_lab(x.float()).dtype == torch.float32


def test_ciede2000_reproduces_the_34_reference_pairs_of_sharma_wu_dalal():
    lab1, lab2, expected = sharma_pairs()
    assert len(expected) == 34
    np.testing.assert_allclose(M.ciede2000(lab1, lab2).numpy(), expected.numpy(), atol=5e-5)
    np.testing.assert_allclose(M.ciede2000(lab2, lab1).numpy(), expected.numpy(), atol=5e-5)  # symmetric


def test_ciede2000_matches_scikit_image_on_random_colours():
    g = torch.Generator().manual_seed(1)
    lab1 = torch.rand(500, 3, generator=g, dtype=torch.float64) * torch.tensor([100, 200, 200]) - torch.tensor([0, 100, 100])
    lab2 = lab1 + torch.randn(500, 3, generator=g, dtype=torch.float64) * 10
    ref = deltaE_ciede2000(lab1.numpy(), lab2.numpy(), channel_axis=-1)
    np.testing.assert_allclose(M.ciede2000(lab1, lab2, dim=1).numpy(), ref, atol=1e-9)
    assert float(M.ciede2000(lab1, lab1).abs().max()) == 0.0


def test_ciede2000_rejects_mismatched_inputs():
    with pytest.raises(ValueError, match="equal shape"):
        M.ciede2000(torch.zeros(4, 3), torch.zeros(5, 3))
