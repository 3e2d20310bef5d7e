"""Szegedy et al.'s box-constrained L-BFGS attack (ICLR 2014); the K-anonymity attack, which
generalises it, is in :mod:`papers_core.attacks.k_anonymity`.

The L-BFGS attack minimises a per-sample objective over the adversarial image x~ in the box [0, 1]
with L-BFGS-B (``scipy.optimize.minimize``, the box-constrained L-BFGS it is named after). A batch is
one problem whose objective is the sum of the samples' objectives: the terms are separable, so its
minimiser is every sample's own minimiser, and each function evaluation is one batched forward and
backward pass.

L-BFGS (the K-anonymity paper's Eq. 1): ``min c ||p||_2 + L_f(f(x~), t)``, p = x~ - x, with a line
search on c per sample: the largest c (the smallest perturbation) whose minimiser is classified as t.

L_f is the cross-entropy; ``||p||_2`` is :func:`smooth_l2`, ``sqrt(||p||^2 + 1e-12)``, differentiable at
p = 0, where the attack starts.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .._validate import check_range
from ..progress import progress
from .base import check_attack_input, required_targets
from .result import AttackResult

__all__ = ["lbfgs_attack", "lbfgs_b", "smooth_l2", "c_line_search"]


def lbfgs_b(objective, z0: torch.Tensor, iterations: int, on_evaluation=None) -> torch.Tensor:
    """Minimise sum(objective(z)) over z in [0, 1] with L-BFGS-B, from z0; return the minimiser.

    ``objective`` maps a batch (n, C, H, W) to per-sample losses (n,), or to a pair (losses, aux) whose
    ``aux`` is passed with every evaluated iterate to ``on_evaluation(z, aux)`` (to watch the path).

    The solver's BLAS runs on one thread: OpenBLAS splits a long dot product across its threads, so its
    rounding, and with it L-BFGS-B's path, would otherwise depend on the machine's core count."""
    from scipy.optimize import Bounds, minimize
    from threadpoolctl import threadpool_limits

    shape, dtype, device = z0.shape, z0.dtype, z0.device

    def fun(v: np.ndarray):
        z = torch.from_numpy(v).view(shape).to(device=device, dtype=dtype).requires_grad_(True)
        with torch.enable_grad():
            out = objective(z)
            loss = (out[0] if isinstance(out, tuple) else out).sum()
            (g,) = torch.autograd.grad(loss, z)
        if on_evaluation is not None and isinstance(out, tuple):
            on_evaluation(z.detach(), out[1])
        return float(loss.detach()), g.detach().double().cpu().numpy().ravel()

    v0 = z0.detach().double().cpu().numpy().ravel()
    with threadpool_limits(limits=1, user_api="blas"):
        res = minimize(fun, v0, jac=True, method="L-BFGS-B", bounds=Bounds(np.zeros_like(v0), np.ones_like(v0)),
                       options=dict(maxiter=int(iterations), maxcor=10))
    return torch.from_numpy(res.x).view(shape).to(device=device, dtype=dtype)


def smooth_l2(p: torch.Tensor) -> torch.Tensor:
    """Per-sample ``sqrt(||p||_2^2 + 1e-12)``: the L2 norm, differentiable at p = 0."""
    return torch.sqrt(p.flatten(1).pow(2).sum(1) + 1e-12)


def c_line_search(x: torch.Tensor, loss, success, *, c_init: float = 1.0, search_steps: int = 8,
                  iterations: int = 100, desc: str = "L-BFGS search steps"):
    """Szegedy et al.'s line search on c for ``min c ||p||_2 + loss(x~)`` over x~ in [0, 1], per sample.

    ``loss(z)`` gives each sample's loss (n,) and ``success(z)`` whether each sample's goal is met (n,).
    Each sample starts at ``c_init``; after an L-BFGS-B solve (:func:`lbfgs_b`, ``iterations`` at most)
    from the clean images, success moves its c up (more weight on the norm: a smaller perturbation),
    failure down: by factors of 10 until both a successful and a failed c are known, then by
    bisection of their geometric mean, for ``search_steps`` solves. Returns the successful image with
    the smallest ||p||_2 for each sample (the clean image if none) and whether one was found.

    ``loss`` may instead return a pair (losses, met), ``met`` whether each sample's goal holds at ``z``
    (from the same forward pass). Then every iterate the solver evaluates is a candidate, as in
    Carlini and Wagner's attack, which keeps the best adversarial example found at any step: the
    result is the smallest successful perturbation seen anywhere on the solver's path, and a solve
    counts as a success for the search on c when any of its iterates met the goal. This matters for
    goals that the objective's minimiser may overshoot (the K-anonymity ranking)."""
    n = x.shape[0]
    x = x.detach()
    c = torch.full((n,), float(c_init), device=x.device, dtype=torch.float64)
    lo = torch.zeros_like(c)
    hi = torch.full_like(c, float("inf"))
    best = x.clone()
    best_norm = torch.full((n,), float("inf"), device=x.device, dtype=torch.float64)
    seen = torch.zeros(n, dtype=torch.bool, device=x.device)

    def keep(z, met):  # the smallest successful perturbation so far, per sample
        norm = smooth_l2(z - x).double()
        better = met.to(x.device) & (norm < best_norm)
        best[better], best_norm[better] = z[better], norm[better]
        seen.logical_or_(met.to(x.device))

    for _ in progress(range(int(search_steps)), desc=desc):
        cc = c.to(x.dtype)

        def objective(z, cc=cc):
            out = loss(z)
            if isinstance(out, tuple):
                return cc * smooth_l2(z - x) + out[0], out[1]
            return cc * smooth_l2(z - x) + out

        seen.zero_()
        z = lbfgs_b(objective, x, iterations, on_evaluation=keep)
        with torch.no_grad():
            keep(z, success(z))
        hit = seen.clone()
        lo = torch.where(hit, torch.maximum(lo, c), lo)
        hi = torch.where(hit, hi, torch.minimum(hi, c))
        c = torch.where(torch.isinf(hi), c * 10.0, torch.where(lo == 0, c / 10.0, torch.sqrt(lo * hi)))
    return best, torch.isfinite(best_norm)


def lbfgs_attack(model, x: torch.Tensor, labels=None, *, targets, c_init: float = 1.0,
                 search_steps: int = 8, iterations: int = 100) -> AttackResult:
    """Szegedy et al.'s targeted L-BFGS attack with a line search on c (``targets`` required;
    ``labels`` are refused: the attack does not use them).

    Each sample starts at ``c_init``; after a solve, success (top-1 = target) moves its c up, failure
    down: by factors of 10 until both a successful and a failed c are known, then by bisection of
    their geometric mean, for ``search_steps`` solves of at most ``iterations`` L-BFGS-B iterations each.
    The returned image is the successful one with the smallest ||p||_2 among every iterate the solver
    evaluated (the clean image if none), as for the K-anonymity attack that generalises it."""
    targets = required_targets(x, labels, targets, check_attack_input(model, x), "the L-BFGS attack")
    check_range(c_init, "c_init", lo=0, lo_open=True)
    check_range(search_steps, "search_steps", lo=1, hi=100, integer=True)
    check_range(iterations, "iterations", lo=1, hi=100_000, integer=True)
    def terms(z):  # the cross-entropy to the target, and whether z is classified as the target
        logits = model(z)
        return F.cross_entropy(logits, targets, reduction="none"), logits.detach().argmax(1) == targets

    best, _ = c_line_search(x, terms, lambda z: model(z).argmax(1) == targets, c_init=c_init,
                            search_steps=search_steps, iterations=iterations)
    iters = torch.full((x.shape[0],), int(search_steps), dtype=torch.long, device=x.device)
    return AttackResult.from_model(model, best, targets, targeted=True, iterations=iters)
