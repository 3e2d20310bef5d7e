"""FGSM and the iterative FGSM (Li et al. 2019's N-FGSM; Kurakin et al.'s I-FGSM), untargeted and
targeted, on the signed-gradient engine (:mod:`papers_core.attacks.sign`).

Notation (Li et al.): x image, p = softmax(M(x)), J the cross-entropy, eps the per-iteration step.

* FGSM (Eq. 6)      x^ = x + eps sign(grad J(x, y))                 one step, true label y
* N-FGSM (Eq. 7)    x^_N = x^_{N-1} + eps sign(grad J(x^_{N-1}, y))  iterated
* targeted (Eq. 9)  x^_N = x^_{N-1} - eps sign(grad J(x^_{N-1}, t))  towards given targets t

Step sizes and budgets are in 8-bit units: ``step=1`` moves a pixel by 1/255. A sample stops on its
own (by mask) when its stopping rule holds.
"""
from __future__ import annotations

import torch

from .._validate import check_labels
from .base import check_attack_input, check_step_settings, no_labels_when_targeted, target_mode, true_labels
from .sign import sign_gradient_attack

__all__ = ["PAPER_EPSILON_8BIT", "fgsm", "n_fgsm", "targeted_ifgsm", "iterative_fgsm"]

#: Li et al. Sec. 3.1: "we select eps = 0.007" (for [0, 1] images), i.e. 1.785 in 8-bit units.
PAPER_EPSILON_8BIT = 0.007 * 255


def iterative_fgsm(model, x: torch.Tensor, labels=None, *, targets=None, step: float = 1.0,
                   iterations: int = 50, threshold: float | None = 0.99, eps: float | None = None,
                   quantize: str = "output", start: torch.Tensor | None = None):
    """Iterated signed-gradient steps with a per-sample stop (Eqs. 7, 9 and 11).

    Untargeted (no ``targets``): away from ``labels`` (default: the clean prediction); a sample stops
    once 1 - p(label) exceeds ``threshold``. Targeted: towards ``targets`` (``labels`` refused: they
    are not used); a sample stops once
    p(target) exceeds ``threshold``. Every sample stops after ``iterations`` steps; ``threshold=None``
    runs exactly ``iterations`` steps. Images are clipped to [0, 1] (and to the L-inf ball of
    ``eps``/255 around ``x`` if given) after every step. ``start`` (default ``x``) is the image the
    first step is taken from (PGD's random start).
    """
    return checked_iterative(model, x, labels, targets, "iterative FGSM", step=step, iterations=iterations,
                             threshold=threshold, eps=eps, quantize=quantize, start=start)


def checked_iterative(model, x, labels, targets, attack: str, *, untargeted: bool = True, step, iterations,
                      threshold, eps, quantize, start=None):
    """The one check of every iterative FGSM entry (``attack`` names it in the errors; ``untargeted=False``
    refuses ``targets=None``), then the engine. ``start`` is a tensor or a function of no arguments that
    makes it once the inputs are checked (PGD's random start)."""
    n_classes = check_attack_input(model, x)
    check_step_settings(step, iterations, eps, threshold)
    if target_mode(targets, attack, untargeted=untargeted, auto=False):
        no_labels_when_targeted(labels, attack)
        goal, targeted = check_labels(targets, x.shape[0], n_classes, "targets").to(x.device), True
    else:
        goal, targeted = true_labels(model, x, labels, n_classes), False
    return sign_gradient_attack(model, x, goal, targeted=targeted, step=step, iterations=iterations,
                                threshold=threshold, eps=eps, quantize=quantize,
                                start=start() if callable(start) else start)


def fgsm(model, x: torch.Tensor, labels=None, *, targets=None, step: float = 1.0, quantize: str = "output"):
    """FGSM (Eq. 6): one step of ``step``/255 along the sign of the gradient of J at the true label
    (against the gradient at ``targets``, if given)."""
    return checked_iterative(model, x, labels, targets, "FGSM", step=step, iterations=1, threshold=None, eps=None,
                             quantize=quantize)


def n_fgsm(model, x: torch.Tensor, labels=None, *, targets=None, step: float = 1.0, iterations: int = 50,
           threshold: float | None = 0.99, eps: float | None = None, quantize: str = "output"):
    """Iterative FGSM, N-FGSM (Eq. 7): untargeted steps until 1 - p(label) > threshold or ``iterations``
    (with ``targets``: :func:`targeted_ifgsm`)."""
    return checked_iterative(model, x, labels, targets, "N-FGSM", step=step, iterations=iterations,
                             threshold=threshold, eps=eps, quantize=quantize)


def targeted_ifgsm(model, x: torch.Tensor, labels=None, *, targets, step: float = 1.0,
                   iterations: int = 50, threshold: float | None = 0.99, eps: float | None = None,
                   quantize: str = "output"):
    """Targeted iterative FGSM (Eqs. 9 and 11) towards the given ``targets``."""
    return checked_iterative(model, x, labels, targets, "targeted I-FGSM", untargeted=False, step=step,
                             iterations=iterations, threshold=threshold, eps=eps, quantize=quantize)
