"""The colour-variance attack of Sweere, Liu and Larson (MediaEval 2019), "Maintaining perceptual
faithfulness of adversarial image examples by leveraging color variance", Algorithm 1.

A pixel may change more where the colours around it vary more (a brick wall) than where they are flat
(a white wall, a blue sky). The colour-variance map ``cV`` measures that variation with CIEDE2000
(the CV-PIRE threshold map of Sweere 2019); the per-pixel bound is ``pT = m * cV``.

Algorithm 1, per image with label c0 (batched here, each sample stopping on its own)::

    pT = m * cV;  v = U(-0.01, 0.01) * pT;  t = 0
    while t < T:
        logits = f(clamp(img + v, 0, 1))
        if condition(logits): return img + v
        loss = -CE(logits, c0) + alpha * ||v||_1 / ||pT||_1
        v = optimizer step on loss                      (Adam, lr 0.05)
        v = round(clip(v, -pT, pT) * 255) / 255
        t = t + 1
    fail

Units. CV-PIRE, whose implementation the paper builds on, works on ImageNet-normalised tensors: v, the
Adam step and the bound pT = m * cV / 255 are in normalised units, so a pixel of channel c moves by
v * std_c (a step of 0.05 is about 2.9 grey levels, the bound at m = 50 about 11 levels where the map
is 1). ``units="normalized"`` (the default) follows it, rounding the pixel change to the 8-bit grid;
``units="pixel"`` applies v, the step and the bound to [0, 1] pixel values directly (one step of 0.05
is 12.75 levels).

Conditions: ``"top1"`` (c0 is not the top-1), ``"top5"`` (c0 is not among the top 5) and ``"top1-50"``
(c0 is not the top-1 and its probability is at most half the new top-1's: a 50 % relative margin).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .._validate import check_choice, check_images, check_range
from ..rng import image_streams
from ..metrics import ciede2000, rgb_to_lab
from ..progress import progress
from .base import check_attack_input, refuse_unused, true_labels
from .result import AttackResult
from .optim import MaskedAdam

__all__ = [
    "CONDITIONS",
    "IMAGENET_STD",
    "PAPER_RUNS",
    "UNITS",
    "alpha_sweep",
    "choose_alpha",
    "color_variance_map",
    "color_variance_attack",
    "protection_condition",
]

#: The protection conditions of Sec. 4.
CONDITIONS = ("top1", "top5", "top1-50")
#: Colour variances at or below this (CIEDE2000 units; 1 is about a just-noticeable difference) are
#: rounding noise of the colour conversion: CIEDE2000 of two equal colours can come out near 1e-10,
#: which normalisation would otherwise blow up to 1 on a flat image.
FLAT = 1e-6

#: The units of v, the Adam step and the bound (see the module's docstring).
UNITS = ("normalized", "pixel")
#: ImageNet's per-channel standard deviations, the scale of the normalised units.
IMAGENET_STD = (0.229, 0.224, 0.225)

#: The five submitted runs of Table 1: condition and whether the L1 term is on. ``alpha`` for the L1
#: runs is not stated in the paper; see :func:`color_variance_attack`.
PAPER_RUNS = {
    "Top1-L1": dict(condition="top1", l1=True),
    "Top1-L1-50": dict(condition="top1-50", l1=True),
    "Top1-noL1": dict(condition="top1", l1=False),
    "Top5-L1": dict(condition="top5", l1=True),
    "Top5-noL1": dict(condition="top5", l1=False),
}


def color_variance_map(x: torch.Tensor, window: int = 5, sigma: float = 1.0,
                       normalize: bool = True) -> torch.Tensor:
    """The colour-variance map cV of each image: float (N, 3, H, W) in [0, 1] to (N, 1, H, W).

    For each pixel p, the CIEDE2000 difference d_q to every neighbour q in the ``window`` x ``window``
    square around it (the centre and positions outside the image are skipped), weighted by the
    unnormalised Gaussian w_q = exp(-(dx^2 + dy^2) / (2 sigma^2)) / (2 pi sigma^2) before squaring:

        cV(p) = sqrt( sum_q (w_q d_q)^2 / (number of neighbours q) ),

    then divided by the image's maximum (``normalize``), so the map lies in [0, 1]; a flat image gives
    zeros. This is CV-PIRE's definition (Sweere 2019), vectorised: one CIEDE2000 evaluation per
    neighbour offset over the whole batch, no per-pixel loop. Runs on the input's device and dtype.
    """
    check_images(x)
    if x.shape[1] != 3:
        raise ValueError(f"the colour-variance map needs RGB images (3 channels), got {x.shape[1]}; "
                         "repeat a grey channel with x.repeat(1, 3, 1, 1).")
    check_range(window, "window", lo=3, hi=31, integer=True)
    if window % 2 == 0:
        raise ValueError(f"window must be odd (a square centred on the pixel), got {window}.")
    check_range(sigma, "sigma", lo=0, lo_open=True)
    r = int(window) // 2
    n, _, h, w = x.shape
    lab = rgb_to_lab(x)
    padded = F.pad(lab, (r, r, r, r))
    inside = F.pad(torch.ones(1, 1, h, w, dtype=x.dtype, device=x.device), (r, r, r, r))
    total = torch.zeros(n, h, w, dtype=x.dtype, device=x.device)
    count = torch.zeros(1, h, w, dtype=x.dtype, device=x.device)
    norm = 1.0 / (2.0 * math.pi * sigma ** 2)
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            if dy == 0 and dx == 0:
                continue
            sl = (..., slice(r + dy, r + dy + h), slice(r + dx, r + dx + w))
            valid = inside[sl][:, 0]
            wq = norm * math.exp(-(dx * dx + dy * dy) / (2.0 * sigma ** 2))
            d = ciede2000(lab, padded[sl], dim=1)
            total += (wq * d) ** 2 * valid
            count += valid
    cv = torch.sqrt(total / count).unsqueeze(1)
    cv = torch.where(cv > FLAT, cv, torch.zeros_like(cv))
    if normalize:
        peak = cv.amax(dim=(1, 2, 3), keepdim=True)
        cv = torch.where(peak > 0, cv / peak.clamp(min=torch.finfo(cv.dtype).tiny), torch.zeros_like(cv))
    return cv


def protection_condition(logits: torch.Tensor, labels: torch.Tensor, condition: str,
                         margin: float = 0.5) -> torch.Tensor:
    """Whether each sample meets ``condition`` (see :data:`CONDITIONS`): a boolean (N,) tensor.

    ``"top1-50"``: the label is not the top-1 and p(label) <= (1 - margin) * p(top-1), i.e. the new
    top-1 is ahead by at least ``margin`` of its own confidence (the paper's "50 percent relative
    difference in prediction confidence compared to the top1 label").
    """
    check_choice(condition, CONDITIONS, "protection condition")
    if condition == "top5":
        k = min(5, logits.shape[1])
        return (logits.topk(k, dim=1).indices != labels[:, None]).all(1)
    out = logits.argmax(1) != labels
    if condition == "top1-50":
        p = F.softmax(logits, dim=1)
        out &= p.gather(1, labels[:, None]).squeeze(1) <= (1.0 - margin) * p.amax(1)
    return out


def color_variance_attack(model, x: torch.Tensor, labels=None, *, targets=None, condition: str = "top1",
                          alpha: float = 1.0, threshold: float = 50.0, window: int = 5, sigma: float = 1.0,
                          iterations: int = 100, lr: float = 0.05, margin: float = 0.5,
                          cv_map: torch.Tensor | None = None, betas: tuple[float, float] = (0.9, 0.999),
                          adam_eps: float = 1e-8, units: str = "normalized", seed: int = 0,
                          index=None) -> AttackResult:
    """Algorithm 1 of Sweere et al., batched with a per-sample stop.

    ``threshold`` is the multiplier m (pT = cV * threshold / 255, in ``units``: with ``"pixel"`` a pixel
    where the map is 1 may move by ``threshold`` levels, with ``"normalized"``, CV-PIRE's units and the
    default, by ``threshold * std_c`` levels; see :data:`UNITS`); CV-PIRE's best run uses threshold 50 with ``window`` 5,
    ``sigma`` 1, ``iterations`` (T) 100 and Adam with ``lr`` 0.05. ``alpha`` weighs the L1 term
    ||v||_1 / ||pT||_1 (the norms run over all channels, so the ratio lies in [0, 1]); ``alpha=0`` gives
    the "noL1" runs. The paper does not state alpha: 1 is this library's default.

    The optimiser is Adam, written out here so that a finished sample's state stays frozen while the
    rest of the batch goes on; for each sample it equals ``torch.optim.Adam`` on that sample alone
    (tested). The random start is each image's own draw from ``seed`` (``index``: the images' positions
    in the whole set, :mod:`papers_core.rng`). ``window`` and ``sigma`` make the colour-variance map
    (refused when ``cv_map`` gives it); ``margin`` is the ``"top1-50"`` condition's (refused with the
    others).

    Returns an :class:`AttackResult` whose ``adv`` is clamp(img + v, 0, 1), rounded to the 8-bit grid
    (except for a sample that meets the condition at the random start, returned as drawn);
    ``iterations`` counts optimiser steps (a sample that never meets the condition returns its last
    iterate after ``iterations`` steps), ``success`` is the condition evaluated on ``adv``, ``target`` -1.
    """
    n_classes = check_attack_input(model, x)
    if targets is not None:
        raise ValueError("the colour-variance attack is untargeted (it moves the label out of the top-1 "
                         "or top-5): drop targets=.")
    check_choice(condition, CONDITIONS, "protection condition")
    check_choice(units, UNITS, "units")
    check_range(alpha, "alpha", lo=0)
    check_range(threshold, "threshold (8-bit units)", lo=0, hi=255, lo_open=True)
    check_range(iterations, "iterations", lo=1, hi=100_000, integer=True)
    check_range(lr, "lr", lo=0, lo_open=True)
    check_range(margin, "margin", lo=0, hi=1)
    if condition != "top1-50":
        refuse_unused("the colour-variance attack", "margin is the top1-50 condition's", margin=(margin, 0.5))
    if cv_map is not None:
        refuse_unused("the colour-variance attack", "they make the colour-variance map, and cv_map= gives it",
                      window=(window, 5), sigma=(sigma, 1.0))
    labels = true_labels(model, x, labels, n_classes)
    if cv_map is None:
        cv_map = color_variance_map(x, window=window, sigma=sigma)
    elif not isinstance(cv_map, torch.Tensor) or cv_map.shape != (x.shape[0], 1, *x.shape[2:]):
        raise ValueError(f"cv_map must be a (N, 1, H, W) tensor matching the images "
                         f"{(x.shape[0], 1, *x.shape[2:])}, got "
                         f"{tuple(cv_map.shape) if isinstance(cv_map, torch.Tensor) else type(cv_map).__name__}.")
    streams = image_streams(x, seed, index)
    x = x.detach()
    std = (torch.tensor(IMAGENET_STD, dtype=x.dtype, device=x.device) if units == "normalized"
           else torch.ones(3, dtype=x.dtype, device=x.device)).view(1, 3, 1, 1)
    pT = (cv_map.to(x) * (threshold / 255.0)).expand_as(x).contiguous()
    pT_l1 = pT.flatten(1).sum(1).clamp(min=torch.finfo(x.dtype).tiny)
    u = streams.uniform("start", *x.shape[1:], dtype=x.dtype)
    v = (u * 0.02 - 0.01) * pT
    adam = MaskedAdam(x, lr, betas, adam_eps)
    steps = torch.zeros(x.shape[0], dtype=torch.long, device=x.device)
    active = torch.arange(x.shape[0], device=x.device)
    for t in progress(range(int(iterations) + 1), desc="colour-variance steps"):  # checks at t = 0..T; steps at t = 0..T-1
        va = v[active].requires_grad_(True)
        with torch.enable_grad():
            logits = model((x[active] + va * std).clamp(0.0, 1.0))
            keep = ~protection_condition(logits.detach(), labels[active], condition, margin)
            if t == iterations or not keep.any():
                break
            ce = F.cross_entropy(logits, labels[active], reduction="none")
            l1 = va.abs().flatten(1).sum(1) / pT_l1[active]
            (grad,) = torch.autograd.grad((-ce + alpha * l1).sum(), va)
        active, grad = active[keep], grad[keep]
        step = t + 1  # every active sample has taken the same number of steps
        vn = v[active] - adam.delta(active, grad, step)
        lim = pT[active]
        # the pixel change rounded to the 8-bit grid, kept in v's units
        v[active] = torch.round(torch.maximum(torch.minimum(vn, lim), -lim) * std * 255.0) / 255.0 / std
        steps[active] += 1
    adv = (x + v * std).clamp(0.0, 1.0)
    stepped = steps > 0  # x + v is on the 8-bit grid up to float error: snap it
    adv[stepped] = torch.round(adv[stepped] * 255.0) / 255.0
    with torch.no_grad():
        logits = model(adv)
    return AttackResult.from_logits(adv, logits, labels, targeted=False, iterations=steps,  # judged on adv
                                    success=protection_condition(logits, labels, condition, margin))


def alpha_sweep(run, x: torch.Tensor, labels: torch.Tensor, alphas, k: int = 5):
    """Top1-L1 over the L1 weights ``alphas`` on ``(x, labels)``: ``run(alpha, x, labels)`` returns the
    :class:`AttackResult` of the Top1-L1 attack at that weight (the page's batching and settings).

    One row per alpha (a pandas DataFrame indexed by alpha): ``protected``, the share of images that met
    the condition; ``SSIM``, the mean SSIM of all images against the originals; ``top5_protected``, the
    share of the *protected* images whose label stays in the top ``k`` (an image the attack gave up on
    still has its label at the top, so counting it would reward failing); ``n_protected``."""
    import pandas as pd

    from ..metrics import ssim

    rows = {}
    for a in alphas:
        r = run(float(a), x, labels)
        ok = r.success.cpu()
        in_top = (r.probs.topk(min(k, r.probs.shape[1]), dim=1).indices.cpu() == labels.cpu()[:, None]).any(1)
        rows[float(a)] = dict(protected=float(ok.float().mean()) if len(ok) else float("nan"),
                              SSIM=float(ssim(x, r.adv).mean()) if len(ok) else float("nan"),
                              top5_protected=float(in_top[ok].float().mean()) if ok.any() else float("nan"),
                              n_protected=int(ok.sum()))
    df = pd.DataFrame(rows).T
    df.index.name = "alpha"
    return df.astype({"n_protected": int})


def choose_alpha(sweep, target: float = 0.99) -> tuple[float, str]:
    """The colour-variance page's rule for the L1 weight, applied to an :func:`alpha_sweep` table: the
    smallest alpha > 0 whose Top1-L1 keeps the label in the top 5 of at least ``target`` of the images it
    protects (the paper's Top1-L1 reaches 0.99 with every image protected). When no alpha reaches it, the
    one with the highest such share (the smallest among ties). Returns ``(alpha, why)``."""
    check_range(target, "target", lo=0, hi=1)
    rows = sweep[(sweep.index > 0) & sweep["top5_protected"].notna()]
    if rows.empty:
        raise ValueError("no alpha > 0 of the sweep protected any image: the rule has nothing to choose from "
                         "(use more tuning images or a larger grid of alphas).")
    ok = rows[rows["top5_protected"] >= target]
    if not ok.empty:
        a = float(ok.index.min())
        return a, (f"the smallest alpha whose protected images keep their label in the top 5 at least "
                   f"{target:.0%} of the time ({rows.loc[a, 'top5_protected']:.3f} of {rows.loc[a, 'n_protected']})")
    best = rows["top5_protected"].max()
    a = float(rows.index[rows["top5_protected"] == best].min())
    return a, (f"no alpha reaches {target:.0%}: the one with the highest share ({best:.3f} of "
               f"{rows.loc[a, 'n_protected']} protected images)")
