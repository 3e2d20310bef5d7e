"""Robust Private FGSM (Sanchez-Matilla et al., "Exploiting vulnerabilities of deep neural networks for
privacy protection", IEEE TMM 2020, Eqs. 14-17) and the paper's Sec. V-B single-classifier baselines.

Settings of Sec. V-B, shared by every FGSM-family attack of the paper: step ``delta`` = 1 grey level,
L-inf budget ``eps`` = 16 grey levels (the clipping of Eq. 11), ``N = min(1.25 eps, eps + 4)``
iterations per classifier (:func:`papers_core.attacks.paper_iterations`), the image rounded to the
8-bit grid after every step (as the official code does). There is no early stop: every attack makes the
same number of forward and backward passes, ``K * N`` with K classifiers.

The schedule is drawn per image, as the paper says ("at each iteration" for each image): at iteration n
image i uses its own classifier and transformation; at each iteration every transformation runs once
on the images that drew it and every classifier once on its images, so the work is the same as with one
shared schedule
(``per_image=False``, which is what the official code does: it resets its random seed to 0 for every
image, so its images share one schedule).
The other multi-classifier attacks live in their own modules: E-FGSM (:mod:`.ensemble`), DI-FGSM
(:mod:`.di_fgsm`), EOT (:mod:`.eot`).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .._validate import check_choice, check_range
from ..rng import ImageStreams, image_streams
from ..defenses import Defense, paper_defenses
from .base import AUTO, refuse_unused, target_mode
from .ensemble import check_ensemble_input, ensemble_labels
from .fgsm import n_fgsm
from .p_fgsm import l_fgsm, p_fgsm, r_fgsm
from .sign import paper_iterations, sign_gradient_attack

__all__ = ["rp_fgsm", "schedule", "SCHEDULES", "CLASSIFIER_CHOICES", "RP_DEFENSE_TYPES", "fgsm_variant",
           "FGSM_VARIANTS"]

#: How the per-iteration choices are drawn: independently ("random", the paper) or stratified, each
#: option about equally often ("stratified", the official code).
SCHEDULES = ("random", "stratified")

#: How RP-FGSM uses its classifiers: one drawn per iteration (the paper) or all summed (the ablation).
CLASSIFIER_CHOICES = ("random", "ensemble")

#: RP-FGSM's transformation types, each drawn with equal probability, then a parameter of its set.
RP_DEFENSE_TYPES = ("none", "requantize", "median", "jpeg")


def schedule(n: int, options: int, kind: str = "random", seed: int = 0, images: int | None = None,
             index=None, draw: str = "schedule") -> torch.Tensor:
    """``n`` choices among ``options``: i.i.d. uniform ("random"), or each option ``n // options``
    times plus a remainder drawn without replacement, shuffled ("stratified", the official code).
    With ``images`` (or ``index``, the images' positions in the whole set): an (n, images) tensor, one
    independent schedule per image, column i from image ``index[i]``'s own stream of ``seed``
    (:mod:`papers_core.rng`; ``draw`` names the draw, so that two schedules of one attack differ).
    Without either: one schedule of ``n`` choices, drawn from ``seed`` alone."""
    check_range(n, "n", lo=1, integer=True)
    check_range(options, "options", lo=1, integer=True)
    check_choice(kind, SCHEDULES, "schedule")
    n, options = int(n), int(options)
    if images is None and index is None:
        return schedule(n, options, kind, seed, index=torch.zeros(1, dtype=torch.long), draw=f"{draw} (shared)")[:, 0]
    if images is not None:
        check_range(images, "images", lo=1, integer=True)
    streams = ImageStreams(seed, images, index)
    if kind == "random":
        return streams.integers(draw, 0, options, n).T.contiguous()
    m = len(streams)
    base = torch.arange(options, device=streams.device).repeat(n // options).unsqueeze(0).expand(m, -1)
    rest = streams.permutations((draw, "remainder"), options)[:, : n % options]   # per image, without replacement
    full = torch.cat([base, rest], 1)
    return full.gather(1, streams.permutations((draw, "order"), n)).T.contiguous()  # shuffled per image


def rp_fgsm(models, x: torch.Tensor, labels=None, *, targets=AUTO, gamma: float = 0.99,
            step: float = 1.0, eps: float = 16.0, iterations: int | None = None,
            defenses: list[Defense] | None = None, schedule_kind: str = "random", classifiers: str = "random",
            per_image: bool = True, seed: int = 0, index=None):
    """Robust Private FGSM (Eqs. 14-17).

    ``models``: the K classifiers (one model or a list). ``iterations`` defaults to
    ``K * paper_iterations(eps)``. At iteration n a classifier ``M_r`` and a transformation ``phi_r`` are
    drawn for each image (``per_image``, the paper: from the image's own stream of ``seed``, ``index``
    giving the images' positions in the whole set, :mod:`papers_core.rng`; ``per_image=False``: one
    schedule drawn from ``seed`` alone and shared by every image, as the official code's per-image seed
    reset amounts to), by ``schedule_kind``: "random" as the paper says, or "stratified" as the official
    code does;
    the transformation type is uniform over {none, re-quantisation, median, JPEG} and its parameter
    uniform over the paper's set (``defenses``, default :func:`papers_core.defenses.paper_defenses`).
    The step is ``-+ step * sign(grad_x J_{M_r}(phi_r(x_n), y))`` through the differentiable form of
    ``phi_r``, then the image is clipped to the ``eps`` ball and rounded to 8 bits. Targeted: ``y`` is a
    class drawn from Eq. 17's set with threshold ``gamma`` (``targets="auto"``, the default) or
    ``targets`` (``gamma`` is then refused, as in the untargeted call: only the draw uses it);
    untargeted (``targets=None``): ``y`` is ``M_r``'s prediction on the clean image (``labels`` are
    refused: no branch uses them).
    ``probs``, ``prediction`` and ``success`` refer to the first classifier.

    ``classifiers="ensemble"`` is the ablation of Sec. V-E (Tables V-VII): every iteration sums the
    gradients of all K classifiers on the same transformed image (Eq. 13 with RP-FGSM's
    transformations), and ``iterations`` defaults to ``paper_iterations(eps)``, the same number of
    forward and backward passes as the random choice makes. ``defenses=[]`` removes the
    transformations (the identity at every iteration). ``result.plan[n][i]`` is image i's
    (classifier index, or -1 for all, and transformation) at iteration n. With ``per_image=False`` and
    no target draw, ``index`` is refused (nothing per image is drawn). With ``defenses=[]`` and one
    classifier (or ``classifiers="ensemble"``) the schedule has a single option, so ``seed`` (unless
    it draws the targets), ``schedule_kind`` and ``per_image`` change nothing; that corner is not
    refused.
    """
    if labels is not None:
        raise ValueError("rp_fgsm takes no labels: targeted, it steps towards targets= or a class drawn from "
                         "Eq. 17's set (targets='auto'); untargeted (targets=None), away from each classifier's own prediction "
                         "on the clean image. Leave labels out.")
    models, num_classes = check_ensemble_input(models, x, step, eps, iterations)
    check_range(gamma, "gamma", lo=0, hi=1)
    check_choice(schedule_kind, SCHEDULES, "schedule")
    check_choice(classifiers, CLASSIFIER_CHOICES, "classifiers")
    defenses = paper_defenses() if defenses is None else list(defenses)
    if not all(isinstance(d, Defense) for d in defenses):
        raise ValueError("defenses must be a list of papers_core.defenses.Defense objects.")
    targeted = target_mode(targets, "RP-FGSM")
    if not isinstance(targets, str):
        refuse_unused("RP-FGSM", "gamma is Eq. 17's threshold for drawing targets, which targets='auto' asks for",
                      gamma=(gamma, 0.99))
        if not per_image:
            refuse_unused("RP-FGSM", "with per_image=False the schedule is shared, and no target is drawn",
                          index=(index, None))
    per_model, target, _ = ensemble_labels(models, x, targets, num_classes, gamma, seed=seed, index=index)
    K = len(models)
    ensemble = classifiers == "ensemble"
    n_iter = int(iterations) if iterations is not None else (1 if ensemble else K) * paper_iterations(eps)
    types = ["none"] + [t for t in RP_DEFENSE_TYPES[1:] if any(d.name == t for d in defenses)]
    by_type = {t: [d for d in defenses if d.name == t] for t in types[1:]}
    # the options: None (no transformation), then every defense of each type; a draw picks the type
    # uniformly, then a parameter of that type uniformly
    options = [None] + [d for t in types[1:] for d in by_type[t]]
    first = {t: 1 + sum(len(by_type[u]) for u in types[1:i]) for i, t in enumerate(types) if t != "none"}
    if per_image:
        streams = image_streams(x, seed, index)
        idx = streams.index
        which_model = schedule(n_iter, K, schedule_kind, seed, index=idx, draw="classifier")
        which_type = schedule(n_iter, len(types), schedule_kind, seed, index=idx, draw="transformation")
        which_param = streams.uniform("parameter", n_iter, dtype=torch.float64).T
    else:
        which_model = schedule(n_iter, K, schedule_kind, seed, draw="classifier")
        which_type = schedule(n_iter, len(types), schedule_kind, seed, draw="transformation")
        which_param = ImageStreams(seed, index=torch.zeros(1, dtype=torch.long)).uniform(
            "parameter (shared)", n_iter, dtype=torch.float64)[0]
    which_model, which_type, which_param = which_model.cpu(), which_type.cpu(), which_param.cpu()
    option = torch.zeros(which_type.shape, dtype=torch.long)
    for j, t in enumerate(types[1:], start=1):
        sel = which_type == j
        option[sel] = first[t] + (which_param[sel] * len(by_type[t])).long().clamp(max=len(by_type[t]) - 1)
    if ensemble:
        which_model = torch.full_like(which_model, -1)
    if not per_image:  # one choice per iteration, the same for every image
        which_model = which_model.unsqueeze(1).expand(-1, x.shape[0])
        option = option.unsqueeze(1).expand(-1, x.shape[0])
    which_model, option = which_model.to(x.device), option.to(x.device)

    def grad_fn(n, x_adv):
        # one graph per iteration: each transformation on the images that drew it, then each classifier
        # once on the images that drew it (at most len(options) + K calls, whatever the batch size)
        km, om = which_model[n], option[n]
        xg = x_adv.detach().requires_grad_(True)
        with torch.enable_grad():
            pieces, where = [], []
            for o in torch.unique(om).tolist():
                idx = (om == o).nonzero().squeeze(1)
                d = options[o]
                pieces.append(d(xg[idx], differentiable=True) if d is not None else xg[idx])
                where.append(idx)
            z = torch.cat(pieces)[torch.argsort(torch.cat(where))]   # back in batch order
            loss = 0
            for k in torch.unique(km).tolist():
                idx = (km == k).nonzero().squeeze(1)
                for j in (range(K) if k < 0 else (k,)):    # k = -1: every classifier (the ensemble)
                    loss = loss + F.cross_entropy(models[j](z[idx]), per_model[j][idx], reduction="sum")
            (grad,) = torch.autograd.grad(loss, xg)
        return grad

    result = sign_gradient_attack(models[0], x, per_model[0], targeted=targeted, step=step, iterations=n_iter,
                                  eps=eps, quantize="step", target=target, gradient=grad_fn)
    labels_of = [d.label if d is not None else "none" for d in options]
    km, om = which_model.cpu().tolist(), option.cpu().tolist()
    result.plan = [[(k, labels_of[o]) for k, o in zip(km[n], om[n])] for n in range(n_iter)]
    return result


#: Sec. V-B's single-classifier FGSM attacks and how each chooses its class.
FGSM_VARIANTS = {"U-FGSM": "untargeted, away from the predicted class",
                 "R-FGSM": "targeted, a class drawn uniformly from all but the predicted one",
                 "L-FGSM": "targeted, the least likely class",
                 "P-FGSM": "targeted, a class drawn from Eq. 17's set (gamma 0.99)"}
_VARIANT_FUNCTIONS = {"U-FGSM": n_fgsm, "R-FGSM": r_fgsm, "L-FGSM": l_fgsm, "P-FGSM": p_fgsm}


class _VariantMode:
    """``fgsm_variant``'s ``targets`` left out: the variant's own mode (U-FGSM untargeted, the others
    ``"auto"``)."""

    def __repr__(self) -> str:
        return "<the variant's mode>"


_VARIANT_MODE = _VariantMode()


def fgsm_variant(model, x: torch.Tensor, labels=None, *, variant: str, targets=_VARIANT_MODE, step: float = 1.0,
                 eps: float = 16.0, iterations: int | None = None, gamma: float = 0.99, seed: int = 0, index=None):
    """U-, R-, L- or P-FGSM in the RP-FGSM paper's setting (Sec. V-B), which differs from the P-FGSM
    paper's: step ``delta`` = 1 grey level, L-inf ball ``eps`` = 16, exactly ``paper_iterations(eps)``
    iterations (no early stop), the image rounded to 8 bits after every step. These are the library's
    :func:`n_fgsm`, :func:`r_fgsm`, :func:`l_fgsm` and :func:`p_fgsm` (Eq. 17 with one classifier is
    Eq. 10 with sigma = ``gamma``) called with those settings, which check the arguments.

    ``targets`` left out, each variant runs in its paper mode: U-FGSM untargeted (away from the clean
    prediction unless ``labels`` are given; it takes no other mode), R-, L- and P-FGSM targeted
    towards the classes they choose (``"auto"``), or towards one class per image if given. ``gamma``
    (P-FGSM) and ``seed`` and ``index`` (R- and P-FGSM) belong to that choice and are refused where no
    choice is made."""
    check_choice(variant, FGSM_VARIANTS, "FGSM variant")
    if isinstance(model, (list, tuple)):
        if len(model) != 1:
            raise ValueError(f"{variant} attacks one classifier; use e_fgsm or rp_fgsm for several.")
        model = model[0]
    if targets is _VARIANT_MODE:
        targets = None if variant == "U-FGSM" else AUTO
    if variant == "U-FGSM":
        target_mode(targets, "U-FGSM", targeted=False)
    draws = variant in ("R-FGSM", "P-FGSM") and isinstance(targets, str)
    unused = {} if variant == "P-FGSM" and draws else dict(gamma=(gamma, 0.99))
    if not draws:
        unused.update(seed=(seed, 0), index=(index, None))
    refuse_unused(variant, "only the target draws of R- and P-FGSM (targets='auto') use seed and index, and only "
                  "P-FGSM's uses gamma", **unused)
    settings = dict(step=step, eps=eps, quantize="step", threshold=None,
                    iterations=iterations if iterations is not None else paper_iterations(eps))
    if variant == "U-FGSM":
        return n_fgsm(model, x, labels, **settings)
    if draws:
        settings.update(seed=seed, index=index)
    if variant == "P-FGSM" and draws:
        settings.update(sigma=gamma)
    return _VARIANT_FUNCTIONS[variant](model, x, labels, targets=targets, **settings)
