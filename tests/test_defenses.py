"""Defenses against their references (exact bit reduction, scipy's median, Pillow's JPEG), gradients
through the differentiable forms, and the feature-squeezing detector's false-positive rate."""
import io

import numpy as np
import pytest
import torch
from PIL import Image
from scipy import ndimage

from papers_core.attacks import n_fgsm
from papers_core.defenses import (DEFENSE_FAMILIES, PAPER_PARAMETERS, Defense, FeatureSqueezingDetector, family_detectors, jpeg, median_filter,
                                  paper_defenses, requantize)


@pytest.fixture(scope="module")
def images():
    """Smooth scenes with edges and noise, on the 8-bit grid, like the attacked images."""
    g = torch.Generator().manual_seed(0)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, 32), torch.linspace(0, 1, 32), indexing="ij")
    base = torch.stack([xx, yy, (xx + yy) / 2])[None].repeat(4, 1, 1, 1)
    base[:, :, 8:20, 10:24] = 0.8
    x = (base + 0.08 * torch.randn(base.shape, generator=g)).clamp(0, 1)
    return (x * 255).round() / 255


@pytest.mark.parametrize("bits", PAPER_PARAMETERS["requantize"])
def test_requantize_is_exact_bit_reduction(images, bits):
    levels = 2 ** bits - 1
    ref = np.round(images.numpy() * levels) / levels
    out = requantize(images, bits)
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-7)
    assert len(torch.unique(out)) <= levels + 1
    assert torch.equal(requantize(images, 8), images)        # 8 bits leaves an 8-bit image as it is


def test_requantize_surrogate_is_close_and_has_gradients(images):
    x = images.clone().requires_grad_(True)
    soft = requantize(x, 3, differentiable=True)
    assert (soft - requantize(images, 3)).abs().max() <= 0.125 / 7 + 1e-6   # |t^3| <= 1/8 of a level
    soft.sum().backward()
    assert (x.grad != 0).float().mean() > 0.9                  # rounding alone gives zero everywhere
    x.grad = None
    requantize(x, 3).sum().backward()
    assert torch.count_nonzero(x.grad) == 0


@pytest.mark.parametrize("kernel", [3, 5])
def test_median_filter_equals_scipy_for_odd_kernels(images, kernel):
    ref = ndimage.median_filter(images.numpy(), size=(1, 1, kernel, kernel), mode="reflect")
    np.testing.assert_allclose(median_filter(images, kernel).numpy(), ref, atol=0)


def test_median_filter_2x2_takes_the_lower_median_of_scipys_window(images):
    x = images.numpy()
    padded = np.pad(x, ((0, 0), (0, 0), (1, 0), (1, 0)), mode="symmetric")
    windows = np.lib.stride_tricks.sliding_window_view(padded, (2, 2), axis=(2, 3)).reshape(*x.shape, 4)
    lower = np.sort(windows, -1)[..., 1]
    np.testing.assert_allclose(median_filter(images, 2).numpy(), lower, atol=0)
    upper = ndimage.median_filter(x, size=(1, 1, 2, 2), mode="reflect")   # scipy's rank: the upper one
    np.testing.assert_allclose(np.sort(windows, -1)[..., 2], upper, atol=0)


def test_median_filter_gradient_reaches_the_selected_pixels(images):
    x = images.clone().requires_grad_(True)
    median_filter(x, 3).sum().backward()
    assert float(x.grad.sum()) == pytest.approx(x.numel())   # each output pixel routes 1 to one input
    assert (x.grad >= 0).all() and (x.grad > 0).float().mean() > 0.3


def _pillow_roundtrip(img: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())))


@pytest.mark.parametrize("quality", PAPER_PARAMETERS["jpeg"])
def test_jpeg_matches_pillow(images, quality):
    out = jpeg(images, quality)
    assert out.shape == images.shape and out.dtype == images.dtype
    assert torch.equal(out, (out * 255).round() / 255)      # on the 8-bit grid
    for i in range(len(images)):
        ref = _pillow_roundtrip((images[i].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8), quality)
        np.testing.assert_array_equal((out[i].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8), ref)
    grey = jpeg(images[:, :1], quality)
    assert grey.shape == images[:, :1].shape


def test_stronger_jpeg_changes_the_image_more(images):
    err = [float((jpeg(images, q) - images).abs().mean()) for q in (25, 50, 75, 100)]
    # monotone in the quality; at 100 the 4:2:0 chroma subsampling still costs the noisy test images a lot
    assert err[0] > err[1] > err[2] > err[3]


@pytest.mark.parametrize("quality", [25, 75])
def test_differentiable_jpeg_tracks_the_codec_and_has_gradients(images, quality):
    x = images.clone().requires_grad_(True)
    soft = jpeg(x, quality, differentiable=True)
    exact = jpeg(images, quality)
    # the DCT-domain simulation is close to libjpeg but not bit-exact (integer DCT, rounding order)
    assert float((soft.detach() - exact).abs().mean()) < 3 / 255
    assert float((soft.detach() - exact).abs().mean()) < 0.5 * float((exact - images).abs().mean()) + 1 / 255
    soft.sum().backward()
    assert torch.isfinite(x.grad).all() and (x.grad != 0).float().mean() > 0.9


def test_defense_objects_and_the_papers_sets():
    ds = paper_defenses()
    assert len(ds) == 14 and [d.label for d in ds[:1] + ds[7:8] + ds[-1:]] == ["1 bits", "median 2x2", "JPEG 100"]
    assert paper_defenses(["median"]) == [Defense("median", k) for k in (2, 3, 5)]
    with pytest.raises(ValueError, match="defense"):
        Defense("blur", 3)


@pytest.mark.parametrize("fn,arg", [(requantize, 0), (requantize, 9), (median_filter, 0), (jpeg, 0), (jpeg, 101)])
def test_defenses_refuse_bad_parameters(images, fn, arg):
    with pytest.raises(ValueError):
        fn(images, arg)


def test_defenses_refuse_bad_images(images):
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        requantize(images * 255, 3)
    with pytest.raises(ValueError, match="channels"):
        jpeg(torch.rand(1, 2, 8, 8), 50)
    with pytest.raises(ValueError, match="smaller than the median window"):
        median_filter(torch.rand(1, 1, 1, 1), 5)


def test_feature_squeezing_threshold_gives_the_false_positive_rate(model, scenes):
    train, test = scenes
    det = FeatureSqueezingDetector(model, [Defense("median", 2), Defense("requantize", 4)])
    with pytest.raises(RuntimeError, match="fit"):
        det.detect(test.images)
    det.fit(train.images, false_positive_rate=0.05)
    on_train = det.detect(train.images).float().mean().item()
    assert on_train == pytest.approx(0.05, abs=0.01)           # by construction, on the fitting images
    on_test = det.detect(test.images).float().mean().item()    # held-out clean images: about 5 %
    assert on_test <= 0.15
    scores = det.score(test.images[:5])
    assert scores.shape == (5,) and (scores >= 0).all() and (scores <= 2).all()
    adv = n_fgsm(model, test.images, test.labels, step=2, iterations=10).adv   # small, high-frequency changes
    assert det.detect(adv).float().mean() > on_test + 0.2       # which the squeezers undo: flagged
    with pytest.raises(ValueError, match="Defense objects"):
        FeatureSqueezingDetector(model, ["median"])


def test_family_detectors_have_a_threshold_per_classifier_and_defense_at_the_false_positive_rate(model, scenes):
    from papers_core.models import SmallCNN
    from papers_core.train import train_classifier

    train, test = scenes
    other = train_classifier(SmallCNN(train.num_classes, width=8), train.images, train.labels, epochs=1, seed=1)
    clean = train.images[:200]
    dets = family_detectors({"a": model, "b": other}, clean, false_positive_rate=0.05)
    assert set(dets) == {(m, f) for m in "ab" for f in DEFENSE_FAMILIES}
    for (name, fam), det in dets.items():
        assert [s.name for s in det.squeezers] == [fam] * len(PAPER_PARAMETERS[fam])   # the family's parameters
        assert det.model is (model if name == "a" else other)                          # the classifier's own
        assert det.detect(clean).float().mean().item() == pytest.approx(0.05, abs=0.006)   # 5 % of the fitting set
    # each family has its own threshold (the scores differ between squeezers)
    assert len({round(det.tau, 6) for det in dets.values()}) == len(dets)
    with pytest.raises(ValueError, match="defense family"):
        family_detectors({"a": model}, clean, families=["blur"])
    with pytest.raises(ValueError, match="non-empty dict"):
        family_detectors([model], clean)
