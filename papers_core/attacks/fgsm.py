"""The FGSM family of Li et al. (ICASSP 2019), "Scene privacy protection", Sec. 2 and Table 1.

All attacks take float NCHW images in [0, 1] and a model that takes [0, 1] input (it owns its
normalisation).  Step sizes and budgets are in 8-bit units: ``step=1`` moves a pixel by 1/255.
Every attack is batched; a sample stops on its own (by mask) when its stopping rule holds.

Notation (paper): x image, p = softmax(M(x)), J the cross-entropy, eps the per-iteration step.

* FGSM (Eq. 6)      x^ = x + eps sign(grad J(x, y))                 one step, true label y
* N-FGSM (Eq. 7)    x^_N = x^_{N-1} + eps sign(grad J(x^_{N-1}, y))  iterated
* L-FGSM (Eqs. 8-9) x^_N = x^_{N-1} - eps sign(grad J(x^_{N-1}, y_ll)), y_ll = argmin p
* R-FGSM            as L-FGSM with a target drawn uniformly from every class but the top-1
* P-FGSM (Eqs. 10-11) as L-FGSM with a target drawn uniformly from {y'_j : sum_{i<j} p'_i > sigma}
* Baselines of Table 1: sign of Gaussian (SoG) and the "noise added for X iterations" rows.
"""
from __future__ import annotations

import contextlib
import weakref

import torch
import torch.nn.functional as F

from .._validate import as_generator, check_choice, check_images, check_labels, check_range
from ..progress import progress

__all__ = [
    "AttackResult",
    "QUANTIZE_MODES",
    "P_FGSM_SELECTIONS",
    "PAPER_EPSILON_8BIT",
    "fgsm",
    "n_fgsm",
    "l_fgsm",
    "r_fgsm",
    "p_fgsm",
    "targeted_ifgsm",
    "bim",
    "pgd",
    "iterative_sign_attack",
    "fgsm_noise",
    "add_noise",
    "sign_of_gaussian",
    "least_likely_targets",
    "random_target_mask",
    "private_target_mask",
    "sample_targets",
    "predict_proba",
]

#: Li et al. Sec. 3.1: "we select eps = 0.007" (for [0, 1] images), i.e. 1.785 in 8-bit units.
PAPER_EPSILON_8BIT = 0.007 * 255

#: When to round to the 8-bit grid: never, after every step, or once on the returned image
#: (the P-FGSM code saves an 8-bit image and does not round between iterations: "output").
QUANTIZE_MODES = ("none", "step", "output")

#: P-FGSM target selection: the paper's Eq. 10, or the official code's (every class but the top-1).
P_FGSM_SELECTIONS = ("paper", "official")


class AttackResult:
    """An adversarial batch and per-sample facts.

    adv:        (N, C, H, W) adversarial images in [0, 1]
    target:     (N,) target class of a targeted attack, -1 for an untargeted one
    success:    (N,) targeted: top-1 of ``adv`` is the target; untargeted: top-1 is not the label
    iterations: (N,) gradient steps taken by each sample
    prediction: (N,) top-1 class of ``adv``
    probs:      (N, D) class probabilities of ``adv``

    An attack that has no use for the final probabilities passes ``evaluate`` instead of ``success``,
    ``prediction`` and ``probs``: a function returning those three, called on first access, so a
    caller that only wants the images does not pay for one more forward pass.
    """

    def __init__(self, adv, target, success=None, iterations=None, prediction=None, probs=None, *,
                 evaluate=None):
        if evaluate is None and (success is None or prediction is None or probs is None):
            raise ValueError("AttackResult needs success, prediction and probs, or an evaluate function.")
        self.adv, self.target, self.iterations = adv, target, iterations
        self._success, self._prediction, self._probs, self._evaluate = success, prediction, probs, evaluate

    def _ensure(self) -> None:
        if self._probs is None:
            self._success, self._prediction, self._probs = self._evaluate()
            self._evaluate = None

    @property
    def success(self) -> torch.Tensor:
        self._ensure()
        return self._success

    @property
    def prediction(self) -> torch.Tensor:
        self._ensure()
        return self._prediction

    @property
    def probs(self) -> torch.Tensor:
        self._ensure()
        return self._probs

    def __len__(self) -> int:
        return self.adv.shape[0]

    def __repr__(self) -> str:
        return f"AttackResult(n={len(self)}, image shape={tuple(self.adv.shape[1:])})"

    @staticmethod
    def cat(results: list["AttackResult"]) -> "AttackResult":
        """Concatenate results of consecutive chunks of one batch."""
        return AttackResult(*(torch.cat([getattr(r, f) for r in results])
                              for f in ("adv", "target", "success", "iterations", "prediction", "probs")))


# --------------------------------------------------------------------------------------------- helpers
def _check_model(model: torch.nn.Module) -> None:
    if not callable(model):
        raise TypeError(f"model must be a callable torch.nn.Module, got {type(model).__name__}.")
    if isinstance(model, torch.nn.Module) and model.training:
        raise ValueError("model is in training mode; call model.eval() first (batch norm and dropout in "
                         "training mode make a sample's result depend on its batch).")


#: model -> {(image shape, dtype, device): number of classes}
_NUM_CLASSES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _num_classes(model, x: torch.Tensor) -> int:
    """The model's number of outputs, from one image; a model that cannot take the images says so.

    Remembered per model object, image shape, dtype and device, so repeated attacks on one model skip
    the probe (a model whose output layer is replaced in place keeps its old count here; the loss then
    reports out-of-range labels itself)."""
    key = None
    if isinstance(model, torch.nn.Module):
        key = (tuple(x.shape[1:]), x.dtype, x.device)
        with contextlib.suppress(TypeError):
            known = _NUM_CLASSES.get(model, {}).get(key)
            if known is not None:
                return known
    try:
        with torch.no_grad():
            out = model(x[:1])
    except RuntimeError as e:
        raise ValueError(f"the model could not take images of shape (C, H, W) = {tuple(x.shape[1:])}: {e}. "
                         "Pass images with the number of channels and the size the model expects.") from e
    if out.dim() != 2:
        raise ValueError(f"the model must return (N, num_classes) logits, got shape {tuple(out.shape)}.")
    if key is not None:
        with contextlib.suppress(TypeError):
            _NUM_CLASSES.setdefault(model, {})[key] = out.shape[1]
    return out.shape[1]


@torch.no_grad()
def predict_proba(model, x: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Softmax probabilities of ``model`` on ``x``, computed in chunks of ``batch_size``."""
    check_images(x)
    _check_model(model)
    return torch.cat([F.softmax(model(x[i:i + batch_size]), dim=1) for i in range(0, len(x), batch_size)])


def _input_gradient(model, x: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits and the gradient of the summed cross-entropy with respect to the input only.

    ``torch.autograd.grad`` asks for the input gradient alone, so no weight gradient is accumulated.
    Summing keeps each sample's gradient its own (the model is in eval mode).
    """
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        logits = model(x)
        loss = F.cross_entropy(logits, labels, reduction="sum")
        (grad,) = torch.autograd.grad(loss, x)
    return logits.detach(), grad


def _to_grid(x: torch.Tensor) -> torch.Tensor:
    return torch.round(x * 255.0) / 255.0


def _budget_box(x: torch.Tensor, eps, on_grid: bool) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """Lower and upper bounds of the feasible set: [0, 1] intersected with the L-inf ball of ``eps``/255.

    On the 8-bit grid the bounds are rounded inwards, so rounding never leaves the ball. Without ``eps``
    the set is [0, 1]: returns (None, None), which :func:`_project` treats as a plain clamp.
    """
    if eps is None:
        return None, None
    lo, hi = x - eps / 255.0, x + eps / 255.0
    if on_grid:
        lo, hi = torch.ceil(lo * 255.0 - 1e-6) / 255.0, torch.floor(hi * 255.0 + 1e-6) / 255.0
    return lo.clamp(0.0, 1.0), hi.clamp(0.0, 1.0)


def _project(x: torch.Tensor, lo: torch.Tensor | None, hi: torch.Tensor | None, round_to_grid: bool) -> torch.Tensor:
    if round_to_grid:
        x = _to_grid(x)
    if lo is None:
        return x.clamp(0.0, 1.0)
    return torch.maximum(torch.minimum(x, hi), lo)


def _rows(t: torch.Tensor | None, sel):
    return None if t is None else t[sel]


def _check_common(step, max_iter, threshold, eps, quantize) -> None:
    check_range(step, "step (8-bit units)", lo=0, hi=255, lo_open=True)
    check_range(max_iter, "max_iter", lo=1, hi=100_000, integer=True)
    if threshold is not None:
        check_range(threshold, "threshold", lo=0, hi=1, lo_open=True)
    if eps is not None:
        check_range(eps, "eps (8-bit units)", lo=0, hi=255, lo_open=True)
    check_choice(quantize, QUANTIZE_MODES, "quantize mode")


def _finish(model, x_adv, lo, hi, quantize, labels, targeted, iterations) -> AttackResult:
    if quantize == "output":
        x_adv = _project(x_adv, lo, hi, round_to_grid=True)
    x_adv = x_adv.detach()
    target = labels if targeted else torch.full_like(labels, -1)

    def evaluate():
        with torch.no_grad():
            probs = F.softmax(model(x_adv), dim=1)
        pred = probs.argmax(1)
        return (pred == labels if targeted else pred != labels), pred, probs

    return AttackResult(x_adv, target, iterations=iterations, evaluate=evaluate)


# ------------------------------------------------------------------------------------------ the engine
def iterative_sign_attack(model, x: torch.Tensor, labels: torch.Tensor, *, targeted: bool,
                          step: float = 1.0, max_iter: int = 50, threshold: float | None = 0.99,
                          eps: float | None = None, quantize: str = "output",
                          start: torch.Tensor | None = None) -> AttackResult:
    """Iterated signed-gradient steps with a per-sample stop (Eqs. 7, 9 and 11).

    Untargeted: x_n = x_{n-1} + step sign(grad J(x_{n-1}, label)); a sample stops once its
    misclassification probability 1 - p(label) exceeds ``threshold``.
    Targeted:   x_n = x_{n-1} - step sign(grad J(x_{n-1}, target)); a sample stops once p(target)
    exceeds ``threshold``.
    Every sample stops after ``max_iter`` steps. ``threshold=None`` runs exactly ``max_iter`` steps.
    Images are clipped to [0, 1] (and to the L-inf ball of ``eps``/255 around ``x`` if given) after every
    step. ``start`` (default ``x``) is the image the first step is taken from (PGD's random start).
    """
    check_images(x)
    _check_model(model)
    _check_common(step, max_iter, threshold, eps, quantize)
    labels = check_labels(labels, x.shape[0], _num_classes(model, x)).to(x.device)

    direction = -1.0 if targeted else 1.0
    lo, hi = _budget_box(x, eps, on_grid=quantize != "none")
    if start is not None and start.shape != x.shape:
        raise ValueError(f"start has shape {tuple(start.shape)}; it must match the images' {tuple(x.shape)}.")
    x_adv = (x if start is None else start).detach().clone()
    n = x.shape[0]
    iterations = torch.zeros(n, dtype=torch.long, device=x.device)
    full_steps = 0
    active = torch.arange(n, device=x.device)
    for _ in progress(range(int(max_iter)), desc="attack iterations"):
        if active.numel() == 0:
            break
        # while every sample is active, slices (views) replace gathered copies
        sel = slice(None) if active.numel() == n else active
        logits, grad = _input_gradient(model, x_adv[sel], labels[sel])
        if threshold is not None:
            p = F.softmax(logits, dim=1).gather(1, labels[sel, None]).squeeze(1)
            keep = (p <= threshold) if targeted else (1.0 - p <= threshold)
            if not bool(keep.all()):
                active, grad = active[keep], grad[keep]
                sel = active
                if active.numel() == 0:
                    break
        if isinstance(sel, slice):  # x_adv is our own copy: step in place, project into a new tensor
            x_adv = _project(x_adv.add_(grad.sign_(), alpha=direction * step / 255.0), lo, hi,
                             round_to_grid=quantize == "step")
            full_steps += 1
        else:
            stepped = x_adv[sel] + direction * (step / 255.0) * grad.sign()
            x_adv[sel] = _project(stepped, _rows(lo, sel), _rows(hi, sel), round_to_grid=quantize == "step")
            iterations[sel] += 1
    iterations += full_steps  # the steps every sample took while all were active
    return _finish(model, x_adv, lo, hi, quantize, labels, targeted, iterations)


# ------------------------------------------------------------------------------------ target selection
def least_likely_targets(probs: torch.Tensor) -> torch.Tensor:
    """Eq. 8: the least likely class of each sample."""
    return probs.argmin(1)


def random_target_mask(probs: torch.Tensor) -> torch.Tensor:
    """R-FGSM's candidate set: every class except the most likely one. Returns an (N, D) bool mask."""
    mask = torch.ones_like(probs, dtype=torch.bool)
    mask.scatter_(1, probs.argmax(1, keepdim=True), False)
    return mask


def private_target_mask(probs: torch.Tensor, sigma: float) -> torch.Tensor:
    """Eq. 10: the classes y'_j (sorted by decreasing probability) with sum_{i=1}^{j-1} p'_i > sigma.

    The class whose probability makes the cumulative sum cross sigma is itself excluded. If the set is
    empty (the first D-1 sorted probabilities never exceed sigma), the least likely class is used: our
    choice, since the paper does not cover this case. Cumulative sums are taken in float64.
    """
    check_range(sigma, "sigma", lo=0, hi=1)
    sorted_p, order = probs.double().sort(dim=1, descending=True)
    before = torch.cumsum(sorted_p, dim=1) - sorted_p  # sum of the j-1 larger probabilities
    keep_sorted = before > sigma
    keep_sorted[:, -1] |= ~keep_sorted.any(1)  # empty set -> least likely class
    return torch.zeros_like(keep_sorted).scatter(1, order, keep_sorted)


def sample_targets(mask: torch.Tensor, generator) -> torch.Tensor:
    """Draw one class per row uniformly from the True entries of an (N, D) mask."""
    g = as_generator(generator)
    if not mask.any(1).all():
        raise ValueError("every row of the candidate mask needs at least one class to draw from.")
    return torch.multinomial(mask.float().cpu(), 1, generator=g).squeeze(1).to(mask.device)


# ------------------------------------------------------------------------------------------- attacks
def fgsm(model, x: torch.Tensor, labels: torch.Tensor, *, step: float = 1.0,
         quantize: str = "output") -> AttackResult:
    """FGSM (Eq. 6): one step of ``step``/255 along the sign of the gradient of J at the true label."""
    return iterative_sign_attack(model, x, labels, targeted=False, step=step, max_iter=1,
                                 threshold=None, quantize=quantize)


def n_fgsm(model, x: torch.Tensor, labels: torch.Tensor, *, step: float = 1.0, max_iter: int = 50,
           threshold: float = 0.99, eps: float | None = None, quantize: str = "output") -> AttackResult:
    """Iterative FGSM, N-FGSM (Eq. 7): untargeted steps until 1 - p(label) > threshold or max_iter."""
    return iterative_sign_attack(model, x, labels, targeted=False, step=step, max_iter=max_iter,
                                 threshold=threshold, eps=eps, quantize=quantize)


def targeted_ifgsm(model, x: torch.Tensor, targets: torch.Tensor, *, step: float = 1.0,
                   max_iter: int = 50, threshold: float = 0.99, eps: float | None = None,
                   quantize: str = "output") -> AttackResult:
    """Targeted iterative FGSM (Eqs. 9 and 11) towards given ``targets``."""
    return iterative_sign_attack(model, x, targets, targeted=True, step=step, max_iter=max_iter,
                                 threshold=threshold, eps=eps, quantize=quantize)


def bim(model, x: torch.Tensor, labels: torch.Tensor, *, eps: float = 8.0, step: float = 2.0,
        iterations: int = 10, quantize: str = "none") -> AttackResult:
    """The basic iterative method, I-FGSM (Kurakin et al. 2017): ``iterations`` untargeted steps of
    ``step``/255 along the gradient sign, each followed by clipping to [0, 1] and the L-inf ball of
    ``eps``/255 (8-bit units, as everywhere here). No early stop; no rounding unless ``quantize`` says."""
    return iterative_sign_attack(model, x, labels, targeted=False, step=step, max_iter=iterations,
                                 threshold=None, eps=eps, quantize=quantize)


def pgd(model, x: torch.Tensor, labels: torch.Tensor, *, eps: float = 8.0, step: float = 2.0,
        iterations: int = 10, random_start: bool = True, generator=0, quantize: str = "none") -> AttackResult:
    """L-inf PGD (Madry et al. 2018): :func:`bim` from a uniform random point of the ``eps`` ball
    (clipped to [0, 1]) when ``random_start``; without it, PGD is BIM."""
    check_images(x)
    check_range(eps, "eps (8-bit units)", lo=0, hi=255, lo_open=True)
    start = None
    if random_start:
        g = as_generator(generator)
        noise = torch.rand(x.shape, generator=g).to(x) * 2.0 - 1.0
        start = (x + noise * (eps / 255.0)).clamp(0.0, 1.0)
    return iterative_sign_attack(model, x, labels, targeted=False, step=step, max_iter=iterations,
                                 threshold=None, eps=eps, quantize=quantize, start=start)


def l_fgsm(model, x: torch.Tensor, *, step: float = 1.0, max_iter: int = 50, threshold: float = 0.99,
           eps: float | None = None, quantize: str = "output") -> AttackResult:
    """Least-likely FGSM (Eqs. 8-9): targets the least likely class of the clean image."""
    targets = least_likely_targets(predict_proba(model, x))
    return targeted_ifgsm(model, x, targets, step=step, max_iter=max_iter, threshold=threshold,
                          eps=eps, quantize=quantize)


def r_fgsm(model, x: torch.Tensor, *, generator=0, targets: torch.Tensor | None = None,
           step: float = 1.0, max_iter: int = 50, threshold: float = 0.99, eps: float | None = None,
           quantize: str = "output") -> AttackResult:
    """Random FGSM: targets a class drawn uniformly from every class but the most likely one.

    ``generator`` (seed or torch.Generator) drives the draw; ``targets`` overrides it.
    """
    if targets is None:
        targets = sample_targets(random_target_mask(predict_proba(model, x)), generator)
    return targeted_ifgsm(model, x, targets, step=step, max_iter=max_iter, threshold=threshold,
                          eps=eps, quantize=quantize)


def p_fgsm(model, x: torch.Tensor, *, sigma: float = 0.99, selection: str = "paper", generator=0,
           targets: torch.Tensor | None = None, step: float = 1.0, max_iter: int = 50,
           threshold: float = 0.99, eps: float | None = None, quantize: str = "output") -> AttackResult:
    """Private FGSM (Eqs. 10-11).

    * ``selection="paper"``: the target is drawn uniformly from Eq. 10's set for ``sigma``.
    * ``selection="official"``: the official code's behaviour, which ignores sigma and draws from
      every class but the top-1 (then P-FGSM coincides with R-FGSM).
    """
    check_choice(selection, P_FGSM_SELECTIONS, "P-FGSM selection")
    if targets is None:
        probs = predict_proba(model, x)
        mask = private_target_mask(probs, sigma) if selection == "paper" else random_target_mask(probs)
        targets = sample_targets(mask, generator)
    return targeted_ifgsm(model, x, targets, step=step, max_iter=max_iter, threshold=threshold,
                          eps=eps, quantize=quantize)


# ----------------------------------------------------------------------------------------- baselines
def fgsm_noise(model, x: torch.Tensor, labels: torch.Tensor, *, step: float = 1.0,
               targeted: bool = False) -> torch.Tensor:
    """The signed perturbation of one FGSM step, +step sign(grad J(x, label))/255 (untargeted) or
    -step sign(grad J(x, target))/255 (targeted). Returned, not applied."""
    check_images(x)
    _check_model(model)
    check_range(step, "step (8-bit units)", lo=0, hi=255, lo_open=True)
    labels = check_labels(labels, x.shape[0], _num_classes(model, x)).to(x.device)
    _, grad = _input_gradient(model, x, labels)
    return (-1.0 if targeted else 1.0) * (step / 255.0) * grad.sign()


def add_noise(x: torch.Tensor, noise: torch.Tensor, iterations: int = 1, *, eps: float | None = None,
              quantize: str = "output") -> torch.Tensor:
    """Table 1's "(XI)" baselines: add a fixed ``noise`` ``iterations`` times, clipping at each iteration."""
    check_images(x)
    check_range(iterations, "iterations", lo=1, hi=100_000, integer=True)
    check_choice(quantize, QUANTIZE_MODES, "quantize mode")
    if noise.shape != x.shape:
        raise ValueError(f"noise shape {tuple(noise.shape)} must equal the images' shape {tuple(x.shape)}.")
    lo, hi = _budget_box(x, eps, on_grid=quantize != "none")
    out = x.clone()
    for _ in range(int(iterations)):
        out = _project(out + noise, lo, hi, round_to_grid=quantize == "step")
    return _project(out, lo, hi, round_to_grid=True) if quantize == "output" else out


def sign_of_gaussian(x: torch.Tensor, *, step: float = 1.0, iterations: int = 1, generator=0,
                     fresh: bool = False, quantize: str = "output") -> torch.Tensor:
    """SoG baseline: step * sign(z)/255 with z ~ N(0, 1) per pixel, added for ``iterations`` iterations.

    fresh=False adds the same draw at every iteration (as the other "(XI)" rows of Table 1 repeat
    one noise); fresh=True draws anew each iteration.
    """
    check_images(x)
    check_range(step, "step (8-bit units)", lo=0, hi=255, lo_open=True)
    g = as_generator(generator)
    if not fresh:
        noise = (step / 255.0) * torch.randn(x.shape, generator=g).sign().to(x)
        return add_noise(x, noise, iterations, quantize=quantize)
    out = x
    for _ in range(int(iterations)):
        noise = (step / 255.0) * torch.randn(x.shape, generator=g).sign().to(x)
        out = add_noise(out, noise, 1, quantize="step" if quantize == "step" else "none")
    return _to_grid(out) if quantize == "output" else out
