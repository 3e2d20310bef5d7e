"""The Places365 private-class subset of the MediaEval 2018 Pixel Privacy task.

Layout under ``root`` (the task's public lists plus the images)::

    categories_places365.txt          365 class names ("/a/airfield 0")
    MEPP18senscats.txt                the 60 private classes ("/a/airplane_cabin 1", UTF-8 BOM)
    MEPP18labels/MEPP18val.csv        3000 labelled images, 50 per private class
    MEPP19labels/MEPP19test.csv       the 600 MediaEval 2019 test images (names only; ResNet-50
                                      Places365 classifies all of them correctly)
    val_256/Places365_val_XXXXXXXX.jpg  the Places365-Standard validation images (256x256)

The lists come from the MediaEval Pixel Privacy repositories and the Places365 project (see
data/README.md); the images come from the Places365
``val_256.tar`` archive (2.1 GB), which :func:`download_private_images` streams, keeping only the 3000
images the task uses.
"""
from __future__ import annotations

import csv
import tarfile
import urllib.request
from pathlib import Path

import numpy as np
import torch

from ..download import DatasetNotFoundError, DownloadError, atomic_path
from .base import LabelledImages

__all__ = [
    "VAL_256_URL",
    "read_categories",
    "read_private_classes",
    "read_labelled_list",
    "read_image_names",
    "load_images",
    "load_private_subset",
    "download_private_images",
    "load_image",
]

VAL_256_URL = "http://data.csail.mit.edu/places/places365/val_256.tar"
_HOW = ("Download the lists from the MediaEval 2018/2019 Pixel Privacy repositories and the Places365 "
        "project, and fetch the images with "
        "papers_core.data.places365.download_private_images(root, split) (split: the list's name, "
        "e.g. 'MEPP18val' or 'MEPP19test'); see data/README.md.")


def _require(path: Path, what: str) -> Path:
    if not path.exists():
        raise DatasetNotFoundError(f"{what} not found: looked for {path}. {_HOW}")
    return path


def read_categories(root: str | Path) -> list[str]:
    """The 365 Places365 class names, in index order."""
    lines = _require(Path(root) / "categories_places365.txt", "Places365 class list").read_text().split("\n")
    pairs = [ln.split() for ln in lines if ln.strip()]
    names = [None] * len(pairs)
    for name, idx in pairs:
        names[int(idx)] = name
    if len(names) != 365 or None in names:
        raise ValueError(f"{Path(root) / 'categories_places365.txt'} should list 365 classes, found {len(names)}.")
    return names


def read_private_classes(root: str | Path) -> list[int]:
    """The Places365 indices of the 60 MediaEval 2018 private classes (file has a BOM and trailing spaces)."""
    text = _require(Path(root) / "MEPP18senscats.txt", "MediaEval 2018 private-class list").read_text(
        encoding="utf-8-sig")
    return [int(ln.split()[1]) for ln in text.splitlines() if ln.strip()]


def _list_path(root: str | Path, split: str) -> Path:
    """MediaEval lists live in ``MEPP18labels/`` or ``MEPP19labels/``, after their first six letters."""
    return _require(Path(root) / f"{split[:6]}labels" / f"{split}.csv", f"MediaEval list {split}")


def read_image_names(root: str | Path, split: str) -> list[str]:
    """The image names of a MediaEval list, labelled or not (e.g. the 600 of ``MEPP19test``)."""
    with open(_list_path(root, split), newline="") as f:
        return [r[0].strip() for r in csv.reader(f) if r and r[0].strip()]


def read_labelled_list(root: str | Path, split: str = "MEPP18val") -> list[tuple[str, int]]:
    """(image name, class index) pairs of a MediaEval list, e.g. the 3000 images of MEPP18val.csv."""
    path = _list_path(root, split)
    with open(path, newline="") as f:
        rows = [r for r in csv.reader(f) if r]
    if not rows or len(rows[0]) < 2:
        raise ValueError(f"{path} has no labels (is it the unlabelled test list?).")
    return [(name, int(label)) for name, label in rows]


def load_image(path: str | Path, size: int | None = 224) -> torch.Tensor:
    """An RGB image as a float (3, H, W) tensor in [0, 1], bilinearly resized to ``size`` x ``size``
    (as Li et al. do) unless ``size`` is None."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            im = im.convert("RGB")
            if size is not None and im.size != (size, size):
                im = im.resize((size, size), Image.BILINEAR)
            arr = np.asarray(im, dtype=np.uint8).copy()
    except FileNotFoundError as e:
        raise DatasetNotFoundError(f"image not found: {path}.") from e
    except (OSError, SyntaxError, ValueError) as e:  # PIL's errors for truncated or non-image files
        raise DatasetNotFoundError(f"{path} is not a readable image (corrupt or truncated?): {e}. Delete it "
                                   "and fetch it again (download_private_images fetches what is missing).") from e
    return torch.from_numpy(arr).permute(2, 0, 1).float() / 255.0


def load_private_subset(root: str | Path, split: str = "MEPP18val", size: int = 224,
                        limit: int | None = None) -> LabelledImages:
    """Load the labelled private-class images (all 3000, or the first ``limit`` of each class in turn)."""
    root = Path(root)
    items = read_labelled_list(root, split)
    if limit is not None:
        items = items[:limit]
    img_dir = root / "val_256"
    missing = [n for n, _ in items if not (img_dir / n).exists()]
    if missing:
        raise DatasetNotFoundError(
            f"{len(missing)} of {len(items)} images of {split} are missing from {img_dir} "
            f"(first: {missing[0]}). {_HOW}")
    images = torch.stack([load_image(img_dir / n, size) for n, _ in items])
    labels = torch.tensor([c for _, c in items])
    return LabelledImages(images, labels, read_categories(root), read_private_classes(root), [n for n, _ in items])


def load_images(root: str | Path, names: list[str], size: int = 224) -> torch.Tensor:
    """The listed images of ``root/val_256`` as a float (N, 3, size, size) batch in [0, 1]."""
    img_dir = Path(root) / "val_256"
    missing = [n for n in names if not (img_dir / n).exists()]
    if missing:
        raise DatasetNotFoundError(f"{len(missing)} of {len(names)} listed images are missing from {img_dir} "
                                   f"(first: {missing[0]}). {_HOW}")
    return torch.stack([load_image(img_dir / n, size) for n in names])





def download_private_images(root: str | Path, split: str = "MEPP18val", url: str = VAL_256_URL) -> Path:
    """Stream the Places365 ``val_256.tar`` archive and extract only the images ``split`` lists into
    ``root/val_256``. Each image is written atomically; images already present are kept, so an
    interrupted download resumes. Returns the image folder."""
    root = Path(root)
    wanted = set(read_image_names(root, split))
    out = root / "val_256"
    todo = {n for n in wanted if not (out / n).exists()}
    if not todo:
        return out
    try:
        with urllib.request.urlopen(url, timeout=60) as r, tarfile.open(fileobj=r, mode="r|*") as tar:
            for member in tar:
                name = Path(member.name).name
                if member.isfile() and name in todo:
                    with atomic_path(out / name) as tmp:
                        tmp.write_bytes(tar.extractfile(member).read())
                    todo.discard(name)
                    if not todo:
                        break
    except (OSError, tarfile.TarError) as e:
        raise DownloadError(f"could not read {url}: {e}. Download val_256.tar by hand from the Places365 "
                            f"website and run download_private_images(root, url='file:///path/to/val_256.tar').") from e
    if todo:
        raise DatasetNotFoundError(f"{len(todo)} listed images were not in {url} (first: {sorted(todo)[0]}).")
    return out
