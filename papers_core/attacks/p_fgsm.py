"""The targeted FGSM attacks of Li et al. (ICASSP 2019), "Scene privacy protection", Sec. 2 and
Table 1: least-likely (L-FGSM, Eqs. 8-9), random (R-FGSM) and private FGSM (P-FGSM, Eqs. 10-11).

Each chooses one target per image from the clean class probabilities (:mod:`papers_core.attacks.targets`)
and runs :func:`papers_core.attacks.targeted_ifgsm`: steps of ``step``/255 until p(target) > 0.99 or
``iterations`` steps. The same functions, with the RP-FGSM paper's Sec. V-B settings, are that paper's
baselines (:func:`papers_core.attacks.fgsm_variant`).
"""
from __future__ import annotations

import torch

from .._validate import check_choice
from .base import check_attack_input, check_step_settings, predict_proba
from .fgsm import targeted_ifgsm
from .targets import least_likely_targets, private_target_mask, random_target_mask, sample_targets

__all__ = ["P_FGSM_SELECTIONS", "l_fgsm", "r_fgsm", "p_fgsm"]

#: P-FGSM target selection: the paper's Eq. 10, or the official code's (every class but the top-1).
P_FGSM_SELECTIONS = ("paper", "official")

_SETTINGS_DOC = """``labels`` (true labels) are not used to choose the target, which depends on the clean
    probabilities only, as in the paper; ``targets`` overrides the choice. ``step``, ``iterations``,
    ``threshold``, ``eps`` and ``quantize`` as :func:`papers_core.attacks.iterative_fgsm`."""


def _check(model, x, step, iterations, eps, threshold):
    check_attack_input(model, x)
    check_step_settings(step, iterations, eps, threshold)


def l_fgsm(model, x: torch.Tensor, labels=None, *, targets=None, step: float = 1.0, iterations: int = 50,
           threshold: float | None = 0.99, eps: float | None = None, quantize: str = "output"):
    """Least-likely FGSM (Eqs. 8-9): targets the least likely class of the clean image."""
    _check(model, x, step, iterations, eps, threshold)
    if targets is None:
        targets = least_likely_targets(predict_proba(model, x))
    return targeted_ifgsm(model, x, labels, targets=targets, step=step, iterations=iterations,
                          threshold=threshold, eps=eps, quantize=quantize)


def r_fgsm(model, x: torch.Tensor, labels=None, *, targets=None, seed: int = 0, index=None, step: float = 1.0,
           iterations: int = 50, threshold: float | None = 0.99, eps: float | None = None,
           quantize: str = "output"):
    """Random FGSM: targets a class drawn uniformly from every class but the most likely one, each
    image's from its own stream of ``seed`` (``index``: the images' positions in the whole set; see
    :mod:`papers_core.rng`)."""
    _check(model, x, step, iterations, eps, threshold)
    if targets is None:
        targets = sample_targets(random_target_mask(predict_proba(model, x)), seed, index)
    return targeted_ifgsm(model, x, labels, targets=targets, step=step, iterations=iterations,
                          threshold=threshold, eps=eps, quantize=quantize)


def p_fgsm(model, x: torch.Tensor, labels=None, *, targets=None, sigma: float = 0.99, selection: str = "paper",
           seed: int = 0, index=None, step: float = 1.0, iterations: int = 50, threshold: float | None = 0.99,
           eps: float | None = None, quantize: str = "output"):
    """Private FGSM (Eqs. 10-11).

    * ``selection="paper"``: the target is drawn uniformly from Eq. 10's set for ``sigma`` (each
      image's draw from its own stream of ``seed``; ``index``: the images' positions in the whole set).
    * ``selection="official"``: the official code's behaviour, which ignores sigma and draws from
      every class but the top-1 (then P-FGSM coincides with R-FGSM).
    """
    _check(model, x, step, iterations, eps, threshold)
    check_choice(selection, P_FGSM_SELECTIONS, "P-FGSM selection")
    if targets is None:
        probs = predict_proba(model, x)
        mask = private_target_mask(probs, sigma) if selection == "paper" else random_target_mask(probs)
        targets = sample_targets(mask, seed, index)
    return targeted_ifgsm(model, x, labels, targets=targets, step=step, iterations=iterations,
                          threshold=threshold, eps=eps, quantize=quantize)


for _f in (l_fgsm, r_fgsm, p_fgsm):
    _f.__doc__ += "\n\n    " + _SETTINGS_DOC
