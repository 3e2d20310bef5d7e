"""Models: the papers' architectures and loaders for published checkpoints.

Every model returned here takes [0, 1] images and owns its normalisation (``Normalized``).
"""
from __future__ import annotations

import pickle
from pathlib import Path

import torch
import torch.nn as nn

from ._validate import check_choice
from .data.download import download_url

__all__ = [
    "Normalize",
    "freeze",
    "Normalized",
    "SmallCNN",
    "PLACES365_ARCHS",
    "PLACES365_URLS",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "CheckpointError",
    "load_state_dict_safely",
    "places365_model",
    "download_places365_checkpoint",
    "build_model",
    "MODELS",
    "NIMA_BASES",
    "nima_model",
    "LeNet5",
    "LightCNN9",
    "cifar_mobilenet_v2",
    "CIFAR_MEAN",
    "CIFAR_STD",
    "MLP",
    "ConvPoolNet",
]

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
def _unit_range() -> Normalize:
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
        self.normalize = _unit_range()

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


# ------------------------------------------------------------------------------------------ Places365
PLACES365_ARCHS = ("resnet18", "resnet50", "alexnet", "densenet161")
PLACES365_URLS = {a: f"http://places2.csail.mit.edu/models_places365/{a}_places365.pth.tar"
                  for a in PLACES365_ARCHS}


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


# ------------------------------------------------------------------------ the K-anonymity paper's models
def _check_input(x: torch.Tensor, channels: int, name: str) -> None:
    if x.dim() != 4 or x.shape[1] != channels:
        raise ValueError(f"{name} expects (N, {channels}, H, W) images, got {tuple(x.shape)}.")


class LeNet5(nn.Module):
    """LeNet-5 (LeCun et al. 1998) for 28x28 digits, in its common PyTorch form: conv 5x5 (6, padding
    2) - max-pool - conv 5x5 (16) - max-pool - 120 - 84 - classes, ReLU. Takes [0, 1] images."""

    def __init__(self, num_classes: int = 10, in_channels: int = 1):
        super().__init__()
        self.in_channels = in_channels
        self.normalize = _unit_range()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(inplace=True), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.ReLU(inplace=True),
                                        nn.Linear(120, 84), nn.ReLU(inplace=True), nn.Linear(84, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, self.in_channels, "LeNet5")
        if x.shape[-2:] != (28, 28):
            raise ValueError(f"LeNet5 expects 28x28 images, got {tuple(x.shape[-2:])}; resize them first.")
        return self.classifier(self.features(self.normalize(x)))


class _MFM(nn.Module):
    """Max-feature-map (LightCNN): a convolution (or linear layer) to 2 x out units, then the
    element-wise maximum of the two halves."""

    def __init__(self, cin: int, cout: int, kernel: int = 3, stride: int = 1, padding: int = 1,
                 linear: bool = False):
        super().__init__()
        self.out = cout
        self.filter = nn.Linear(cin, 2 * cout) if linear else nn.Conv2d(cin, 2 * cout, kernel, stride, padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = torch.split(self.filter(x), self.out, dim=1)
        return torch.maximum(a, b)


class LightCNN9(nn.Module):
    """The 9-layer LightCNN of Wu, He, Sun and Tan (2018) for grayscale faces: MFM 5x5 (48) - pool -
    group(96) - pool - group(192) - pool - group(128) - group(128) - pool - MFM fc (256) - dropout -
    classes, where group(c) is MFM 1x1 then MFM 3x3 to c. The paper's input is 128x128 (an 8x8x128
    feature map); ``input_size`` (a multiple of 16) adapts the first fully connected layer."""

    def __init__(self, num_classes: int, input_size: int = 128, dropout: float = 0.5):
        super().__init__()
        if input_size % 16:
            raise ValueError(f"LightCNN9 needs an input size divisible by 16, got {input_size}.")
        self.input_size = input_size

        def group(cin, cout):
            return nn.Sequential(_MFM(cin, cin, 1, 1, 0), _MFM(cin, cout, 3, 1, 1))

        pool = dict(kernel_size=2, stride=2, ceil_mode=True)
        self.features = nn.Sequential(
            _MFM(1, 48, 5, 1, 2), nn.MaxPool2d(**pool), group(48, 96), nn.MaxPool2d(**pool),
            group(96, 192), nn.MaxPool2d(**pool), group(192, 128), group(128, 128), nn.MaxPool2d(**pool))
        side = input_size // 16
        self.fc1 = _MFM(side * side * 128, 256, linear=True)
        self.dropout = nn.Dropout(dropout)
        self.fc2 = nn.Linear(256, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, 1, "LightCNN9")
        if x.shape[-2:] != (self.input_size, self.input_size):
            raise ValueError(f"LightCNN9 was built for {self.input_size}x{self.input_size} images, got "
                             f"{tuple(x.shape[-2:])}; resize them or build it with input_size={x.shape[-1]}.")
        h = torch.flatten(self.features(x), 1)
        return self.fc2(self.dropout(self.fc1(h)))


CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2470, 0.2435, 0.2616)


def cifar_mobilenet_v2(num_classes: int = 10, width_mult: float = 1.0, cifar_strides: bool = True) -> nn.Module:
    """MobileNetV2 (Sandler et al. 2018) for 32x32 inputs, wrapped to take [0, 1] images with CIFAR-10
    normalisation. ``cifar_strides`` puts the stem and the second stage at stride 1 (the usual CIFAR
    adaptation: a 4x4 final map instead of 1x1; 16 times the compute). The quick profile thins it
    (``width_mult`` < 1) and keeps ImageNet strides, so that it trains on a CPU in a minute."""
    import torchvision.models as tvm

    net = tvm.mobilenet_v2(weights=None, num_classes=num_classes, width_mult=width_mult)
    if cifar_strides:
        net.features[0][0].stride = (1, 1)
        net.features[2].conv[1][0].stride = (1, 1)
    return Normalized(net, CIFAR_MEAN, CIFAR_STD)


#: Architectures by name.
# ---------------------------------------------------------------------------- the MAT paper's models
class MLP(nn.Module):
    """A multilayer perceptron on flattened images: ``len(hidden) + 1`` linear layers with ReLU between
    them (MAT's MNIST victim is ``MLP(784, (256, 256))``, a 3-layer MLP). Takes [0, 1] images."""

    def __init__(self, in_features: int = 784, hidden: tuple[int, ...] = (256, 256), num_classes: int = 10):
        super().__init__()
        self.in_features = in_features
        self.normalize = _unit_range()
        sizes = [in_features, *hidden]
        layers: list[nn.Module] = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            layers += [nn.Linear(a, b), nn.ReLU(inplace=True)]
        self.net = nn.Sequential(*layers, nn.Linear(sizes[-1], num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x[0].numel() != self.in_features:
            raise ValueError(f"MLP expects (N, C, H, W) images with C*H*W = {self.in_features}, got "
                             f"{tuple(x.shape)}.")
        return self.net(torch.flatten(self.normalize(x), 1))


class ConvPoolNet(nn.Module):
    """Three 3x3 convolutions, each followed by ReLU (batch norm first if ``batch_norm``) and 2x2 max
    pooling, then ``len(hidden) + 1`` fully connected layers. MAT's CIFAR victim is
    ``ConvPoolNet(3, 10)`` (3 conv, 3 pool, 1 FC), its SVHN victim ``ConvPoolNet(3, 10, hidden=(256,))``
    and its crafting model ``ConvPoolNet(3, 10, hidden=(256,), batch_norm=True)`` (3 conv with batch
    norm and pooling, 2 FC). Takes [0, 1] images whose sides are divisible by 8."""

    def __init__(self, in_channels: int = 3, num_classes: int = 10, widths: tuple[int, int, int] = (32, 64, 128),
                 hidden: tuple[int, ...] = (), batch_norm: bool = False, input_size: int = 32):
        super().__init__()
        if input_size % 8:
            raise ValueError(f"ConvPoolNet needs an input size divisible by 8, got {input_size}.")
        self.in_channels, self.input_size = in_channels, input_size
        self.normalize = _unit_range()
        blocks: list[nn.Module] = []
        cin = in_channels
        for w in widths:
            blocks += [nn.Conv2d(cin, w, 3, padding=1, bias=not batch_norm)]
            blocks += [nn.BatchNorm2d(w)] if batch_norm else []
            blocks += [nn.ReLU(inplace=True), nn.MaxPool2d(2)]
            cin = w
        self.features = nn.Sequential(*blocks)
        sizes = [cin * (input_size // 8) ** 2, *hidden]
        fc: list[nn.Module] = [nn.Flatten()]
        for a, b in zip(sizes[:-1], sizes[1:]):
            fc += [nn.Linear(a, b), nn.ReLU(inplace=True)]
        self.classifier = nn.Sequential(*fc, nn.Linear(sizes[-1], num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, self.in_channels, "ConvPoolNet")
        if x.shape[-2:] != (self.input_size, self.input_size):
            raise ValueError(f"ConvPoolNet was built for {self.input_size}x{self.input_size} images, got "
                             f"{tuple(x.shape[-2:])}.")
        return self.classifier(self.features(self.normalize(x)))


class TinyResNet(nn.Module):
    """A CIFAR-style ResNet for the quick profile: a 3x3 stem at stride 2, then one stage per entry of
    ``blocks`` (torchvision's ``BasicBlock``; widths ``width * 2**i``, stride 2 from the second stage),
    global average pooling and a linear layer. Takes [0, 1] images."""

    def __init__(self, num_classes: int, in_channels: int = 3, width: int = 32, blocks: tuple[int, ...] = (1, 1, 1)):
        super().__init__()
        from torchvision.models.resnet import BasicBlock

        self.in_channels = in_channels
        self.normalize = _unit_range()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, width, 3, stride=2, padding=1, bias=False),
                                  nn.BatchNorm2d(width), nn.ReLU(inplace=True))
        layers: list[nn.Module] = []
        cin = width
        for i, n in enumerate(blocks):
            planes, stride = width * 2 ** i, (1 if i == 0 else 2)
            for _ in range(n):
                down = None
                if stride != 1 or cin != planes:
                    down = nn.Sequential(nn.Conv2d(cin, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))
                layers.append(BasicBlock(cin, planes, stride, down))
                cin, stride = planes, 1
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, self.in_channels, "TinyResNet")
        return self.fc(self.layers(self.stem(self.normalize(x))).mean(dim=(2, 3)))


def small_densenet(num_classes: int, growth_rate: int = 12, block_config=(6, 12, 8),
                   num_init_features: int = 24) -> nn.Module:
    """torchvision's DenseNet-BC at a small size (the quick profile's stand-in for DenseNet-161), taking
    [0, 1] images (normalised with mean 0.5, std 0.25)."""
    import torchvision.models as tvm

    net = tvm.DenseNet(growth_rate=growth_rate, block_config=tuple(block_config),
                       num_init_features=num_init_features, num_classes=num_classes)
    return Normalized(net, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25))


MODELS = {"small_cnn": SmallCNN, "lenet5": LeNet5, "lightcnn9": LightCNN9,
          "cifar_mobilenet_v2": cifar_mobilenet_v2, "mlp": MLP, "conv_pool_net": ConvPoolNet,
          "tiny_resnet": TinyResNet, "small_densenet": small_densenet}


def build_model(name: str, **kwargs) -> nn.Module:
    """Build a model by name; an unknown name lists the valid ones."""
    return MODELS[check_choice(name, MODELS, "model")](**kwargs)
