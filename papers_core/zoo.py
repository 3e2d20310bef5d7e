"""The quick profile's model zoo: small classifiers trained on the embedded SynthScenes data, standing
in for the papers' Places365 models, with their weights cached by the settings that made them."""
from __future__ import annotations

from .train import train_classifier

__all__ = ["quick_scene_classifier", "quick_scene_task", "quick_rp_classifiers", "QUICK_RP_CLASSIFIERS"]


def quick_scene_classifier(cache=None, seed: int = 0, n_per_class: int = 200, epochs: int = 8,
                           width: int = 32):
    """The quick profile's scene classifier: ``SmallCNN`` trained on SynthScenes (30 classes, 32x32).

    Returns ``(model, train_set)`` with the model in eval mode on the CPU. With a
    :class:`papers_core.experiment.Cache`, the weights are cached, keyed by every setting above (and the
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
    model.load_state_dict(cache.get_or_compute("smallcnn", settings, _train) if cache is not None else _train())
    return model.eval(), train


#: The quick profile's stand-ins for the RP-FGSM paper's classifiers, by the paper's role: three
#: "seen" architectures and a larger "unseen" one, with their training epochs.
QUICK_RP_CLASSIFIERS = {
    "ResNet18": ("TinyResNet", 10),        # residual, like ResNet-18
    "ResNet50": ("SmallCNN", 8),           # the most accurate seen one, like ResNet-50 (shared with p_fgsm)
    "AlexNet": ("ConvPoolNet", 12),        # convolutions then fully connected layers, like AlexNet
    "DenseNet161": ("DenseNet", 16),       # the largest, densely connected, never attacked
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
        net.load_state_dict(cache.get_or_compute(f"rp_{arch.lower()}", settings, _train) if cache is not None
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
