"""Diverse-input FGSM, DI-FGSM (Xie et al. 2019), with the ensemble gradient of Eq. 13 (the RP-FGSM
paper's Sec. V-B settings: step 1, eps 16, :func:`papers_core.attacks.paper_iterations` iterations)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .._validate import check_range
from ..rng import image_streams
from .base import input_gradient, no_labels_when_targeted, refuse_unused, target_mode
from .ensemble import check_ensemble_input, ensemble_labels
from .sign import paper_iterations, sign_gradient_attack

__all__ = ["di_fgsm"]


def _resize_pad(x: torch.Tensor, r: int, top: int, left: int) -> torch.Tensor:
    """Resize to r x r (nearest, as DI-FGSM) and zero-pad back to the input size at (top, left)."""
    H, W = x.shape[-2:]
    small = F.interpolate(x, size=(r, r), mode="nearest")
    return F.pad(small, (left, W - r - left, top, H - r - top))


def _source(size: int, r: torch.Tensor, offset: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For each image (``r``, ``offset``: (n,) long) and each output position 0 .. size - 1: the input
    position nearest-neighbour resizing to r and padding at ``offset`` reads, and whether it is inside
    the r-wide window. The index is PyTorch's (``floor(dst * (size / r))`` in float32, as
    ``F.interpolate(mode="nearest")`` computes it; tested against it for every r)."""
    dst = torch.arange(size, device=r.device)[None, :] - offset[:, None]
    inside = (dst >= 0) & (dst < r[:, None])
    scale = torch.tensor(float(size), dtype=torch.float32, device=r.device) / r.to(torch.float32)
    src = (dst.clamp(min=0).to(torch.float32) * scale[:, None]).floor().long().clamp(max=size - 1)
    return src, inside


def resize_pad(x: torch.Tensor, r: torch.Tensor, top: torch.Tensor, left: torch.Tensor) -> torch.Tensor:
    """DI-FGSM's transformation with one draw per image: image i resized to ``r[i] x r[i]`` (nearest)
    and zero-padded back to H x W at (``top[i]``, ``left[i]``), all images in one gather (differentiable;
    the same as :func:`F.interpolate` then :func:`F.pad` image by image)."""
    n, _, H, W = x.shape
    rows, in_r = _source(H, r, top)
    cols, in_c = _source(W, r, left)
    b = torch.arange(n, device=x.device)[:, None, None]
    out = x[b, :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)     # (n, C, H, W)
    return out * (in_r[:, :, None] & in_c[:, None, :])[:, None].to(x.dtype)


def di_fgsm(models, x: torch.Tensor, labels=None, *, targets=None, step: float = 1.0,
            eps: float = 16.0, iterations: int | None = None, p: float = 0.5, min_size: int | None = None,
            seed: int = 0, index=None, quantize: str = "step"):
    """Diverse-input FGSM (Xie et al. 2019) with the ensemble gradient of Eq. 13.

    At each iteration, with probability ``p``, the input is resized to ``r x r`` with ``r`` uniform in
    ``[min_size, H]`` and zero-padded back to ``H x W`` at a uniform random position; the gradient is
    taken through that transformation. The draws are each image's own (``seed``; ``index``: the images'
    positions in the whole set, :mod:`papers_core.rng`), so an image's result does not depend on its
    batch; the original code makes one draw for the whole batch, which ties every image to its batch. The paper's
    range [200, 224] at 224 pixels is scaled to the input: ``min_size`` defaults to
    ``round(200 / 224 * H)``. Untargeted by default (``targets=None``, as Xie et al.); targets, ``"auto"``
    and labels as :func:`e_fgsm`. The image is rounded to the 8-bit
    grid after every step (Sec. V-B, ``quantize="step"``); ``"none"`` keeps it continuous, ``"output"``
    rounds the returned image only. With ``p=0`` (no transformation) ``min_size`` is refused, and so
    are ``seed`` and ``index`` unless they draw the targets (``targets="auto"``)."""
    models, num_classes = check_ensemble_input(models, x, step, eps, iterations)
    check_range(p, "p", lo=0, hi=1)
    targeted = target_mode(targets, "DI-FGSM")
    if targeted:
        no_labels_when_targeted(labels, "DI-FGSM")
    if p == 0:
        unused = dict(min_size=(min_size, None))
        if not isinstance(targets, str):
            unused.update(seed=(seed, 0), index=(index, None))
        refuse_unused("DI-FGSM", "with p=0 no transformation is drawn (and no target without targets='auto')",
                      **unused)
    H, W = x.shape[-2:]
    if H != W:
        raise ValueError(f"DI-FGSM's resize-and-pad takes square images, got {H}x{W}.")
    lo_size = int(round(200 / 224 * H)) if min_size is None else int(min_size)
    check_range(lo_size, "min_size", lo=1, hi=H, integer=True)
    streams = image_streams(x, seed, index)
    per_model, target, _ = ensemble_labels(models, x, targets, num_classes, labels=labels,
                                           seed=seed, index=index)
    n_iter = int(iterations) if iterations is not None else paper_iterations(eps)
    apply = streams.uniform("apply", n_iter) < p                           # (n, n_iter)
    r = streams.integers("size", lo_size, H + 1, n_iter)
    r = torch.where(apply, r, torch.full_like(r, H))                       # r = H at (0, 0): the identity
    top = torch.where(apply, streams.integers("top", 0, H - r + 1, n_iter), torch.zeros_like(r))
    left = torch.where(apply, streams.integers("left", 0, W - r + 1, n_iter), torch.zeros_like(r))

    def grad_fn(n, x_adv):
        transform = lambda z: resize_pad(z, r[:, n], top[:, n], left[:, n])  # noqa: E731
        return input_gradient(models, x_adv, per_model, transform)[1]

    return sign_gradient_attack(models[0], x, per_model[0], targeted=targeted, step=step, iterations=n_iter,
                                eps=eps, quantize=quantize, target=target, gradient=grad_fn)
