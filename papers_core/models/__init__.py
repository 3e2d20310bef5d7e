"""Models: the papers' architectures and loaders for published checkpoints.

Every model returned here takes [0, 1] images and owns its normalisation (``Normalized``).

=================  ==========================================================================
module             what it holds
=================  ==========================================================================
``core``           normalisation, ``freeze``, ``SmallCNN``, checkpoint errors, safe loading
``pretrained``     Places365 CNNs and NIMA from their published checkpoints
``papers``         the K-anonymity and MAT papers' architectures, the small stand-ins
=================  ==========================================================================
"""
from __future__ import annotations

import torch.nn as nn

from .._validate import check_choice
from . import core, papers, pretrained
from .core import *  # noqa: F401,F403
from .papers import *  # noqa: F401,F403
from .pretrained import *  # noqa: F401,F403
from .core import SmallCNN
from .papers import MLP, ConvPoolNet, LeNet5, LightCNN9, TinyResNet, cifar_mobilenet_v2, small_densenet

__all__ = [*core.__all__, *pretrained.__all__, *papers.__all__, "MODELS", "build_model"]

MODELS = {"small_cnn": SmallCNN, "lenet5": LeNet5, "lightcnn9": LightCNN9,
          "cifar_mobilenet_v2": cifar_mobilenet_v2, "mlp": MLP, "conv_pool_net": ConvPoolNet,
          "tiny_resnet": TinyResNet, "small_densenet": small_densenet}


def build_model(name: str, **kwargs) -> nn.Module:
    """Build a model by name; an unknown name lists the valid ones."""
    return MODELS[check_choice(name, MODELS, "model")](**kwargs)
