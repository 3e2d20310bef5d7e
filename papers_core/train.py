"""The training loop (deterministic for a seed on the CPU). The quick profile's trained models are in
:mod:`papers_core.zoo`; multi-strength adversarial training in :mod:`papers_core.mat`."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ._validate import as_generator, check_images, check_labels, check_range
from .attacks.base import num_classes
from .progress import progress as progress_bar

__all__ = ["train_classifier", "reset_parameters"]


def reset_parameters(module: nn.Module, seed: int) -> None:
    """Re-initialise every layer of ``module`` from ``seed``, leaving the global random state as it was,
    so that trained weights depend on the arguments only."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for m in module.modules():
            if hasattr(m, "reset_parameters"):
                m.reset_parameters()


def train_classifier(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, epochs: int = 10,
                     batch_size: int = 128, lr: float = 2e-3, weight_decay: float = 5e-4, seed: int = 0,
                     augment: bool = True, progress: bool | None = None) -> nn.Module:
    """Train ``model`` with Adam and a one-cycle learning-rate schedule on (x, y); return it in eval mode.

    The parameters are first re-initialised from ``seed``, mini-batches are shuffled by a generator
    seeded with ``seed``, and the layers' own randomness (dropout) draws from torch's global generator
    reseeded with ``seed`` for the run and restored afterwards, so the trained weights depend on the
    arguments alone, not on what ran before (e.g. whether an earlier model came from the cache).
    ``augment`` adds random horizontal flips. Runs on ``x``'s device. ``progress`` draws a bar over the epochs (default: the
    setting of :mod:`papers_core.progress`).
    """
    check_images(x)
    check_range(epochs, "epochs", lo=1, integer=True)
    check_range(batch_size, "batch_size", lo=1, integer=True)
    g = as_generator(seed)
    reset_parameters(model, seed)
    model.to(x.device).eval()
    y = check_labels(y, x.shape[0], num_classes(model, x)).to(x.device)  # also checks the channels
    with torch.random.fork_rng(devices=[x.device] if x.device.type == "cuda" else []):
        torch.manual_seed(seed)
        _fit(model, x, y, g, epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay,
             augment=augment, progress=progress)
    return model.eval()


def _fit(model, x, y, g, *, epochs, batch_size, lr, weight_decay, augment, progress):
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    steps = epochs * ((len(x) + batch_size - 1) // batch_size)
    # a warm-up of 20 % of the steps; torch's OneCycleLR divides by zero where that ends on the first
    # step (0.2 * 5 = 1), so 5 steps warm up over 25 %
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps,
                                                pct_start=0.25 if steps == 5 else 0.2)
    for _ in progress_bar(range(epochs), desc=f"training {type(model).__name__}", enabled=progress,
                          unit="epoch"):
        order = torch.randperm(len(x), generator=g).to(x.device)
        for i in range(0, len(x), batch_size):
            idx = order[i:i + batch_size]
            xb = x[idx]
            if augment:
                flip = (torch.rand(len(idx), generator=g) < 0.5).to(x.device)
                xb = torch.where(flip[:, None, None, None], xb.flip(-1), xb)
            loss = F.cross_entropy(model(xb), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
