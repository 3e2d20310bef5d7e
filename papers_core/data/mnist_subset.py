"""A fixed, seeded subset of real MNIST, embedded in the package: 10,000 training and 2,000 test
images, so that the quick profile runs on MNIST where the papers use it, without a download.

MNIST: Y. LeCun, C. Cortes and C. J. C. Burges, http://yann.lecun.com/exdb/mnist/, licensed CC BY-SA 3.0
(as the torchvision and TensorFlow dataset cards state). The subset is the first 10,000 of a
permutation of the 60,000 training images and the first 2,000 of a permutation of the 10,000 test
images, both drawn with ``numpy.random.default_rng(2024)``; the file stores the images (uint8), the
labels and the indices into the original files.

Rebuild it from the original files (their sha256 is checked) with::

    python -m papers_core.data.mnist_subset path/to/root     # root/MNIST/raw/*-ubyte.gz (torchvision)

The full MNIST stays a download for the paper profile (:func:`papers_core.data.mnist.load_mnist`).
"""
from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np
import torch

from .._validate import check_choice
from ..download import DatasetNotFoundError, atomic_path

__all__ = ["load_mnist_subset", "build_mnist_subset", "MNIST_SHA256", "SUBSET_PATH", "SUBSET_SIZES"]

#: sha256 of the original gz files (byte-identical to LeCun et al.'s; torchvision checks their md5).
MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
SUBSET_PATH = Path(__file__).with_name("mnist_subset.npz")
SUBSET_SIZES = {"train": 10_000, "test": 2_000}
_SEED = 2024
#: sha256 of each stored array's bytes (the .npz container itself carries zip timestamps).
SUBSET_SHA256 = {
    "train_images": "46981518e55d78c96c707d4f6a0efdd4060589aa0e1d19e17f517875c6a73130",
    "train_labels": "e490399c28cb8ac9d618c7c877944d88c80f2e746c5de544cbe0b1d7c80e2cf1",
    "train_index": "68ecc3493f8a02ff81cc7e6a43668c88170515e02b81fd431b3382691d33f4c3",
    "test_images": "7aef0bf449601ca5bb131536fd66cd5d26fd55fefd3397b0ff5d492bee65e638",
    "test_labels": "1b551425c1bbc8f945313d5eda5f8255af6dbf731bfad0a4b7185f93f6da0d69",
    "test_index": "1880cdb61027157bd6da7b2d7dabffc014eac5cd571b7b853289a143414f41a3",
}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build_mnist_subset(root: str | Path, out: str | Path | None = None) -> dict[str, np.ndarray]:
    """Rebuild the subset from ``root/MNIST/raw/*.gz``, checking the originals' sha256; written
    atomically to ``out``. Returns the arrays."""
    from .mnist import read_idx_bytes

    raw = Path(root) / "MNIST" / "raw"
    arrays = {}
    for name, digest in MNIST_SHA256.items():
        path = raw / name
        if not path.is_file():
            raise DatasetNotFoundError(f"{path} not found: the subset is built from the original MNIST gz files "
                                       f"(get them with torchvision.datasets.MNIST({str(root)!r}, download=True)).")
        data = path.read_bytes()
        if _sha256(data) != digest:
            raise ValueError(f"{path} has sha256 {_sha256(data)}, not the original's {digest}: download it again.")
        arrays[name] = read_idx_bytes(data, gz=True, name=str(path))
    rng = np.random.default_rng(_SEED)
    out_arrays = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images, labels = arrays[f"{prefix}-images-idx3-ubyte.gz"], arrays[f"{prefix}-labels-idx1-ubyte.gz"]
        index = np.sort(rng.permutation(len(labels))[:SUBSET_SIZES[split]]).astype(np.int32)
        out_arrays[f"{split}_images"] = images[index].astype(np.uint8)
        out_arrays[f"{split}_labels"] = labels[index].astype(np.uint8)
        out_arrays[f"{split}_index"] = index
    with atomic_path(Path(SUBSET_PATH if out is None else out)) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **out_arrays)
    return out_arrays


def _checked_arrays(path: Path | None = None) -> dict[str, np.ndarray]:
    path = SUBSET_PATH if path is None else path
    if not path.is_file():
        raise DatasetNotFoundError(f"the embedded MNIST subset {path} is missing; it ships with papers_core "
                                   "(rebuild it with `python -m papers_core.data.mnist_subset ROOT`).")
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    for key, digest in SUBSET_SHA256.items():
        if key not in arrays or _sha256(np.ascontiguousarray(arrays[key]).tobytes()) != digest:
            raise ValueError(f"{path} is corrupt ({key} does not match its sha256); reinstall papers_core or "
                             "rebuild the subset with `python -m papers_core.data.mnist_subset ROOT`.")
    return arrays


def load_mnist_subset(split: str = "train"):
    """The embedded MNIST subset's ``split`` ("train": 10,000 images, "test": 2,000) as
    :class:`papers_core.data.base.LabelledImages`, float (N, 1, 28, 28) in [0, 1]. Checked against
    the stored sha256 on every load."""
    from .base import LabelledImages

    check_choice(split, SUBSET_SIZES, "MNIST subset split")
    a = _checked_arrays()
    x = torch.from_numpy(a[f"{split}_images"].astype(np.float32) / 255.0)[:, None]
    return LabelledImages(x, torch.from_numpy(a[f"{split}_labels"].astype(np.int64)), [str(i) for i in range(10)])


def _main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m papers_core.data.mnist_subset ROOT   (ROOT/MNIST/raw/*-ubyte.gz)", file=sys.stderr)
        return 2
    arrays = build_mnist_subset(argv[0])
    for k, v in arrays.items():
        print(f'    "{k}": "{_sha256(np.ascontiguousarray(v).tobytes())}",')
    print(f"wrote {SUBSET_PATH} ({SUBSET_PATH.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
