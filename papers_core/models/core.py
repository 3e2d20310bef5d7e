"""The models' common ground: the normalisation every model owns (it takes [0, 1] images), freezing,
checkpoint errors and safe state-dict loading, and the quick profile's small scene CNN."""
from __future__ import annotations

import pickle
from pathlib import Path

import torch
import torch.nn as nn

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "CheckpointError", "Normalize", "Normalized", "freeze", "SmallCNN",
           "load_state_dict_safely", "check_input"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class CheckpointError(RuntimeError):
    """A checkpoint is missing, corrupt, or needs unsafe (arbitrary-code) unpickling."""


class Normalize(nn.Module):
    """The one normalisation every model here applies to its [0, 1] input: ``(x - mean) / std``, per
    channel (or one value for all channels). Its constants are not saved in state dicts (they are part
    of the architecture, not of the weights)."""

    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32).view(1, -1, 1, 1), persistent=False)

    @property
    def channels(self) -> int:
        return self.mean.shape[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


#: Maps [0, 1] to [-1, 1], the normalisation of the project's own small models.
def unit_range() -> Normalize:
    return Normalize((0.5,), (0.5,))


class Normalized(nn.Module):
    """Wraps ``model`` so that it takes [0, 1] images: ``model(Normalize(mean, std)(x))``."""

    def __init__(self, model: nn.Module, mean, std):
        super().__init__()
        self.normalize = Normalize(mean, std)
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.normalize.channels:
            raise ValueError(f"model expects (N, {self.normalize.channels}, H, W) images, got {tuple(x.shape)}.")
        return self.model(self.normalize(x))


def freeze(model, device=None):
    """Prepare a trained model (or a dict or list of them) for attacking: moved to ``device``, in eval
    mode, its parameters without gradients (the attacks need the input gradient only). Returns it."""
    if isinstance(model, dict):
        return {k: freeze(m, device) for k, m in model.items()}
    if isinstance(model, (list, tuple)):
        return type(model)(freeze(m, device) for m in model)
    if device is not None:
        model = model.to(device)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


class SmallCNN(nn.Module):
    """A small VGG-style CNN for the quick profile: three conv blocks (conv-BN-ReLU-pool), global
    average pooling and a linear classifier. Takes [0, 1] images (normalises them itself)."""

    def __init__(self, num_classes: int, in_channels: int = 3, width: int = 32):
        super().__init__()
        w = width
        self.in_channels = in_channels
        self.normalize = unit_range()

        def block(cin, cout):
            return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
                                 nn.ReLU(inplace=True), nn.MaxPool2d(2))

        self.features = nn.Sequential(block(in_channels, w), block(w, 2 * w), block(2 * w, 4 * w))
        self.classifier = nn.Linear(4 * w, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"SmallCNN expects (N, {self.in_channels}, H, W) images, got {tuple(x.shape)}.")
        h = self.features(self.normalize(x))
        return self.classifier(h.mean(dim=(2, 3)))



def load_state_dict_safely(path: str | Path) -> dict:
    """Load a checkpoint's state dict with ``torch.load(weights_only=True)``: never runs pickled code.

    Accepts a bare state dict or a dict holding one under 'state_dict' (the Places365 format), and
    strips the ``module.`` prefix that ``nn.DataParallel`` gives every key (the Places365 and NIMA files
    have it): the one place where checkpoints are read.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}. Download it first (see data/README.md).")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        raise CheckpointError(
            f"{path} needs arbitrary-code unpickling, which papers_core refuses (weights-only loading). "
            "Re-save it as a plain state dict from a trusted environment: "
            "torch.save(model.state_dict(), path).") from e
    except (RuntimeError, EOFError, ValueError) as e:
        raise CheckpointError(f"{path} is not a readable PyTorch checkpoint (corrupt or truncated?): {e}. "
                              "Delete it and download it again.") from e
    if isinstance(obj, dict) and "state_dict" in obj:
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(f"{path} holds no state dict of tensors.")
    return {(k[len("module."):] if k.startswith("module.") else k): v for k, v in obj.items()}



def check_input(x: torch.Tensor, channels: int, name: str) -> None:
    if x.dim() != 4 or x.shape[1] != channels:
        raise ValueError(f"{name} expects (N, {channels}, H, W) images, got {tuple(x.shape)}.")


