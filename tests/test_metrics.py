"""Metrics against reference implementations and constructed cases."""
import math

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

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
    ref = M._brisque_model().score(np.round(img[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8))
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
    from papers_core.metrics import _gray255, _mad_appearance, _mad_detection

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
    from papers_core.metrics import _log_gabor_bank, _mad_csf

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
