"""DeepFool (Moosavi-Dezfooli, Fawzi and Frossard, CVPR 2016), multi-class, batched.

At each iteration every still-correct sample linearises the classifier around its current image and
takes the smallest L2 step to the nearest linearised boundary among its candidate classes::

    w_k = grad f_k(x_i) - grad f_y(x_i),   f'_k = f_k(x_i) - f_y(x_i)
    l   = argmin_{k != y} |f'_k| / ||w_k||_2,    r_i = (|f'_l| + 1e-4) / ||w_l||_2^2 * w_l
    r_tot += r_i,   x_{i+1} = clip(x + (1 + overshoot) r_tot, 0, 1)

until its top-1 class is no longer y or after ``iterations`` iterations (the reference implementation's
rule, with its 1e-4 step padding and overshoot 0.02). The candidate classes are the ``num_candidates``
classes with the largest clean logits (the reference implementation's 10), so a 365-class model costs
``num_candidates`` input gradients per iteration, not 365: all of them come from one forward pass.
"""
from __future__ import annotations

import torch

from .._validate import check_labels, check_range
from ..progress import progress
from .base import check_attack_input
from .result import AttackResult

__all__ = ["deepfool", "candidate_gradients", "nearest_boundary", "labels_and_candidates"]


def candidate_gradients(model, x: torch.Tensor, cand: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits of all classes and input gradients of the candidate logits: (N, D) and (N, K, C, H, W).

    One forward pass; one backward pass per candidate column (each sums over the batch, and samples
    stay independent because the model is in eval mode)."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        logits = model(x)
        sel = logits.gather(1, cand)  # (N, K)
        grads = [torch.autograd.grad(sel[:, k].sum(), x, retain_graph=k < cand.shape[1] - 1)[0]
                 for k in range(cand.shape[1])]
    return logits.detach(), torch.stack(grads, dim=1)


def nearest_boundary(logits: torch.Tensor, grads: torch.Tensor, cand: torch.Tensor):
    """The linearised boundary nearest to each sample among its candidates (label first): its normal
    ``w_l`` (n, C, H, W), ``|f'_l|`` and ``||w_l||_2`` (n,)."""
    f = logits.gather(1, cand)
    w = grads[:, 1:] - grads[:, :1]                       # (n, K-1, C, H, W)
    fd = (f[:, 1:] - f[:, :1]).abs()                       # (n, K-1)
    wn = w.flatten(2).norm(dim=2)                          # (n, K-1)
    best = (fd / (wn + 1e-12)).argmin(1)
    idx = torch.arange(len(cand), device=cand.device)
    return w[idx, best], fd[idx, best], wn[idx, best]


def labels_and_candidates(model, x, labels, num_candidates: int, num_classes: int):
    """Clean logits, the labels (default: the clean prediction) and each sample's candidate classes:
    its label first, then the other classes by decreasing clean logit, ``num_candidates`` in all."""
    with torch.no_grad():
        clean = model(x)
    if labels is None:
        labels = clean.argmax(1)
    labels = check_labels(labels, x.shape[0], num_classes).to(x.device)
    k = min(int(num_candidates), num_classes)
    others = clean.scatter(1, labels[:, None], float("-inf")).topk(k - 1, dim=1).indices
    return clean, labels, torch.cat([labels[:, None], others], dim=1)


def deepfool(model, x: torch.Tensor, labels=None, *, targets=None, num_candidates: int = 10,
             overshoot: float = 0.02, iterations: int = 50) -> AttackResult:
    """Untargeted DeepFool; ``labels`` defaults to the model's clean prediction (the original attack
    moves a sample off its predicted class). Returns an :class:`AttackResult` with ``target`` -1 and
    ``iterations`` the linearisation steps each sample took. DeepFool is untargeted: ``targets`` is
    refused."""
    num_classes = check_attack_input(model, x)
    if targets is not None:
        raise ValueError("DeepFool is untargeted: it moves each image to its nearest boundary; drop targets=.")
    check_range(num_candidates, "num_candidates", lo=2, integer=True)
    check_range(overshoot, "overshoot", lo=0, hi=10)
    check_range(iterations, "iterations", lo=1, hi=100_000, integer=True)
    clean, labels, cand = labels_and_candidates(model, x, labels, num_candidates, num_classes)

    r_tot = torch.zeros_like(x)
    x_adv = x.detach().clone()
    steps = torch.zeros(x.shape[0], dtype=torch.long, device=x.device)
    active = torch.arange(x.shape[0], device=x.device)
    for _ in progress(range(int(iterations)), desc="DeepFool iterations"):
        logits, grads = candidate_gradients(model, x_adv[active], cand[active])
        still = logits.argmax(1) == labels[active]
        active, logits, grads = active[still], logits[still], grads[still]
        if active.numel() == 0:
            break
        wl, fl, nl = nearest_boundary(logits, grads, cand[active])
        r = ((fl + 1e-4) / (nl ** 2 + 1e-12)).view(-1, 1, 1, 1) * wl
        r_tot[active] += r
        x_adv[active] = (x[active] + (1.0 + overshoot) * r_tot[active]).clamp(0.0, 1.0)
        steps[active] += 1
    return AttackResult.from_model(model, x_adv, labels, targeted=False, iterations=steps)
