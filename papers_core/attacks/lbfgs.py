"""Box-constrained L-BFGS attacks: Szegedy et al.'s L-BFGS attack (ICLR 2014) and the K-anonymity
attack of Mygdalis, Tefas and Pitas, which generalises it.

The L-BFGS attack minimises a per-sample objective over the adversarial image x~ in the box [0, 1]
with L-BFGS-B (``scipy.optimize.minimize``, the box-constrained L-BFGS it is named after). A batch is
one problem whose objective is the sum of the samples' objectives: the terms are separable, so its
minimiser is every sample's own minimiser, and each function evaluation is one batched forward and
backward pass.

* L-BFGS (paper Eq. 1):  ``min c ||p||_2 + L_f(f(x~), t)``,  p = x~ - x, with a line search on c per
  sample: the largest c (the smallest perturbation) whose minimiser is classified as t.
* K-anonymity (Eq. 6):   ``min ||p||_2 + (1 - CW-SSIM(x, x~)) + sum_{i=2..k} L_f(f(x~), r_x(i))``,
  until the clean ranking's labels r_x(2..k) all rank above the true label y (projected Adam with a
  per-sample stop; see :func:`k_anonymity_attack` for why not L-BFGS-B). The N samples are split
  into K groups of N/K that use k = 2, ..., K + 1, so that y lands uniformly on ranks 2 .. K + 1
  (condition 5: P(rank = j) <= 1/K).

L_f is the cross-entropy; ``||p||_2`` is computed as ``sqrt(||p||^2 + 1e-12)`` so that it is differentiable at
p = 0, where both attacks start.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .._validate import as_generator, check_images, check_labels, check_range
from ..progress import progress
from ._optim import MaskedAdam
from .fgsm import AttackResult, _check_model, _num_classes

__all__ = ["lbfgs_attack", "k_anonymity_attack", "k_anonymity_groups", "KAnonymityResult"]


def _lbfgsb(objective, z0: torch.Tensor, max_iter: int) -> torch.Tensor:
    """Minimise sum(objective(z)) over z in [0, 1] with L-BFGS-B, from z0; return the minimiser.

    ``objective`` maps a batch (n, C, H, W) to per-sample losses (n,)."""
    from scipy.optimize import Bounds, minimize

    shape, dtype, device = z0.shape, z0.dtype, z0.device

    def fun(v: np.ndarray):
        z = torch.from_numpy(v).view(shape).to(device=device, dtype=dtype).requires_grad_(True)
        with torch.enable_grad():
            loss = objective(z).sum()
            (g,) = torch.autograd.grad(loss, z)
        return float(loss.detach()), g.detach().double().cpu().numpy().ravel()

    v0 = z0.detach().double().cpu().numpy().ravel()
    res = minimize(fun, v0, jac=True, method="L-BFGS-B", bounds=Bounds(np.zeros_like(v0), np.ones_like(v0)),
                   options=dict(maxiter=int(max_iter), maxcor=10))
    return torch.from_numpy(res.x).view(shape).to(device=device, dtype=dtype)


def _l2(p: torch.Tensor) -> torch.Tensor:
    return torch.sqrt(p.flatten(1).pow(2).sum(1) + 1e-12)


def lbfgs_attack(model, x: torch.Tensor, targets: torch.Tensor, *, c_init: float = 1.0,
                 search_steps: int = 8, max_iter: int = 100) -> AttackResult:
    """Szegedy et al.'s targeted L-BFGS attack with a line search on c.

    Each sample starts at ``c_init``; after a solve, success (top-1 = target) moves its c up, failure
    down: by factors of 10 until both a successful and a failed c are known, then by bisection of
    their geometric mean, for ``search_steps`` solves of at most ``max_iter`` L-BFGS-B iterations each.
    The returned image is the successful one with the smallest ||p||_2 (the clean image if none)."""
    check_images(x)
    _check_model(model)
    targets = check_labels(targets, x.shape[0], _num_classes(model, x), "targets").to(x.device)
    check_range(c_init, "c_init", lo=0, lo_open=True)
    check_range(search_steps, "search_steps", lo=1, hi=100, integer=True)
    check_range(max_iter, "max_iter", lo=1, hi=100_000, integer=True)
    n = x.shape[0]
    x = x.detach()
    c = torch.full((n,), float(c_init), device=x.device, dtype=torch.float64)
    lo = torch.zeros_like(c)
    hi = torch.full_like(c, float("inf"))
    best = x.clone()
    best_norm = torch.full((n,), float("inf"), device=x.device, dtype=torch.float64)
    for _ in progress(range(int(search_steps)), desc="L-BFGS search steps"):
        cc = c.to(x.dtype)

        def objective(z, cc=cc):
            return cc * _l2(z - x) + F.cross_entropy(model(z), targets, reduction="none")

        z = _lbfgsb(objective, x, max_iter)
        with torch.no_grad():
            hit = model(z).argmax(1) == targets
        norm = _l2(z - x).double()
        better = hit & (norm < best_norm)
        best[better], best_norm[better] = z[better], norm[better]
        lo = torch.where(hit, torch.maximum(lo, c), lo)
        hi = torch.where(hit, hi, torch.minimum(hi, c))
        c = torch.where(torch.isinf(hi), c * 10.0, torch.where(lo == 0, c / 10.0, torch.sqrt(lo * hi)))
    with torch.no_grad():
        probs = torch.softmax(model(best), dim=1)
    pred = probs.argmax(1)
    iters = torch.full((n,), int(search_steps), dtype=torch.long, device=x.device)
    return AttackResult(best, targets, pred == targets, iters, pred, probs)


def k_anonymity_groups(n: int, K: int, generator=0) -> torch.Tensor:
    """Each of ``n`` samples' k in {2, ..., K + 1}: K groups of n/K samples (sizes differ by at most
    one), assigned in a random order drawn from ``generator``."""
    check_range(n, "n", lo=1, integer=True)
    check_range(K, "K", lo=1, integer=True)
    perm = torch.randperm(n, generator=as_generator(generator))
    k = torch.empty(n, dtype=torch.long)
    k[perm] = 2 + torch.arange(n) * int(K) // n
    return k


@dataclass
class KAnonymityResult(AttackResult):
    """An :class:`AttackResult` plus each sample's k and whether its ranking constraint holds
    (r_x(2..k) all rank above the true label). ``target`` holds r_x(2), the first label pushed up."""

    def __init__(self, *args, k: torch.Tensor | None = None, satisfied: torch.Tensor | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.k, self.satisfied = k, satisfied


def k_anonymity_attack(model, x: torch.Tensor, labels: torch.Tensor, *, K: int = 5,
                       similarity_weight: float = 1.0, lr: float = 0.01, max_iter: int = 1000,
                       generator=0, k: torch.Tensor | None = None, cw_ssim_level: int | None = None
                       ) -> KAnonymityResult:
    """The K-anonymity attack (Eq. 6) on correctly classified samples ``x`` with true ``labels``.

    Samples get k from :func:`k_anonymity_groups` (or pass ``k`` per sample). The optimiser is Adam
    (``lr`` 0.01, C&W's optimiser and learning rate: the paper keeps the optimiser settings equal for
    all methods) on the image, projected onto [0, 1] after each step; a sample stops at the first
    iterate whose constraint holds ("until the ranking ... satisfies the constraint"), or after
    ``max_iter`` steps. We tried L-BFGS-B here too: its first line search jumps far past the boundary,
    which puts y on random ranks instead of rank k, so an early-stopped small-step optimiser is what
    Eq. 6's "until" needs. ``similarity_weight`` scales the (1 - CW-SSIM) term (0 with K = 1 leaves the
    L-BFGS objective at c = 1, the paper's remark). Adam is ``MaskedAdam``, so a finished sample's
    state stays frozen; for each sample it equals ``torch.optim.Adam`` on that sample alone.
    """
    from ..metrics import cw_ssim

    check_images(x)
    _check_model(model)
    num_classes = _num_classes(model, x)
    labels = check_labels(labels, x.shape[0], num_classes).to(x.device)
    check_range(K, "K", lo=1, hi=num_classes - 1, integer=True)
    check_range(similarity_weight, "similarity_weight", lo=0)
    check_range(lr, "lr", lo=0, hi=1, lo_open=True)
    check_range(max_iter, "max_iter", lo=1, hi=100_000, integer=True)
    n = x.shape[0]
    x = x.detach()
    with torch.no_grad():
        clean = model(x)
    if (clean.argmax(1) != labels).any():
        raise ValueError("the K-anonymity attack takes correctly classified samples (r_x(1) = y, as in the "
                         "paper); keep only those with model(x).argmax(1) == labels.")
    if k is None:
        k = k_anonymity_groups(n, K, generator)
    k = check_labels(torch.as_tensor(k), n, num_classes + 1, "k").to(x.device)
    if (k < 2).any():
        raise ValueError("every k must be at least 2 (k = 2 pushes one label, r_x(2), above the true label).")
    kmax = int(k.max())
    ranking = clean.argsort(1, descending=True)[:, 1:kmax]      # r_x(2..kmax), (n, kmax - 1)
    use = torch.arange(kmax - 1, device=x.device)[None, :] < (k[:, None] - 1)  # r_x(2..k)

    def satisfied(logits, idx):
        own = logits.gather(1, labels[idx, None])
        above = logits.gather(1, ranking[idx]) > own
        return (above | ~use[idx]).all(1)

    z = x.clone()
    adam = MaskedAdam(z, lr)
    iterations = torch.zeros(n, dtype=torch.long, device=x.device)
    active = torch.arange(n, device=x.device)
    for step in progress(range(1, int(max_iter) + 1), desc="K-anonymity steps"):
        za = z[active].requires_grad_(True)
        with torch.enable_grad():
            logits = model(za)
            logp = F.log_softmax(logits, dim=1)
            loss = _l2(za - x[active]) - (logp.gather(1, ranking[active]) * use[active]).sum(1)
            if similarity_weight:
                loss = loss + similarity_weight * (1.0 - cw_ssim(x[active], za, level=cw_ssim_level)).to(za.dtype)
            (grad,) = torch.autograd.grad(loss.sum(), za)
        keep = ~satisfied(logits.detach(), active)
        active, grad = active[keep], grad[keep]
        if active.numel() == 0:
            break
        z[active] = (z[active] - adam.delta(active, grad, step)).clamp(0.0, 1.0)
        iterations[active] += 1
    with torch.no_grad():
        logits = model(z)
    probs = torch.softmax(logits, dim=1)
    pred = probs.argmax(1)
    return KAnonymityResult(z, ranking[:, 0], pred != labels, iterations, pred, probs,
                            k=k, satisfied=satisfied(logits, torch.arange(n, device=x.device)))
