"""Input checks shared by every public function.

Each check raises a ``ValueError`` (or ``TypeError``) whose message names what was wrong and what to do.
"""
from __future__ import annotations

import math
from typing import Iterable

import torch

__all__ = [
    "check_images",
    "check_labels",
    "check_choice",
    "check_range",
    "check_probabilities",
    "as_generator",
    "check_model",
]


def check_images(x, name: str = "images") -> torch.Tensor:
    """Check that ``x`` is a float NCHW batch with values in [0, 1]; return it unchanged."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (N, C, H, W), got {type(x).__name__}; "
                        "convert with torch.as_tensor(...).")
    if x.dtype == torch.uint8:
        raise TypeError(f"{name} has dtype uint8 (0..255); papers_core expects floats in [0, 1]: "
                        "pass x.float() / 255.")
    if not x.is_floating_point():
        raise TypeError(f"{name} has dtype {x.dtype}; papers_core expects a float tensor with values in [0, 1].")
    if x.dim() != 4:
        hint = " Add a batch dimension with x.unsqueeze(0)." if x.dim() == 3 else ""
        raise ValueError(f"{name} must have 4 dimensions (N, C, H, W), got shape {tuple(x.shape)}.{hint}")
    if x.shape[0] == 0:
        raise ValueError(f"{name} is an empty batch (N = 0); pass at least one image.")
    # one pass and one device sync: NaN propagates through min and max, inf fails the range check
    lo, hi = torch.stack(torch.aminmax(x.detach())).tolist()
    if math.isnan(lo) or math.isnan(hi) or math.isinf(lo) or math.isinf(hi):
        raise ValueError(f"{name} contains NaN or inf values; clean the input before attacking it.")
    if lo < 0.0 or hi > 1.0:
        hint = " It looks like 0..255 data: divide by 255." if hi > 1.0 and hi <= 255.0 else ""
        hint = hint or " It looks normalised (negative values): pass [0, 1] images; models own their normalisation."
        raise ValueError(f"{name} must lie in [0, 1], got values in [{lo:.4g}, {hi:.4g}].{hint}")
    return x


def check_labels(y, n: int, num_classes: int | None = None, name: str = "labels") -> torch.Tensor:
    """Check that ``y`` is an integer vector of length ``n`` with values in [0, num_classes)."""
    if not isinstance(y, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of class indices, got {type(y).__name__}.")
    if y.is_floating_point() or y.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer class indices (torch.long), got dtype {y.dtype}; "
                        "use y.long() or argmax over one-hot vectors.")
    if y.dim() != 1 or y.shape[0] != n:
        raise ValueError(f"{name} must have shape ({n},) to match the batch, got {tuple(y.shape)}.")
    if n and num_classes is not None:
        lo, hi = torch.stack(torch.aminmax(y)).tolist()
        if lo < 0 or hi >= num_classes:
            raise ValueError(f"{name} must lie in [0, {num_classes - 1}] for a {num_classes}-class model, "
                             f"got values in [{lo}, {hi}].")
    return y.long()


def check_choice(value: str, choices: Iterable[str], name: str) -> str:
    choices = list(choices)
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; valid choices are: {', '.join(map(repr, choices))}.")
    return value


def check_range(value, name: str, lo: float | None = None, hi: float | None = None,
                integer: bool = False, lo_open: bool = False) -> float:
    """Check a scalar hyper-parameter; ``lo_open`` makes the lower bound strict."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {value!r}.")
    if integer and int(value) != value:
        raise ValueError(f"{name} must be a whole number, got {value!r}.")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}.")
    if lo is not None and (value <= lo if lo_open else value < lo):
        raise ValueError(f"{name} must be {'>' if lo_open else '>='} {lo}, got {value!r}.")
    if hi is not None and value > hi:
        raise ValueError(f"{name} must be <= {hi}, got {value!r}.")
    return value


def check_probabilities(p: torch.Tensor, name: str = "probabilities") -> torch.Tensor:
    if not isinstance(p, torch.Tensor) or p.dim() != 2 or not p.is_floating_point():
        raise ValueError(f"{name} must be a float tensor of shape (N, D).")
    if (p < 0).any() or not torch.allclose(p.sum(1), torch.ones_like(p[:, 0]), atol=1e-3):
        raise ValueError(f"{name} must be non-negative and sum to 1 along dim 1 (apply softmax to logits).")
    return p


def as_generator(seed_or_generator) -> torch.Generator:
    """A CPU ``torch.Generator`` from a seed or a generator (random draws happen on the CPU, then move
    to the data's device, so CPU and CUDA runs draw the same numbers)."""
    if isinstance(seed_or_generator, torch.Generator):
        return seed_or_generator
    if isinstance(seed_or_generator, bool) or not isinstance(seed_or_generator, int):
        raise TypeError("pass randomness explicitly: an int seed or a torch.Generator, "
                        f"got {seed_or_generator!r}.")
    return torch.Generator().manual_seed(seed_or_generator)


def check_model(model) -> None:
    """A callable model in eval mode (batch norm and dropout in training mode tie a sample to its batch)."""
    if not callable(model):
        raise TypeError(f"model must be a callable torch.nn.Module, got {type(model).__name__}.")
    if isinstance(model, torch.nn.Module) and model.training:
        raise ValueError("model is in training mode; call model.eval() first (batch norm and dropout in "
                         "training mode make a sample's result depend on its batch).")
