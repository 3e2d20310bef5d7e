"""Faces for the K-anonymity paper: the Yale face database (real, from a data root; never to be
published) and SynthFaces, a face-identity stand-in for it generated here."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .._validate import check_range
from ..download import DatasetNotFoundError
from .base import LabelledImages

__all__ = ["YALE_CONDITIONS", "load_yale_faces", "synth_faces"]


#: The eleven conditions of the Yale face database, one image each per subject.
YALE_CONDITIONS = ("centerlight", "glasses", "happy", "leftlight", "noglasses", "normal", "rightlight",
                   "sad", "sleepy", "surprised", "wink")


def load_yale_faces(root: str | Path, size: int = 64) -> LabelledImages:
    """The Yale face database (15 subjects x 11 conditions, 320x243 grayscale GIFs named
    ``subjectNN.condition``) from ``root``/yalefaces: the central 243x243 square, resized (antialiased)
    to ``size`` x ``size``. Labels are subject - 1. Its terms forbid public redistribution: never put
    these images into a published artefact.

    To obtain it: the UCSD/Yale "Yale Face Database" (P. Belhumeur et al.); unpack it into ``root``/yalefaces."""
    from PIL import Image

    check_range(size, "size", lo=8, hi=243, integer=True)
    folder = Path(root) / "yalefaces"
    files = sorted(p for p in folder.glob("subject*.*") if p.suffix[1:] in YALE_CONDITIONS) if folder.is_dir() else []
    if not files:
        raise DatasetNotFoundError(f"no Yale faces (subjectNN.condition files) in {folder}. Obtain the Yale Face "
                                   "Database from its distributors and unpack it there.")
    images, labels = [], []
    for p in files:
        try:
            im = Image.open(p).convert("L")
        except OSError as e:
            raise DatasetNotFoundError(f"{p} is not a readable image (corrupt or truncated?): {e}.") from e
        w, h = im.size
        side = min(w, h)
        im = im.crop(((w - side) // 2, (h - side) // 2, (w - side) // 2 + side, (h - side) // 2 + side))
        im = im.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=None)
        images.append(np.asarray(im, dtype=np.float32) / 255.0)
        labels.append(int(p.stem.replace("subject", "")) - 1)
    names = [f"subject{i + 1:02d}" for i in range(max(labels) + 1)]
    return LabelledImages(torch.from_numpy(np.stack(images))[:, None], torch.tensor(labels), names)


def synth_faces(n_identities: int = 15, per_identity: int = 40, size: int = 48, seed: int = 0) -> LabelledImages:
    """SynthFaces: a face-identity stand-in for the Yale faces, generated deterministically.

    Each identity fixes a face shape (ellipse axes), skin and hair tone, hairline, eye spacing, height
    and size, brow tilt, nose length and mouth width. Each image draws a Yale-like condition: lighting
    from the left, right or front (a shading ramp), expression (mouth curvature, eye opening), glasses
    or not, plus a small shift, scale jitter and pixel noise. Grayscale, ``size`` x ``size``. Identity
    parameters come from a fixed structure seed; ``seed`` drives the per-image draws."""
    check_range(n_identities, "n_identities", lo=2, hi=1000, integer=True)
    check_range(per_identity, "per_identity", lo=1, integer=True)
    check_range(size, "size", lo=16, hi=512, integer=True)
    gs = torch.Generator().manual_seed(1997)
    gi = torch.Generator().manual_seed(10_000 + int(seed))
    I = int(n_identities)
    ident = {k: torch.rand(I, generator=gs) for k in
             ("ax", "ay", "skin", "hair", "hairline", "eye_dx", "eye_y", "eye_r", "brow", "nose", "mouth_w", "bg")}
    n = I * int(per_identity)
    lab = torch.arange(I).repeat_interleave(int(per_identity))
    r = lambda *s: torch.rand(*s, generator=gi)  # noqa: E731
    light = r(n) * 2 - 1                      # -1 left .. 1 right
    smile = r(n) * 2 - 1
    eye_open = 0.4 + 0.6 * r(n)
    glasses = r(n) < 0.25
    shift = (r(n, 2) - 0.5) * 0.08
    scale = 1.0 + (r(n) - 0.5) * 0.08

    lin = torch.linspace(-1, 1, size)
    yy, xx = torch.meshgrid(lin, lin, indexing="ij")
    yy = (yy[None] - shift[:, 1, None, None]) / scale[:, None, None]
    xx = (xx[None] - shift[:, 0, None, None]) / scale[:, None, None]
    p = {k: v[lab][:, None, None] for k, v in ident.items()}
    soft = lambda d, w=0.04: torch.sigmoid(-d / w)  # noqa: E731  inside (d < 0) -> 1

    ax, ay = 0.55 + 0.2 * p["ax"], 0.7 + 0.2 * p["ay"]
    face = soft((xx / ax) ** 2 + (yy / ay) ** 2 - 1.0, 0.08)
    hair = soft(yy - (-0.75 + 0.35 * p["hairline"])) * soft((xx / (ax + 0.08)) ** 2 + (yy / (ay + 0.08)) ** 2 - 1, 0.08)
    img = 0.15 + 0.3 * p["bg"] + 0 * xx
    img = img * (1 - face) + (0.45 + 0.4 * p["skin"]) * face
    img = img * (1 - hair) + (0.05 + 0.3 * p["hair"]) * hair
    ex, ey, er = 0.18 + 0.12 * p["eye_dx"], -0.15 + 0.15 * p["eye_y"], 0.06 + 0.05 * p["eye_r"]
    eo = eye_open[:, None, None]
    for sgn in (-1.0, 1.0):
        eye = soft(((xx - sgn * ex) / er) ** 2 + ((yy - ey) / (er * eo)) ** 2 - 1, 0.15)
        img = img * (1 - eye) + 0.08 * eye
        tilt = (p["brow"] - 0.5) * 0.4 * sgn
        brow = soft(((xx - sgn * ex) / (er * 1.6)) ** 2 + ((yy - (ey - 2.2 * er) - tilt * (xx - sgn * ex)) / 0.025) ** 2 - 1, 0.2)
        img = img * (1 - brow) + 0.1 * brow
        ring = ((((xx - sgn * ex) / (er * 2.0)) ** 2 + ((yy - ey) / (er * 1.8)) ** 2) - 1).abs()
        g = soft(ring - 0.15, 0.05) * glasses[:, None, None]
        img = img * (1 - g) + 0.05 * g
    nose_len = 0.12 + 0.12 * p["nose"]
    nose = soft((xx / 0.035) ** 2 + ((yy - (ey + nose_len / 2 + 0.05)) / nose_len) ** 2 - 1, 0.2)
    img = img * (1 - 0.5 * nose) + 0.25 * nose * 0.5
    mw = 0.12 + 0.12 * p["mouth_w"]
    my = 0.38 + 0.05 * p["eye_y"] - smile[:, None, None] * 0.08 * (1 - (xx / mw) ** 2)
    mouth = soft((xx / mw) ** 2 + ((yy - my) / 0.035) ** 2 - 1, 0.2)
    img = img * (1 - mouth) + 0.12 * mouth
    shade = 1.0 + 0.45 * light[:, None, None] * xx * face
    img = img * shade + 0.03 * torch.randn(img.shape, generator=gi)
    names = [f"identity{i + 1:02d}" for i in range(I)]
    return LabelledImages(img.clamp(0.0, 1.0)[:, None].float(), lab, names)
