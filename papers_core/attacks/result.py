"""The result every attack returns: an :class:`AttackResult` (the adversarial images and per-sample
facts, the model's verdict on them computed at once or on first access), joinable across batches
(:meth:`AttackResult.cat`, which keeps a subclass's own fields)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["AttackResult"]


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
        :meth:`from_state` and for :class:`papers_core.cache.Cache`, which stores no code."""
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
