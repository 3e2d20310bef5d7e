"""Input-transformation defenses and the feature-squeezing detector (RP-FGSM paper, Sec. II and V).

The three defenses of Sanchez-Matilla et al. (Sec. V-B), each with the paper's parameter set:

- re-quantisation to 1..7 bits per channel (Xu et al.'s bit-depth reduction),
- median filtering with a square kernel of 2, 3 or 5 pixels,
- JPEG compression at quality 25, 50, 75 or 100.

Every defense has an *exact* form, used to evaluate (what a defender runs), and a *differentiable* form,
used inside an attack (RP-FGSM, Sec. IV): rounding has a zero derivative almost everywhere, so
re-quantisation rounds with Shin and Song's surrogate ``round(z) + (z - round(z))**3`` and JPEG is
kornia's differentiable codec (the same surrogate inside a DCT-domain simulation). The median is
differentiable as it is: the gradient reaches the pixel each window selects.

Images are float NCHW in [0, 1]. Conventions where the references differ:

- median: windows as in ``scipy.ndimage.median_filter`` (an even kernel k covers the pixels
  i - k//2 .. i + (k-1)//2), borders mirrored as scipy's ``mode="reflect"``; for an even window the
  *lower* of the two middle values (torch's median, and the RP-FGSM official code's), where scipy takes
  the upper one. Odd kernels equal scipy exactly.
- JPEG: Pillow's encoder (libjpeg, 4:2:0 chroma subsampling) on the image rounded to 8 bits; a
  one-channel image is coded as greyscale.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ._validate import check_choice, check_images, check_model, check_range

__all__ = ["requantize", "median_filter", "jpeg", "Defense", "paper_defenses", "PAPER_PARAMETERS",
           "FeatureSqueezingDetector", "DEFENSE_FAMILIES", "family_detectors"]

#: The defense families of Sec. V-B, each with its own detector threshold (Sec. V-C).
DEFENSE_FAMILIES = ("requantize", "median", "jpeg")

#: The defenses' parameter sets of Sec. V-B.
PAPER_PARAMETERS = {"requantize": (1, 2, 3, 4, 5, 6, 7), "median": (2, 3, 5), "jpeg": (25, 50, 75, 100)}


def _soft_round(z: torch.Tensor) -> torch.Tensor:
    """Shin and Song's rounding surrogate: round(z) + (z - round(z))^3, whose derivative is rarely 0."""
    r = torch.round(z)
    return r + (z - r) ** 3


def requantize(x: torch.Tensor, bits: int, differentiable: bool = False) -> torch.Tensor:
    """Re-quantise ``x`` to ``bits`` bits per channel: ``round(x * L) / L`` with ``L = 2**bits - 1``
    (``differentiable=True``: with the rounding surrogate, for attacks)."""
    check_images(x)
    check_range(bits, "bits", lo=1, hi=8, integer=True)
    levels = float(2 ** int(bits) - 1)
    z = x * levels
    return ((_soft_round(z) if differentiable else torch.round(z)) / levels).clamp(0.0, 1.0)


def _pad_reflect(x: torch.Tensor, before: int, after: int, dim: int) -> torch.Tensor:
    """scipy's 'reflect' border (d c b a | a b c d | d c b a) along ``dim``."""
    n = x.shape[dim]
    if before > n or after > n:
        raise ValueError(f"the image ({n} pixels along an axis) is smaller than the median window.")
    parts = [x.narrow(dim, 0, before).flip(dim), x, x.narrow(dim, n - after, after).flip(dim)]
    return torch.cat(parts, dim)


def median_filter(x: torch.Tensor, kernel: int, differentiable: bool = True) -> torch.Tensor:
    """Median of each ``kernel`` x ``kernel`` window, per channel (see the module's conventions).
    Batched: all windows of the batch at once. ``differentiable`` is accepted for a uniform interface
    with the other defenses: the median is differentiable either way."""
    check_images(x)
    check_range(kernel, "kernel", lo=1, hi=15, integer=True)
    k = int(kernel)
    if k == 1:
        return x.clone()
    before, after = k // 2, (k - 1) // 2
    padded = _pad_reflect(_pad_reflect(x, before, after, 2), before, after, 3)
    windows = padded.unfold(2, k, 1).unfold(3, k, 1)            # N, C, H, W, k, k
    return windows.reshape(*windows.shape[:4], k * k).median(dim=-1).values


def _jpeg_exact(x: torch.Tensor, quality: int) -> torch.Tensor:
    from PIL import Image

    arr = (x.detach().cpu().clamp(0, 1) * 255.0).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    out = np.empty_like(arr)
    mode = "L" if arr.shape[-1] == 1 else "RGB"
    for i, img in enumerate(arr):  # the codec is per image; Pillow releases the GIL while coding
        buf = io.BytesIO()
        Image.fromarray(img[..., 0] if mode == "L" else img, mode).save(buf, format="JPEG", quality=int(quality))
        buf.seek(0)
        dec = np.asarray(Image.open(buf).convert(mode))
        out[i] = dec[..., None] if mode == "L" else dec
    return torch.from_numpy(out).permute(0, 3, 1, 2).to(device=x.device, dtype=x.dtype) / 255.0


def _jpeg_differentiable(x: torch.Tensor, quality: int) -> torch.Tensor:
    from kornia.enhance import jpeg_codec_differentiable

    rgb = x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x
    q = torch.tensor([float(quality)], device=x.device, dtype=x.dtype)
    out = jpeg_codec_differentiable(rgb, q).clamp(0.0, 1.0)
    return out.mean(1, keepdim=True) if x.shape[1] == 1 else out


def jpeg(x: torch.Tensor, quality: int, differentiable: bool = False) -> torch.Tensor:
    """JPEG-compress and decode ``x`` at ``quality`` (1..100). Exact: Pillow on the 8-bit image, a
    value on the 8-bit grid. ``differentiable=True``: kornia's differentiable JPEG (for attacks)."""
    check_images(x)
    check_range(quality, "quality", lo=1, hi=100, integer=True)
    if x.shape[1] not in (1, 3):
        raise ValueError(f"JPEG codes 1- or 3-channel images, got {x.shape[1]} channels.")
    return _jpeg_differentiable(x, quality) if differentiable else _jpeg_exact(x, quality)


_FUNCTIONS = {"requantize": requantize, "median": median_filter, "jpeg": jpeg}
_LABELS = {"requantize": "{} bits", "median": "median {0}x{0}", "jpeg": "JPEG {}"}


@dataclass(frozen=True)
class Defense:
    """One defense with its parameter, e.g. ``Defense("jpeg", 50)``; call it on a batch."""

    name: str
    param: int

    def __post_init__(self):
        check_choice(self.name, tuple(_FUNCTIONS), "defense")

    def __call__(self, x: torch.Tensor, differentiable: bool = False) -> torch.Tensor:
        return _FUNCTIONS[self.name](x, self.param, differentiable=differentiable)

    @property
    def label(self) -> str:
        return _LABELS[self.name].format(self.param)


def paper_defenses(names=("requantize", "median", "jpeg")) -> list[Defense]:
    """The paper's defenses with every parameter of Sec. V-B (7 + 3 + 4 = 14), in that order."""
    return [Defense(n, p) for n in names for p in PAPER_PARAMETERS[check_choice(n, tuple(_FUNCTIONS), "defense")]]


class FeatureSqueezingDetector:
    """Xu et al.'s feature-squeezing detector (Eq. 4 of the RP-FGSM paper).

    The score of an image is the largest L1 distance between the classifier's probability vectors on
    the image and on its squeezed versions, over ``squeezers`` (a list of :class:`Defense`). An image is
    flagged as adversarial when its score exceeds the threshold ``tau``, learned by :meth:`fit` as the
    ``1 - false_positive_rate`` quantile of the scores of clean (training) images, so that the given
    share of clean images is flagged (5 % in the paper).
    """

    def __init__(self, model, squeezers, batch_size: int = 256):
        check_model(model)
        squeezers = list(squeezers)
        if not squeezers or not all(isinstance(s, Defense) for s in squeezers):
            raise ValueError("squeezers must be a non-empty list of Defense objects, e.g. paper_defenses(['median']).")
        check_range(batch_size, "batch_size", lo=1, integer=True)
        self.model, self.squeezers, self.batch_size = model, squeezers, int(batch_size)
        self.tau: float | None = None

    @torch.no_grad()
    def score(self, x: torch.Tensor) -> torch.Tensor:
        """The detection score of each image (N,): max over squeezers of ``||M(x) - M(phi(x))||_1``."""
        check_images(x)
        out = []
        for i in range(0, len(x), self.batch_size):
            xb = x[i:i + self.batch_size]
            p = F.softmax(self.model(xb), dim=1)
            d = torch.stack([(p - F.softmax(self.model(s(xb)), dim=1)).abs().sum(1) for s in self.squeezers])
            out.append(d.max(0).values)
        return torch.cat(out)

    def fit(self, clean: torch.Tensor, false_positive_rate: float = 0.05) -> "FeatureSqueezingDetector":
        """Learn ``tau`` on clean images: the ``1 - false_positive_rate`` quantile of their scores."""
        check_range(false_positive_rate, "false_positive_rate", lo=0, hi=1, lo_open=True)
        scores = self.score(clean).double()
        self.tau = float(torch.quantile(scores, 1.0 - float(false_positive_rate)))
        return self

    def detect(self, x: torch.Tensor) -> torch.Tensor:
        """True where an image is flagged as adversarial (score above ``tau``)."""
        if self.tau is None:
            raise RuntimeError("the detector has no threshold yet: call fit(clean_images) first.")
        return self.score(x) > self.tau


def family_detectors(models: dict, clean: torch.Tensor, families=DEFENSE_FAMILIES,
                     false_positive_rate: float = 0.05) -> dict:
    """The RP-FGSM paper's detectors (Sec. V-C, Eq. 4): for each classifier in ``models`` (name ->
    model) and each defense family, a :class:`FeatureSqueezingDetector` over the family's parameters
    with ``tau`` at ``false_positive_rate`` on the ``clean`` images ("a threshold for each defense ...
    accepting 5 % of the original (training) images as adversarial"). Returns ``{(name, family):
    detector}``; an attack on a set of classifiers is judged by the detectors of the classifiers it
    attacked."""
    if not isinstance(models, dict) or not models:
        raise ValueError("models must be a non-empty dict from a classifier's name to the classifier.")
    families = [check_choice(f, DEFENSE_FAMILIES, "defense family") for f in families]
    check_images(clean)
    return {(name, f): FeatureSqueezingDetector(m, paper_defenses([f])).fit(clean, false_positive_rate)
            for name, m in models.items() for f in families}
