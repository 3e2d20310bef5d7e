"""ColourDigits: a stand-in for SVHN made from the embedded real MNIST subset.

SVHN's premise in the MAT paper is that its dominant objects are digits, like MNIST's, but in colour,
at 32x32, machine-printed, with clutter around them (the paper's explanation of why the MNIST and SVHN
curves look alike). ColourDigits keeps that: each real MNIST digit is padded to 32x32 and painted with
its own foreground and background colour (contrast at least 0.3 in luminance, either polarity), a
fragment of another digit is pasted at the left or right edge as a neighbouring digit, and Gaussian
pixel noise is added. Everything is drawn from a seeded ``torch.Generator``: the same arguments give
the same images.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .._validate import check_choice, check_range

__all__ = ["colour_digits"]

_SPLIT_SEED = {"train": 11, "test": 13}


def colour_digits(split: str = "train", n: int | None = None, *, noise: float = 0.04, seed: int = 0):
    """The first ``n`` (all when None) images of the embedded MNIST subset's ``split`` ("train": 10,000,
    "test": 2,000) as ColourDigits, :class:`papers_core.data.base.LabelledImages` of float
    (N, 3, 32, 32) in [0, 1] with the digits' labels."""
    from .base import LabelledImages
    from .mnist_subset import load_mnist_subset

    check_choice(split, _SPLIT_SEED, "ColourDigits split")
    check_range(noise, "noise", lo=0, hi=1)
    base = load_mnist_subset(split)
    if n is not None:
        check_range(n, "n", lo=1, hi=len(base), integer=True)
    x, y = base.images[:n], base.labels[:n]
    count = len(y)
    g = torch.Generator().manual_seed(1_000_003 * _SPLIT_SEED[split] + int(seed))
    digit = F.pad(x, (2, 2, 2, 2))                                     # (N, 1, 32, 32)
    # a neighbouring digit: a 10-pixel-wide strip of another image at the left or right edge
    other = F.pad(x[torch.randint(count, (count,), generator=g)], (2, 2, 2, 2))
    right = torch.rand(count, generator=g) < 0.5
    strip = torch.zeros_like(digit)
    strip[right, :, :, 24:] = other[right, :, :, 6:14]
    strip[~right, :, :, :8] = other[~right, :, :, 18:26]
    shape = torch.maximum(digit, 0.8 * strip)
    # colours: background b, foreground f with |lum(f) - lum(b)| >= 0.3 (redrawn until it holds)
    lum = torch.tensor([0.299, 0.587, 0.114])
    back = torch.rand(count, 3, generator=g)
    fore = torch.rand(count, 3, generator=g)
    for _ in range(100):
        low = ((fore - back) @ lum).abs() < 0.3
        if not low.any():
            break
        fore[low] = torch.rand(int(low.sum()), 3, generator=g)
    else:  # pragma: no cover - 100 redraws of a contrast that holds with probability ~0.5
        raise RuntimeError("could not draw contrasting colours; use another seed.")
    img = back[:, :, None, None] + shape * (fore - back)[:, :, None, None]
    img = img + noise * torch.randn(img.shape, generator=g)
    return LabelledImages(img.clamp(0.0, 1.0), y.clone(), list(base.class_names))
