"""Published checkpoints: the Places365 CNNs (the scene papers' classifiers) and NIMA (the colour
variance paper's aesthetics score), loaded safely (``weights_only``) and wrapped to take [0, 1] images."""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn as nn

from .._validate import check_choice
from ..download import download_url
from .core import IMAGENET_MEAN, IMAGENET_STD, CheckpointError, Normalized, load_state_dict_safely

__all__ = ["PLACES365_ARCHS", "PLACES365_URLS", "places365_model", "download_places365_checkpoint",
           "NIMA_BASES", "nima_model"]

PLACES365_ARCHS = ("resnet18", "resnet50", "alexnet", "densenet161")
PLACES365_URLS = {a: f"http://places2.csail.mit.edu/models_places365/{a}_places365.pth.tar"
                  for a in PLACES365_ARCHS}

def _densenet_rename(key: str) -> str:
    # Old torchvision DenseNet checkpoints use 'norm.1', 'conv.1', ...; current names are 'norm1', 'conv1'.
    for old, new in (("norm.1", "norm1"), ("relu.1", "relu1"), ("conv.1", "conv1"),
                     ("norm.2", "norm2"), ("relu.2", "relu2"), ("conv.2", "conv2")):
        key = key.replace(old, new)
    return key


def places365_model(arch: str, checkpoint: str | Path | None = None) -> nn.Module:
    """A torchvision ``arch`` with 365 outputs, loaded from a Places365 checkpoint when given, wrapped to
    take [0, 1] images with ImageNet normalisation (as the Places365 demo code uses)."""
    import torchvision.models as tvm

    check_choice(arch, PLACES365_ARCHS, "Places365 architecture")
    net = getattr(tvm, arch)(weights=None, num_classes=365)
    if checkpoint is not None:
        state = load_state_dict_safely(checkpoint)
        if arch == "densenet161":
            state = {_densenet_rename(k): v for k, v in state.items()}
        try:
            net.load_state_dict(state)
        except RuntimeError as e:
            raise CheckpointError(f"{checkpoint} does not fit torchvision's {arch} with 365 classes: {e}") from e
    return Normalized(net, IMAGENET_MEAN, IMAGENET_STD).eval()


def download_places365_checkpoint(arch: str, root: str | Path, url: str | None = None) -> Path:
    """Download ``{arch}_places365.pth.tar`` into ``root`` (atomic: a failed download leaves nothing)."""
    check_choice(arch, PLACES365_ARCHS, "Places365 architecture")
    dest = Path(root) / f"{arch}_places365.pth.tar"
    if not dest.exists():
        download_url(url or PLACES365_URLS[arch], dest)
    return dest


# ---------------------------------------------------------------------------------------------- NIMA
#: Backbones of NIMA (Talebi and Milanfar 2018) with the width of their pooled features.
NIMA_BASES = {"vgg16": 25088, "mobilenet_v2": 1280, "resnet50": 2048}


def nima_model(checkpoint: str | Path, base: str = "mobilenet_v2", dropout: float = 0.75) -> nn.Module:
    """A NIMA aesthetics model (Talebi and Milanfar 2018) from a user-supplied checkpoint.

    NIMA is an ImageNet backbone whose classifier is replaced by dropout and a 10-way linear layer with
    softmax: the predicted distribution of 1..10 ratings; its mean is the aesthetics score
    (:func:`papers_core.metrics.nima_score`). Sweere et al. report such a score (the MediaEval 2019
    Pixel Privacy task's), but no weights are distributed with the paper or reachable offline, so
    ``checkpoint`` must be a state dict of this module (``base.*`` and ``head.*`` keys, as saved by
    ``torch.save(nima_model(...).state_dict(), path)``) or of the backbone with the head under
    ``classifier.1`` / ``fc`` (the layout of the common PyTorch ports). It is loaded weights-only.
    Returns a model that takes [0, 1] images at 224x224 and returns (N, 10) probabilities.
    """
    import torchvision.models as tvm

    check_choice(base, NIMA_BASES, "NIMA backbone")
    net = _Nima(getattr(tvm, base)(weights=None), base, dropout)
    state = load_state_dict_safely(checkpoint)
    if not any(k.startswith("head.") for k in state):  # a backbone-with-head layout: split it
        head_keys = {"classifier.1.weight": "head.1.weight", "classifier.1.bias": "head.1.bias",
                     "fc.weight": "head.1.weight", "fc.bias": "head.1.bias",
                     "classifier.6.weight": "head.1.weight", "classifier.6.bias": "head.1.bias"}
        state = {head_keys.get(k, "base." + k): v for k, v in state.items()}
    try:
        net.load_state_dict(state, strict=False)
        missing = [k for k in net.state_dict() if k not in state]
        if missing:
            raise RuntimeError(f"missing keys, e.g. {missing[:3]}")
    except RuntimeError as e:
        raise CheckpointError(f"{checkpoint} does not fit a NIMA model on {base}: {e}") from e
    return Normalized(net, IMAGENET_MEAN, IMAGENET_STD).eval()


class _Nima(nn.Module):
    def __init__(self, backbone: nn.Module, base: str, dropout: float):
        super().__init__()
        if base == "resnet50":
            backbone.fc = nn.Identity()
        else:  # vgg16, mobilenet_v2
            backbone.classifier = nn.Identity()
        self.base = backbone
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(NIMA_BASES[base], 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.head(torch.flatten(self.base(x), 1)), dim=1)


