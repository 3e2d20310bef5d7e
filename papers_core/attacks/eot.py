"""Expectation over Transformation, EOT (Athalye et al. 2018), as the RP-FGSM paper's Eq. 12 states
it, with Sec. V-B's transformations and settings."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .._validate import as_generator, check_choice, check_range
from .ensemble import check_ensemble_input, ensemble_labels
from .sign import paper_iterations, sign_gradient_attack

__all__ = ["EOT_TRANSFORMS", "eot", "eot_draw", "eot_transform"]


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


def eot(models, x: torch.Tensor, labels=None, *, targets=None, step: float = 1.0, eps: float = 16.0,
        iterations: int | None = None, lam: float = 0.5, generator=0, quantize: bool = True):
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

    models, num_classes = check_ensemble_input(models, x, step, eps, iterations)
    check_range(lam, "lam", lo=0)
    if x.shape[1] != 3 and lam > 0:
        raise ValueError(f"EOT's Lab term needs RGB images (3 channels), got {x.shape[1]}; pass lam=0.")
    g = as_generator(generator)
    per_model, target, _ = ensemble_labels(models, x, True, targets, g, num_classes)
    n_iter = int(iterations) if iterations is not None else paper_iterations(eps)
    draws = [eot_draw(g) for _ in range(n_iter)]
    x0 = x.detach()

    def grad_fn(n, x_adv):
        kind, params, seed = draws[n]
        xa = x_adv.detach().requires_grad_(True)
        with torch.enable_grad():
            z = eot_transform(xa, kind, params, seed)
            loss = sum(F.cross_entropy(m(z), y, reduction="sum") for m, y in zip(models, per_model))
            if lam > 0:
                ref = rgb_to_lab(eot_transform(x0, kind, params, seed))
                dist = ((rgb_to_lab(z) - ref).flatten(1).pow(2).sum(1) + 1e-12).sqrt()
                loss = loss + lam * dist.sum()
            (grad,) = torch.autograd.grad(loss, xa)
        return grad

    return sign_gradient_attack(models[0], x, per_model[0], targeted=True, step=step, iterations=n_iter,
                                eps=eps, quantize="step" if quantize else "none", target=target, gradient=grad_fn)
