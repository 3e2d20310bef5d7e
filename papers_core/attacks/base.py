"""The foundation every attack stands on: the model and input checks, the class count, the targets=
modes, class probabilities, the input gradient, and the budget box with its projection (the result
type is :mod:`papers_core.attacks.result`).

Contract (every attack in :mod:`papers_core.attacks`):

* images are float NCHW tensors in [0, 1] with the model's own dtype; models take [0, 1] input and own
  their normalisation;
* one call convention, ``attack(model_or_models, x, labels=None, *, targets=..., ...)``: ``labels``
  are the true labels (default: the model's clean prediction; an attack that has no use for them
  refuses them), and the step limit is always called ``iterations``;
* targeting is said one way, by ``targets`` (:func:`target_mode`): one class per image (targeted
  towards them), ``"auto"`` (targeted towards classes the attack chooses by its paper's rule: P-, L-,
  R-FGSM, E-FGSM, DI-FGSM, RP-FGSM, EOT) or ``None`` (untargeted). Each attack's default is its
  paper's mode; an attack without an untargeted mode refuses ``None``, one without a rule refuses
  ``"auto"``;
* the result is an :class:`~papers_core.attacks.result.AttackResult`, made by its ``from_model`` or
  ``from_logits`` (a perturbation generator, :mod:`papers_core.attacks.noise`, returns the
  perturbation and is no attack: it is not in the registry);
* every argument is checked once, at the public entry, before the first model call
  (:func:`check_attack_input`); a setting the call does not use (a seed where nothing is drawn, a
  target rule's threshold where the targets are given) is refused (:func:`refuse_unused`).
"""
from __future__ import annotations

import contextlib
import weakref

import torch
import torch.nn.functional as F

from .._validate import check_images, check_labels, check_model, check_range

__all__ = [
    "check_model",
    "check_attack_input",
    "check_models",
    "num_classes",
    "true_labels",
    "AUTO",
    "target_mode",
    "no_labels_when_targeted",
    "refuse_unused",
    "required_targets",
    "predict_proba",
    "input_gradient",
    "to_8bit",
    "budget_box",
    "project",
    "check_step_settings",
]





# ------------------------------------------------------------------------------------------ checks
def _weight_dtype(model) -> torch.dtype | None:
    if isinstance(model, torch.nn.Module):
        for p in model.parameters():
            if p.is_floating_point():
                return p.dtype
    return None


#: model -> {(image shape, dtype, device): number of classes}
_NUM_CLASSES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def num_classes(model, x: torch.Tensor) -> int:
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


def check_attack_input(model, x: torch.Tensor, name: str = "images") -> int:
    """Check images and model together before any attack step; return the number of classes.

    The images must be a valid [0, 1] batch (:func:`check_images`) with the dtype of the model's weights:
    float64 images for a float32 model are refused with the fix (``x.float()``), not left to fail inside
    a convolution."""
    check_images(x, name)
    check_model(model)
    wd = _weight_dtype(model)
    if wd is not None and x.dtype != wd:
        raise TypeError(f"{name} have dtype {x.dtype} but the model's weights are {wd}: pass "
                        f"x.to({wd}) (for float32 weights, x.float()), or convert the model with "
                        f"model.to({x.dtype}).")
    return num_classes(model, x)


def check_models(models, x: torch.Tensor) -> tuple[list, int]:
    """One model or a list of them, each checked with the images; returns (list, number of classes)."""
    models = list(models) if isinstance(models, (list, tuple)) else [models]
    if not models:
        raise ValueError("give at least one classifier.")
    sizes = {check_attack_input(m, x) for m in models}
    if len(sizes) != 1:
        raise ValueError(f"the classifiers disagree on the number of classes: {sorted(sizes)}.")
    return models, sizes.pop()


#: ``targets=AUTO``: the attack chooses each image's target class by its paper's rule.
AUTO = "auto"


def target_mode(targets, attack: str, *, untargeted: bool = True, auto: bool = True, targeted: bool = True) -> bool:
    """Whether a call is targeted, read from ``targets``: one class per image or ``"auto"`` (the
    attack's own choice) is targeted, ``None`` untargeted. ``untargeted=False``: the attack has no
    untargeted mode and refuses ``None``; ``auto=False``: it has no rule of its own and refuses
    ``"auto"``; ``targeted=False``: it is untargeted only and refuses anything but ``None``. The classes
    themselves are checked where they are used."""
    if not targeted and targets is not None:
        raise ValueError(f"{attack} is untargeted: leave targets out (targets=None).")
    if isinstance(targets, str):
        if targets != AUTO:
            raise ValueError(f"{attack}: targets takes one class per image, 'auto' (the attack's own choice) "
                             f"or None (untargeted), not {targets!r}.")
        if not auto:
            raise ValueError(f"{attack} has no rule of its own for choosing targets: pass one class per image "
                             "as targets=" + (" (or None: untargeted)." if untargeted else "."))
        return True
    if targets is None and not untargeted:
        raise ValueError(f"{attack} is targeted: pass targets= (the class each image is pushed towards)"
                         + (" or targets='auto' (its own choice)." if auto else "."))
    return targets is not None


def no_labels_when_targeted(labels, attack: str) -> None:
    """Refuse ``labels`` in a targeted call: the attack pushes each image towards its target and has no
    use for the true labels (a registry call passes them only to untargeted calls)."""
    if labels is not None:
        raise ValueError(f"{attack} is targeted in this call (targets= says where each image goes) and has no use "
                         "for labels: leave them out.")


def refuse_unused(attack: str, why: str, **given) -> None:
    """Refuse settings a call has no use for, so none is silently ignored: ``given`` maps each setting's
    name to ``(value, default)``, and a value other than its default is refused, the message saying
    ``why`` the call does not use it (a default passed explicitly changes nothing and is let through)."""
    unused = [name for name, (value, default) in given.items()
              if (value is not None if default is None else bool(value != default))]
    if unused:
        names = ", ".join(unused)
        raise ValueError(f"{attack} does not use {names} in this call ({why}): leave "
                         f"{'it' if len(unused) == 1 else 'them'} out.")


def required_targets(x: torch.Tensor, labels, targets, n_classes: int, attack: str) -> torch.Tensor:
    """The ``targets`` of an attack that cannot choose its own, checked; a missing ``targets`` (or
    ``"auto"``) is refused with the fix, and so are ``labels`` (such an attack has no use for them)."""
    target_mode(targets, attack, untargeted=False, auto=False)
    if labels is not None:
        raise ValueError(f"{attack} takes no labels: it is targeted and pushes each image towards its "
                         "targets= alone. Leave labels out.")
    return check_labels(targets, x.shape[0], n_classes, "targets").to(x.device)


def true_labels(model, x: torch.Tensor, labels, n_classes: int, name: str = "labels") -> torch.Tensor:
    """``labels`` checked against the batch and the class count, on the images' device; ``None`` gives
    the model's clean prediction (:func:`predict_proba`'s top-1: an attack then moves each image off
    what the model sees)."""
    if labels is None:
        return predict_proba(model, x).argmax(1)
    return check_labels(labels, x.shape[0], n_classes, name).to(x.device)


@torch.no_grad()
def predict_proba(model, x: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Softmax probabilities of ``model`` on ``x``, computed in chunks of ``batch_size``."""
    check_images(x)
    check_model(model)
    check_range(batch_size, "batch_size", lo=1, integer=True)
    return torch.cat([F.softmax(model(x[i:i + batch_size]), dim=1) for i in range(0, len(x), batch_size)])


# ------------------------------------------------------------------------------------ the gradient
def input_gradient(models, x: torch.Tensor, labels, transform=None) -> tuple[torch.Tensor, torch.Tensor]:
    """The gradient, with respect to the input only, of the summed cross-entropy; and the logits.

    ``models`` is one model (``labels`` a tensor) or a list of models (``labels`` a list with one tensor
    per model): the losses are added, Eq. 13's ensemble gradient. ``transform`` (differentiable, e.g. a
    defense or DI-FGSM's resize-and-pad) is applied to ``x`` before the models and differentiated
    through. ``torch.autograd.grad`` asks for the input gradient alone, so no weight gradient is
    accumulated; summing over the batch keeps each sample's gradient its own (models in eval mode).
    Returns the first model's logits (detached) and the gradient.
    """
    single = not isinstance(models, (list, tuple))
    models, labels = ([models], [labels]) if single else (list(models), list(labels))
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        z = transform(x) if transform is not None else x
        first, loss = None, 0
        for m, y in zip(models, labels):
            logits = m(z)
            first = logits if first is None else first
            ce = F.cross_entropy(logits, y, reduction="sum")
            loss = ce if single else loss + ce
        (grad,) = torch.autograd.grad(loss, x)
    return first.detach(), grad


# ------------------------------------------------------------------------------ budget and projection
def to_8bit(x: torch.Tensor) -> torch.Tensor:
    """Round to the 8-bit grid (multiples of 1/255)."""
    return torch.round(x * 255.0) / 255.0


def budget_box(x: torch.Tensor, eps, on_grid: bool) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """Lower and upper bounds of the feasible set: [0, 1] intersected with the L-inf ball of ``eps``/255.

    On the 8-bit grid the bounds are rounded inwards, so rounding never leaves the ball. Without ``eps``
    the set is [0, 1]: returns (None, None), which :func:`project` treats as a plain clamp.
    """
    if eps is None:
        return None, None
    lo, hi = x - eps / 255.0, x + eps / 255.0
    if on_grid:
        lo, hi = torch.ceil(lo * 255.0 - 1e-6) / 255.0, torch.floor(hi * 255.0 + 1e-6) / 255.0
    return lo.clamp(0.0, 1.0), hi.clamp(0.0, 1.0)


def project(x: torch.Tensor, lo: torch.Tensor | None, hi: torch.Tensor | None, round_to_grid: bool) -> torch.Tensor:
    """Into the box of :func:`budget_box` (after rounding to 8 bits when ``round_to_grid``)."""
    if round_to_grid:
        x = to_8bit(x)
    if lo is None:
        return x.clamp(0.0, 1.0)
    return torch.maximum(torch.minimum(x, hi), lo)


def check_step_settings(step, iterations, eps=None, threshold=None) -> None:
    """The signed-gradient attacks' step (8-bit units), step limit, budget and stopping threshold."""
    check_range(step, "step (8-bit units)", lo=0, hi=255, lo_open=True)
    if iterations is not None:
        check_range(iterations, "iterations", lo=1, hi=100_000, integer=True)
    if threshold is not None:
        check_range(threshold, "threshold", lo=0, hi=1, lo_open=True)
    if eps is not None:
        check_range(eps, "eps (8-bit units)", lo=0, hi=255, lo_open=True)
