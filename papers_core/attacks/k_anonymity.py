"""The K-anonymity attack of Mygdalis, Tefas and Pitas, "Introducing K-anonymity principles to
adversarial attacks for privacy protection in image classification problems" (Eq. 6), which
generalises the L-BFGS attack (:mod:`papers_core.attacks.lbfgs`).

``min ||p||_2 + (1 - CW-SSIM(x, x~)) + sum_{i=2..k} L_f(f(x~), r_x(i))``, until the clean ranking's
labels r_x(2..k) all rank above the true label y. Solved as the paper frames it, as a generalisation of
L-BFGS: box-constrained L-BFGS-B with the L-BFGS attack's line search on the weight c of ||p||_2
(``solver="lbfgs"``, the default), or with projected Adam and a per-sample stop (``solver="adam"``).
The N samples are split into K groups of N/K that use k = 2, ..., K + 1, so that y lands uniformly on
ranks 2 .. K + 1 (condition 5: P(rank = j) <= 1/K).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .._validate import check_choice, check_labels, check_range
from ..progress import progress
from ..rng import check_seed
from .base import check_attack_input, refuse_unused
from .result import AttackResult
from .lbfgs import c_line_search, smooth_l2
from .optim import MaskedAdam

__all__ = ["k_anonymity_attack", "k_anonymity_groups", "KAnonymityResult", "K_ANONYMITY_SOLVERS"]

#: How Eq. 6 is minimised: L-BFGS-B with a line search on c (the paper's framing), or projected Adam.
K_ANONYMITY_SOLVERS = ("lbfgs", "adam")


def k_anonymity_groups(n: int, K: int, seed: int = 0) -> torch.Tensor:
    """Each of ``n`` samples' k in {2, ..., K + 1}: K groups of n/K samples (sizes differ by at most
    one), assigned in a random order drawn from ``seed``. The groups belong to the whole set of ``n``
    samples: a batch or a shard of it takes its rows (``k_anonymity_groups(n, K, seed)[index]``, what
    :func:`k_anonymity_attack` does with ``index`` and ``population``)."""
    check_range(n, "n", lo=1, integer=True)
    check_range(K, "K", lo=1, integer=True)
    perm = torch.randperm(int(n), generator=torch.Generator().manual_seed(check_seed(seed)))
    k = torch.empty(n, dtype=torch.long)
    k[perm] = 2 + torch.arange(n) * int(K) // n
    return k


class KAnonymityResult(AttackResult):
    """An :class:`AttackResult` plus each sample's ``k`` and ``satisfied``, whether its ranking
    constraint holds (r_x(2..k) all rank above the true label). ``target`` holds r_x(2), the first label
    pushed up."""

    k: torch.Tensor
    satisfied: torch.Tensor


def k_anonymity_attack(model, x: torch.Tensor, labels=None, *, targets=None, K: int = 5,
                       similarity_weight: float = 1.0, solver: str = "lbfgs", search_steps: int = 8,
                       c_init: float = 1.0, lr: float = 0.01, iterations: int = 1000, seed: int = 0,
                       index=None, population: int | None = None, k: torch.Tensor | None = None,
                       cw_ssim_level: int | None = None) -> KAnonymityResult:
    """The K-anonymity attack (Eq. 6) on correctly classified samples ``x`` with true ``labels``.

    Samples get k from :func:`k_anonymity_groups` of ``seed`` (or pass ``k`` per sample); when ``x`` is
    a batch or a shard of a larger set, ``index`` gives its samples' positions in the set and
    ``population`` the set's size, so that every sample gets the k it gets when the set is attacked at
    once. ``similarity_weight``
    scales the (1 - CW-SSIM) term; with K = 1 and weight 0, Eq. 6 is the L-BFGS attack's objective (the
    paper's remark).

    * ``solver="lbfgs"`` (default): Eq. 6 with a weight c on ||p||_2, minimised by L-BFGS-B over the box
      [0, 1] with the L-BFGS attack's line search on c (:func:`papers_core.attacks.lbfgs.c_line_search`:
      ``search_steps`` solves of at most ``iterations`` iterations from ``c_init``); the result is the
      smallest perturbation whose ranking meets the constraint (r_x(2..k) all above y) among all the
      iterates the solver evaluated ("until the ranking satisfies the constraint": the sum of
      cross-entropies keeps pulling past the first ranking that does, and its minimiser may not).
      Large c keeps the perturbation small, so y lands just below the pushed labels, on rank k.
    * ``solver="adam"``: Adam (``lr``) on the image, projected onto [0, 1] after each step, each sample
      stopping at the first iterate whose constraint holds ("until the ranking ... satisfies the
      constraint"), or after ``iterations`` steps. Adam is ``MaskedAdam``: a finished sample's state
      stays frozen; for each sample it equals ``torch.optim.Adam`` on that sample alone. Its
      per-pixel normalisation spreads a dense perturbation of about ``lr`` per step, which the line
      search does not.

    A setting the call does not use is refused: ``lr`` with L-BFGS-B, ``search_steps`` and ``c_init``
    with Adam, ``K`` and ``seed`` with ``k``, ``population`` without ``index``, ``cw_ssim_level``
    with ``similarity_weight=0``.
    """
    from ..metrics import cw_ssim

    num_classes = check_attack_input(model, x)
    if targets is not None:
        raise ValueError("the K-anonymity attack is untargeted: it chooses its own labels to push up (the clean "
                         "ranking's r_x(2..k)); drop targets=.")
    if labels is None:
        raise ValueError("the K-anonymity attack needs the true labels (labels=) of correctly classified samples.")
    labels = check_labels(labels, x.shape[0], num_classes).to(x.device)
    check_range(K, "K", lo=1, hi=num_classes - 1, integer=True)
    check_range(similarity_weight, "similarity_weight", lo=0)
    check_choice(solver, K_ANONYMITY_SOLVERS, "K-anonymity solver")
    check_range(lr, "lr", lo=0, hi=1, lo_open=True)
    check_range(iterations, "iterations", lo=1, hi=100_000, integer=True)
    check_range(search_steps, "search_steps", lo=1, hi=100, integer=True)
    check_range(c_init, "c_init", lo=0, lo_open=True)
    if solver == "lbfgs":
        refuse_unused("the K-anonymity attack", "lr is Adam's step size: solver='adam'", lr=(lr, 0.01))
    else:
        refuse_unused("the K-anonymity attack", "the line search on c is the L-BFGS-B solver's: solver='lbfgs'",
                      search_steps=(search_steps, 8), c_init=(c_init, 1.0))
    if k is not None:
        refuse_unused("the K-anonymity attack", "K and seed draw the groups, and k= gives them", K=(K, 5),
                      seed=(seed, 0))
    elif index is None:
        refuse_unused("the K-anonymity attack", "population is the size of the set that index= places the "
                      "samples in", population=(population, None))
    if similarity_weight == 0:
        refuse_unused("the K-anonymity attack", "similarity_weight=0 drops the CW-SSIM term",
                      cw_ssim_level=(cw_ssim_level, None))
    n = x.shape[0]
    x = x.detach()
    with torch.no_grad():
        clean = model(x)
    if (clean.argmax(1) != labels).any():
        raise ValueError("the K-anonymity attack takes correctly classified samples (r_x(1) = y, as in the "
                         "paper); keep only those with model(x).argmax(1) == labels.")
    if k is None:
        if index is None:
            k = k_anonymity_groups(n, K, seed)
        else:
            if population is None:
                raise ValueError("with index= (the samples' positions in a larger set), pass population= (the "
                                 "set's size): the K groups are drawn over the whole set.")
            index = torch.as_tensor(index, dtype=torch.long)
            if len(index) != n or int(index.min()) < 0 or int(index.max()) >= int(population):
                raise ValueError(f"index must hold {n} positions in 0 .. {int(population) - 1} (population "
                                 f"{int(population)}), one per sample.")
            k = k_anonymity_groups(int(population), K, seed)[index.cpu()]
    elif index is not None or population is not None:
        raise ValueError("pass k= or index= and population=, not both: k fixes each sample's group.")
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

    all_rows = torch.arange(n, device=x.device)
    if solver == "lbfgs":
        def eq6_terms(z):  # Eq. 6 without ||p||_2, per sample, and whether the ranking meets the constraint
            logits = model(z)
            logp = F.log_softmax(logits, dim=1)
            out = -(logp.gather(1, ranking) * use).sum(1)
            if similarity_weight:
                out = out + similarity_weight * (1.0 - cw_ssim(x, z, level=cw_ssim_level)).to(z.dtype)
            return out, satisfied(logits.detach(), all_rows)

        z, _ = c_line_search(x, eq6_terms, lambda z: satisfied(model(z), all_rows), c_init=c_init,
                             search_steps=search_steps, iterations=iterations, desc="K-anonymity search steps")
        with torch.no_grad():
            logits = model(z)
        steps = torch.full((n,), int(search_steps), dtype=torch.long, device=x.device)
        return KAnonymityResult.from_logits(z, logits, labels, targeted=False, iterations=steps,
                                            target=ranking[:, 0], k=k, satisfied=satisfied(logits, all_rows))

    z = x.clone()
    adam = MaskedAdam(z, lr)
    steps = torch.zeros(n, dtype=torch.long, device=x.device)
    active = torch.arange(n, device=x.device)
    for step in progress(range(1, int(iterations) + 1), desc="K-anonymity steps"):
        za = z[active].requires_grad_(True)
        with torch.enable_grad():
            logits = model(za)
            logp = F.log_softmax(logits, dim=1)
            loss = smooth_l2(za - x[active]) - (logp.gather(1, ranking[active]) * use[active]).sum(1)
            if similarity_weight:
                loss = loss + similarity_weight * (1.0 - cw_ssim(x[active], za, level=cw_ssim_level)).to(za.dtype)
            (grad,) = torch.autograd.grad(loss.sum(), za)
        keep = ~satisfied(logits.detach(), active)
        active, grad = active[keep], grad[keep]
        if active.numel() == 0:
            break
        z[active] = (z[active] - adam.delta(active, grad, step)).clamp(0.0, 1.0)
        steps[active] += 1
    with torch.no_grad():
        logits = model(z)
    return KAnonymityResult.from_logits(z, logits, labels, targeted=False, iterations=steps, target=ranking[:, 0],
                                        k=k, satisfied=satisfied(logits, torch.arange(n, device=x.device)))
