"""The MAT page's task (Song et al.): each dataset's splits and strength grid (:func:`mat_data`) for
either profile; the method itself is :mod:`papers_core.mat`, the architectures
:func:`papers_core.models.mat_victim` and :func:`papers_core.models.mat_crafting_model`."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .. import data as D
from .._validate import check_choice
from ..mat import FGSMDirections, accuracy_under_attack
from ..profiles import PROFILES
from ..runs import repo_root
from .common import chosen_datasets

__all__ = ["MAT_DATASETS", "MAT_LABELS", "MAT_STANDINS", "mat_datasets", "mat_data", "mat_label", "MATSplits",
           "MATExperiment", "mat_experiment", "mat_train"]

#: dataset name -> the label the MAT page and its tables use
MAT_LABELS = {"mnist": "MNIST", "cifar10": "CIFAR-10", "cifar100": "CIFAR-100", "svhn": "SVHN"}
MAT_DATASETS = tuple(MAT_LABELS)


def mat_datasets(cfg) -> list[str]:
    """The datasets a run covers (``cfg.datasets``: "all", meaning ``cfg.all_datasets``, or names
    separated by commas)."""
    return chosen_datasets(cfg.datasets, MAT_LABELS, cfg.all_datasets, "MAT")


def mat_data(name: str, cfg, profile: str, seed: int = 0, root=None):
    """The MAT page's data for dataset ``name`` (mnist, cifar10, cifar100, svhn): ``(train, val, test,
    unit, grid)``, ``grid`` the test strengths in ``unit`` (1: [0, 1] for MNIST; 255: 8-bit for the
    others). The sizes are ``cfg``'s (:class:`papers_core.profiles.MAT`).

    Quick profile (stand-ins): MNIST is the embedded real-MNIST subset (``cfg.mnist_train_images``
    training and ``cfg.val_images`` validation images from its training split, its 2000 test images);
    CIFAR-10 and CIFAR-100 are SynthScenes at ``cfg.standin_difficulty`` with 10 and 30 classes
    (``cfg.standin_train_images`` training, ``cfg.val_images`` validation and
    ``cfg.standin_test_images`` test images, spread over the classes); SVHN is ColourDigits. Paper
    profile: the datasets under ``root / cfg.data_root`` (``root`` default: the repository),
    ``cfg.val_images`` training images held out for validation. Splits are drawn from ``seed``."""
    check_choice(name, MAT_DATASETS, "MAT dataset")
    check_choice(profile, PROFILES, "profile")
    quick = profile == "quick"
    data_root = (Path(root) if root is not None else repo_root()) / cfg.data_root

    def split(data, n_val, n_train=None):
        order = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))
        n_train = n_train or len(data) - n_val
        return D.subset(data, order[n_val:n_val + n_train]), D.subset(data, order[:n_val])

    if name == "mnist":
        if quick:
            train, val = split(D.load_mnist_subset("train"), cfg.val_images, n_train=cfg.mnist_train_images)
            test = D.load_mnist_subset("test")
        else:
            train, val = split(D.load_mnist(data_root, "train"), cfg.val_images, n_train=cfg.mnist_train_images)
            test = D.load_mnist(data_root, "test")
        return train, val, test, 1.0, np.round(np.arange(0, cfg.grid_max + 1e-9, cfg.grid_step), 3)
    if quick and name == "svhn":
        train, val = split(D.colour_digits("train", cfg.standin_train_images + cfg.val_images, seed=seed), cfg.val_images)
        test = D.colour_digits("test", cfg.digits_test_images, seed=seed)
    elif quick:
        classes = 10 if name == "cifar10" else cfg.standin_classes_100

        def scenes(s, n):
            return D.synth_scenes(s, n_per_class=n, num_classes=classes, family_size=cfg.standin_family,
                                  difficulty=cfg.standin_difficulty, seed=seed)

        train, val = scenes("train", cfg.standin_train_images // classes), scenes("val", cfg.val_images // classes)
        test = scenes("test", -(-cfg.standin_test_images // classes))
    else:
        loader = {"cifar10": D.load_cifar10, "cifar100": D.load_cifar100, "svhn": D.load_svhn}[name]
        train, val = split(loader(data_root, "train"), cfg.val_images)
        test = loader(data_root, "test")
    return train, val, test, 255.0, np.round(np.arange(0, cfg.grid_max_8bit + 1e-9, cfg.grid_step_8bit), 2)


#: the quick profile's stand-in for each of the paper's datasets (MNIST is real: the embedded subset)
MAT_STANDINS = {"CIFAR-10": "SynthScenes-10", "CIFAR-100": "SynthScenes-30", "SVHN": "ColourDigits"}


def mat_label(label: str, profile: str, template: str = "{label}: {standin}") -> str:
    """A dataset's label as the page prints it: with its stand-in's name in the quick profile
    (``template``, default ``"CIFAR-10: SynthScenes-10"``), as it is in the paper profile."""
    if profile == "quick" and label in MAT_STANDINS:
        return template.format(label=label, standin=MAT_STANDINS[label])
    return label


@dataclass
class MATSplits:
    """FGSM examples (at any strength, from one gradient) of the training, validation and test images;
    ``val`` is the first half of the validation split (the walk's matrix, the voting unit), ``choice``
    the second (the walk's penalty)."""
    train: FGSMDirections
    val: FGSMDirections
    choice: FGSMDirections
    test: FGSMDirections


@dataclass
class MATExperiment:
    """One dataset's experiment: its data and strengths (:func:`mat_experiment`), then the models the
    page trains and what it measures on them."""
    name: str
    classes: int
    unit: float                     # 1 for [0, 1] strengths (MNIST), 255 for 8-bit ones (the others)
    grid: np.ndarray                # the test strengths
    candidates: list                # the candidate training strengths of the random walk
    dirs: MATSplits
    craft_acc: float
    sizes: tuple
    original: object = None         # trained on the originals only
    single: dict = field(default_factory=dict)   # strength -> single-strength victim
    A: np.ndarray = None            # the random walk's accuracy matrix (validation)
    choice: object = None           # papers_core.mat.PenaltyChoice: the penalty, its selection, every penalty tried
    best_single: float = None
    mixed: object = None
    parallel: object = None
    mixed_reduced: object = None    # mixed MAT packed into the original size (Fig. 4(d), SVHN)
    fig2_reduced: object = None
    fig2_full: object = None


def mat_experiment(name: str, cfg, profile: str, cache, seed: int = 0, device="cpu", root=None) -> MATExperiment:
    """Dataset ``name``'s data (:func:`mat_data`), its crafting model (:func:`papers_core.zoo.mat_crafting`,
    shipped in the quick profile: it is not the method under test), the FGSM directions of every split
    and the candidate training strengths (every ``cfg.candidate_every``-th point of MNIST's grid, every
    ``cfg.candidate_every_8bit``-th of the 8-bit grid, zero left out)."""
    from ..zoo import mat_crafting

    train, val, test, unit, grid = mat_data(name, cfg, profile, seed, root)
    every = cfg.candidate_every if unit == 1.0 else cfg.candidate_every_8bit
    crafter = mat_crafting(name, train, cfg, cache, seed=seed, device=device, shipped=profile == "quick")
    half = len(val) // 2
    parts = (train, D.subset(val, torch.arange(half)), D.subset(val, torch.arange(half, len(val))), test)
    dirs = MATSplits(*(FGSMDirections(crafter, d.images.to(device), d.labels.to(device), unit=unit) for d in parts))
    return MATExperiment(name=name, classes=train.num_classes, unit=unit, grid=grid,
                         candidates=[float(e) for e in grid[every::every]], dirs=dirs,
                         craft_acc=accuracy_under_attack(crafter, dirs.test, [0.0])[0],
                         sizes=(len(train), len(val), len(test)))


def mat_train(net, x: torch.Tensor, y: torch.Tensor, tag: str, epochs: int, cfg, cache, seed: int = 0,
              device="cpu", **key):
    """``net`` trained on ``(x, y)`` with the page's recipe (``cfg.train_batch``, ``cfg.train_lr``, no
    augmentation), or loaded from ``cache``: keyed by the architecture, the exact training data, the
    settings and the training code alone (:data:`papers_core.cache.TRAINING_CODE`), so that an
    interrupted paper-profile run resumes after edits elsewhere in the library."""
    from ..cache import TRAINING_CODE, fingerprint
    from ..train import train_classifier

    key = dict(tag=tag, arch=repr(net), data=fingerprint(x, y), epochs=epochs, seed=seed,
               batch_size=cfg.train_batch, lr=cfg.train_lr, **key)
    state = cache.get_or_compute(f"mat_{tag}", key, lambda: train_classifier(
        net, x.to(device), y.to(device), epochs=epochs, seed=seed, augment=False, batch_size=cfg.train_batch,
        lr=cfg.train_lr).state_dict(), code=TRAINING_CODE)
    net.load_state_dict(state)
    return net.to(device).eval()
