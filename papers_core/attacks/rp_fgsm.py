"""Robust Private FGSM and the multi-classifier FGSM family it is compared with (Sanchez-Matilla et
al., "Exploiting vulnerabilities of deep neural networks for privacy protection", IEEE TMM 2020).

Settings of Sec. V-B, shared by every attack here: step ``delta`` = 1 grey level, L-inf budget
``eps`` = 16 grey levels (the clipping of Eq. 11), ``N = min(1.25 eps, eps + 4)`` iterations per
classifier (:func:`paper_iterations`), the image rounded to the 8-bit grid after every step (as the
official code does). There is no early stop: every attack makes the same number of forward and backward
passes, ``K * N`` with K classifiers.

- :func:`rp_fgsm` (Eqs. 14-17): at each iteration one classifier and one defense transformation
  (identity, re-quantisation, median, JPEG; differentiable forms) drawn at random; targeted towards a
  class drawn from the intersection of the classifiers' Eq. 17 sets, or untargeted away from each
  classifier's own prediction.
- :func:`e_fgsm` (Eq. 13): the summed gradient of all classifiers at every iteration.
- :func:`di_fgsm`: the summed gradient on a randomly resized and padded input (probability 0.5).
- :func:`eot`: Expectation over Transformation (Eq. 12), a random 2D transformation per iteration and
  a Lab-space similarity term.

Batches share one schedule: at iteration n every image uses the same classifier and transformation.
The official code resets its random seed to 0 for every image, so its images share one schedule too.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .._validate import as_generator, check_choice, check_images, check_labels, check_range
from ..defenses import Defense, paper_defenses
from ..progress import progress
from .fgsm import (AttackResult, _check_model, _num_classes, _project, _budget_box, predict_proba,
                   private_target_mask, random_target_mask, sample_targets)

__all__ = ["paper_iterations", "rp_target_mask", "schedule", "rp_fgsm", "e_fgsm", "di_fgsm", "eot",
           "eot_draw", "eot_transform", "EOT_TRANSFORMS", "RP_DEFENSE_TYPES", "SCHEDULES", "CLASSIFIER_CHOICES",
           "fgsm_variant", "FGSM_VARIANTS"]

#: How the per-iteration choices are drawn: independently ("random", the paper) or stratified, each
#: option about equally often ("stratified", the official code).
SCHEDULES = ("random", "stratified")

#: How RP-FGSM uses its classifiers: one drawn per iteration (the paper) or all summed (the ablation).
CLASSIFIER_CHOICES = ("random", "ensemble")

#: RP-FGSM's transformation types, each drawn with equal probability, then a parameter of its set.
RP_DEFENSE_TYPES = ("none", "requantize", "median", "jpeg")


def paper_iterations(eps: float) -> int:
    """Kurakin et al.'s iteration count used in Sec. V-B: ``int(min(1.25 eps, eps + 4))`` (20 for 16)."""
    check_range(eps, "eps (8-bit units)", lo=0, hi=255, lo_open=True)
    return max(int(min(1.25 * eps, eps + 4)), 1)


def rp_target_mask(probs: list[torch.Tensor], gamma: float = 0.99) -> torch.Tensor:
    """Eq. 17: the candidate targets, the intersection over classifiers of the classes that come after
    the cumulative probability passes ``gamma`` (the crossing class excluded), as an (N, D) mask.

    Our choice where the intersection is empty (the paper does not cover it): every class that is no
    classifier's top-1; if that is empty too, the class with the smallest mean probability."""
    if not probs:
        raise ValueError("rp_target_mask needs the probability vectors of at least one classifier.")
    shape = probs[0].shape
    if any(p.shape != shape for p in probs):
        raise ValueError(f"every classifier's probabilities must have the same shape, got {[tuple(p.shape) for p in probs]}.")
    mask = torch.stack([private_target_mask(p, gamma) for p in probs]).all(0)
    empty = ~mask.any(1)
    if empty.any():
        fallback = torch.stack([random_target_mask(p) for p in probs]).all(0)
        least = torch.zeros_like(fallback).scatter(1, torch.stack(probs).mean(0).argmin(1, keepdim=True), True)
        fallback = torch.where(fallback.any(1, keepdim=True), fallback, least)
        mask[empty] = fallback[empty]
    return mask


def schedule(n: int, options: int, kind: str = "random", generator=0) -> torch.Tensor:
    """``n`` choices among ``options``: i.i.d. uniform ("random"), or each option ``n // options``
    times plus a remainder drawn without replacement, shuffled ("stratified", the official code)."""
    check_range(n, "n", lo=1, integer=True)
    check_range(options, "options", lo=1, integer=True)
    check_choice(kind, SCHEDULES, "schedule")
    g = as_generator(generator)
    if kind == "random":
        return torch.randint(int(options), (int(n),), generator=g)
    base = torch.arange(int(options)).repeat(int(n) // int(options))
    rest = torch.randperm(int(options), generator=g)[: int(n) % int(options)]
    full = torch.cat([base, rest])
    return full[torch.randperm(len(full), generator=g)]


def _check_models(models, x):
    models = list(models) if isinstance(models, (list, tuple)) else [models]
    if not models:
        raise ValueError("give at least one classifier.")
    for m in models:
        _check_model(m)
    sizes = {_num_classes(m, x) for m in models}
    if len(sizes) != 1:
        raise ValueError(f"the classifiers disagree on the number of classes: {sorted(sizes)}.")
    return models, sizes.pop()


def _loss_grad(models, x, labels, transform=None) -> torch.Tensor:
    """Gradient with respect to ``x`` of the summed cross-entropy of every (model, labels) pair on
    ``transform(x)``; the transformation is differentiated through."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        z = transform(x) if transform is not None else x
        loss = sum(F.cross_entropy(m(z), y, reduction="sum") for m, y in zip(models, labels))
        (grad,) = torch.autograd.grad(loss, x)
    return grad


def _labels(models, x, targeted, targets, generator, num_classes, gamma=None, labels=None):
    """Targets (one per image, shared by the classifiers) or each classifier's own predictions (or the
    given untargeted ``labels``, shared by the classifiers)."""
    if labels is not None:
        if targeted:
            raise ValueError("labels are for untargeted attacks; a targeted attack takes targets.")
        labels = check_labels(labels, len(x), num_classes).to(x.device)
        return [labels] * len(models), torch.full((len(x),), -1, dtype=torch.long, device=x.device), None
    probs = [predict_proba(m, x) for m in models]
    if not targeted:
        return [p.argmax(1) for p in probs], torch.full((len(x),), -1, dtype=torch.long, device=x.device), probs
    if targets is None:
        mask = rp_target_mask(probs, gamma) if gamma is not None else \
            torch.stack([random_target_mask(p) for p in probs]).all(0)
        if not mask.any(1).all():  # K classifiers predicting K different classes in a 2-class task
            mask = torch.ones_like(mask)
        targets = sample_targets(mask, generator)
    targets = check_labels(targets, len(x), num_classes, "targets").to(x.device)
    return [targets] * len(models), targets, probs


def _run(models, x, labels, targets, targeted, *, step, eps, iterations, grad_fn, quantize_step=True):
    lo, hi = _budget_box(x, eps, on_grid=quantize_step)
    x_adv = x.detach().clone()
    sign = -1.0 if targeted else 1.0
    for n in progress(range(int(iterations)), desc="iterations"):
        grad = grad_fn(n, x_adv)
        x_adv = _project(x_adv + sign * (step / 255.0) * grad.sign(), lo, hi, round_to_grid=quantize_step)
    x_adv = x_adv.detach()

    def evaluate():  # on the first classifier, when first read
        with torch.no_grad():
            probs = F.softmax(models[0](x_adv), dim=1)
        pred = probs.argmax(1)
        return (pred == targets if targeted else pred != labels[0]), pred, probs

    its = torch.full((len(x),), int(iterations), dtype=torch.long, device=x.device)
    return AttackResult(x_adv, targets, iterations=its, evaluate=evaluate)


def _check_settings(x, step, eps, iterations):
    check_images(x)
    check_range(step, "step (8-bit units)", lo=0, hi=255, lo_open=True)
    check_range(eps, "eps (8-bit units)", lo=0, hi=255, lo_open=True)
    if iterations is not None:
        check_range(iterations, "iterations", lo=1, hi=100_000, integer=True)


def rp_fgsm(models, x: torch.Tensor, *, targeted: bool = True, gamma: float = 0.99,
            targets: torch.Tensor | None = None, step: float = 1.0, eps: float = 16.0,
            iterations: int | None = None, defenses: list[Defense] | None = None, schedule_kind: str = "random",
            classifiers: str = "random", generator=0) -> AttackResult:
    """Robust Private FGSM (Eqs. 14-17).

    ``models``: the K classifiers (one model or a list). ``iterations`` defaults to
    ``K * paper_iterations(eps)``. At iteration n a classifier ``M_r`` and a transformation ``phi_r`` are
    drawn (``schedule_kind``: "random" as the paper says, or "stratified" as the official code does);
    the transformation type is uniform over {none, re-quantisation, median, JPEG} and its parameter
    uniform over the paper's set (``defenses``, default :func:`papers_core.defenses.paper_defenses`).
    The step is ``-+ step * sign(grad_x J_{M_r}(phi_r(x_n), y))`` through the differentiable form of
    ``phi_r``, then the image is clipped to the ``eps`` ball and rounded to 8 bits. Targeted: ``y`` is a
    class drawn from Eq. 17's set with threshold ``gamma`` (or ``targets``); untargeted: ``y`` is
    ``M_r``'s prediction on the clean image. ``probs``, ``prediction`` and ``success`` refer to the first
    classifier.

    ``classifiers="ensemble"`` is the ablation of Sec. V-E (Tables V-VII): every iteration sums the
    gradients of all K classifiers on the same transformed image (Eq. 13 with RP-FGSM's
    transformations), and ``iterations`` defaults to ``paper_iterations(eps)``, the same number of
    forward and backward passes as the random choice makes. ``defenses=[]`` removes the
    transformations (the identity at every iteration). ``result.plan`` lists each iteration's
    (classifier index, or -1 for all, and transformation).
    """
    _check_settings(x, step, eps, iterations)
    models, num_classes = _check_models(models, x)
    check_range(gamma, "gamma", lo=0, hi=1)
    check_choice(schedule_kind, SCHEDULES, "schedule")
    check_choice(classifiers, CLASSIFIER_CHOICES, "classifiers")
    defenses = paper_defenses() if defenses is None else list(defenses)
    if not all(isinstance(d, Defense) for d in defenses):
        raise ValueError("defenses must be a list of papers_core.defenses.Defense objects.")
    g = as_generator(generator)
    labels, targets, _ = _labels(models, x, targeted, targets, g, num_classes, gamma)
    K = len(models)
    ensemble = classifiers == "ensemble"
    n_iter = int(iterations) if iterations is not None else (1 if ensemble else K) * paper_iterations(eps)
    types = ["none"] + [t for t in RP_DEFENSE_TYPES[1:] if any(d.name == t for d in defenses)]
    by_type = {t: [d for d in defenses if d.name == t] for t in types[1:]}
    which_model = schedule(n_iter, K, schedule_kind, g)
    which_type = schedule(n_iter, len(types), schedule_kind, g)
    which_param = torch.rand(n_iter, generator=g)
    plan = []
    for n in range(n_iter):
        t = types[int(which_type[n])]
        d = None if t == "none" else by_type[t][min(int(which_param[n] * len(by_type[t])), len(by_type[t]) - 1)]
        plan.append((-1 if ensemble else int(which_model[n]), d))

    def grad_fn(n, x_adv):
        k, d = plan[n]
        transform = (lambda z: d(z, differentiable=True)) if d is not None else None
        if k < 0:
            return _loss_grad(models, x_adv, labels, transform)
        return _loss_grad([models[k]], x_adv, [labels[k]], transform)

    result = _run(models, x, labels, targets, targeted, step=step, eps=eps, iterations=n_iter, grad_fn=grad_fn)
    result.plan = [(k, d.label if d is not None else "none") for k, d in plan]
    return result


def e_fgsm(models, x: torch.Tensor, *, targeted: bool = True, targets: torch.Tensor | None = None,
           labels: torch.Tensor | None = None, step: float = 1.0, eps: float = 16.0, iterations: int | None = None, generator=0) -> AttackResult:
    """Ensemble FGSM (Eq. 13): every iteration steps along the sign of the summed gradient of all
    classifiers. Targeted towards a class drawn uniformly from the classes that are no classifier's
    prediction (or ``targets``); untargeted away from each classifier's own prediction (or from
    ``labels``, shared by the classifiers). ``iterations`` defaults to ``paper_iterations(eps)``."""
    _check_settings(x, step, eps, iterations)
    models, num_classes = _check_models(models, x)
    labels, targets, _ = _labels(models, x, targeted, targets, as_generator(generator), num_classes,
                                 labels=labels)
    n_iter = int(iterations) if iterations is not None else paper_iterations(eps)
    return _run(models, x, labels, targets, targeted, step=step, eps=eps, iterations=n_iter,
                grad_fn=lambda n, x_adv: _loss_grad(models, x_adv, labels))


#: Sec. V-B's single-classifier FGSM attacks and how each chooses its class.
FGSM_VARIANTS = {"U-FGSM": "untargeted, away from the predicted class",
                 "R-FGSM": "targeted, a class drawn uniformly from all but the predicted one",
                 "L-FGSM": "targeted, the least likely class",
                 "P-FGSM": "targeted, a class drawn from Eq. 17's set (gamma 0.99)"}


def fgsm_variant(model, x: torch.Tensor, variant: str, *, step: float = 1.0, eps: float = 16.0,
                 iterations: int | None = None, gamma: float = 0.99, generator=0) -> AttackResult:
    """U-, R-, L- or P-FGSM in the RP-FGSM paper's setting (Sec. V-B), which differs from the P-FGSM
    paper's: step ``delta`` = 1 grey level, L-inf ball ``eps`` = 16, exactly ``paper_iterations(eps)``
    iterations (no early stop), the image rounded to 8 bits after every step. The class of each
    variant is in :data:`FGSM_VARIANTS`; all four are :func:`e_fgsm` with one classifier."""
    check_choice(variant, FGSM_VARIANTS, "FGSM variant")
    _check_settings(x, step, eps, iterations)
    models, num_classes = _check_models(model, x)
    if len(models) != 1:
        raise ValueError(f"{variant} attacks one classifier; use e_fgsm or rp_fgsm for several.")
    g = as_generator(generator)
    common = dict(step=step, eps=eps, iterations=iterations)
    if variant == "U-FGSM":
        return e_fgsm(models, x, targeted=False, **common)
    probs = predict_proba(models[0], x)
    if variant == "L-FGSM":
        targets = probs.argmin(1)
    else:
        mask = random_target_mask(probs) if variant == "R-FGSM" else rp_target_mask([probs], gamma)
        targets = sample_targets(mask, g)
    return e_fgsm(models, x, targets=targets, **common)


def _resize_pad(x: torch.Tensor, r: int, top: int, left: int) -> torch.Tensor:
    """Resize to r x r (nearest, as DI-FGSM) and zero-pad back to the input size at (top, left)."""
    H, W = x.shape[-2:]
    small = F.interpolate(x, size=(r, r), mode="nearest")
    return F.pad(small, (left, W - r - left, top, H - r - top))


def di_fgsm(models, x: torch.Tensor, *, targeted: bool = False, targets: torch.Tensor | None = None,
            labels: torch.Tensor | None = None, step: float = 1.0, eps: float = 16.0, iterations: int | None = None, p: float = 0.5,
            min_size: int | None = None, generator=0, quantize: bool = True) -> AttackResult:
    """Diverse-input FGSM (Xie et al. 2019) with the ensemble gradient of Eq. 13.

    At each iteration, with probability ``p``, the input is resized to ``r x r`` with ``r`` uniform in
    ``[min_size, H]`` and zero-padded back to ``H x W`` at a uniform random position (one draw for the
    batch, as the original code does); the gradient is taken through that transformation. The paper's
    range [200, 224] at 224 pixels is scaled to the input: ``min_size`` defaults to
    ``round(200 / 224 * H)``. Targets and labels as :func:`e_fgsm`. The image is rounded to the 8-bit
    grid after every step (Sec. V-B); ``quantize=False`` keeps it continuous."""
    _check_settings(x, step, eps, iterations)
    models, num_classes = _check_models(models, x)
    check_range(p, "p", lo=0, hi=1)
    H, W = x.shape[-2:]
    if H != W:
        raise ValueError(f"DI-FGSM's resize-and-pad takes square images, got {H}x{W}.")
    lo_size = int(round(200 / 224 * H)) if min_size is None else int(min_size)
    check_range(lo_size, "min_size", lo=1, hi=H, integer=True)
    g = as_generator(generator)
    labels, targets, _ = _labels(models, x, targeted, targets, g, num_classes, labels=labels)
    n_iter = int(iterations) if iterations is not None else paper_iterations(eps)
    draws = []
    for _ in range(n_iter):
        apply = float(torch.rand(1, generator=g)) < p
        r = int(torch.randint(lo_size, H + 1, (1,), generator=g))
        top = int(torch.randint(0, H - r + 1, (1,), generator=g))
        left = int(torch.randint(0, W - r + 1, (1,), generator=g))
        draws.append((apply, r, top, left))

    def grad_fn(n, x_adv):
        apply, r, top, left = draws[n]
        transform = (lambda z: _resize_pad(z, r, top, left)) if apply else None
        return _loss_grad(models, x_adv, labels, transform)

    return _run(models, x, labels, targets, targeted, step=step, eps=eps, iterations=n_iter, grad_fn=grad_fn,
                quantize_step=bool(quantize))


#: EOT's 2D transformations (Sec. V-B), each drawn with equal probability at every iteration.
EOT_TRANSFORMS = ("scale", "translate", "rotate", "lighten", "darken", "noise")


def _affine(x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    grid = F.affine_grid(theta.to(x).expand(x.shape[0], 2, 3), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def eot_draw(generator) -> tuple[str, tuple[float, ...], int]:
    """One of EOT's transformations with its parameters, drawn from Sec. V-B's intervals: scaling by
    0.8-1.2, translation by -0.2 to 0.2 times the width (x and y drawn apart), rotation by -60 to 60
    degrees, lightening or darkening by 0-13 grey levels, Gaussian noise of variance 25 grey levels
    squared (a seed for the noise is drawn, so that the clean and the adversarial image get the same)."""
    g = as_generator(generator)
    u = torch.rand(3, generator=g).tolist()
    kind = EOT_TRANSFORMS[min(int(u[0] * len(EOT_TRANSFORMS)), len(EOT_TRANSFORMS) - 1)]
    params = {"scale": (0.8 + 0.4 * u[1],), "translate": (-0.2 + 0.4 * u[1], -0.2 + 0.4 * u[2]),
              "rotate": (-60.0 + 120.0 * u[1],), "lighten": (13.0 * u[1],), "darken": (13.0 * u[1],),
              "noise": (5.0,)}[kind]
    return kind, params, int(torch.randint(0, 2 ** 31 - 1, (1,), generator=g))


def eot_transform(x: torch.Tensor, kind: str, params: tuple[float, ...], seed: int = 0) -> torch.Tensor:
    """Apply one EOT transformation, differentiably: geometric ones resample bilinearly about the image
    centre with zero padding; intensity ones add grey levels and clip to [0, 1]."""
    check_choice(kind, EOT_TRANSFORMS, "EOT transformation")
    if kind == "scale":
        s = params[0]
        return _affine(x, torch.tensor([[1.0 / s, 0.0, 0.0], [0.0, 1.0 / s, 0.0]]))
    if kind == "translate":
        tx, ty = params  # fractions of the width; normalised coordinates span 2
        return _affine(x, torch.tensor([[1.0, 0.0, -2.0 * tx], [0.0, 1.0, -2.0 * ty]]))
    if kind == "rotate":
        a = math.radians(params[0])
        return _affine(x, torch.tensor([[math.cos(a), -math.sin(a), 0.0], [math.sin(a), math.cos(a), 0.0]]))
    if kind in ("lighten", "darken"):
        return (x + (1.0 if kind == "lighten" else -1.0) * params[0] / 255.0).clamp(0.0, 1.0)
    noise = torch.randn(x.shape[1:], generator=torch.Generator().manual_seed(seed)).to(x)
    return (x + noise * params[0] / 255.0).clamp(0.0, 1.0)


def eot(models, x: torch.Tensor, *, targets: torch.Tensor | None = None, step: float = 1.0,
        eps: float = 16.0, iterations: int | None = None, lam: float = 0.5, generator=0,
        quantize: bool = True) -> AttackResult:
    """Expectation over Transformation (Athalye et al. 2018) as Sec. IV-A's Eq. 12 states it: at each
    iteration one transformation ``phi`` of :data:`EOT_TRANSFORMS` is drawn (:func:`eot_draw`, one draw
    for the batch) and the image steps against the sign of the gradient of

        J(phi(x_n), y_t) + lam * || Lab(phi(x_n)) - Lab(phi(x)) ||_2

    (the second ``phi(x_n)`` of Eq. 12 read as ``phi(x)``, the transformed original: otherwise the
    term is zero), then is clipped to the ``eps`` ball and rounded to 8 bits. Targeted, towards a class
    drawn uniformly from every class but the prediction (or ``targets``); with several classifiers
    the losses are summed. ``iterations`` defaults to ``paper_iterations(eps)``; ``lam`` 0.5 (Sec. V-B).
    """
    from ..metrics import rgb_to_lab

    _check_settings(x, step, eps, iterations)
    models, num_classes = _check_models(models, x)
    check_range(lam, "lam", lo=0)
    if x.shape[1] != 3 and lam > 0:
        raise ValueError(f"EOT's Lab term needs RGB images (3 channels), got {x.shape[1]}; pass lam=0.")
    g = as_generator(generator)
    labels, targets, _ = _labels(models, x, True, targets, g, num_classes)
    n_iter = int(iterations) if iterations is not None else paper_iterations(eps)
    draws = [eot_draw(g) for _ in range(n_iter)]
    x0 = x.detach()

    def grad_fn(n, x_adv):
        kind, params, seed = draws[n]
        xa = x_adv.detach().requires_grad_(True)
        with torch.enable_grad():
            z = eot_transform(xa, kind, params, seed)
            loss = sum(F.cross_entropy(m(z), y, reduction="sum") for m, y in zip(models, labels))
            if lam > 0:
                ref = rgb_to_lab(eot_transform(x0, kind, params, seed))
                dist = ((rgb_to_lab(z) - ref).flatten(1).pow(2).sum(1) + 1e-12).sqrt()
                loss = loss + lam * dist.sum()
            (grad,) = torch.autograd.grad(loss, xa)
        return grad

    return _run(models, x, labels, targets, True, step=step, eps=eps, iterations=n_iter, grad_fn=grad_fn,
                quantize_step=bool(quantize))
