"""Threats to a protected image, and what a protection achieves against each: the measures of the
comparison page, which sets the five papers' protections against common classifiers.

A :class:`Threat` is a classifier that tries to recover the true class of a protected image, alone or
behind the papers' defenses (the RP-FGSM paper's re-quantisation, median filter and JPEG, Sec. V-B).
:func:`protection_measures` measures a set of protected images against several threats, per image, so
that every comparison can be decided with the run's own sampling noise
(:mod:`papers_core.reports`), and :func:`pareto_front` marks the protections that no other beats on
both privacy and quality.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ._validate import check_images, check_labels, check_model
from .attacks.base import predict_proba
from .defenses import Defense

__all__ = ["Threat", "misled", "rank_entropy", "protection_measures", "pareto_front"]


def misled(probs: torch.Tensor, labels: torch.Tensor, k: int = 1) -> torch.Tensor:
    """1.0 where the true class is not among the ``k`` most likely classes of ``probs``, per image."""
    if probs.dim() != 2:
        raise ValueError(f"probs must have shape (N, classes), got {tuple(probs.shape)}.")
    labels = check_labels(labels, probs.shape[0], probs.shape[1]).to(probs.device)
    k = min(int(k), probs.shape[1])
    return (~probs.topk(k, dim=1).indices.eq(labels[:, None]).any(1)).float()


@dataclass
class Threat:
    """A classifier trying to recover the true class, optionally behind ``defenses`` (each applied to
    the image before classification; the threat's misleading rate is then the mean over the defenses,
    the RP-FGSM page's "with defense")."""

    name: str
    model: torch.nn.Module
    defenses: list = field(default_factory=list)

    def __post_init__(self):
        check_model(self.model)
        if not all(isinstance(d, Defense) for d in self.defenses):
            raise ValueError(f"threat {self.name!r}: defenses must be papers_core.defenses.Defense objects, "
                             "e.g. papers_core.defenses.paper_defenses().")

    def misled(self, x: torch.Tensor, labels: torch.Tensor, ks=(1, 5), probs=None) -> dict[int, torch.Tensor]:
        """For each k in ``ks``, the per-image share of the views (the image itself, or each defense's
        output) whose top-k misses the true class. ``probs(model, defense)`` (defense None: the image
        itself) supplies the probabilities when they are shared with other threats."""
        check_images(x)
        if probs is None:
            probs = _Views(x).probs
        ps = [probs(self.model, d) for d in (self.defenses or [None])]
        return {k: torch.stack([misled(p, labels, k) for p in ps]).mean(0) for k in ks}


class _Views:
    """Each defense's output of a batch, computed once, and each classifier's probabilities on each view,
    computed once: what threats and detectors sharing a classifier or a defense share."""

    def __init__(self, x: torch.Tensor):
        self.views, self.cache = {None: x}, {}

    def probs(self, model, defense=None) -> torch.Tensor:
        key = None if defense is None else (defense.name, defense.param)
        if key not in self.views:
            self.views[key] = defense(self.views[None])
        if (id(model), key) not in self.cache:
            self.cache[(id(model), key)] = predict_proba(model, self.views[key])
        return self.cache[(id(model), key)]


def rank_entropy(ranks, num_classes: int) -> float:
    """The entropy (bits) of the distribution of the true label's rank over a set of images (the
    K-anonymity paper's rank pmf, Eq. 5, summarised): 0 when every image has the same rank, up to
    log2(num_classes) when the ranks are spread evenly."""
    r = np.asarray(ranks).ravel()
    if r.size == 0:
        raise ValueError("rank_entropy needs at least one rank.")
    p = np.bincount(r - 1, minlength=num_classes) / r.size
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum()) + 0.0


def protection_measures(x: torch.Tensor, adv: torch.Tensor, labels: torch.Tensor, threats: list[Threat], *,
                        detectors: dict | None = None, brisque: bool = True) -> dict[str, np.ndarray]:
    """Per-image measures of protected images ``adv`` of ``x`` (true ``labels``):

    * ``"<threat> T1"`` / ``"<threat> T5"``: misled (1) or not (0) at top-1 / top-5 by each threat
      (a share over its defenses for a defended threat);
    * ``"rank"``: the true label's rank under the first threat (the attacked classifier, undefended);
    * ``"label"``: that classifier's top-1 label of the protected image (for Li et al.'s irreversibility);
    * ``"Det."``: the share of ``detectors`` (a dict of fitted
      :class:`papers_core.defenses.FeatureSqueezingDetector`, e.g. one per defense family) that flag the
      image (Eq. 4 of the RP-FGSM paper);
    * ``"PSNR"`` (capped at 100 dB), ``"SSIM"``, ``"CIEDE2000"`` (the mean colour difference over the
      pixels, RGB images) and ``"BRISQUE"`` (lower is better; ``brisque=False`` skips it, the slowest).

    Each defense is applied once and each classifier runs once per view: the threats and the detectors
    that share a classifier and a defense share its probabilities (a detector's score is Eq. 4's largest
    L1 change of the probabilities over its squeezers, as :meth:`FeatureSqueezingDetector.score`).
    """
    from . import metrics as M

    check_images(x)
    check_images(adv, "protected images")
    if adv.shape != x.shape:
        raise ValueError(f"protected images {tuple(adv.shape)} and originals {tuple(x.shape)} differ in shape.")
    if not threats:
        raise ValueError("pass at least one Threat: the first is the attacked classifier.")
    p = _Views(adv).probs
    out = {}
    for t in threats:
        for k, v in t.misled(adv, labels, probs=p).items():
            out[f"{t.name} T{k}"] = v.cpu().numpy()
    top = p(threats[0].model)
    out["rank"] = M.label_ranks(top, labels).cpu().numpy()
    out["label"] = top.argmax(1).cpu().numpy()
    if detectors:
        flags = []
        for det in detectors.values():
            if det.tau is None:
                raise RuntimeError("a detector has no threshold yet: fit it on clean images first.")
            clean = p(det.model)
            score = torch.stack([(clean - p(det.model, s)).abs().sum(1) for s in det.squeezers]).max(0).values
            flags.append((score > det.tau).float())
        out["Det."] = torch.stack(flags).mean(0).cpu().numpy()
    out["PSNR"] = M.psnr(x, adv).clamp(max=100).cpu().numpy()
    out["SSIM"] = M.ssim(x, adv).cpu().numpy()
    if x.shape[1] == 3:
        out["CIEDE2000"] = M.ciede2000(M.rgb_to_lab(x), M.rgb_to_lab(adv)).flatten(1).mean(1).cpu().numpy()
    if brisque:
        out["BRISQUE"] = M.brisque(adv)
    return out


def pareto_front(privacy, quality) -> np.ndarray:
    """True for the points no other point dominates: at least as private and at least as good in
    quality, and strictly better in one (both axes: higher is better)."""
    p, q = np.asarray(privacy, dtype=float).ravel(), np.asarray(quality, dtype=float).ravel()
    if p.shape != q.shape:
        raise ValueError(f"privacy and quality need one value per method each, got {p.size} and {q.size}.")
    dominated = ((p[None, :] >= p[:, None]) & (q[None, :] >= q[:, None])
                 & ((p[None, :] > p[:, None]) | (q[None, :] > q[:, None]))).any(1)
    return ~dominated
