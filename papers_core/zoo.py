"""The quick profile's model zoo: the small classifiers that stand in for the papers' models (on the
embedded data), with their weights cached by the settings that made them.

Their weights are shipped in the repository (``data/models``), keyed by the settings and the training
code (:data:`papers_core.experiment.TRAINING_CODE`), so a page loads them instead of retraining them on
every run; ``python -m papers_core.zoo`` (``make standins``) retrains every one and rewrites the store,
and a page run with ``use_cache=False`` trains its own.
"""
from __future__ import annotations

from .train import train_classifier

__all__ = ["quick_scene_classifier", "quick_scene_task", "quick_rp_classifiers", "QUICK_RP_CLASSIFIERS",
           "kanon_classifier", "build_standins"]


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


def kanon_classifier(name: str, cfg, profile: str = "quick", cache=None, seed: int = 0, device="cpu"):
    """The K-anonymity page's classifier for dataset ``name`` (mnist, cifar10 or yale) and its training
    data, as ``(model, data)``: LeNet-5 on MNIST (quick: the embedded subset), MobileNetV2 on CIFAR-10
    (quick: SynthScenes 32x32, 10 classes, at width 0.5), LightCNN-9 on the Yale faces (quick:
    SynthFaces at ``cfg.yale_size``), trained for the ``cfg`` epochs (:class:`papers_core.profiles.KAnonymity`).
    The quick profile's weights come from the shipped store when they are there."""
    from ._validate import check_choice
    from .data import images as D
    from .data import load_mnist_subset, synth_scenes
    from .models import LeNet5, LightCNN9, cifar_mobilenet_v2

    check_choice(name, ("mnist", "cifar10", "yale"), "K-anonymity dataset")
    quick = profile == "quick"
    if name == "mnist":
        data = load_mnist_subset("train") if quick else D.load_mnist(cfg.data_root, "train")
        net, epochs, augment, batch, lr = LeNet5(10), cfg.mnist_epochs, False, 128, 2e-3
    elif name == "cifar10":
        if quick:
            s = synth_scenes("train", n_per_class=200, num_classes=10, difficulty=0.7, seed=seed)
            data = D.LabelledImages(s.images, s.labels, s.class_names)
            net = cifar_mobilenet_v2(s.num_classes, width_mult=0.5, cifar_strides=False)
        else:
            data = D.load_cifar10(cfg.data_root, "train")
            net = cifar_mobilenet_v2(10)
        epochs, augment, batch, lr = cfg.cifar_epochs, True, 128, 5e-3
    else:
        size = cfg.yale_size
        data = D.synth_faces(per_identity=30, size=size, seed=seed) if quick else D.load_yale_faces(cfg.data_root, size=size)
        net, epochs, augment, batch, lr = LightCNN9(data.num_classes, input_size=size), cfg.yale_epochs, True, 64, 2e-3
    key = dict(dataset=name, profile=profile, n=len(data), arch=type(net).__name__, epochs=epochs, seed=seed,
               batch=batch, lr=lr, size=tuple(data.images.shape[1:]))

    def _train():
        return train_classifier(net, data.images.to(device), data.labels.to(device), epochs=epochs, seed=seed,
                                augment=augment, batch_size=batch, lr=lr).state_dict()

    state = cache.get_or_compute(f"kanon_{name}", key, _train, shipped=quick) if cache is not None else _train()
    net.load_state_dict(state)
    return net.eval(), data


STANDIN_GROUPS = ("scenes", "kanon")


def build_standins(cache, seed: int = 0, groups=STANDIN_GROUPS) -> list[str]:
    """Train (or load) every quick-profile stand-in the pages use, through ``cache``: ``groups`` "scenes"
    (SmallCNN and the RP-FGSM classifiers, on SynthScenes) and "kanon" (the K-anonymity page's three).
    Returns their file names. With a cache whose ``ship`` is on, this writes the shipped store."""
    from ._validate import check_choice
    from .profiles import settings

    for g in groups:
        check_choice(g, STANDIN_GROUPS, "stand-in group")
    if "scenes" in groups:
        quick_rp_classifiers(cache, seed=seed)
    if "kanon" in groups:
        cfg = settings("k_anonymity", "quick")
        for name in ("mnist", "cifar10", "yale"):
            kanon_classifier(name, cfg, "quick", cache, seed=seed)
    return [p.name for p in cache.requested]


def _main(argv=None) -> int:
    import argparse
    import os

    from .experiment import QUICK_THREADS, Cache, repo_root, set_cpu_threads

    ap = argparse.ArgumentParser(prog="python -m papers_core.zoo",
                                 description="Train the quick profile's stand-in classifiers and write them to "
                                             "the repository's store of shipped models (data/models).")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--clean", action="store_true", help="remove the store's entries the pages no longer ask for "
                                                         "(only with every group)")
    ap.add_argument("--only", choices=STANDIN_GROUPS, help="build one group (two runs can share the cores)")
    args = ap.parse_args(argv)
    if args.clean and args.only:
        ap.error("--clean needs every group: it removes what the run did not ask for.")
    set_cpu_threads(os.environ.get("PAPERS_CORE_THREADS") or QUICK_THREADS)   # as the quick pages train
    root = repo_root()
    store = root / "data" / "models"
    cache = Cache(root / "data" / "cache" / "models", shipped=store, ship=True)
    build_standins(cache, seed=args.seed, groups=(args.only,) if args.only else STANDIN_GROUPS)
    if args.clean:
        for p in sorted(set(store.glob("*.pt")) - set(cache.requested)):
            p.unlink()
            print("removed", p.relative_to(root))
    for p in sorted(store.glob("*.pt")):
        print(f"{p.relative_to(root)}  {p.stat().st_size / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
