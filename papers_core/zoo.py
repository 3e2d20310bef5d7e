"""The quick profile's model zoo: the small classifiers that stand in for the papers' models (on the
embedded data), with their weights cached by the settings that made them.

Their weights are shipped in the repository (``data/models``), keyed by the settings and the training
code (:data:`papers_core.cache.TRAINING_CODE`), so a page loads them instead of retraining them on
every run; ``python -m papers_core.standins`` (``make standins``) retrains every one and rewrites the store,
and a page run with ``use_cache=False`` trains its own.
"""
from __future__ import annotations

from torch import nn

from .train import train_classifier

__all__ = ["quick_scene_classifier", "quick_scene_task", "quick_rp_classifiers", "QUICK_RP_CLASSIFIERS",
           "KANON_RECIPE", "kanon_net", "train_kanon", "kanon_classifier"]


def quick_scene_classifier(cache=None, seed: int = 0, n_per_class: int = 200, epochs: int = 8,
                           width: int = 32):
    """The quick profile's scene classifier: ``SmallCNN`` trained on SynthScenes (30 classes, 32x32).

    Returns ``(model, train_set)`` with the model in eval mode on the CPU. With a
    :class:`papers_core.cache.Cache`, the weights are cached, keyed by every setting above (and the
    library's code), so the notebooks that share this classifier train it once per setting.
    """
    from .data import synth_scenes
    from .models import SmallCNN

    train = synth_scenes("train", n_per_class=n_per_class, seed=seed)
    settings = dict(model="SmallCNN", width=width, data="SynthScenes-v1", n_per_class=n_per_class,
                    epochs=epochs, seed=seed)

    def _train():
        net = SmallCNN(train.num_classes, width=width)
        return train_classifier(net, train.images, train.labels, epochs=epochs, seed=seed).state_dict()

    model = SmallCNN(train.num_classes, width=width)
    model.load_state_dict(cache.get_or_compute("smallcnn", settings, _train, shipped=True) if cache is not None else _train())
    return model.eval(), train


#: The quick profile's stand-ins for the RP-FGSM paper's classifiers, by the paper's role: three
#: "seen" architectures and a larger "unseen" one, with their training epochs.
QUICK_RP_CLASSIFIERS = {
    "ResNet18": ("TinyResNet", 10),        # residual, like ResNet-18
    "ResNet50": ("SmallCNN", 8),           # the most accurate seen one, like ResNet-50 (shared with p_fgsm)
    "AlexNet": ("ConvPoolNet", 12),        # convolutions then fully connected layers, like AlexNet
    "DenseNet161": ("DenseNet", 40),       # the largest and most accurate, densely connected, never attacked
}


def quick_rp_classifiers(cache=None, seed: int = 0, n_per_class: int = 200) -> tuple[dict, object]:
    """The RP-FGSM notebook's quick classifiers, trained on SynthScenes (30 classes, 32x32): a dict from
    the paper's names (ResNet18, ResNet50, AlexNet, DenseNet161) to models in eval mode, and the
    training set. Weights are cached like :func:`quick_scene_classifier`'s."""
    from .models import ConvPoolNet, TinyResNet, small_densenet

    small, train = quick_scene_classifier(cache, seed=seed, n_per_class=n_per_class)
    build = {"TinyResNet": lambda: TinyResNet(train.num_classes, width=32),
             "ConvPoolNet": lambda: ConvPoolNet(3, train.num_classes, (16, 32, 64), hidden=(128,), batch_norm=True),
             "DenseNet": lambda: small_densenet(train.num_classes)}
    out = {}
    for role, (arch, epochs) in QUICK_RP_CLASSIFIERS.items():
        if arch == "SmallCNN":
            out[role] = small
            continue
        settings = dict(model=arch, data="SynthScenes-v1", n_per_class=n_per_class, epochs=epochs, seed=seed)

        def _train(arch=arch, epochs=epochs):
            return train_classifier(build[arch](), train.images, train.labels, epochs=epochs, seed=seed).state_dict()

        net = build[arch]()
        net.load_state_dict(cache.get_or_compute(f"rp_{arch.lower()}", settings, _train, shipped=True) if cache is not None
                            else _train())
        out[role] = net.eval()
    return out, train


def quick_scene_task(cache=None, seed: int = 0, test_per_class: int = 50):
    """The quick profile's scene-privacy task (the P-FGSM and colour-variance pages): the cached
    :func:`quick_scene_classifier` and the SynthScenes test images of the private classes, mirroring the
    MediaEval images of the 60 private Places365 classes. Returns ``(model, train_set, test_set)``."""
    from .data import synth_scenes

    model, train = quick_scene_classifier(cache, seed=seed)
    test = synth_scenes("test", n_per_class=test_per_class, classes=train.private_classes, seed=seed)
    return model, train, test


#: The K-anonymity page's training recipe per dataset: (epochs setting, augment, batch setting, lr setting),
#: the names of :class:`papers_core.profiles.KAnonymity` fields
KANON_RECIPE = {"mnist": ("mnist_epochs", False, "train_batch", "train_lr"),
                "cifar10": ("cifar_epochs", True, "train_batch", "cifar_lr"),
                "yale": ("yale_epochs", True, "face_batch", "train_lr")}


def kanon_net(name: str, cfg, num_classes: int, standin: bool) -> nn.Module:
    """The K-anonymity page's architecture for dataset ``name``: LeNet-5 for MNIST (``cfg.mnist_lenet``:
    "1998", :class:`papers_core.models.ClassicLeNet5`, or "relu", :class:`papers_core.models.LeNet5`), MobileNetV2 for
    CIFAR-10 (the ``standin``: at ``cfg.standin_width``, ImageNet strides for SynthScenes), LightCNN-9
    for the faces at ``cfg.yale_size``."""
    from ._validate import check_choice
    from .models import ClassicLeNet5, LeNet5, LightCNN9, cifar_mobilenet_v2

    check_choice(name, KANON_RECIPE, "K-anonymity dataset")
    if name == "mnist":
        check_choice(cfg.mnist_lenet, ("1998", "relu"), "mnist_lenet")
        return ClassicLeNet5(num_classes) if cfg.mnist_lenet == "1998" else LeNet5(num_classes)
    if name == "cifar10":
        return (cifar_mobilenet_v2(num_classes, width_mult=cfg.standin_width, cifar_strides=False) if standin
                else cifar_mobilenet_v2(num_classes))
    return LightCNN9(num_classes, input_size=cfg.yale_size)


def train_kanon(name: str, net: nn.Module, data, cfg, cache=None, seed: int = 0, device="cpu",
                shipped: bool = True):
    """``net`` trained on ``data`` with the K-anonymity page's recipe for dataset ``name``
    (:data:`KANON_RECIPE`: the ``cfg`` epochs, batch size and learning rate; augmentation for CIFAR-10 and
    the faces), or loaded from ``cache``: keyed by the dataset, the data's size and shape, the
    architecture and the recipe; ``shipped``: from the shipped store (the quick profile's stand-ins)."""
    epochs_f, augment, batch_f, lr_f = KANON_RECIPE[name]
    epochs, batch, lr = getattr(cfg, epochs_f), getattr(cfg, batch_f), getattr(cfg, lr_f)
    key = dict(dataset=name, profile="quick" if shipped else "paper", n=len(data), arch=type(net).__name__,
               epochs=epochs, seed=seed, batch=batch, lr=lr, size=tuple(data.images.shape[1:]))

    def _train():
        return train_classifier(net, data.images.to(device), data.labels.to(device), epochs=epochs, seed=seed,
                                augment=augment, batch_size=batch, lr=lr).state_dict()

    state = cache.get_or_compute(f"kanon_{name}", key, _train, shipped=shipped) if cache is not None else _train()
    net.load_state_dict(state)
    return net.eval()


def kanon_classifier(name: str, cfg, cache=None, seed: int = 0, device="cpu"):
    """The quick profile's stand-in for the K-anonymity page's classifier on dataset ``name`` and its
    training data, as ``(model, data)``: LeNet-5 on the embedded MNIST subset, MobileNetV2 on
    SynthScenes (10 classes, ``cfg.standin_per_class`` images each at ``cfg.standin_difficulty``) for
    CIFAR-10, LightCNN-9 on SynthFaces (``cfg.faces_per_identity`` per identity) for the Yale faces
    (:func:`train_kanon`, weights from the shipped store). The paper profile's classifiers are
    :func:`papers_core.tasks.kanon_classifier`'s."""
    from . import data as D

    if name == "mnist":
        data = D.load_mnist_subset("train")
    elif name == "cifar10":
        s = D.synth_scenes("train", n_per_class=cfg.standin_per_class, num_classes=10,
                           difficulty=cfg.standin_difficulty, seed=seed)
        data = D.LabelledImages(s.images, s.labels, s.class_names)
    else:
        data = D.synth_faces(per_identity=cfg.faces_per_identity, size=cfg.yale_size, seed=seed)
    net = kanon_net(name, cfg, data.num_classes, standin=True)
    return train_kanon(name, net, data, cfg, cache, seed, device, shipped=True), data
