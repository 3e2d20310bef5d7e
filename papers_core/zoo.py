"""The quick profile's model zoo: the small classifiers that stand in for the papers' models (on the
embedded data), with their weights cached by the settings that made them.

Their weights are shipped in the repository (``data/models``), keyed by the settings and the training
code (:data:`papers_core.cache.TRAINING_CODE`), so a page loads them instead of retraining them on
every run; ``python -m papers_core.standins`` (``make standins``) retrains every one and rewrites the store,
and a page run with ``use_cache=False`` trains its own.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .train import train_classifier

__all__ = ["quick_scene_classifier", "quick_scene_task", "quick_rp_classifiers", "QUICK_RP_CLASSIFIERS",
           "kanon_classifier", "ClassicLeNet5", "mat_crafting", "MAT_SCENES", "SceneMAT", "quick_mat_scene_classifiers"]


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


def kanon_classifier(name: str, cfg, profile: str = "quick", cache=None, seed: int = 0, device="cpu"):
    """The K-anonymity page's classifier for dataset ``name`` (mnist, cifar10 or yale) and its training
    data, as ``(model, data)``: LeNet-5 on MNIST (quick: the embedded subset; ``cfg.mnist_lenet`` picks
    its form: "1998", :class:`ClassicLeNet5`, or "relu", :class:`papers_core.models.LeNet5`), MobileNetV2 on CIFAR-10
    (quick: SynthScenes 32x32, 10 classes, at width 0.5), LightCNN-9 on the Yale faces (quick:
    SynthFaces at ``cfg.yale_size``), trained for the ``cfg`` epochs with its batch sizes and learning
    rates; the stand-ins' sizes are ``cfg``'s too (:class:`papers_core.profiles.KAnonymity`).
    The quick profile's weights come from the shipped store when they are there."""
    from ._validate import check_choice
    from . import data as D
    from .data import load_mnist_subset, synth_scenes
    from .models import LeNet5, LightCNN9, cifar_mobilenet_v2

    check_choice(name, ("mnist", "cifar10", "yale"), "K-anonymity dataset")
    check_choice(profile, ("quick", "paper"), "profile")
    quick = profile == "quick"
    if name == "mnist":
        data = load_mnist_subset("train") if quick else D.load_mnist(cfg.data_root, "train")
        check_choice(cfg.mnist_lenet, ("1998", "relu"), "mnist_lenet")
        net = ClassicLeNet5(10) if cfg.mnist_lenet == "1998" else LeNet5(10)
        epochs, augment, batch, lr = cfg.mnist_epochs, False, cfg.train_batch, cfg.train_lr
    elif name == "cifar10":
        if quick:
            s = synth_scenes("train", n_per_class=cfg.standin_per_class, num_classes=10,
                             difficulty=cfg.standin_difficulty, seed=seed)
            data = D.LabelledImages(s.images, s.labels, s.class_names)
            net = cifar_mobilenet_v2(s.num_classes, width_mult=cfg.standin_width, cifar_strides=False)
        else:
            data = D.load_cifar10(cfg.data_root, "train")
            net = cifar_mobilenet_v2(10)
        epochs, augment, batch, lr = cfg.cifar_epochs, True, cfg.train_batch, cfg.cifar_lr
    else:
        size = cfg.yale_size
        data = (D.synth_faces(per_identity=cfg.faces_per_identity, size=size, seed=seed) if quick
                else D.load_yale_faces(cfg.data_root, size=size))
        net, epochs, augment = LightCNN9(data.num_classes, input_size=size), cfg.yale_epochs, True
        batch, lr = cfg.face_batch, cfg.train_lr
    key = dict(dataset=name, profile=profile, n=len(data), arch=type(net).__name__, epochs=epochs, seed=seed,
               batch=batch, lr=lr, size=tuple(data.images.shape[1:]))

    def _train():
        return train_classifier(net, data.images.to(device), data.labels.to(device), epochs=epochs, seed=seed,
                                augment=augment, batch_size=batch, lr=lr).state_dict()

    state = cache.get_or_compute(f"kanon_{name}", key, _train, shipped=quick) if cache is not None else _train()
    net.load_state_dict(state)
    return net.eval(), data


def mat_crafting(name: str, data, cfg, cache=None, seed: int = 0, device="cpu", shipped: bool = True):
    """The MAT page's crafting model for dataset ``name`` (:func:`papers_core.models.mat_crafting_model`),
    trained on ``data`` (its training split, :func:`papers_core.tasks.mat_data`) with the page's recipe
    (``cfg``, :class:`papers_core.profiles.MAT`: ``crafting_epochs`` of Adam with a one-cycle schedule
    peaking at ``train_lr``, batches of ``train_batch``, no augmentation). Keyed by the
    architecture, a hash of the exact training set, the epochs and the seed; ``shipped``: looked up in
    (and written by ``make standins`` to) the shipped store, as the quick profile's are."""
    from .models import mat_crafting_model

    net = mat_crafting_model(name, data.num_classes)
    x, y = data.images.to(device), data.labels.to(device)
    epochs = cfg.crafting_epochs
    key = dict(tag=f"{name}_crafting", arch=repr(net), data=_tensor_hash(x, y), epochs=epochs, seed=seed)

    def _train():
        return train_classifier(net, x, y, epochs=epochs, seed=seed, augment=False, batch_size=cfg.train_batch,
                                lr=cfg.train_lr).state_dict()

    state = cache.get_or_compute(f"mat_{name}_crafting", key, _train, shipped=shipped) if cache is not None else _train()
    net.load_state_dict(state)
    return net.to(device).eval()


#: MAT (Song et al.) applied to the quick scene classifier, for the comparison page: the MAT paper's 8-bit
#: strength grid for CIFAR (0, 0.5, ..., 5 grey levels), candidate training strengths every third step
#: of it (as the MAT page's quick profile), FGSM examples crafted on a separate model (the ConvPoolNet
#: stand-in, as the MAT paper crafts on its own model), validation images for the random walk, and the
#: MAT page's walk and penalty choice. The victims are the scene classifier's recipe (SmallCNN, 8 epochs)
#: from another seed (``seed + 1``), so that none shares the attacked classifier's initialisation, and so
#: is their plain twin, trained on the originals only: the control that separates what MAT does from
#: what any independently trained copy of the scene classifier does.
MAT_SCENES = dict(grid=(0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0), candidate_every=3,
                  val_per_class=20, walks=200, walk_steps=4, penalties=(0.0, 0.1, 0.25, 0.5, 1.0, 2.0),
                  voting_epochs=30)


class SceneMAT:
    """The outcome of :func:`quick_mat_scene_classifiers`: ``mixed`` and ``parallel`` MAT classifiers,
    their ``plain`` twin (the same recipe and seed on the originals only), the single-strength victims
    (``single``: strength -> model), the penalty choice of the random walk (``choice``, a
    :class:`papers_core.mat.PenaltyChoice`) and its accuracy matrix ``A`` (validation)."""

    def __init__(self, mixed, parallel, plain, single, choice, A, candidates, grid):
        self.mixed, self.parallel, self.plain, self.single, self.choice = mixed, parallel, plain, single, choice
        self.A, self.candidates, self.grid = A, candidates, grid

    @property
    def strengths(self) -> list[float]:
        return list(self.choice.selection.strengths)


def _tensor_hash(*tensors) -> str:
    import hashlib

    h = hashlib.sha256()
    for t in tensors:
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def quick_mat_scene_classifiers(cache=None, seed: int = 0, n_per_class: int = 200, device="cpu") -> SceneMAT:
    """Mixed and parallel MAT (:mod:`papers_core.mat`) applied to the quick scene classifier
    (:func:`quick_scene_classifier`'s SmallCNN on SynthScenes), as the MAT page applies them to its
    datasets (:data:`MAT_SCENES`): single-strength victims at the candidate strengths, the random walk's
    selection with its penalty chosen on held-out validation images, mixed MAT trained on the originals
    plus the selected strengths, parallel MAT voting over the selected single-strength victims.

    Each victim's weights are cached (shipped in the quick profile), keyed by its settings and a hash of
    its exact training set (so a change to the FGSM examples retrains it). The walk's held-out scores and
    the chosen voting unit are one shipped entry too (``matscene_walk``, about 100 s to compute on 2
    cores), keyed by the victims' weights, the walk's images and ``mat.py``'s source: the page and the
    stand-ins test then only replay the cheap random walks with the stored scores."""
    import torch

    from . import mat as T
    from .cache import code_fingerprint
    from .data import synth_scenes
    from .models import SmallCNN

    cfg = MAT_SCENES
    _, train = quick_scene_classifier(cache, seed=seed, n_per_class=n_per_class)
    crafter = quick_rp_classifiers(cache, seed=seed, n_per_class=n_per_class)[0]["AlexNet"].to(device)
    val = synth_scenes("val", n_per_class=cfg["val_per_class"], seed=seed)
    x, y = train.images.to(device), train.labels.to(device)
    half = len(val.images) // 2
    order = torch.randperm(len(val.images), generator=torch.Generator().manual_seed(seed))
    vx, vy = val.images[order].to(device), val.labels[order].to(device)
    tr = T.FGSMDirections(crafter, x, y, unit=255.0)
    walk, held = (T.FGSMDirections(crafter, a, b, unit=255.0) for a, b in ((vx[:half], vy[:half]), (vx[half:], vy[half:])))
    grid = [float(e) for e in cfg["grid"]]
    candidates = grid[cfg["candidate_every"]::cfg["candidate_every"]]

    twin = seed + 1

    def victim(tag, xs, ys, **key):
        settings = dict(model="SmallCNN", width=32, data="SynthScenes-v1", n_per_class=n_per_class, epochs=8,
                        seed=twin, mat=tag, train_set=_tensor_hash(xs, ys), **key)

        def _train():
            net = SmallCNN(train.num_classes, width=32)
            return train_classifier(net, xs, ys, epochs=8, seed=twin).state_dict()

        net = SmallCNN(train.num_classes, width=32)
        net.load_state_dict(cache.get_or_compute(f"matscene_{tag}", settings, _train, shipped=True)
                            if cache is not None else _train())
        return net.to(device).eval()

    plain = victim("plain", x, y)
    single = {}
    for eps in candidates:
        xs, ys = T.mat_training_set(x, y, [tr.at(eps)])
        single[eps] = victim("single", xs, ys, eps=eps)
    A = np.stack([T.accuracy_under_attack(m, walk, grid) for m in single.values()])

    def parallel(sel):
        pmat = T.ParallelMAT([single[s] for s in sel], train.num_classes).to(device)
        xv = torch.cat([walk.at(s) for s in grid])
        return T.train_voting_unit(pmat, xv, walk.y.repeat(len(grid)), epochs=cfg["voting_epochs"], seed=seed)

    def choose(score):
        return T.choose_penalty(A, candidates, score, penalties=cfg["penalties"], steps=cfg["walk_steps"],
                                walks=cfg["walks"], generator=seed)

    def _walk():   # every selection's held-out score, and the chosen selection's voting unit
        scores = {}

        def score(sel):
            scores[",".join(map(repr, sel))] = float(T.accuracy_under_attack(parallel(sel), held, grid).mean())
            return scores[",".join(map(repr, sel))]

        chosen = choose(score)
        return dict(scores=scores, voter=parallel(list(chosen.selection.strengths)).voter.state_dict())

    key = dict(cfg, seed=seed, mat_code=code_fingerprint(("mat.py",)),
               victims=_tensor_hash(*(t for m in single.values() for t in m.state_dict().values())),
               walk=_tensor_hash(walk.x, walk.sign, walk.y, held.x, held.sign, held.y))
    stored = cache.get_or_compute("matscene_walk", key, _walk, shipped=True) if cache is not None else _walk()
    choice = choose(lambda sel: stored["scores"][",".join(map(repr, sel))])
    sel = list(choice.selection.strengths)
    voting = T.ParallelMAT([single[s] for s in sel], train.num_classes).to(device)
    voting.voter.load_state_dict(stored["voter"])
    xs, ys = T.mat_training_set(x, y, [tr.at(s) for s in sel])
    mixed = victim("mixed", xs, ys, strengths=sel)
    return SceneMAT(mixed, voting.eval(), plain, single, choice, A, candidates, grid)
