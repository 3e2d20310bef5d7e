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
