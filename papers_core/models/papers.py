"""The papers' own architectures, each taking [0, 1] images: the K-anonymity paper's LeNet-5 (today's
form and LeCun et al.'s 1998 one), LightCNN-9 and CIFAR MobileNetV2; the MAT paper's MLP and conv-pool
network; the quick profile's small ResNet and DenseNet stand-ins."""
from __future__ import annotations


import torch
import torch.nn as nn

from .core import Normalized, unit_range, check_input

__all__ = ["LeNet5", "ClassicLeNet5", "LightCNN9", "cifar_mobilenet_v2", "CIFAR_MEAN", "CIFAR_STD", "MLP", "ConvPoolNet",
           "TinyResNet", "small_densenet", "mat_victim", "mat_crafting_model"]

class LeNet5(nn.Module):
    """LeNet-5 (LeCun et al. 1998) for 28x28 digits, in its common PyTorch form: conv 5x5 (6, padding
    2) - max-pool - conv 5x5 (16) - max-pool - 120 - 84 - classes, ReLU. Takes [0, 1] images."""

    def __init__(self, num_classes: int = 10, in_channels: int = 1):
        super().__init__()
        self.in_channels = in_channels
        self.normalize = unit_range()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(inplace=True), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.ReLU(inplace=True),
                                        nn.Linear(120, 84), nn.ReLU(inplace=True), nn.Linear(84, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, self.in_channels, "LeNet5")
        if x.shape[-2:] != (28, 28):
            raise ValueError(f"LeNet5 expects 28x28 images, got {tuple(x.shape[-2:])}; resize them first.")
        return self.classifier(self.features(self.normalize(x)))


class ClassicLeNet5(nn.Module):
    """LeNet-5 as LeCun et al. (1998) built it, in a PyTorch form: conv 5x5 (6, on the 28x28 digit padded
    to 32) - tanh - 2x2 average pooling - conv 5x5 (16) - tanh - average pooling - 120 - tanh - 84 - tanh -
    classes. Takes [0, 1] images (no normalisation). The K-anonymity page's MNIST classifier (its paper
    cites LeCun et al. 1998 for "LeNet5"; this form fits its Table 1's MSEs better than the common ReLU
    and max-pooling one, :mod:`papers_core.readings`)."""

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.Tanh(), nn.AvgPool2d(2),
                                      nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2))
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(400, 120), nn.Tanh(), nn.Linear(120, 84), nn.Tanh(),
                                        nn.Linear(84, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or tuple(x.shape[1:]) != (1, 28, 28):
            raise ValueError(f"ClassicLeNet5 expects (N, 1, 28, 28) images, got {tuple(x.shape)}.")
        return self.classifier(self.features(x))


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
        check_input(x, 1, "LightCNN9")
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
        self.normalize = unit_range()
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
        self.normalize = unit_range()
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
        check_input(x, self.in_channels, "ConvPoolNet")
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
        self.normalize = unit_range()
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
        check_input(x, self.in_channels, "TinyResNet")
        return self.fc(self.layers(self.stem(self.normalize(x))).mean(dim=(2, 3)))


def small_densenet(num_classes: int, growth_rate: int = 12, block_config=(6, 12, 8),
                   num_init_features: int = 24) -> nn.Module:
    """torchvision's DenseNet-BC at a small size (the quick profile's stand-in for DenseNet-161), taking
    [0, 1] images (normalised with mean 0.5, std 0.25)."""
    import torchvision.models as tvm

    net = tvm.DenseNet(growth_rate=growth_rate, block_config=tuple(block_config),
                       num_init_features=num_init_features, num_classes=num_classes)
    return Normalized(net, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25))


def mat_victim(name: str, classes: int, cifar_widths=(16, 32, 64)) -> nn.Module:
    """The MAT page's victim for ``name``: an MLP (784-256-256) for MNIST; for the others a network of
    three convolutions of ``cifar_widths`` (with pooling), with a 256-unit hidden layer for SVHN."""
    if name == "mnist":
        return MLP(784, (256, 256), classes)
    return ConvPoolNet(3, classes, tuple(cifar_widths), hidden=(256,) if name == "svhn" else ())


def mat_crafting_model(name: str, classes: int) -> nn.Module:
    """The MAT page's crafting model: LeNet-5 for MNIST, a 3-convolution (batch norm, pooling), 2-FC
    network for the others."""
    if name == "mnist":
        return LeNet5(classes)
    return ConvPoolNet(3, classes, (32, 64, 128), hidden=(256,), batch_norm=True)
