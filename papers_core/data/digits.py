"""scikit-learn's digits (the UCI optical digits), embedded in scikit-learn: no download."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .._validate import check_range
from .base import LabelledImages

__all__ = ["load_digits"]


def load_digits(size: int = 28) -> LabelledImages:
    """scikit-learn's digits (1797 8x8 images, 0..16; the UCI optical digits), scaled to [0, 1] and
    resized bilinearly to ``size`` x ``size`` so that MNIST's models take them. Embedded: no download."""
    from sklearn.datasets import load_digits as _load

    check_range(size, "size", lo=8, hi=256, integer=True)
    d = _load()
    x = torch.from_numpy(d.images.astype(np.float32) / 16.0)[:, None]
    if size != 8:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False).clamp(0.0, 1.0)
    return LabelledImages(x, torch.from_numpy(d.target).long(), [str(i) for i in range(10)])
