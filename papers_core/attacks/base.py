"""The foundation every attack stands on: the result type, the model and input checks, the class
count, class probabilities, the input gradient, and the budget box with its projection.

Contract (every attack in :mod:`papers_core.attacks`):

* images are float NCHW tensors in [0, 1] with the model's own dtype; models take [0, 1] input and own
  their normalisation;
* one call convention, ``attack(model_or_models, x, labels=None, *, targets=None, ...)``: ``labels``
  are the true labels (default: the model's clean prediction), ``targets`` the target classes of a
  targeted attack, and the step limit is always called ``iterations``;
* the result is an :class:`AttackResult`, made by :meth:`AttackResult.from_model` or
  :meth:`AttackResult.from_logits`;
* every argument is checked before the first model call (:func:`check_attack_input`).
"""
from __future__ import annotations

import contextlib
import weakref

import torch
import torch.nn.functional as F

from .._validate import check_images, check_labels, check_model, check_range

__all__ = [
    "AttackResult",
    "check_model",
    "check_attack_input",
    "check_models",
    "num_classes",
    "true_labels",
    "required_targets",
    "predict_proba",
    "input_gradient",
    "to_8bit",
    "budget_box",
    "project",
    "check_step_settings",
]


class AttackResult:
    """An adversarial batch and per-sample facts.

    adv:        (N, C, H, W) adversarial images in [0, 1]
    target:     (N,) target class of a targeted attack, -1 for an untargeted one
    success:    (N,) targeted: top-1 of ``adv`` is the target; untargeted: top-1 is not the label
    iterations: (N,) gradient steps taken by each sample
    prediction: (N,) top-1 class of ``adv``
    probs:      (N, D) class probabilities of ``adv``

    Attacks build it with :meth:`from_model` (which evaluates the model on the final images, at once or
    on first access with ``lazy=True``, so a caller that only wants the images does not pay for one more
    forward pass) or :meth:`from_logits`. Extra keyword arguments become attributes (e.g. ``k``).
    """

    def __init__(self, adv, target, success=None, iterations=None, prediction=None, probs=None, *,
                 evaluate=None, **extra):
        if evaluate is None and (success is None or prediction is None or probs is None):
            raise ValueError("AttackResult needs success, prediction and probs, or an evaluate function.")
        self.adv, self.target, self.iterations = adv, target, iterations
        self._success, self._prediction, self._probs, self._evaluate = success, prediction, probs, evaluate
        for name, value in extra.items():
            setattr(self, name, value)

    @classmethod
    def from_logits(cls, adv, logits, labels, *, targeted: bool, iterations, target=None, success=None,
                    **extra) -> "AttackResult":
        """The result for final images ``adv`` whose logits are ``logits``. ``labels`` are the targets of
        a targeted attack (then ``target`` defaults to them) or the true labels; ``success`` (a boolean
        tensor) overrides the default rule (top-1 is the target / is not the label)."""
        probs = F.softmax(logits, dim=1)
        pred = probs.argmax(1)
        if success is None:
            success = pred == labels if targeted else pred != labels
        if target is None:
            target = labels if targeted else torch.full_like(labels, -1)
        return cls(adv, target, success, iterations, pred, probs, **extra)

    @classmethod
    def from_model(cls, model, adv, labels, *, targeted: bool, iterations, target=None, lazy: bool = False,
                   **extra) -> "AttackResult":
        """Evaluate ``model`` on the final images ``adv`` (see :meth:`from_logits`); with ``lazy`` the
        forward pass waits until ``success``, ``prediction`` or ``probs`` is first read."""
        adv = adv.detach()
        if target is None:
            target = labels if targeted else torch.full_like(labels, -1)
        if not lazy:
            with torch.no_grad():
                logits = model(adv)
            return cls.from_logits(adv, logits, labels, targeted=targeted, iterations=iterations,
                                   target=target, **extra)

        def evaluate():
            with torch.no_grad():
                r = cls.from_logits(adv, model(adv), labels, targeted=targeted, iterations=iterations,
                                    target=target)
            return r._success, r._prediction, r._probs

        return cls(adv, target, iterations=iterations, evaluate=evaluate, **extra)

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

    _FIELDS = ("adv", "target", "success", "iterations", "prediction", "probs")

    def state(self) -> dict:
        """The result as a dict of tensors (its fields and its extra attributes), for
        :meth:`from_state` and for :class:`papers_core.experiment.Cache`, which stores no code."""
        extra = {k: v for k, v in vars(self).items() if not k.startswith("_") and k not in self._FIELDS}
        bad = [k for k, v in extra.items() if not isinstance(v, (torch.Tensor, int, float, bool, str))]
        if bad:
            raise TypeError(f"{type(self).__name__}.state(): attributes {bad} are not tensors or numbers.")
        return {**{f: getattr(self, f) for f in self._FIELDS}, **extra}

    @classmethod
    def from_state(cls, state: dict) -> "AttackResult":
        """The result whose :meth:`state` is ``state`` (as ``cls``: e.g. ``KAnonymityResult``)."""
        missing = [f for f in cls._FIELDS if f not in state]
        if missing:
            raise ValueError(f"not an attack result's state: {missing} missing (make it with AttackResult.state()).")
        return cls(*(state[f] for f in cls._FIELDS), **{k: v for k, v in state.items() if k not in cls._FIELDS})

    def subset(self, index) -> "AttackResult":
        """The result of the samples ``index`` (a slice, indices or a boolean mask), of the same type;
        per-sample attributes (tensors as long as the batch) are indexed, others kept."""
        n = len(self)
        return type(self).from_state({k: v[index] if isinstance(v, torch.Tensor) and v.dim() and v.shape[0] == n else v
                                      for k, v in self.state().items()})

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n={len(self)}, image shape={tuple(self.adv.shape[1:])})"

    @staticmethod
    def cat(results: list["AttackResult"]) -> "AttackResult":
        """Concatenate results of consecutive chunks of one batch, keeping the chunks' class (e.g.
        :class:`~papers_core.attacks.KAnonymityResult`) and their extra fields: per-sample tensors and
        lists are concatenated, per-step lists of per-sample lists (RP-FGSM's ``plan``) step by step,
        numbers (``seconds``) summed; any other field must be equal in every chunk."""
        results = list(results)
        if not results:
            raise ValueError("AttackResult.cat needs at least one result.")
        cls = type(results[0])
        if any(type(r) is not cls for r in results):
            raise ValueError(f"AttackResult.cat joins results of one attack: got {sorted({type(r).__name__ for r in results})}.")
        core = {f: torch.cat([getattr(r, f) for r in results])
                for f in ("adv", "target", "success", "iterations", "prediction", "probs")}
        names = [k for k in vars(results[0]) if not k.startswith("_") and k not in core]
        extra = {}
        for name in names:
            if any(name not in vars(r) for r in results):
                raise ValueError(f"AttackResult.cat: field {name!r} is missing from some chunks.")
            vals, sizes = [getattr(r, name) for r in results], [len(r) for r in results]
            extra[name] = _cat_field(name, vals, sizes)
        return cls(core["adv"], core["target"], core["success"], core["iterations"], core["prediction"],
                   core["probs"], **extra)


def _cat_field(name, vals, sizes):
    """One extra field of :meth:`AttackResult.cat` across chunks of ``sizes`` samples."""
    if all(isinstance(v, torch.Tensor) and v.dim() > 0 and v.shape[0] == n for v, n in zip(vals, sizes)):
        return torch.cat(vals)
    if all(isinstance(v, list) for v in vals):
        steps = len(vals[0])
        if all(len(v) == steps and all(isinstance(s, list) and len(s) == n for s in v) for v, n in zip(vals, sizes)):
            return [[x for v in vals for x in v[t]] for t in range(steps)]   # per step, per sample
        if all(len(v) == n for v, n in zip(vals, sizes)):
            return [x for v in vals for x in v]
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals):
        return sum(vals)
    first = vals[0]
    if all((torch.equal(v, first) if isinstance(v, torch.Tensor) else v == first) for v in vals[1:]):
        return first
    raise ValueError(f"AttackResult.cat cannot join the field {name!r}: it is neither per sample nor the same in "
                     "every chunk.")


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


def required_targets(x: torch.Tensor, labels, targets, n_classes: int, attack: str) -> torch.Tensor:
    """The ``targets`` of an attack that cannot choose its own, checked (and ``labels`` checked if
    given); a missing ``targets`` is refused with the fix."""
    if targets is None:
        raise ValueError(f"{attack} is targeted: pass targets= (the class each image is pushed towards).")
    if labels is not None:
        check_labels(labels, x.shape[0], n_classes)
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
