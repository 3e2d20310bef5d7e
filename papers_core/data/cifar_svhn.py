"""CIFAR-10, CIFAR-100 and SVHN from a data root (the MAT paper's datasets); CIFAR-100 and SVHN
through torchvision, which can download them. A missing file raises :class:`DatasetNotFoundError`
saying how to obtain it."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .._validate import check_choice
from ..download import DatasetNotFoundError
from .base import LabelledImages

__all__ = ["load_cifar10", "load_cifar100", "load_svhn"]


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
                                   f"papers_core.data.{call}.") from None
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
