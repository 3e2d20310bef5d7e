"""The one dataset container: a :class:`LabelledImages` holds float NCHW images in [0, 1], integer
labels and class names, and, where a dataset has them, its "private" classes (the scene papers' test
classes) and the images' file names. Every loader and generator of :mod:`papers_core.data` returns one."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

__all__ = ["LabelledImages", "subset"]


@dataclass
class LabelledImages:
    """Images (N, C, H, W) float in [0, 1], integer labels (N,) and the class names; ``private_classes``
    (the classes a scene test set is drawn from, as the 60 private classes of the MediaEval 2018 task)
    and ``names`` (the images' file names) where the dataset has them."""

    images: torch.Tensor
    labels: torch.Tensor
    class_names: list[str]
    private_classes: list[int] = field(default_factory=list)
    names: list[str] | None = None

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def __len__(self) -> int:
        return len(self.labels)


def subset(data: LabelledImages, index) -> LabelledImages:
    """The samples at ``index`` (a tensor of indices or a boolean mask)."""
    names = None if data.names is None else [data.names[i] for i in torch.arange(len(data))[index].tolist()]
    return LabelledImages(data.images[index], data.labels[index], data.class_names, list(data.private_classes), names)
