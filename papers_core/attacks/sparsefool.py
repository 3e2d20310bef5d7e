"""SparseFool (Modas, Moosavi-Dezfooli and Frossard, CVPR 2019), batched; the authors' code's rules.

Untargeted, L0-oriented. Each outer iteration, for every sample still classified as its label y:

1. DeepFool from the current image x_i (as the SparseFool code runs it): steps
   ``r = max(|f'_l| / ||w_l||, 1e-4) w_l / ||w_l||`` accumulate in ``r_tot`` (no clipping) until
   ``x_i + (1 + overshoot) r_tot`` leaves class y, giving the class k it reached;
2. the boundary point ``x_B = x_i + lambda * r_tot`` and the unit normal ``w`` = the normalised
   gradient of ``f_k - f_y`` at ``x_i + r_tot``;
3. the linear solver (Algorithm 2): move the coordinates of x_i, in decreasing order of ``|w_j|``
   and each at most once, towards the hyperplane ``w . (x - x_B) = 0`` (plus a 0.001 margin), each
   by the step that would reach it, clipped to [0, 1]; stop at the first step that crosses;
4. ``fool = clip(x_0 + (1 + epsilon)(x_i - x_0), 0, 1)``.

It stops when ``fool`` is no longer classified as y, or after ``iterations`` outer iterations.

The solver's sequential loop is computed in closed form: every coordinate before the crossing one is
moved to its bound, so the crossing index is the first at which the cumulative gain
``sum |w_j| * room_j`` reaches ``|w . (x_i - x_B)|``; one sort and one cumulative sum per sample
replace up to D sequential steps. DeepFool's candidate classes are limited to the ``num_candidates``
largest clean logits (the reference DeepFool's 10) so 365-class models stay cheap.
"""
from __future__ import annotations

import torch

from .._validate import check_range
from ..progress import progress
from .base import check_attack_input
from .result import AttackResult
from .deepfool import candidate_gradients, labels_and_candidates, nearest_boundary

__all__ = ["sparsefool", "linear_solver"]


def linear_solver(x: torch.Tensor, normal: torch.Tensor, boundary: torch.Tensor,
                  margin: float = 1e-3, min_step: float = 1e-4) -> torch.Tensor:
    """SparseFool's Algorithm 2 for a batch: the sparse move of ``x`` across the hyperplane through
    ``boundary`` with normal ``normal`` (all (N, ...) tensors, images in [0, 1])."""
    shape = x.shape
    x, w, xb = x.flatten(1), normal.flatten(1), boundary.flatten(1)
    f0 = ((x - xb) * w).sum(1)                                   # (n,)
    side = torch.where(f0 >= 0, 1.0, -1.0).to(x)                 # move so that f changes sign
    need = f0.abs()                                              # |f| to remove to reach the plane
    direction = -side[:, None] * w.sign()                        # per-coordinate move direction
    room = torch.where(direction > 0, 1.0 - x, x)                # distance to the bound in that direction
    room = torch.where(w == 0, torch.zeros_like(room), room)
    aw, order = w.abs().sort(dim=1, descending=True)
    room_s = room.gather(1, order)
    gain = aw * room_s                                           # |f| removed by a full move
    cum = gain.cumsum(1)
    used = aw > 0
    crossing = (cum >= need[:, None]) & used
    has = crossing.any(1)
    j = torch.where(has, crossing.float().argmax(1), used.sum(1))  # crossing index (or past the end)
    pos = torch.arange(x.shape[1], device=x.device)[None, :]
    move = torch.where(pos < j[:, None], room_s, torch.zeros_like(room_s))
    # the crossing coordinate: the step that reaches the plane plus the margin, at least min_step
    before = torch.where(j > 0, cum.gather(1, (j - 1).clamp_min(0)[:, None]).squeeze(1),
                         torch.zeros_like(need))
    jj = j.clamp_max(x.shape[1] - 1)[:, None]
    step = ((need + margin - before) / aw.gather(1, jj).squeeze(1).clamp_min(1e-30)).clamp_min(min_step)
    partial = torch.minimum(step, room_s.gather(1, jj).squeeze(1))
    move = move.scatter(1, jj, torch.where(has, partial, move.gather(1, jj).squeeze(1))[:, None])
    delta = torch.zeros_like(x).scatter(1, order, move) * direction
    return (x + delta).clamp(0.0, 1.0).view(shape)


def _sparsefool_deepfool(model, x, labels, cand, overshoot, iterations):
    """The DeepFool of the SparseFool code, batched: (r_tot, reached class) per sample."""
    r_tot = torch.zeros_like(x)
    reached = labels.clone()
    active = torch.arange(x.shape[0], device=x.device)
    for _ in range(int(iterations)):
        if active.numel() == 0:
            break
        logits, grads = candidate_gradients(model, x[active] + r_tot[active], cand[active])
        wl, fl, nl = nearest_boundary(logits, grads, cand[active])
        pert = (fl / (nl + 1e-12)).clamp_min(1e-4)
        r_tot[active] += (pert / (nl + 1e-12)).view(-1, 1, 1, 1) * wl
        with torch.no_grad():
            k = model(x[active] + (1.0 + overshoot) * r_tot[active]).argmax(1)
        reached[active] = k
        active = active[k == labels[active]]
    return r_tot, reached


def sparsefool(model, x: torch.Tensor, labels=None, *, targets=None, lambda_: float = 3.0,
               iterations: int = 20, epsilon: float = 0.02, num_candidates: int = 10,
               deepfool_overshoot: float = 0.02, deepfool_iterations: int = 50) -> AttackResult:
    """SparseFool with the authors' defaults (lambda 3 as for ImageNet, 20 outer iterations,
    epsilon 0.02). ``labels`` defaults to the clean prediction; untargeted, so ``targets`` is refused.
    The result's ``iterations`` counts outer iterations."""
    num_classes = check_attack_input(model, x)
    if targets is not None:
        raise ValueError("SparseFool is untargeted: drop targets=.")
    check_range(lambda_, "lambda_", lo=1, hi=100)
    check_range(iterations, "iterations", lo=1, hi=10_000, integer=True)
    check_range(epsilon, "epsilon", lo=0, hi=10)
    check_range(num_candidates, "num_candidates", lo=2, integer=True)
    check_range(deepfool_iterations, "deepfool_iterations", lo=1, hi=100_000, integer=True)
    clean, labels, cand = labels_and_candidates(model, x, labels, num_candidates, num_classes)

    x0 = x.detach()
    x_i = x0.clone()
    fool = x0.clone()
    steps = torch.zeros(x.shape[0], dtype=torch.long, device=x.device)
    active = torch.arange(x.shape[0], device=x.device)[clean.argmax(1) == labels]
    for _ in progress(range(int(iterations)), desc="SparseFool iterations"):
        if active.numel() == 0:
            break
        xa, ya = x_i[active], labels[active]
        r_tot, reached = _sparsefool_deepfool(model, xa, ya, cand[active], deepfool_overshoot,
                                              deepfool_iterations)
        xr = (xa + r_tot).requires_grad_(True)
        with torch.enable_grad():
            z = model(xr)
            margin = z.gather(1, reached[:, None]) - z.gather(1, ya[:, None])
            (normal,) = torch.autograd.grad(margin.sum(), xr)
        normal = normal / normal.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
        x_i[active] = linear_solver(xa, normal, xa + lambda_ * r_tot)
        fool[active] = (x0[active] + (1.0 + epsilon) * (x_i[active] - x0[active])).clamp(0.0, 1.0)
        steps[active] += 1
        with torch.no_grad():
            still = model(fool[active]).argmax(1) == labels[active]
        active = active[still]
    return AttackResult.from_model(model, fool, labels, targeted=False, iterations=steps)
