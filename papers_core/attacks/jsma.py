"""The Jacobian-based saliency map attack, JSMA (Papernot et al., EuroS&P 2016), batched.

Targeted, L0. At each iteration every sample not yet classified as its target picks the pair of
features (p, q) of its search domain that maximises the saliency of Papernot et al.'s Eq. (10), with
the logits Z as cleverhans (the authors' library) computes it::

    alpha = dZ_t/dx_p + dZ_t/dx_q,   beta = sum_{k != t} (dZ_k/dx_p + dZ_k/dx_q)
    (p, q) = argmax alpha * |beta|  subject to  alpha > 0, beta < 0,  p != q

then adds ``theta`` to both features (clipped to [0, 1]) and removes them from its search domain. It
stops when the target is reached, after ``floor(gamma * D / 2)`` iterations (D features, cleverhans'
budget), when fewer than two features remain, or when no pair satisfies the sign conditions (cleverhans
would then modify feature 0; we stop instead). The search domain starts as the features below 1
(``theta`` > 0) or above 0 (``theta`` < 0, with the signs of the conditions flipped).

Cost: one forward and two input-gradient passes per iteration (dZ_t and the gradient of the sum of
all logits, so ``beta = d(sum Z) - dZ_t``), whatever the number of classes, so 365-class models cost
what 10-class ones do. The pair search is exact over all features when D <= ``max_candidates``;
above that it is exact over the ``max_candidates`` domain features with the largest ``alpha - beta``
(for ``theta`` > 0; ``beta - alpha`` for ``theta`` < 0), which keeps its memory at
``max_candidates**2`` per sample instead of D**2 (2.2e10 for a 224x224 RGB image).
"""
from __future__ import annotations

import math

import torch

from .._validate import check_range
from ..progress import progress
from .base import check_attack_input, required_targets
from .result import AttackResult

__all__ = ["jsma"]

#: Bytes of pair scores computed at once (a cache-sized block); batches are searched in chunks of samples.
_PAIR_BYTES = 8 * 2 ** 20


def _target_and_other_gradients(model, x: torch.Tensor, targets: torch.Tensor):
    """Logits, dZ_t/dx and sum_{k != t} dZ_k/dx (flattened to (n, D)): one forward, two backward passes."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        logits = model(x)
        g_t = torch.autograd.grad(logits.gather(1, targets[:, None]).sum(), x, retain_graph=True)[0]
        g_all = torch.autograd.grad(logits.sum(), x)[0]
    g_t = g_t.flatten(1)
    return logits.detach(), g_t, g_all.flatten(1) - g_t


def _pareto_candidates(alpha: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    """Which features can be part of a row's best pair: the first two Pareto layers of the points
    (alpha_i, -beta_i) (alpha = -inf marks a feature outside the search domain).

    The pair score is (alpha_p + alpha_q) |beta_p + beta_q| over the pairs with alpha_p + alpha_q > 0
    and beta_p + beta_q < 0. If a feature r has alpha_r >= alpha_q and -beta_r >= -beta_q, one of them
    strictly, swapping q for r strictly raises the score of every valid pair (p, q) with p != r: so q is
    never in a best pair when a chain of two such features dominates it (one of them is not p), and the
    best pairs, ties included, lie among the features that at most one layer dominates. The search over
    those is exact, and since they keep their order, its first best pair is the full search's.
    Features only weakly dominated (equal in both) are kept, so exact ties are never dropped.
    """
    v = -beta
    # A feature is in the first layer when no feature with alpha >= its alpha has a larger -beta (the
    # second: the same among the rest): with alpha sorted descending, its -beta is at least the running maximum of -beta up to the
    # end of its group of equal alphas (ties in alpha are common: max pooling routes no gradient to many
    # pixels, so their alpha is exactly 0). One sort; the order inside a group does not matter.
    a_s, order = alpha.sort(dim=1, descending=True)
    v_s = v.gather(1, order)
    inside = torch.isfinite(a_s)
    v_s = v_s.masked_fill(~inside, float("-inf"))
    idx = torch.arange(a_s.shape[1], device=a_s.device).expand_as(a_s)
    ends = torch.ones_like(inside)
    ends[:, :-1] = a_s[:, 1:] != a_s[:, :-1]
    group_end = torch.where(ends, idx, a_s.shape[1]).flip(1).cummin(dim=1).values.flip(1)

    def undominated(vals):   # vals >= the largest value among the features with alpha >= its own
        return vals >= vals.cummax(dim=1).values.gather(1, group_end)

    first = undominated(v_s) & inside
    second = undominated(v_s.masked_fill(first, float("-inf"))) & inside & ~first
    keep = torch.zeros_like(first)
    keep.scatter_(1, order, first | second)
    return keep


def _best_pairs(alpha: torch.Tensor, beta: torch.Tensor, domain: torch.Tensor, increase: bool,
                max_candidates: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """For each row, the pair (p, q) of domain features with the largest saliency, and whether one exists.

    Exact: the pairs are searched among the features of the first two Pareto layers of (alpha, -beta)
    (:func:`_pareto_candidates`), which hold every best pair; the first best pair in row-major order is
    the one a search over all D x D pairs returns."""
    n, d = alpha.shape
    if not increase:  # decreasing: conditions alpha < 0, beta > 0; same search on the negated gradients
        alpha, beta = -alpha, -beta
    if d > max_candidates:
        score = (alpha - beta).masked_fill(~domain, float("-inf"))
        cand = score.topk(max_candidates, dim=1).indices                   # (n, k)
        alpha, beta, domain = alpha.gather(1, cand), beta.gather(1, cand), domain.gather(1, cand)
    else:
        cand = None
    # Out-of-domain features get alpha = -inf, so every pair holding one scores 0 below.
    alpha = alpha.masked_fill(~domain, float("-inf"))
    keep = _pareto_candidates(alpha, beta)
    counts = keep.sum(1)
    width = max(int(counts.max()), 2)
    # each row's kept features first, in order (a compaction, not a sort); the rest is padding
    r, c = keep.nonzero(as_tuple=True)
    pick = torch.zeros(n, width, dtype=torch.long, device=alpha.device)
    pick[r, keep.cumsum(1)[r, c] - 1] = c
    pad = torch.arange(width, device=alpha.device)[None, :] >= counts[:, None]
    a_all, b_all = alpha.gather(1, pick).masked_fill(pad, float("-inf")), beta.gather(1, pick)
    k = width
    # Cache blocking: a few samples' (k, k) score blocks at a time stay in cache across the four
    # passes below, which is about ten times faster than one batch-sized block on a CPU.
    chunk = max(1, _PAIR_BYTES // (4 * k * k))
    best = torch.empty(n, dtype=torch.long, device=alpha.device)
    value = torch.empty(n, dtype=alpha.dtype, device=alpha.device)
    for s in range(0, n, chunk):
        a, b = a_all[s:s + chunk], b_all[s:s + chunk]
        # relu(alpha_p + alpha_q) * (beta_p + beta_q) is negative exactly for the valid pairs
        # (alpha > 0, beta < 0), where it equals -alpha |beta|: the best pair is its minimum.
        score = (a[:, :, None] + a[:, None, :]).clamp_min_(0.0)
        score.mul_(b[:, :, None] + b[:, None, :])
        score.diagonal(dim1=1, dim2=2).zero_()
        value[s:s + chunk], best[s:s + chunk] = score.flatten(1).min(1)
    found = value < 0
    p, q = pick.gather(1, (best // k)[:, None]).squeeze(1), pick.gather(1, (best % k)[:, None]).squeeze(1)
    if cand is not None:
        p, q = cand.gather(1, p[:, None]).squeeze(1), cand.gather(1, q[:, None]).squeeze(1)
    return p, q, found


def jsma(model, x: torch.Tensor, labels=None, *, targets, theta: float = 1.0, gamma: float = 0.1,
         max_candidates: int = 1024) -> AttackResult:
    """JSMA towards ``targets`` (required: JSMA is targeted; ``labels`` are not used). ``theta`` is the
    change per modified feature (in [0, 1] units; cleverhans' and the paper's 1.0 sets a feature to its
    maximum), ``gamma`` the largest fraction of features that may change, which sets the step limit
    ``floor(gamma * D / 2)``. The result's ``iterations`` counts the pairs each sample modified."""
    targets = required_targets(x, labels, targets, check_attack_input(model, x), "JSMA")
    check_range(theta, "theta", lo=-1, hi=1)
    if theta == 0:
        raise ValueError("theta must be non-zero: positive increases features, negative decreases them.")
    check_range(gamma, "gamma", lo=0, hi=1, lo_open=True)
    check_range(max_candidates, "max_candidates", lo=2, hi=65_536, integer=True)

    n, shape = x.shape[0], x.shape
    d = math.prod(shape[1:])
    increase = theta > 0
    x_adv = x.detach().clone().flatten(1)
    domain = (x_adv < 1.0) if increase else (x_adv > 0.0)
    limit = int(math.floor(d * gamma / 2.0))
    steps = torch.zeros(n, dtype=torch.long, device=x.device)
    active = torch.arange(n, device=x.device)
    rows = torch.arange(n, device=x.device)
    for _ in progress(range(limit), desc="JSMA iterations"):
        logits, alpha, beta = _target_and_other_gradients(model, x_adv[active].view(-1, *shape[1:]),
                                                          targets[active])
        go = (logits.argmax(1) != targets[active]) & (domain[active].sum(1) >= 2)
        p, q, found = _best_pairs(alpha, beta, domain[active], increase, int(max_candidates))
        go &= found
        active, p, q = active[go], p[go], q[go]
        if active.numel() == 0:
            break
        r = rows[: active.numel()]
        sub = x_adv[active]
        sub[r, p] = (sub[r, p] + theta).clamp(0.0, 1.0)
        sub[r, q] = (sub[r, q] + theta).clamp(0.0, 1.0)
        x_adv[active] = sub
        dom = domain[active]
        dom[r, p] = False
        dom[r, q] = False
        domain[active] = dom
        steps[active] += 1
    return AttackResult.from_model(model, x_adv.view(shape), targets, targeted=True, iterations=steps)
