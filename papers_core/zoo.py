"""The quick profile's model zoo: the small classifiers that stand in for the papers' models (on the
embedded data), with their weights cached by the settings that made them.

Their weights are shipped in the repository (``data/models``), keyed by the settings and the training
code (:data:`papers_core.cache.TRAINING_CODE`), so a page loads them instead of retraining them on
every run; ``python -m papers_core.standins`` (``make standins``) retrains every one and rewrites the store,
and a page run with ``use_cache=False`` trains its own.
"""
from __future__ import annotations

import numpy as np
from torch import nn

from .train import train_classifier

__all__ = ["quick_scene_classifier", "quick_scene_task", "quick_rp_classifiers", "QUICK_RP_CLASSIFIERS",
           "KANON_RECIPE", "kanon_net", "train_kanon", "kanon_classifier", "mat_crafting", "SceneMAT",
           "quick_mat_scene_classifiers"]


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


def train_kanon(name: str, net: nn.Module, data, cfg, profile: str, cache=None, seed: int = 0, device="cpu"):
    """``net`` trained on ``data`` with the K-anonymity page's recipe for dataset ``name``
    (:data:`KANON_RECIPE`: the ``cfg`` epochs, batch size and learning rate; augmentation for CIFAR-10 and
    the faces), or loaded from ``cache``: keyed by the dataset, ``profile``, the data's size and shape,
    the architecture and the recipe; the quick profile's from the shipped store."""
    epochs_f, augment, batch_f, lr_f = KANON_RECIPE[name]
    epochs, batch, lr = getattr(cfg, epochs_f), getattr(cfg, batch_f), getattr(cfg, lr_f)
    key = dict(dataset=name, profile=profile, n=len(data), arch=type(net).__name__, epochs=epochs, seed=seed,
               batch=batch, lr=lr, size=tuple(data.images.shape[1:]))

    def _train():
        return train_classifier(net, data.images.to(device), data.labels.to(device), epochs=epochs, seed=seed,
                                augment=augment, batch_size=batch, lr=lr).state_dict()

    shipped = profile == "quick"
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
    return train_kanon(name, net, data, cfg, "quick", cache, seed, device), data


def mat_crafting(name: str, data, cfg, cache=None, seed: int = 0, device="cpu", shipped: bool = True):
    """The MAT page's crafting model for dataset ``name`` (:func:`papers_core.models.mat_crafting_model`),
    trained on ``data`` (its training split, :func:`papers_core.tasks.mat_data`) with the page's recipe
    (``cfg``, :class:`papers_core.profiles.MAT`: ``crafting_epochs`` of Adam with a one-cycle schedule
    peaking at ``train_lr``, batches of ``train_batch``, no augmentation). Keyed by the
    architecture, a hash of the exact training set, the epochs and the seed; ``shipped``: looked up in
    (and written by ``make standins`` to) the shipped store, as the quick profile's are."""
    from .cache import fingerprint
    from .models import mat_crafting_model

    net = mat_crafting_model(name, data.num_classes)
    x, y = data.images.to(device), data.labels.to(device)
    epochs = cfg.crafting_epochs
    key = dict(tag=f"{name}_crafting", arch=repr(net), data=fingerprint(x, y), epochs=epochs, seed=seed)

    def _train():
        return train_classifier(net, x, y, epochs=epochs, seed=seed, augment=False, batch_size=cfg.train_batch,
                                lr=cfg.train_lr).state_dict()

    state = cache.get_or_compute(f"mat_{name}_crafting", key, _train, shipped=shipped) if cache is not None else _train()
    net.load_state_dict(state)
    return net.to(device).eval()


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


def quick_mat_scene_classifiers(cfg, cache=None, seed: int = 0, n_per_class: int = 200, device="cpu") -> SceneMAT:
    """Mixed and parallel MAT (:mod:`papers_core.mat`) applied to the quick scene classifier, for the
    comparison page (``cfg``: :class:`papers_core.profiles.Compare`), as the MAT page applies them to its
    datasets in the quick profile (its 8-bit strength grid, candidate strengths, random walk and
    penalties: :class:`papers_core.profiles.MAT`): single-strength victims at the candidate strengths,
    the random walk's selection with its penalty chosen on held-out validation images
    (``cfg.mat_val_per_class`` per class), mixed MAT trained on the originals plus the selected
    strengths, parallel MAT voting over the selected single-strength victims (its unit trained for
    ``cfg.mat_voting_epochs``). FGSM examples are crafted on a separate model (the ConvPoolNet
    stand-in, as the MAT paper crafts on its own). The victims are the scene classifier's recipe
    (SmallCNN, 8 epochs) from another seed (``seed + 1``), so that none shares the attacked
    classifier's initialisation, and so is their plain twin, trained on the originals only: the control
    that separates what MAT does from what any independently trained copy of the scene classifier does.

    Each victim's weights are cached (shipped in the quick profile), keyed by its settings and a
    fingerprint of its exact training set (so a change to the FGSM examples retrains it). The walk's
    held-out scores and the chosen voting unit are one shipped entry too (``matscene_walk``, about
    100 s to compute on 2 cores), keyed by the victims' weights, the walk's images and ``mat.py``'s
    source: the page and the stand-ins test then only replay the cheap random walks with the stored
    scores."""
    import torch

    from . import mat as T
    from .cache import code_fingerprint, fingerprint
    from .data import synth_scenes
    from .models import SmallCNN
    from .profiles import settings

    m = settings("mat", "quick")
    grid = [float(e) for e in np.round(np.arange(0, m.grid_max_8bit + 1e-9, m.grid_step_8bit), 2)]
    candidates = grid[m.candidate_every_8bit::m.candidate_every_8bit]
    walk_settings = dict(grid=tuple(grid), candidate_every=m.candidate_every_8bit, val_per_class=cfg.mat_val_per_class,
                         walks=m.walks, walk_steps=m.walk_steps, penalties=tuple(m.penalties),
                         voting_epochs=cfg.mat_voting_epochs)
    _, train = quick_scene_classifier(cache, seed=seed, n_per_class=n_per_class)
    crafter = quick_rp_classifiers(cache, seed=seed, n_per_class=n_per_class)[0]["AlexNet"].to(device)
    val = synth_scenes("val", n_per_class=cfg.mat_val_per_class, seed=seed)
    x, y = train.images.to(device), train.labels.to(device)
    half = len(val.images) // 2
    order = torch.randperm(len(val.images), generator=torch.Generator().manual_seed(seed))
    vx, vy = val.images[order].to(device), val.labels[order].to(device)
    tr = T.FGSMDirections(crafter, x, y, unit=255.0)
    walk, held = (T.FGSMDirections(crafter, a, b, unit=255.0) for a, b in ((vx[:half], vy[:half]), (vx[half:], vy[half:])))
    twin = seed + 1

    def victim(tag, xs, ys, **key):
        settings = dict(model="SmallCNN", width=32, data="SynthScenes-v1", n_per_class=n_per_class, epochs=8,
                        seed=twin, mat=tag, train_set=fingerprint(xs, ys), **key)

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
        return T.train_voting_unit(pmat, xv, walk.y.repeat(len(grid)), epochs=cfg.mat_voting_epochs, seed=seed)

    def choose(score):
        return T.choose_penalty(A, candidates, score, penalties=m.penalties, steps=m.walk_steps, walks=m.walks,
                                generator=seed)

    def _walk():   # every selection's held-out score, and the chosen selection's voting unit
        scores = {}

        def score(sel):
            scores[",".join(map(repr, sel))] = float(T.accuracy_under_attack(parallel(sel), held, grid).mean())
            return scores[",".join(map(repr, sel))]

        chosen = choose(score)
        return dict(scores=scores, voter=parallel(list(chosen.selection.strengths)).voter.state_dict())

    key = dict(walk_settings, seed=seed, mat_code=code_fingerprint(("mat.py",)),
               victims=fingerprint(*single.values()),
               walk=fingerprint(walk.x, walk.sign, walk.y, held.x, held.sign, held.y))
    stored = cache.get_or_compute("matscene_walk", key, _walk, shipped=True) if cache is not None else _walk()
    choice = choose(lambda sel: stored["scores"][",".join(map(repr, sel))])
    sel = list(choice.selection.strengths)
    voting = T.ParallelMAT([single[s] for s in sel], train.num_classes).to(device)
    voting.voter.load_state_dict(stored["voter"])
    xs, ys = T.mat_training_set(x, y, [tr.at(s) for s in sel])
    mixed = victim("mixed", xs, ys, strengths=sel)
    return SceneMAT(mixed, voting.eval(), plain, single, choice, A, candidates, grid)
