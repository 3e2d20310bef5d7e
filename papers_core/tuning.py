"""Settings a paper chooses by a rule rather than states outright, chosen here by that rule, in code, on
images disjoint from the test images (the page prints the sweep and the choice).

* EOT's Lab weight ``lam`` (RP-FGSM paper, Sec. V-B: "we set lambda = 0.5 to achieve a misleading rate
  of approximately 90 %"): :func:`eot_lam_sweep` and :func:`choose_eot_lam`. The weight is not
  portable between image sizes or classifiers (the Lab term's gradient is spread over every pixel of the
  image, the cross-entropy's is not), so the page applies the paper's criterion, not its number.

The colour-variance page's L1 weight follows the same pattern (:func:`papers_core.attacks.alpha_sweep`
and :func:`papers_core.attacks.choose_alpha`).
"""
from __future__ import annotations

from typing import Callable

import torch

from ._validate import check_range

__all__ = ["eot_lam_sweep", "choose_eot_lam"]


def eot_lam_sweep(run: Callable[[float, torch.Tensor], torch.Tensor], model, x: torch.Tensor, lams,
                  labels: torch.Tensor | None = None):
    """EOT on the tuning images ``x`` at each weight of ``lams``: ``run(lam, x)`` returns the adversarial
    images (the page's batching, generator and settings). One row per weight (a pandas DataFrame indexed
    by ``lam``): ``misleading``, the share of the images whose top-1 class on ``model`` (the crafting
    classifier) moves off its clean top-1 class, and ``PSNR`` (dB, mean; identical images count 100).
    With ``labels``, also ``misleading (labels)``: the share whose top-1 is not the label (the paper's
    misleading rate, which counts the classifier's clean errors as misled).

    The rule's misleading rate is measured against the clean prediction, not a label, so that the same
    rule runs on unlabelled tuning images (the paper profile's are the MEPP18test list, which has no
    labels). It is the stricter of the two: an image the classifier already gets wrong counts only if
    the attack moves it."""
    import pandas as pd

    from .attacks import predict_proba
    from .metrics import psnr

    lams = [float(v) for v in lams]
    if not lams:
        raise ValueError("lams is empty: pass the weights to sweep, e.g. (0, 0.01, 0.1, 0.5).")
    for v in lams:
        check_range(v, "lam", lo=0)
    if len(x) == 0:
        raise ValueError("no tuning images: the rule needs at least one (check the profile's eot_tune_images).")
    if labels is not None and len(labels) != len(x):
        raise ValueError(f"labels has {len(labels)} entries for {len(x)} tuning images: pass one label per image.")
    clean = predict_proba(model, x).argmax(1)
    rows = {}
    for lam in lams:
        adv = run(lam, x)
        pred = predict_proba(model, adv).argmax(1)
        rows[lam] = dict(misleading=float((pred != clean).float().mean()), PSNR=float(psnr(x, adv).clamp(max=100).mean()))
        if labels is not None:
            rows[lam]["misleading (labels)"] = float((pred != labels.to(pred.device)).float().mean())
    df = pd.DataFrame(rows).T
    df.index.name = "lam"
    return df


def choose_eot_lam(sweep, target: float = 0.9, column: str = "misleading") -> tuple[float, str]:
    """The paper's rule for EOT's weight, applied to an :func:`eot_lam_sweep` table: the largest ``lam``
    (the most weight on image quality) whose misleading rate (``column``) is at least ``target`` (the
    paper's "approximately 90 %", read as "at least"). When no weight reaches it, the one with the highest
    rate (the largest among ties). Returns ``(lam, why)``."""
    check_range(target, "target", lo=0, hi=1)
    if len(sweep) == 0:
        raise ValueError("the sweep is empty: run eot_lam_sweep with at least one weight.")
    if column not in sweep:
        raise ValueError(f"the sweep has no column {column!r} (it has {list(sweep.columns)}); "
                         "'misleading (labels)' needs eot_lam_sweep(..., labels=...).")
    ok = sweep[sweep[column] >= target]
    if not ok.empty:
        lam = float(ok.index.max())
        return lam, (f"the largest lambda whose misleading rate on the tuning images is at least {target:.0%} "
                     f"({sweep.loc[lam, column]:.3f})")
    best = sweep[column].max()
    lam = float(sweep.index[sweep[column] == best].max())
    return lam, f"no lambda reaches {target:.0%}: the one with the highest misleading rate ({best:.3f})"
