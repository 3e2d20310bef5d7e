"""Ensemble FGSM, E-FGSM (Tramer et al. 2018; Eq. 13 of the RP-FGSM paper), and how the
multi-classifier FGSM attacks (E-, DI-, RP-FGSM, EOT) choose their classes.

Settings of the RP-FGSM paper's Sec. V-B, shared by these attacks: step ``delta`` = 1 grey level, L-inf
budget ``eps`` = 16 grey levels, :func:`papers_core.attacks.paper_iterations` iterations, the image
rounded to the 8-bit grid after every step, no early stop.
"""
from __future__ import annotations

import torch

from .._validate import check_labels
from .base import (AUTO, check_models, check_step_settings, input_gradient, no_labels_when_targeted, predict_proba,
                   refuse_unused, target_mode)
from .sign import paper_iterations, sign_gradient_attack
from .targets import private_target_mask, random_target_mask, sample_targets

__all__ = ["e_fgsm", "ensemble_labels", "rp_target_mask", "check_ensemble_input"]


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


def check_ensemble_input(models, x, step, eps, iterations):
    """Check the classifiers with the images and the step settings; return (models, number of classes)."""
    models, n_classes = check_models(models, x)
    check_step_settings(step, iterations, eps)
    return models, n_classes


def ensemble_labels(models, x, targets, num_classes, gamma=None, labels=None, seed: int = 0, index=None):
    """The classes a multi-classifier attack steps towards or away from (``targets`` as
    :func:`~papers_core.attacks.base.target_mode`, checked by the caller).

    Targeted: one target per image, shared by the classifiers: ``targets`` if given, else (``"auto"``) drawn from
    each image's stream of ``seed`` (``index``: positions in the whole set) from Eq. 17's set (``gamma`` given) or from the classes that are no classifier's
    prediction. Untargeted: the given ``labels`` (shared), else each classifier's own prediction.
    Returns (labels per classifier, the result's target column, the clean probabilities or None)."""
    targeted = targets is not None
    none = torch.full((len(x),), -1, dtype=torch.long, device=x.device)
    if labels is not None and not targeted:
        labels = check_labels(labels, len(x), num_classes).to(x.device)
        return [labels] * len(models), none, None
    probs = [predict_proba(m, x) for m in models]
    if not targeted:
        return [p.argmax(1) for p in probs], none, probs
    if isinstance(targets, str):
        mask = rp_target_mask(probs, gamma) if gamma is not None else \
            torch.stack([random_target_mask(p) for p in probs]).all(0)
        if not mask.any(1).all():  # K classifiers predicting K different classes in a 2-class task
            mask = torch.ones_like(mask)
        targets = sample_targets(mask, seed, index)
    targets = check_labels(targets, len(x), num_classes, "targets").to(x.device)
    return [targets] * len(models), targets, probs


def e_fgsm(models, x: torch.Tensor, labels=None, *, targets=AUTO, step: float = 1.0,
           eps: float = 16.0, iterations: int | None = None, seed: int = 0, index=None):
    """Ensemble FGSM (Eq. 13): every iteration steps along the sign of the summed gradient of all
    classifiers. Targeted (``targets="auto"``, the default) towards a class drawn uniformly from the
    classes that are no classifier's prediction (or towards ``targets``); untargeted (``targets=None``)
    away from each classifier's own
    prediction (or from ``labels``, shared by the classifiers). ``iterations`` defaults to
    ``paper_iterations(eps)``. The target draw is each image's own (``seed``, ``index``: see
    :mod:`papers_core.rng`); without a draw (``targets`` given, or ``None``) they are refused."""
    models, n_classes = check_ensemble_input(models, x, step, eps, iterations)
    targeted = target_mode(targets, "E-FGSM")
    if targeted:
        no_labels_when_targeted(labels, "E-FGSM")
    if not isinstance(targets, str):
        refuse_unused("E-FGSM", "they draw the targets, which only targets='auto' asks for",
                      seed=(seed, 0), index=(index, None))
    per_model, target, _ = ensemble_labels(models, x, targets, n_classes, labels=labels,
                                           seed=seed, index=index)
    n_iter = int(iterations) if iterations is not None else paper_iterations(eps)
    return sign_gradient_attack(models[0], x, per_model[0], targeted=targeted, step=step, iterations=n_iter,
                                eps=eps, quantize="step", target=target,
                                gradient=lambda n, x_adv: input_gradient(models, x_adv, per_model)[1])
