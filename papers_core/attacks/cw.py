"""The Carlini-Wagner L2 attack (Carlini and Wagner, IEEE S&P 2017), batched, with the authors'
defaults.

Change of variables x~ = (tanh(w) + 1) / 2 keeps the image in [0, 1]. For each sample, minimise::

    ||x~ - x||_2^2 + c * max(Z_y - max_{i != y} Z_i + kappa, 0)      (untargeted, label y)
    ||x~ - x||_2^2 + c * max(max_{i != t} Z_i - Z_t + kappa, 0)      (targeted, target t)

over w with Adam (lr 0.01) for up to ``iterations`` steps, starting each search step from w = atanh(x),
and binary-search c (start 1e-3, ``binary_search_steps`` 9): a sample that succeeded halves its c
interval downwards, one that failed multiplies c by 10 until an upper bound exists. The returned image
is the successful one with the smallest L2 distance over all steps (the clean image if none
succeeded). Early abort, per sample: every ``iterations`` // 10 steps, a sample whose loss fell by less
than 0.01 % since the last check stops its search step. Adam is ``MaskedAdam``: a stopped sample's
state stays frozen; for each sample it equals ``torch.optim.Adam`` on that sample alone.
"""
from __future__ import annotations

import torch

from .._validate import check_labels, check_range
from ..progress import progress
from .base import check_attack_input, no_labels_when_targeted, target_mode, true_labels
from .result import AttackResult
from .optim import MaskedAdam

__all__ = ["cw_l2", "CW_DEFAULTS"]

#: Carlini and Wagner's published defaults (nn_robust_attacks, l2_attack.py).
CW_DEFAULTS = dict(binary_search_steps=9, iterations=10_000, lr=1e-2, initial_const=1e-3, confidence=0.0,
                   abort_early=True)


def _margin(logits: torch.Tensor, labels: torch.Tensor, targeted: bool, confidence: float) -> torch.Tensor:
    real = logits.gather(1, labels[:, None]).squeeze(1)
    other = logits.scatter(1, labels[:, None], float("-inf")).max(1).values
    return (other - real + confidence) if targeted else (real - other + confidence)


def cw_l2(model, x: torch.Tensor, labels=None, *, targets=None, confidence: float = 0.0,
          initial_const: float = 1e-3, binary_search_steps: int = 9, iterations: int = 10_000,
          lr: float = 1e-2, abort_early: bool = True) -> AttackResult:
    """C&W-L2: untargeted away from ``labels`` (default: the clean prediction), or targeted towards
    ``targets`` when they are given (then ``labels`` are refused: they are not used). ``iterations`` is the Adam steps per search step.

    The result's ``iterations`` counts the Adam steps each sample took over all search steps. Success
    means the returned image is classified as the target (targeted) or not as the label (untargeted)."""
    n_classes = check_attack_input(model, x)
    targeted = target_mode(targets, "C&W-L2", auto=False)
    if targeted:
        no_labels_when_targeted(labels, "C&W-L2")
        labels = check_labels(targets, x.shape[0], n_classes, "targets").to(x.device)
    check_range(confidence, "confidence", lo=0)
    check_range(initial_const, "initial_const", lo=0, lo_open=True)
    check_range(binary_search_steps, "binary_search_steps", lo=1, hi=100, integer=True)
    check_range(iterations, "iterations", lo=1, hi=1_000_000, integer=True)
    check_range(lr, "lr", lo=0, hi=10, lo_open=True)
    if not targeted:
        labels = true_labels(model, x, labels, n_classes)

    n = x.shape[0]
    dev = x.device
    w0 = torch.atanh((x.detach() * 2.0 - 1.0) * 0.999999)
    const = torch.full((n,), float(initial_const), device=dev)
    lower = torch.zeros(n, device=dev)
    upper = torch.full((n,), 1e10, device=dev)
    best_l2 = torch.full((n,), float("inf"), device=dev)
    best_adv = x.detach().clone()
    steps = torch.zeros(n, dtype=torch.long, device=dev)
    check_every = max(int(iterations) // 10, 1)

    for _ in progress(range(int(binary_search_steps)), desc="C&W search steps"):
        w = w0.clone()
        adam = MaskedAdam(w, lr)
        succeeded = torch.zeros(n, dtype=torch.bool, device=dev)
        prev = torch.full((n,), float("inf"), device=dev)
        active = torch.arange(n, device=dev)
        for step in range(1, int(iterations) + 1):
            # every sample active: slices (views) instead of gathered copies
            sel = slice(None) if active.numel() == n else active
            wa = w[sel].detach().requires_grad_(True)
            xs, ys, cs = x[sel], labels[sel], const[sel]
            with torch.enable_grad():
                adv = (torch.tanh(wa) + 1.0) / 2.0
                l2 = (adv - xs).flatten(1).pow(2).sum(1)
                logits = model(adv)
                loss = l2 + cs * _margin(logits, ys, targeted, confidence).clamp_min(0.0)
                (grad,) = torch.autograd.grad(loss.sum(), wa)
            # bookkeeping on the image this step evaluated (as the reference implementation does)
            with torch.no_grad():
                hit = _margin(logits, ys, targeted, confidence) <= 0 if confidence > 0 else (
                    (logits.argmax(1) == ys) if targeted else (logits.argmax(1) != ys))
                better = hit & (l2 < best_l2[sel])
                succeeded[active[hit]] = True
                idx = active[better]
                best_l2[idx] = l2[better].detach()
                best_adv[idx] = adv[better].detach()
                w[sel] = w[sel] - adam.delta(sel, grad, step)
            steps[sel] += 1
            if abort_early and step % check_every == 0:
                keep = loss.detach() <= prev[active] * 0.9999
                prev[active] = loss.detach()
                active = active[keep]
                if active.numel() == 0:
                    break
        # binary search on c, per sample
        upper = torch.where(succeeded, torch.minimum(upper, const), upper)
        lower = torch.where(succeeded, lower, torch.maximum(lower, const))
        bounded = upper < 1e9
        const = torch.where(bounded, (lower + upper) / 2.0, torch.where(succeeded, const, const * 10.0))

    return AttackResult.from_model(model, best_adv, labels, targeted=targeted, iterations=steps)
