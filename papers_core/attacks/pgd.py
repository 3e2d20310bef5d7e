"""BIM (Kurakin et al. 2017) and L-inf PGD (Madry et al. 2018) on the signed-gradient engine."""
from __future__ import annotations

import torch

from ..rng import image_streams
from .base import refuse_unused
from .fgsm import checked_iterative

__all__ = ["bim", "pgd"]


def bim(model, x: torch.Tensor, labels=None, *, targets=None, eps: float = 8.0, step: float = 2.0, iterations: int = 10,
        quantize: str = "none"):
    """The basic iterative method, I-FGSM (Kurakin et al. 2017): ``iterations`` untargeted steps of
    ``step``/255 along the gradient sign, each followed by clipping to [0, 1] and the L-inf ball of
    ``eps``/255 (8-bit units, as everywhere here). No early stop; no rounding unless ``quantize`` says.
    With ``targets``, the steps go against the gradient at the targets (targeted BIM)."""
    return checked_iterative(model, x, labels, targets, "BIM", step=step, iterations=iterations, threshold=None,
                             eps=eps, quantize=quantize)


def pgd(model, x: torch.Tensor, labels=None, *, targets=None, eps: float = 8.0, step: float = 2.0, iterations: int = 10,
        random_start: bool = True, seed: int = 0, index=None, quantize: str = "none"):
    """L-inf PGD (Madry et al. 2018): :func:`bim` from a uniform random point of the ``eps`` ball
    (clipped to [0, 1]) when ``random_start``, each image's from its own stream of ``seed`` (``index``:
    the images' positions in the whole set, :mod:`papers_core.rng`); without it, PGD is BIM (and
    ``seed`` and ``index`` are refused: nothing is drawn)."""
    if not random_start:
        refuse_unused("PGD", "they draw the random start, and random_start=False has none",
                      seed=(seed, 0), index=(index, None))

    def start():
        noise = image_streams(x, seed, index).uniform("start", *x.shape[1:], dtype=x.dtype) * 2.0 - 1.0
        return (x + noise * (eps / 255.0)).clamp(0.0, 1.0)

    return checked_iterative(model, x, labels, targets, "PGD", step=step, iterations=iterations, threshold=None,
                             eps=eps, quantize=quantize, start=start if random_start else None)
