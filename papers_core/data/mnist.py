"""MNIST from a data root (torchvision's layout), and the IDX reader it and the embedded subset
(:mod:`papers_core.data.mnist_subset`) use. A missing file raises :class:`DatasetNotFoundError` saying
where it was looked for and how to obtain it."""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import torch

from .._validate import check_choice
from ..download import DatasetNotFoundError
from .base import LabelledImages

__all__ = ["read_idx_bytes", "load_mnist"]


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
