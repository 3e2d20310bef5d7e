"""The noise baselines of Li et al.'s Table 1: the sign of Gaussian noise (SoG) and the "(XI)" rows,
which add one fixed perturbation X times (the noise of one FGSM or R-FGSM step, or a SoG draw).

These are perturbations, not attacks: :func:`fgsm_noise` and :func:`sign_of_gaussian` return the
noise itself, which :func:`add_noise` applies (X times, clipped, rounded); none of them is in the
registry of attacks, whose entries all return an :class:`~papers_core.attacks.result.AttackResult`."""
from __future__ import annotations

import torch

from .._validate import check_choice, check_images, check_labels, check_range
from ..rng import image_streams
from .base import (budget_box, check_attack_input, input_gradient, no_labels_when_targeted, project, target_mode, to_8bit,
                   true_labels)
from .sign import QUANTIZE_MODES

__all__ = ["fgsm_noise", "add_noise", "sign_of_gaussian"]


def fgsm_noise(model, x: torch.Tensor, labels=None, *, targets=None, step: float = 1.0) -> torch.Tensor:
    """The signed perturbation of one FGSM step, returned, not applied: +step sign(grad J(x, label))/255
    (untargeted; ``labels`` default to the clean prediction) or -step sign(grad J(x, target))/255
    (with ``targets``)."""
    n_classes = check_attack_input(model, x)
    check_range(step, "step (8-bit units)", lo=0, hi=255, lo_open=True)
    if target_mode(targets, "fgsm_noise", auto=False):
        no_labels_when_targeted(labels, "fgsm_noise")
        goal = check_labels(targets, x.shape[0], n_classes, "targets").to(x.device)
    else:
        goal = true_labels(model, x, labels, n_classes)
    _, grad = input_gradient(model, x, goal)
    return (-1.0 if targets is not None else 1.0) * (step / 255.0) * grad.sign()


def add_noise(x: torch.Tensor, noise: torch.Tensor, iterations: int = 1, *, eps: float | None = None,
              quantize: str = "output") -> torch.Tensor:
    """Table 1's "(XI)" baselines: add a fixed ``noise`` ``iterations`` times, clipping at each iteration."""
    check_images(x)
    check_range(iterations, "iterations", lo=1, hi=100_000, integer=True)
    check_choice(quantize, QUANTIZE_MODES, "quantize mode")
    if noise.shape != x.shape:
        raise ValueError(f"noise shape {tuple(noise.shape)} must equal the images' shape {tuple(x.shape)}.")
    lo, hi = budget_box(x, eps, on_grid=quantize != "none")
    out = x.clone()
    for _ in range(int(iterations)):
        out = project(out + noise, lo, hi, round_to_grid=quantize == "step")
    return project(out, lo, hi, round_to_grid=True) if quantize == "output" else out


def sign_of_gaussian(x: torch.Tensor, *, step: float = 1.0, iterations: int = 1, seed: int = 0, index=None,
                     fresh: bool = False, quantize: str = "output") -> torch.Tensor:
    """SoG baseline: step * sign(z)/255 with z ~ N(0, 1) per pixel, added for ``iterations`` iterations.
    The sign of a standard normal is +-1 with probability 1/2 each: that is what is drawn, each image's
    from its own stream of ``seed`` (``index``: the images' positions in the whole set,
    :mod:`papers_core.rng`).

    fresh=False adds the same draw at every iteration (as the other "(XI)" rows of Table 1 repeat
    one noise); fresh=True draws anew each iteration.
    """
    check_images(x)
    check_range(step, "step (8-bit units)", lo=0, hi=255, lo_open=True)
    streams = image_streams(x, seed, index)

    def draw(t):
        return (step / 255.0) * (2.0 * (streams.uniform(("sign", t), *x.shape[1:]) < 0.5).to(x.dtype) - 1.0)

    if not fresh:
        return add_noise(x, draw(0), iterations, quantize=quantize)
    out = x
    for t in range(int(iterations)):
        noise = draw(t)
        out = add_noise(out, noise, 1, quantize="step" if quantize == "step" else "none")
    return to_8bit(out) if quantize == "output" else out
