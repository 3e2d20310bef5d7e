"""The targeted FGSM attacks of Li et al. (ICASSP 2019), "Scene privacy protection", Sec. 2 and
Table 1: least-likely (L-FGSM, Eqs. 8-9), random (R-FGSM) and private FGSM (P-FGSM, Eqs. 10-11).

Each chooses one target per image from the clean class probabilities (:mod:`papers_core.attacks.targets`)
and runs :func:`papers_core.attacks.targeted_ifgsm`: steps of ``step``/255 until p(target) > 0.99 or
``iterations`` steps. The same functions, with the RP-FGSM paper's Sec. V-B settings, are that paper's
baselines (:func:`papers_core.attacks.fgsm_variant`).
"""
from __future__ import annotations

import torch

from .._validate import check_choice, check_range
from .._validate import check_labels
from .base import (AUTO, check_attack_input, check_step_settings, no_labels_when_targeted, predict_proba,
                   refuse_unused, target_mode)
from .sign import sign_gradient_attack
from .targets import least_likely_targets, private_target_mask, random_target_mask, sample_targets

__all__ = ["P_FGSM_SELECTIONS", "l_fgsm", "r_fgsm", "p_fgsm"]

#: P-FGSM target selection: the paper's Eq. 10, or the official code's (every class but the top-1).
P_FGSM_SELECTIONS = ("paper", "official")

_SETTINGS_DOC = """The target depends on the clean probabilities only, as in the paper, so ``labels`` (true
    labels) are refused; ``targets="auto"`` (the default) is the attack's own choice,
    one class per image overrides it (the rule's own settings, ``sigma``, ``selection``, ``seed`` and
    ``index``, are then refused: nothing uses them). ``step``, ``iterations``, ``threshold``, ``eps`` and ``quantize``
    as :func:`papers_core.attacks.iterative_fgsm`."""


def _targeted(model, x, labels, targets, choose, attack, step, iterations, threshold, eps, quantize, **rule):
    """Check once, choose the targets (``choose()`` when ``targets`` is "auto") and run the engine.
    ``rule``: the target rule's settings as (value, default), refused when the targets are given."""
    n_classes = check_attack_input(model, x)
    check_step_settings(step, iterations, eps, threshold)
    target_mode(targets, attack, untargeted=False)
    no_labels_when_targeted(labels, attack)
    if not isinstance(targets, str):
        refuse_unused(attack, "a setting of its target rule, and targets= gives the targets", **rule)
    targets = choose() if isinstance(targets, str) else check_labels(targets, x.shape[0], n_classes, "targets")
    return sign_gradient_attack(model, x, targets.to(x.device), targeted=True, step=step, iterations=iterations,
                                threshold=threshold, eps=eps, quantize=quantize)


def l_fgsm(model, x: torch.Tensor, labels=None, *, targets=AUTO, step: float = 1.0, iterations: int = 50,
           threshold: float | None = 0.99, eps: float | None = None, quantize: str = "output"):
    """Least-likely FGSM (Eqs. 8-9): targets the least likely class of the clean image."""
    return _targeted(model, x, labels, targets, lambda: least_likely_targets(predict_proba(model, x)), "L-FGSM",
                     step, iterations, threshold, eps, quantize)


def r_fgsm(model, x: torch.Tensor, labels=None, *, targets=AUTO, seed: int = 0, index=None, step: float = 1.0,
           iterations: int = 50, threshold: float | None = 0.99, eps: float | None = None,
           quantize: str = "output"):
    """Random FGSM: targets a class drawn uniformly from every class but the most likely one, each
    image's from its own stream of ``seed`` (``index``: the images' positions in the whole set; see
    :mod:`papers_core.rng`)."""
    return _targeted(model, x, labels, targets,
                     lambda: sample_targets(random_target_mask(predict_proba(model, x)), seed, index), "R-FGSM",
                     step, iterations, threshold, eps, quantize, seed=(seed, 0), index=(index, None))


def p_fgsm(model, x: torch.Tensor, labels=None, *, targets=AUTO, sigma: float = 0.99, selection: str = "paper",
           seed: int = 0, index=None, step: float = 1.0, iterations: int = 50, threshold: float | None = 0.99,
           eps: float | None = None, quantize: str = "output"):
    """Private FGSM (Eqs. 10-11).

    * ``selection="paper"``: the target is drawn uniformly from Eq. 10's set for ``sigma`` (each
      image's draw from its own stream of ``seed``; ``index``: the images' positions in the whole set).
    * ``selection="official"``: the official code's behaviour, which ignores sigma and draws from
      every class but the top-1 (then P-FGSM coincides with R-FGSM); ``sigma`` is refused.
    """
    check_choice(selection, P_FGSM_SELECTIONS, "P-FGSM selection")
    check_range(sigma, "sigma", lo=0, hi=1)
    if selection == "official":
        refuse_unused("P-FGSM", "the official selection ignores sigma: it draws from every class but the top-1",
                      sigma=(sigma, 0.99))

    def choose():
        probs = predict_proba(model, x)
        mask = private_target_mask(probs, sigma) if selection == "paper" else random_target_mask(probs)
        return sample_targets(mask, seed, index)

    return _targeted(model, x, labels, targets, choose, "P-FGSM", step, iterations, threshold, eps, quantize,
                     sigma=(sigma, 0.99), selection=(selection, "paper"), seed=(seed, 0), index=(index, None))


for _f in (l_fgsm, r_fgsm, p_fgsm):
    _f.__doc__ += "\n\n    " + _SETTINGS_DOC
