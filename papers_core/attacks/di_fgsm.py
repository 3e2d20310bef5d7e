"""Diverse-input FGSM, DI-FGSM (Xie et al. 2019), with the ensemble gradient of Eq. 13 (the RP-FGSM
paper's Sec. V-B settings: step 1, eps 16, :func:`papers_core.attacks.paper_iterations` iterations)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .._validate import as_generator, check_range
from .base import input_gradient
from .ensemble import check_ensemble_input, ensemble_labels
from .sign import paper_iterations, sign_gradient_attack

__all__ = ["di_fgsm"]


def _resize_pad(x: torch.Tensor, r: int, top: int, left: int) -> torch.Tensor:
    """Resize to r x r (nearest, as DI-FGSM) and zero-pad back to the input size at (top, left)."""
    H, W = x.shape[-2:]
    small = F.interpolate(x, size=(r, r), mode="nearest")
    return F.pad(small, (left, W - r - left, top, H - r - top))


def di_fgsm(models, x: torch.Tensor, labels=None, *, targets=None, targeted: bool = False, step: float = 1.0,
            eps: float = 16.0, iterations: int | None = None, p: float = 0.5, min_size: int | None = None,
            generator=0, quantize: bool = True):
    """Diverse-input FGSM (Xie et al. 2019) with the ensemble gradient of Eq. 13.

    At each iteration, with probability ``p``, the input is resized to ``r x r`` with ``r`` uniform in
    ``[min_size, H]`` and zero-padded back to ``H x W`` at a uniform random position (one draw for the
    batch, as the original code does); the gradient is taken through that transformation. The paper's
    range [200, 224] at 224 pixels is scaled to the input: ``min_size`` defaults to
    ``round(200 / 224 * H)``. Targets and labels as :func:`e_fgsm`. The image is rounded to the 8-bit
    grid after every step (Sec. V-B); ``quantize=False`` keeps it continuous."""
    models, num_classes = check_ensemble_input(models, x, step, eps, iterations)
    check_range(p, "p", lo=0, hi=1)
    targeted = targeted or targets is not None
    H, W = x.shape[-2:]
    if H != W:
        raise ValueError(f"DI-FGSM's resize-and-pad takes square images, got {H}x{W}.")
    lo_size = int(round(200 / 224 * H)) if min_size is None else int(min_size)
    check_range(lo_size, "min_size", lo=1, hi=H, integer=True)
    g = as_generator(generator)
    per_model, target, _ = ensemble_labels(models, x, targeted, targets, g, num_classes, labels=labels)
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
        return input_gradient(models, x_adv, per_model, transform)[1]

    return sign_gradient_attack(models[0], x, per_model[0], targeted=targeted, step=step, iterations=n_iter,
                                eps=eps, quantize="step" if quantize else "none", target=target, gradient=grad_fn)
