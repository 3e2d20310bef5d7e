"""How the targeted FGSM attacks choose their class.

* least likely (L-FGSM, Eq. 8 of Li et al.),
* uniform over every class but the top-1 (R-FGSM),
* uniform over Eq. 10's private set: the classes after the cumulative probability passes sigma
  (P-FGSM; RP-FGSM's Eq. 17 intersects it over classifiers, :func:`papers_core.attacks.rp_target_mask`).
"""
from __future__ import annotations

import torch

from .._validate import check_range
from ..rng import image_streams

__all__ = ["least_likely_targets", "random_target_mask", "private_target_mask", "sample_targets"]


def least_likely_targets(probs: torch.Tensor) -> torch.Tensor:
    """Eq. 8: the least likely class of each sample."""
    return probs.argmin(1)


def random_target_mask(probs: torch.Tensor) -> torch.Tensor:
    """R-FGSM's candidate set: every class except the most likely one. Returns an (N, D) bool mask."""
    mask = torch.ones_like(probs, dtype=torch.bool)
    mask.scatter_(1, probs.argmax(1, keepdim=True), False)
    return mask


def private_target_mask(probs: torch.Tensor, sigma: float) -> torch.Tensor:
    """Eq. 10: the classes y'_j (sorted by decreasing probability) with sum_{i=1}^{j-1} p'_i > sigma.

    The class whose probability makes the cumulative sum cross sigma is itself excluded. If the set is
    empty (the first D-1 sorted probabilities never exceed sigma), the least likely class is used: our
    choice, since the paper does not cover this case. Cumulative sums are taken in float64.
    """
    check_range(sigma, "sigma", lo=0, hi=1)
    sorted_p, order = probs.double().sort(dim=1, descending=True)
    before = torch.cumsum(sorted_p, dim=1) - sorted_p  # sum of the j-1 larger probabilities
    keep_sorted = before > sigma
    keep_sorted[:, -1] |= ~keep_sorted.any(1)  # empty set -> least likely class
    return torch.zeros_like(keep_sorted).scatter(1, order, keep_sorted)


def sample_targets(mask: torch.Tensor, seed: int = 0, index=None) -> torch.Tensor:
    """Draw one class per row uniformly from the True entries of an (N, D) mask, row i from image
    ``index[i]``'s own stream (:mod:`papers_core.rng`; ``index`` defaults to ``0 .. N - 1``)."""
    if not mask.any(1).all():
        raise ValueError("every row of the candidate mask needs at least one class to draw from.")
    return image_streams(mask, seed, index).choice("target", mask)
