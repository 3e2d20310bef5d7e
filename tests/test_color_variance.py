"""The colour-variance map and Algorithm 1 of Sweere et al. (2019) (papers_core.attacks.color_variance)."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skimage.color import deltaE_ciede2000, rgb2lab

from papers_core import attacks as A
from papers_core import metrics as M
from papers_core.rng import ImageStreams


# ------------------------------------------------------------------------------ colour-variance map
def reference_map(img: np.ndarray, window: int, sigma: float) -> np.ndarray:
    """CV-PIRE's definition written pixel by pixel with scikit-image (REFERENCE_NOTES.md)."""
    lab = rgb2lab(img)
    h, w, _ = img.shape
    r = window // 2
    out = np.zeros((h, w))
    for i in range(h):
        for j in range(w):
            acc, count = 0.0, 0
            for dy in range(-r, r + 1):
                for dx in range(-r, r + 1):
                    y, x = i + dy, j + dx
                    if (dy == 0 and dx == 0) or not (0 <= y < h and 0 <= x < w):
                        continue
                    wq = math.exp(-(dx * dx + dy * dy) / (2 * sigma ** 2)) / (2 * math.pi * sigma ** 2)
                    acc += (float(deltaE_ciede2000(lab[i, j], lab[y, x])) * wq) ** 2
                    count += 1
            out[i, j] = math.sqrt(acc / count)
    return out / out.max()


@pytest.mark.parametrize("window,sigma", [(3, 1.0), (5, 1.0), (5, 2.0)])
def test_color_variance_map_matches_a_per_pixel_reference(window, sigma):
    g = torch.Generator().manual_seed(2)
    x = torch.rand(2, 3, 7, 9, generator=g, dtype=torch.float64)
    x[1, :, :, :4] = 0.5  # a flat region next to a textured one
    cv = A.color_variance_map(x, window=window, sigma=sigma)
    assert cv.shape == (2, 1, 7, 9)
    for k in range(2):
        ref = reference_map(x[k].permute(1, 2, 0).numpy(), window, sigma)
        np.testing.assert_allclose(cv[k, 0].numpy(), ref, atol=1e-10)


def test_color_variance_map_is_high_on_texture_low_on_flat_areas_and_batch_independent():
    g = torch.Generator().manual_seed(3)
    x = torch.full((3, 3, 24, 24), 0.4)
    x[0, :, :, 12:] = torch.rand(3, 24, 12, generator=g)  # right half textured
    x[1] = 0.7  # entirely flat
    cv = A.color_variance_map(x)
    assert float(cv[0].max()) == pytest.approx(1.0)
    assert float(cv[0, 0, :, :8].max()) == 0.0 and float(cv[0, 0, :, 16:].mean()) > 0.3
    assert float(cv[1].abs().max()) == 0.0  # flat image: no variance, no division by zero
    torch.testing.assert_close(A.color_variance_map(x[:1]), cv[:1])


def test_color_variance_map_rejects_bad_input():
    with pytest.raises(ValueError, match="RGB"):
        A.color_variance_map(torch.rand(1, 1, 8, 8))
    with pytest.raises(ValueError, match="odd"):
        A.color_variance_map(torch.rand(1, 3, 8, 8), window=4)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        A.color_variance_map(torch.rand(1, 3, 8, 8) * 255)


# --------------------------------------------------------------------------------------- Algorithm 1
def test_protection_conditions():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.1, 0.05, 0.03, 0.02],
                                     [0.3, 0.5, 0.1, 0.05, 0.03, 0.02],
                                     [0.2, 0.5, 0.1, 0.05, 0.03, 0.12]]))
    y = torch.tensor([0, 0, 0])
    assert A.protection_condition(logits, y, "top1").tolist() == [False, True, True]
    # top1-50: p(label) <= 0.5 p(top-1): 0.3 > 0.25 fails, 0.2 <= 0.25 holds
    assert A.protection_condition(logits, y, "top1-50").tolist() == [False, False, True]
    assert A.protection_condition(logits, torch.tensor([5, 2, 4]), "top5").tolist() == [True, False, True]
    with pytest.raises(ValueError, match="valid choices.*top1"):
        A.protection_condition(logits, y, "top2")


def unit_scale(units):
    """What one unit of v is in [0, 1] pixel values, per channel."""
    return torch.tensor(A.IMAGENET_STD).view(1, 3, 1, 1) if units == "normalized" else torch.ones(1, 3, 1, 1)


@pytest.mark.parametrize("units", A.UNITS)
@pytest.mark.parametrize("run", list(A.PAPER_RUNS))
def test_attack_meets_its_condition_within_the_threshold_map(model, batch, run, units):
    x, y = batch
    cfg = A.PAPER_RUNS[run]
    cv = A.color_variance_map(x)
    x0 = x.clone()
    m = 50.0 if units == "pixel" else 255.0  # a bound the toy model can be fooled within, in both units
    r = A.color_variance_attack(model, x, y, condition=cfg["condition"], alpha=10.0 if cfg["l1"] else 0.0,
                                cv_map=cv, iterations=100, threshold=m, units=units, seed=0)
    assert torch.equal(x, x0)  # inputs untouched
    assert r.success.float().mean() >= 0.75
    with torch.no_grad():
        met = A.protection_condition(model(r.adv), y, cfg["condition"])
    assert torch.equal(met, r.success)
    stepped = r.iterations > 0
    bound = cv * m * unit_scale(units) / 255.0 + 1e-6  # clip to pT, then round the pixel change
    assert ((r.adv - x).abs() <= bound + 0.5 / 255)[stepped].all()
    assert torch.equal(torch.round(r.adv[stepped] * 255) / 255, r.adv[stepped])  # on the 8-bit grid
    assert (r.target == -1).all() and torch.equal(r.prediction, r.probs.argmax(1))


def test_the_l1_term_shrinks_the_perturbation(model, batch):
    x, y = batch
    cv = A.color_variance_map(x)
    l1 = {a: A.color_variance_attack(model, x, y, condition="top1", alpha=a, cv_map=cv, seed=0)
          for a in (0.0, 30.0)}
    size = {a: float((r.adv - x).abs().sum()) for a, r in l1.items()}
    assert size[30.0] < 0.8 * size[0.0]
    assert float(M.ssim(x, l1[30.0].adv).mean()) > float(M.ssim(x, l1[0.0].adv).mean())


def test_the_alpha_rule_chooses_the_smallest_weight_that_keeps_the_label_in_the_top5_of_the_protected(model, batch):
    import pandas as pd

    x, y = batch
    cv = A.color_variance_map(x)

    def run(a, xs, ys):
        return A.color_variance_attack(model, xs, ys, condition="top1", alpha=a, cv_map=cv, threshold=255.0, seed=0)

    sweep = A.alpha_sweep(run, x, y, [0.0, 30.0])
    assert list(sweep.index) == [0.0, 30.0] and list(sweep.columns) == ["protected", "SSIM", "top5_protected", "n_protected"]
    r = run(30.0, x, y)
    ok = r.success
    in5 = (r.probs.topk(5, dim=1).indices == y[:, None]).any(1)
    assert sweep.loc[30.0, "protected"] == pytest.approx(float(ok.float().mean()))
    assert sweep.loc[30.0, "n_protected"] == int(ok.sum())
    assert sweep.loc[30.0, "top5_protected"] == pytest.approx(float(in5[ok].float().mean()))
    assert sweep.loc[30.0, "SSIM"] > sweep.loc[0.0, "SSIM"]   # the L1 term keeps the images closer

    table = pd.DataFrame({"protected": [0.9, 0.8, 0.3, 0.1], "top5_protected": [0.9, 0.95, 1.0, 1.0],
                          "n_protected": [90, 80, 30, 10]}, index=pd.Index([0.0, 1.0, 3.0, 10.0], name="alpha"))
    assert A.choose_alpha(table)[0] == 3.0                     # 0 (noL1) is never a candidate
    assert A.choose_alpha(table, target=0.9)[0] == 1.0
    short = table.assign(top5_protected=[0.9, 0.95, 0.97, float("nan")])   # alpha 10 protected nothing
    a, why = A.choose_alpha(short)
    assert a == 3.0 and why.startswith("no alpha reaches 99%")
    with pytest.raises(ValueError, match="no alpha > 0 of the sweep protected any image"):
        A.choose_alpha(table.assign(top5_protected=float("nan")))


def algorithm1_with_torch_adam(model, img, label, condition, alpha, cv, T, lr, u, scale):
    """Algorithm 1 for one image, literally, with torch.optim.Adam: the reference for the batched code.
    v lives in units of ``scale`` (per channel: ImageNet's std for CV-PIRE's normalised units, 1 for pixels)."""
    pT = (cv * 50 / 255).expand_as(img)
    v = ((u * 0.02 - 0.01) * pT).clone().requires_grad_(True)
    opt = torch.optim.Adam([v], lr=lr)
    for t in range(T + 1):
        logits = model((img + v * scale).clamp(0, 1))
        if A.protection_condition(logits.detach(), label, condition).item() or t == T:
            adv = (img + v.detach() * scale).clamp(0, 1)
            return (torch.round(adv * 255) / 255 if t else adv), t
        loss = -F.cross_entropy(logits, label) + alpha * v.abs().sum() / pT.sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            v.copy_(torch.round(torch.maximum(torch.minimum(v, pT), -pT) * scale * 255) / 255 / scale)


@pytest.mark.parametrize("units", A.UNITS)
def test_batched_attack_equals_algorithm_1_with_torch_adam_per_sample(model, batch, units):
    x, y = batch[0][:6], batch[1][:6]
    cv = A.color_variance_map(x)
    r = A.color_variance_attack(model, x, y, condition="top5", alpha=3.0, cv_map=cv, iterations=40,
                                units=units, seed=7)
    u = ImageStreams(7, len(x)).uniform("start", *x.shape[1:])     # each image's own random start
    for i in range(6):
        adv, steps = algorithm1_with_torch_adam(model, x[i:i + 1], y[i:i + 1], "top5", 3.0, cv[i:i + 1], 40,
                                                0.05, u[i:i + 1], unit_scale(units))
        # one image at a time, the batched code is Algorithm 1 exactly
        alone = A.color_variance_attack(model, x[i:i + 1], y[i:i + 1], condition="top5", alpha=3.0, cv_map=cv[i:i + 1],
                                        iterations=40, units=units, seed=7, index=torch.tensor([i]))
        assert steps == int(alone.iterations[0]) == int(r.iterations[i])
        assert torch.equal(adv, alone.adv)
        # in the batch of six, the same steps and outcome; the images themselves need not match to the bit:
        # the model's batched kernels round differently (1e-7) and Adam's steps (about lr, whatever the
        # gradient's size) can turn that into whole steps on a pixel (here half the images differ somewhere)
        assert bool(alone.success[0]) == bool(r.success[i])


@pytest.mark.parametrize("units", A.UNITS)
def test_step_and_bound_are_in_the_chosen_units(model, batch, units):
    x, y = batch[0][:8] * 0.5 + 0.25, batch[1][:8]  # away from 0 and 1, where clamping would hide a move
    cv = A.color_variance_map(x)
    scale = unit_scale(units)
    # one Adam step of lr moves a coordinate by about lr units: lr * scale * 255 grey levels (12.75 for
    # pixels; 2.9, 2.9 and 2.9 for normalised R, G, B); a bound of m * cV / 255 keeps it off the map's peaks
    r = A.color_variance_attack(model, x, y, condition="top5", threshold=255.0, lr=0.05, iterations=1,
                                cv_map=cv, units=units, seed=0)
    stepped = r.iterations > 0
    assert stepped.sum() >= 4
    levels = ((r.adv - x).abs() * 255)[stepped]
    free = (cv[stepped] > 0.5).expand_as(levels)  # pT >= 0.5 units: the step is not clipped there
    for c in range(3):
        moved = levels[:, c][free[:, c]]
        assert abs(float(moved.median()) - 0.05 * float(scale[0, c, 0, 0]) * 255) <= 1.0, (units, c)
    # a huge step: every pixel ends on its bound, m * cV * scale grey levels (to one level of rounding)
    r = A.color_variance_attack(model, x, y, condition="top5", threshold=50.0, lr=1.0, iterations=1,
                                cv_map=cv, units=units, seed=0)
    stepped = r.iterations > 0
    levels = ((r.adv - x).abs() * 255)[stepped]
    torch.testing.assert_close(levels, (cv * 50.0 * scale).expand_as(x)[stepped], atol=1.01, rtol=0)
    with pytest.raises(ValueError, match="valid choices.*normalized"):
        A.color_variance_attack(model, x, y, units="8bit")


def test_attack_is_deterministic_and_checks_its_arguments(model, batch):
    x, y = batch[0][:8], batch[1][:8]
    a = A.color_variance_attack(model, x, y, condition="top1-50", seed=3)
    b = A.color_variance_attack(model, x, y, condition="top1-50", seed=3)
    assert torch.equal(a.adv, b.adv) and torch.equal(a.iterations, b.iterations)
    with pytest.raises(ValueError, match="valid choices"):
        A.color_variance_attack(model, x, y, condition="top-1")
    with pytest.raises(ValueError, match="cv_map"):
        A.color_variance_attack(model, x, y, cv_map=torch.ones(8, 3, 32, 32))
    with pytest.raises(ValueError, match="threshold"):
        A.color_variance_attack(model, x, y, threshold=0)
    with pytest.raises(ValueError, match="labels must lie"):
        A.color_variance_attack(model, x, torch.full_like(y, 99))
