"""Labelled image sets for the K-anonymity and MAT experiments: MNIST and the Yale faces (real, from a
data root), scikit-learn's digits (embedded) and SynthFaces (a face-identity stand-in for Yale,
generated here).

Every loader returns a :class:`LabelledImages`: float NCHW images in [0, 1], integer labels and class
names. Real data is read from ``root``; a missing file raises :class:`DatasetNotFoundError` saying where
it was looked for and how to obtain it.
"""
from __future__ import annotations

import gzip
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .._validate import check_choice, check_range
from .download import DatasetNotFoundError

__all__ = ["LabelledImages", "load_digits", "load_mnist", "load_cifar10", "load_cifar100", "load_svhn",
           "load_yale_faces", "synth_faces",
           "YALE_CONDITIONS", "subset"]


@dataclass
class LabelledImages:
    images: torch.Tensor
    labels: torch.Tensor
    class_names: list[str]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def __len__(self) -> int:
        return len(self.labels)


def subset(data: LabelledImages, index) -> LabelledImages:
    """The samples at ``index`` (a tensor of indices or a boolean mask)."""
    return LabelledImages(data.images[index], data.labels[index], data.class_names)


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


def read_idx_bytes(data: bytes, gz: bool = False, name: str = "the file") -> np.ndarray:
    """An IDX array of unsigned bytes (MNIST's format) from its bytes, gzipped or not."""
    if gz:
        data = gzip.decompress(data)
    magic = int.from_bytes(data[:4], "big")
    if magic >> 8 != 0x08:
        raise DatasetNotFoundError(f"{name} is not an IDX file of unsigned bytes (corrupt?); fetch it again.")
    ndim = magic & 0xFF
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(shape)):
        raise DatasetNotFoundError(f"{name} is truncated ({arr.size} of {int(np.prod(shape))} values); fetch it again.")
    return arr.reshape(shape)


def _read_idx(path: Path) -> np.ndarray:
    return read_idx_bytes(path.read_bytes(), gz=path.suffix == ".gz", name=str(path))


def load_mnist(root: str | Path, split: str = "train") -> LabelledImages:
    """MNIST from ``root``/MNIST/raw (torchvision's layout; the .gz originals or their unpacked files).

    To obtain it: ``torchvision.datasets.MNIST(root, download=True)``."""
    check_choice(split, ("train", "test"), "MNIST split")
    raw = Path(root) / "MNIST" / "raw"
    prefix = "train" if split == "train" else "t10k"
    arrays = []
    for kind in ("images-idx3-ubyte", "labels-idx1-ubyte"):
        for name in (f"{prefix}-{kind}.gz", f"{prefix}-{kind}"):
            if (raw / name).is_file():
                arrays.append(_read_idx(raw / name))
                break
        else:
            raise DatasetNotFoundError(f"MNIST {split} file {prefix}-{kind}[.gz] not found in {raw}. Get it with "
                                       f"torchvision.datasets.MNIST({str(root)!r}, download=True).")
    images, labels = arrays
    return LabelledImages(torch.from_numpy(images.astype(np.float32) / 255.0)[:, None],
                          torch.from_numpy(labels.astype(np.int64)), [str(i) for i in range(10)])


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


def load_cifar10(root: str | Path, split: str = "train") -> LabelledImages:
    """CIFAR-10 from ``root``/cifar-10-batches-py (the python version). To obtain it:
    ``torchvision.datasets.CIFAR10(root, download=True)``."""
    import pickle

    check_choice(split, ("train", "test"), "CIFAR-10 split")
    folder = Path(root) / "cifar-10-batches-py"
    names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    xs, ys = [], []
    for name in names:
        path = folder / name
        if not path.is_file():
            raise DatasetNotFoundError(f"CIFAR-10 file {path} not found. Get it with "
                                       f"torchvision.datasets.CIFAR10({str(root)!r}, download=True).")
        with open(path, "rb") as f:
            batch = pickle.load(f, encoding="latin1")  # the official archive's format (trusted numpy data)
        xs.append(np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
        ys.append(np.asarray(batch["labels"], dtype=np.int64))
    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    return LabelledImages(torch.from_numpy(np.concatenate(xs).astype(np.float32) / 255.0),
                          torch.from_numpy(np.concatenate(ys)), classes)


def _torchvision_set(name: str, root: str | Path, split: str, download: bool) -> LabelledImages:
    import torchvision.datasets as tvd

    root = Path(root)
    try:
        if name == "CIFAR-100":
            ds = tvd.CIFAR100(str(root), train=split == "train", download=download)
            x, y, classes = np.asarray(ds.data).transpose(0, 3, 1, 2), np.asarray(ds.targets), list(ds.classes)
        else:
            ds = tvd.SVHN(str(root), split=split, download=download)
            x, y, classes = np.asarray(ds.data), np.asarray(ds.labels) % 10, [str(i) for i in range(10)]
    except RuntimeError as err:  # torchvision: "Dataset not found or corrupted. You can use download=True ..."
        call = {"CIFAR-100": f"load_cifar100({str(root)!r}, {split!r}, download=True)",
                "SVHN": f"load_svhn({str(root)!r}, {split!r}, download=True)"}[name]
        raise DatasetNotFoundError(f"{name} ({split}) not found or corrupt under {root} ({err}). Download it with "
                                   f"papers_core.data.images.{call}.") from None
    return LabelledImages(torch.from_numpy(x.astype(np.float32) / 255.0), torch.from_numpy(y.astype(np.int64)),
                          classes)


def load_cifar100(root: str | Path, split: str = "train", download: bool = False) -> LabelledImages:
    """CIFAR-100 (fine labels) from ``root``/cifar-100-python, through torchvision; ``download=True``
    fetches it first (about 160 MB)."""
    check_choice(split, ("train", "test"), "CIFAR-100 split")
    return _torchvision_set("CIFAR-100", root, split, download)


def load_svhn(root: str | Path, split: str = "train", download: bool = False) -> LabelledImages:
    """SVHN (cropped digits, 32x32 RGB; label 10 of the .mat files is the digit 0) from ``root``/
    {train,test}_32x32.mat, through torchvision (reading needs SciPy); ``download=True`` fetches it."""
    check_choice(split, ("train", "test"), "SVHN split")
    return _torchvision_set("SVHN", root, split, download)
