"""SynthScenes: an embedded RGB "scene" dataset generated deterministically by the project.

It stands in for Places365 in the quick profile (no download, a few seconds to make). What matters for
the papers is reproduced on purpose: many classes grouped into look-alike families (like "bedroom",
"bedchamber", "dorm room"), so that a classifier trained on it is often wrong in its top-1 but usually
right in its top-5 - the situation P-FGSM relies on (ResNet-50 on the Places365 private classes: 56%
top-1, 86% top-5).

Each class belongs to a family; a family fixes a sky/ground palette and a horizon height; a class adds an
oriented texture and a coloured blob. Every image draws its own palette jitter, horizon shift, texture
phase and amplitude, blob position, a distracting texture from another random orientation, and pixel
noise. Everything is vectorised torch code driven by ``torch.Generator`` seeds: the same arguments give
bitwise-identical images on any machine.
"""
from __future__ import annotations

import math

import torch

from .._validate import check_choice, check_range
from .base import LabelledImages

__all__ = ["synth_scenes", "SPLITS"]

SPLITS = {"train": 1, "val": 2, "test": 3}
_STRUCTURE_SEED = 2019


def _class_structure(num_classes: int, family_size: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(_STRUCTURE_SEED)
    n_fam = math.ceil(num_classes / family_size)
    fam = torch.arange(num_classes) // family_size
    sky = torch.rand(n_fam, 3, generator=g)
    ground = torch.rand(n_fam, 3, generator=g)
    horizon = 0.3 + 0.4 * torch.rand(n_fam, generator=g)
    # Within a family, classes differ by texture orientation/frequency, texture colour and blob place.
    theta = torch.rand(num_classes, generator=g) * math.pi
    freq = 2.0 + 4.0 * torch.rand(num_classes, generator=g)
    tex_colour = torch.rand(num_classes, 3, generator=g) - 0.5
    blob_xy = 0.2 + 0.6 * torch.rand(num_classes, 2, generator=g)
    blob_colour = torch.rand(num_classes, 3, generator=g) - 0.5
    return dict(fam=fam, sky=sky[fam], ground=ground[fam], horizon=horizon[fam], theta=theta, freq=freq,
                tex_colour=tex_colour, blob_xy=blob_xy, blob_colour=blob_colour)


def synth_scenes(split: str = "train", n_per_class: int = 200, num_classes: int = 30, size: int = 32,
                 family_size: int = 5, difficulty: float = 1.5, classes: list[int] | None = None,
                 seed: int = 0) -> LabelledImages:
    """Generate ``n_per_class`` images for each class (or each of ``classes``) of SynthScenes.

    ``split`` selects disjoint random streams ('train', 'val', 'test'); ``seed`` shifts all of them.
    ``difficulty`` scales the nuisances: at the default 1.5, ``SmallCNN`` trained for 8 epochs on 200
    images per class reaches about 60% top-1 and 95% top-5 on the test split (1.0: 93%; 1.8: 37%).
    """
    check_choice(split, SPLITS, "split")
    check_range(n_per_class, "n_per_class", lo=1, integer=True)
    check_range(num_classes, "num_classes", lo=2, integer=True)
    check_range(size, "size", lo=8, hi=1024, integer=True)
    check_range(difficulty, "difficulty", lo=0)
    s = _class_structure(num_classes, family_size)
    classes = list(range(num_classes)) if classes is None else list(classes)
    if not classes or min(classes) < 0 or max(classes) >= num_classes:
        raise ValueError(f"classes must be a non-empty list of indices in [0, {num_classes - 1}].")
    y = torch.tensor(classes).repeat_interleave(n_per_class)
    n = len(y)
    g = torch.Generator().manual_seed(1_000_003 * SPLITS[split] + seed)

    def rand(*shape):
        return torch.rand(*shape, generator=g)

    def randn(*shape):
        return torch.randn(*shape, generator=g)

    d = difficulty
    v, u = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    u, v = u[None], v[None]  # (1, H, W)

    # Sky and ground with a soft horizon.
    horizon = (s["horizon"][y] + 0.12 * d * (rand(n) - 0.5))[:, None, None]
    sky = (s["sky"][y] + 0.15 * d * randn(n, 3)).clamp(0, 1)
    ground = (s["ground"][y] + 0.15 * d * randn(n, 3)).clamp(0, 1)
    w = torch.sigmoid((horizon - v) / 0.04)[:, None]  # 1 above the horizon
    img = sky[:, :, None, None] * w + ground[:, :, None, None] * (1 - w)

    # The class texture, with random phase and amplitude.
    theta = (s["theta"][y] + 0.25 * d * randn(n))[:, None, None]
    phase = 2 * math.pi * rand(n)[:, None, None]
    wave = torch.cos(2 * math.pi * s["freq"][y][:, None, None] * (u * torch.cos(theta) + v * torch.sin(theta)) + phase)
    amp = (0.25 * (1 - 0.5 * d * rand(n)).clamp(min=0.2))[:, None, None, None]
    img = img + amp * wave[:, None] * s["tex_colour"][y][:, :, None, None]

    # The class blob, jittered in place and size.
    cx = (s["blob_xy"][y, 0] + 0.12 * d * randn(n))[:, None, None]
    cy = (s["blob_xy"][y, 1] + 0.12 * d * randn(n))[:, None, None]
    r = (0.12 * (1 + 0.3 * d * randn(n)).clamp(0.4, 2.0))[:, None, None]
    blob = torch.exp(-((u - cx) ** 2 + (v - cy) ** 2) / (2 * r ** 2))
    img = img + 0.6 * blob[:, None] * s["blob_colour"][y][:, :, None, None]

    # Distractors: a texture of random orientation and colour, and pixel noise.
    th2 = math.pi * rand(n)[:, None, None]
    f2 = (2.0 + 4.0 * rand(n))[:, None, None]
    wave2 = torch.cos(2 * math.pi * f2 * (u * torch.cos(th2) + v * torch.sin(th2)) + 2 * math.pi * rand(n)[:, None, None])
    img = img + 0.15 * d * wave2[:, None] * (rand(n, 3) - 0.5)[:, :, None, None]
    img = img + 0.04 * d * randn(n, 3, size, size)

    img = torch.round(img.clamp(0, 1) * 255) / 255  # an 8-bit image, like a decoded photo
    names = [f"family{int(s['fam'][c])}/scene{c:02d}" for c in range(num_classes)]
    private = list(range(0, num_classes, 3))
    return LabelledImages(img.contiguous(), y, names, private)
