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

from dataclasses import dataclass

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


@dataclass
class AttackResult:
    """An adversarial batch and per-sample facts.

    adv:        (N, C, H, W) adversarial images in [0, 1]
    target:     (N,) target class of a targeted attack, -1 for an untargeted one
    success:    (N,) targeted: top-1 of ``adv`` is the target; untargeted: top-1 is not the label
    iterations: (N,) gradient steps taken by each sample
    prediction: (N,) top-1 class of ``adv``
    probs:      (N, D) class probabilities of ``adv``
    """

    adv: torch.Tensor
    target: torch.Tensor
    success: torch.Tensor
    iterations: torch.Tensor
    prediction: torch.Tensor
    probs: torch.Tensor

    def __len__(self) -> int:
        return self.adv.shape[0]

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


def _num_classes(model, x: torch.Tensor) -> int:
    """The model's number of outputs, from one image; a model that cannot take the images says so."""
    try:
        with torch.no_grad():
            out = model(x[:1])
    except RuntimeError as e:
        raise ValueError(f"the model could not take images of shape (C, H, W) = {tuple(x.shape[1:])}: {e}. "
                         "Pass images with the number of channels and the size the model expects.") from e
    if out.dim() != 2:
        raise ValueError(f"the model must return (N, num_classes) logits, got shape {tuple(out.shape)}.")
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


def _budget_box(x: torch.Tensor, eps, on_grid: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Lower and upper bounds of the feasible set: [0, 1] intersected with the L-inf ball of ``eps``/255.

    On the 8-bit grid the bounds are rounded inwards, so rounding never leaves the ball.
    """
    if eps is None:
        return torch.zeros_like(x), torch.ones_like(x)
    lo, hi = x - eps / 255.0, x + eps / 255.0
    if on_grid:
        lo, hi = torch.ceil(lo * 255.0 - 1e-6) / 255.0, torch.floor(hi * 255.0 + 1e-6) / 255.0
    return lo.clamp(0.0, 1.0), hi.clamp(0.0, 1.0)


def _project(x: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor, round_to_grid: bool) -> torch.Tensor:
    if round_to_grid:
        x = _to_grid(x)
    return torch.maximum(torch.minimum(x, hi), lo)


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
    with torch.no_grad():
        probs = F.softmax(model(x_adv), dim=1)
    pred = probs.argmax(1)
    success = pred == labels if targeted else pred != labels
    target = labels if targeted else torch.full_like(labels, -1)
    return AttackResult(x_adv.detach(), target, success, iterations, pred, probs)


# ------------------------------------------------------------------------------------------ the engine
def iterative_sign_attack(model, x: torch.Tensor, labels: torch.Tensor, *, targeted: bool,
                          step: float = 1.0, max_iter: int = 50, threshold: float | None = 0.99,
                          eps: float | None = None, quantize: str = "output") -> AttackResult:
    """Iterated signed-gradient steps with a per-sample stop (Eqs. 7, 9 and 11).

    Untargeted: x_n = x_{n-1} + step sign(grad J(x_{n-1}, label)); a sample stops once its
    misclassification probability 1 - p(label) exceeds ``threshold``.
    Targeted:   x_n = x_{n-1} - step sign(grad J(x_{n-1}, target)); a sample stops once p(target)
    exceeds ``threshold``.
    Every sample stops after ``max_iter`` steps. ``threshold=None`` runs exactly ``max_iter`` steps.
    Images are clipped to [0, 1] (and to the L-inf ball of ``eps``/255 if given) after every step.
    """
    check_images(x)
    _check_model(model)
    _check_common(step, max_iter, threshold, eps, quantize)
    labels = check_labels(labels, x.shape[0], _num_classes(model, x)).to(x.device)

    direction = -1.0 if targeted else 1.0
    lo, hi = _budget_box(x, eps, on_grid=quantize != "none")
    x_adv = x.detach().clone()
    iterations = torch.zeros(x.shape[0], dtype=torch.long, device=x.device)
    active = torch.arange(x.shape[0], device=x.device)
    for _ in progress(range(int(max_iter)), desc="attack iterations"):
        if active.numel() == 0:
            break
        logits, grad = _input_gradient(model, x_adv[active], labels[active])
        if threshold is not None:
            p = F.softmax(logits, dim=1).gather(1, labels[active, None]).squeeze(1)
            keep = (p <= threshold) if targeted else (1.0 - p <= threshold)
            active, grad = active[keep], grad[keep]
            if active.numel() == 0:
                break
        stepped = x_adv[active] + direction * (step / 255.0) * grad.sign()
        x_adv[active] = _project(stepped, lo[active], hi[active], round_to_grid=quantize == "step")
        iterations[active] += 1
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
