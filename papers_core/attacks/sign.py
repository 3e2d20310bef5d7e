"""The signed-gradient engine that every FGSM-family attack runs through.

FGSM, I-FGSM (N-FGSM), L-, R- and P-FGSM, BIM and PGD call it with the model's own cross-entropy
gradient; E-FGSM, DI-FGSM, RP-FGSM and EOT pass a ``gradient`` hook (the summed gradient of an
ensemble, through a random transformation, plus a similarity term). One loop, one projection, one
rounding rule::

    x_n = Proj( x_{n-1} -+ step/255 * sign(g_n) )     (- targeted, + untargeted)

with ``g_n`` the gradient of the cross-entropy at the target (targeted) or at the label (untargeted),
``Proj`` the clip to [0, 1] and to the L-inf ball of ``eps``/255 (if given), and the rounding to the
8-bit grid after every step (``quantize="step"``), once on the returned image (``"output"``) or never.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .._validate import check_choice, check_range
from ..progress import progress
from .base import budget_box, input_gradient, project
from .result import AttackResult

__all__ = ["QUANTIZE_MODES", "sign_gradient_attack", "paper_iterations"]

#: When to round to the 8-bit grid: never, after every step, or once on the returned image
#: (the P-FGSM code saves an 8-bit image and does not round between iterations: "output").
QUANTIZE_MODES = ("none", "step", "output")


def paper_iterations(eps: float) -> int:
    """Kurakin et al.'s iteration count, ``int(min(1.25 eps, eps + 4))`` (20 for eps 16), the RP-FGSM
    paper's Sec. V-B setting for every FGSM-family attack."""
    check_range(eps, "eps (8-bit units)", lo=0, hi=255, lo_open=True)
    return max(int(min(1.25 * eps, eps + 4)), 1)


def sign_gradient_attack(model, x: torch.Tensor, labels: torch.Tensor, *, targeted: bool, step: float,
                         iterations: int, threshold: float | None = None, eps: float | None = None,
                         quantize: str = "output", start: torch.Tensor | None = None, gradient=None,
                         target: torch.Tensor | None = None, lazy: bool = True) -> AttackResult:
    """Iterated signed-gradient steps with a per-sample stop; inputs are checked by the caller.

    ``labels`` are the targets (``targeted``) or the labels to move away from. A sample stops once
    p(target) (targeted) or 1 - p(label) (untargeted) exceeds ``threshold``; every sample stops after
    ``iterations`` steps; ``threshold=None`` runs exactly ``iterations`` steps. ``start`` (default ``x``)
    is where the first step is taken from (PGD's random start).

    ``gradient(n, x_adv)`` replaces the model's cross-entropy gradient at step ``n`` (ensembles,
    transformations); it runs on the whole batch, so it needs ``threshold=None``. The result is
    evaluated on ``model`` (the first classifier of an ensemble), against ``labels``, on first access
    (``lazy``); ``target`` overrides the result's target column.
    """
    if isinstance(quantize, bool):
        raise TypeError(f"quantize takes one of {QUANTIZE_MODES}, not a bool: quantize=True is 'step' (round "
                        "after every step), quantize=False is 'none'.")
    check_choice(quantize, QUANTIZE_MODES, "quantize mode")
    if gradient is not None and threshold is not None:
        raise ValueError("a custom gradient runs on the whole batch: pass threshold=None.")
    if start is not None and start.shape != x.shape:
        raise ValueError(f"start has shape {tuple(start.shape)}; it must match the images' {tuple(x.shape)}.")
    direction = -1.0 if targeted else 1.0
    lo, hi = budget_box(x, eps, on_grid=quantize != "none")
    x_adv = (x if start is None else start).detach().clone()
    n = x.shape[0]
    steps = torch.zeros(n, dtype=torch.long, device=x.device)
    full_steps = 0
    active = torch.arange(n, device=x.device)
    for it in progress(range(int(iterations)), desc="attack iterations"):
        if active.numel() == 0:
            break
        # while every sample is active, slices (views) replace gathered copies
        sel = slice(None) if active.numel() == n else active
        if gradient is not None:
            grad = gradient(it, x_adv)
        else:
            logits, grad = input_gradient(model, x_adv[sel], labels[sel])
            if threshold is not None:
                p = F.softmax(logits, dim=1).gather(1, labels[sel, None]).squeeze(1)
                keep = (p <= threshold) if targeted else (1.0 - p <= threshold)
                if not bool(keep.all()):
                    active, grad = active[keep], grad[keep]
                    sel = active
                    if active.numel() == 0:
                        break
        if isinstance(sel, slice):  # x_adv is our own copy: step in place, project into a new tensor
            x_adv = project(x_adv.add_(grad.sign_(), alpha=direction * step / 255.0), lo, hi,
                            round_to_grid=quantize == "step")
            full_steps += 1
        else:
            stepped = x_adv[sel] + direction * (step / 255.0) * grad.sign()
            x_adv[sel] = project(stepped, None if lo is None else lo[sel], None if hi is None else hi[sel],
                                 round_to_grid=quantize == "step")
            steps[sel] += 1
    steps += full_steps  # the steps every sample took while all were active
    if quantize == "output":
        x_adv = project(x_adv, lo, hi, round_to_grid=True)
    return AttackResult.from_model(model, x_adv, labels, targeted=targeted, iterations=steps, target=target,
                                   lazy=lazy)
