"""papers_core.readings: the candidate readings behind the K-anonymity and MAT pages' gaps to the papers
(small runs; the stored studies are checked against the pages in test_stored)."""
import numpy as np
import pytest
import torch

from papers_core import metrics as M
from papers_core import readings as R
from papers_core.models import ClassicLeNet5


def test_ssim_readings_gauss11_is_the_library_ssim_and_constants_order_the_readings():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(3, 1, 28, 28, generator=g)
    adv = (x + 0.05 * torch.randn(3, 1, 28, 28, generator=g)).clamp(0, 1)
    out = R.ssim_readings(x, adv)
    assert set(out) == set(R.SSIM_READINGS)
    assert out["gauss11"] == pytest.approx(100.0 * float(M.ssim(x, adv).mean()), abs=1e-6)
    # larger constants (data range 2) raise SSIM, near-zero ones (8-bit values, range 1) lower it
    assert out["range2"] > out["gauss11"] > out["8bit"]
    assert R.ssim_readings(x, x.clone(), ["uniform7"]) == {"uniform7": pytest.approx(100.0)}


def test_classic_lenet5_shape_and_bad_input():
    net = ClassicLeNet5(10).eval()
    assert net(torch.rand(2, 1, 28, 28)).shape == (2, 10)
    assert any(isinstance(m, torch.nn.Tanh) for m in net.modules())
    assert any(isinstance(m, torch.nn.AvgPool2d) for m in net.modules())
    with pytest.raises(ValueError, match="28, 28"):
        net(torch.rand(2, 1, 32, 32))


def test_kanon_readings_small_run_has_every_method_and_reading():
    df = R.kanon_readings(4, classifiers=["LeNet-5 (ReLU, max-pool), 1 epoch"], lbfgs_search_steps=1,
                          lbfgs_iterations=3, cw_search_steps=1, cw_iterations=5, train_n=1000)
    page = df[df.reading == "page's reading"]
    assert list(page.method) == ["L-BFGS", "DeepFool", "C&W", "Proposed (K = 1)", "Proposed (K = 5)",
                                 "Proposed (K = 9)"]
    assert set(df.reading) == {"page's reading", "random targets", "C&W lr 0.1", "CW-SSIM weight 10",
                               "CW-SSIM weight 100"}
    assert {f"SSIM {k}" for k in R.SSIM_READINGS} <= set(df.columns)
    assert (df.MSE >= 0).all() and (df["SSIM gauss11"] <= 100 + 1e-9).all()
    deepfool = page.set_index("method").loc["DeepFool"]
    assert deepfool.ASR > 50 and deepfool.MSE > 0          # DeepFool moves (almost) every image
    with pytest.raises(ValueError, match="unknown classifier reading"):
        R.kanon_readings(4, classifiers=["VGG"])


def test_mat_mssim_readings_units_scale_the_perturbation():
    df = R.mat_mssim_readings(300, crafting_epochs=2, test_n=200)
    assert len(df) == 9 and set(df.unit) == {"[0, 1] scale", "normalised (x 0.3081)", "[-1, 1] scale (x 0.5)"}
    full = df[df.unit == "[0, 1] scale"].set_index("eps")
    norm = df[df.unit == "normalised (x 0.3081)"].set_index("eps")
    # a smaller pixel eps leaves the images more similar, and MSSIM falls with eps
    assert (norm.gauss11 > full.gauss11).all()
    assert full.gauss11.is_monotonic_decreasing
    assert np.allclose(norm.pixel_eps, norm.index * R.MNIST_STD, atol=1e-4)


def test_mat_readings_small_run_crafted_four_ways():
    df = R.mat_readings(300, epochs=2, crafting_epochs=2, single=(0.1,), mixed=(0.1, 0.2), test_n=200)
    assert set(df.reading) == set(R.MAT_READINGS)
    assert set(df.unit) == {"[0, 1] scale", "normalised (x 0.3081)"}
    assert set(df.victim) == {"original", "single-strength 0.1", "mixed MAT 0.1, 0.2"}
    at0 = df[df.eps == 0].groupby(["victim", "architecture"]).accuracy.nunique()
    assert (at0 == 1).all()                      # eps = 0 is the clean test set under every reading
    orig = df[(df.victim == "original") & (df.architecture == "MLP 784-256-256")]
    white = orig[orig.reading == "victim, true label"].set_index("eps").accuracy
    assert white.iloc[-1] < white.iloc[0]        # white-box FGSM at 0.3 hurts the undefended victim
