"""The MAT page's task (Song et al.): each dataset's splits and strength grid (:func:`mat_data`) for
either profile, its crafting model (:func:`mat_crafting`) and the training of its victims
(:func:`mat_train`), and the steps of Sec. 4 on one task (:class:`MATExperiment`: single-strength
victims, the random walk with its penalty, mixed and parallel MAT), which the MAT page takes on its
datasets and the comparison page on the quick scene classifier (:func:`scene_mat_twins`). The method
itself is :mod:`papers_core.mat`, the architectures :func:`papers_core.models.mat_victim` and
:func:`papers_core.models.mat_crafting_model`."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .. import data as D
from .._validate import check_choice
from ..mat import (FGSMDirections, ParallelMAT, accuracy_under_attack, choose_penalty, correct_under_attack,
                   mat_training_set, train_voting_unit)
from ..profiles import PROFILES
from ..runs import repo_root
from .common import chosen_datasets

__all__ = ["MAT_DATASETS", "MAT_LABELS", "MAT_STANDINS", "mat_datasets", "strength_grid", "candidate_strengths",
           "mat_data", "mat_label", "MATSplits",
           "MATExperiment", "mat_experiment", "mat_train", "mat_crafting", "mat_page_trainer", "SceneMAT",
           "scene_mat_twins"]

#: dataset name -> the label the MAT page and its tables use
MAT_LABELS = {"mnist": "MNIST", "cifar10": "CIFAR-10", "cifar100": "CIFAR-100", "svhn": "SVHN"}
MAT_DATASETS = tuple(MAT_LABELS)


def mat_datasets(cfg) -> list[str]:
    """The datasets a run covers (``cfg.datasets``: "all", meaning ``cfg.all_datasets``, or names
    separated by commas)."""
    return chosen_datasets(cfg.datasets, MAT_LABELS, cfg.all_datasets, "MAT")


def strength_grid(cfg, unit: float) -> np.ndarray:
    """The test strengths in ``unit``: MNIST's 0 to ``cfg.grid_max`` by ``cfg.grid_step`` (unit 1:
    [0, 1]), the other datasets' 0 to ``cfg.grid_max_8bit`` by ``cfg.grid_step_8bit`` (unit 255)."""
    if unit == 1.0:
        return np.round(np.arange(0, cfg.grid_max + 1e-9, cfg.grid_step), 3)
    return np.round(np.arange(0, cfg.grid_max_8bit + 1e-9, cfg.grid_step_8bit), 2)


def candidate_strengths(grid, every: int) -> list[float]:
    """The random walk's candidate training strengths: every ``every``-th point of ``grid``, zero left out."""
    return [float(e) for e in grid[every::every]]


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
        return train, val, test, 1.0, strength_grid(cfg, 1.0)
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
    return train, val, test, 255.0, strength_grid(cfg, 255.0)


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
    test: FGSMDirections | None = None


@dataclass
class MATExperiment:
    """One task's experiment: its data and strengths (:func:`mat_experiment`), then the models Sec. 4's
    steps train (:meth:`train_victims`, :meth:`parallel_mat`, :meth:`choose`, :meth:`mixed_mat`) and
    what the page measures on them.

    The steps that train a victim take ``train(tag, x, y, **key)``, which trains (or loads) one victim
    on ``(x, y)`` with the caller's recipe (the MAT page's: :func:`mat_page_trainer`); ``tag``
    ("original", "single" or "mixed") and ``key`` (the strengths) name it in the cache."""
    name: str
    classes: int
    unit: float                     # 1 for [0, 1] strengths (MNIST), 255 for 8-bit ones (the others)
    grid: np.ndarray                # the test strengths
    candidates: list                # the candidate training strengths of the random walk
    dirs: MATSplits
    craft_acc: float | None = None
    sizes: tuple | None = None
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

    def train_victims(self, train) -> None:
        """The victim trained on the originals only (``original``) and one per candidate strength
        (``single``), on the originals plus their FGSM examples at that strength (Eq. 3's training set,
        half legitimate, half adversarial); ``A``, the random walk's accuracy matrix, is each
        single-strength victim's accuracy over the grid on the walk's half of the validation split."""
        tr = self.dirs.train
        self.original = train("original", tr.x, tr.y)
        self.single = {eps: train("single", *mat_training_set(tr.x, tr.y, [tr.at(eps)]), eps=eps)
                       for eps in self.candidates}
        self.A = np.stack([accuracy_under_attack(m, self.dirs.val, self.grid) for m in self.single.values()])

    def parallel_mat(self, sel, epochs: int, seed: int = 0, device="cpu") -> ParallelMAT:
        """Parallel MAT from the single-strength victims of ``sel``, its voting unit (Eq. 4: one
        coefficient per copy) learned for ``epochs`` on the walk's half of the validation split at every
        strength of the grid."""
        va = self.dirs.val
        pmat = ParallelMAT([self.single[s] for s in sel], self.classes).to(device)
        xv = torch.cat([va.at(float(s)) for s in self.grid])
        return train_voting_unit(pmat, xv, va.y.repeat(len(self.grid)), epochs=epochs, seed=seed)

    def held_out_correct(self, sel, epochs: int, seed: int = 0, device="cpu") -> np.ndarray:
        """Parallel MAT from ``sel`` (:meth:`parallel_mat`) on the held-out half of the validation split
        (``dirs.choice``): whether each image is classified correctly at each strength of the grid
        (strengths x images), what a selection's score for the penalty's choice is made of."""
        return correct_under_attack(self.parallel_mat(sel, epochs, seed, device), self.dirs.choice, self.grid)

    def choose(self, score, cfg, seed: int = 0):
        """The random walk's selection over :attr:`A`, its penalty chosen among ``cfg.penalties`` by
        ``score(selection)`` (higher is better; ``cfg``: :class:`papers_core.profiles.MAT`'s walk
        settings), as :func:`papers_core.mat.choose_penalty`; kept as :attr:`choice`."""
        self.choice = choose_penalty(self.A, self.candidates, score, penalties=cfg.penalties, steps=cfg.walk_steps,
                                     walks=cfg.walks, generator=seed)
        return self.choice

    def mixed_mat(self, train, sel, reduced: bool = False, seed: int = 0):
        """Mixed MAT: one victim on the originals plus every strength in ``sel`` (Eq. 2), at full size
        or packed into the original size (``reduced``, split by a permutation drawn from ``seed``)."""
        tr = self.dirs.train
        xs, ys = mat_training_set(tr.x, tr.y, [tr.at(s) for s in sel], reduced=reduced, generator=seed)
        return train("mixed", xs, ys, strengths=list(sel), reduced=reduced)


def mat_experiment(name: str, cfg, profile: str, cache, seed: int = 0, device="cpu", root=None) -> MATExperiment:
    """Dataset ``name``'s data (:func:`mat_data`), its crafting model (:func:`mat_crafting`,
    shipped in the quick profile: it is not the method under test), the FGSM directions of every split
    and the candidate training strengths (every ``cfg.candidate_every``-th point of MNIST's grid, every
    ``cfg.candidate_every_8bit``-th of the 8-bit grid, zero left out)."""
    train, val, test, unit, grid = mat_data(name, cfg, profile, seed, root)
    every = cfg.candidate_every if unit == 1.0 else cfg.candidate_every_8bit
    crafter = mat_crafting(name, train, cfg, cache, seed=seed, device=device, shipped=profile == "quick")
    half = len(val) // 2
    parts = (train, D.subset(val, torch.arange(half)), D.subset(val, torch.arange(half, len(val))), test)
    dirs = MATSplits(*(FGSMDirections(crafter, d.images.to(device), d.labels.to(device), unit=unit) for d in parts))
    return MATExperiment(name=name, classes=train.num_classes, unit=unit, grid=grid,
                         candidates=candidate_strengths(grid, every), dirs=dirs,
                         craft_acc=accuracy_under_attack(crafter, dirs.test, [0.0])[0],
                         sizes=(len(train), len(val), len(test)))


def mat_train(net, x: torch.Tensor, y: torch.Tensor, tag: str, epochs: int, cfg, cache, seed: int = 0,
              device="cpu", shipped: bool = False, **key):
    """``net`` trained on ``(x, y)`` with the page's recipe (``epochs`` of Adam with a one-cycle schedule
    peaking at ``cfg.train_lr``, batches of ``cfg.train_batch``, no augmentation), or loaded from
    ``cache`` (entry ``mat_<tag>``): keyed by the architecture, the exact training data, the settings and
    the training code alone (:data:`papers_core.cache.TRAINING_CODE`), so that an interrupted
    paper-profile run resumes after edits elsewhere in the library. ``shipped``: looked up in (and
    written by ``make standins`` to) the shipped store, as the quick profile's stand-ins are."""
    from ..cache import TRAINING_CODE, fingerprint
    from ..train import train_classifier

    key = dict(tag=tag, arch=repr(net), data=fingerprint(x, y), epochs=epochs, seed=seed,
               batch_size=cfg.train_batch, lr=cfg.train_lr, **key)

    def _train():
        return train_classifier(net, x.to(device), y.to(device), epochs=epochs, seed=seed, augment=False,
                                batch_size=cfg.train_batch, lr=cfg.train_lr).state_dict()

    state = (cache.get_or_compute(f"mat_{tag}", key, _train, shipped=shipped,
                                  code=None if shipped else TRAINING_CODE) if cache is not None else _train())
    net.load_state_dict(state)
    return net.to(device).eval()


def mat_crafting(name: str, data, cfg, cache=None, seed: int = 0, device="cpu", shipped: bool = True):
    """The MAT page's crafting model for dataset ``name`` (:func:`papers_core.models.mat_crafting_model`),
    trained on ``data`` (its training split, :func:`mat_data`) for ``cfg.crafting_epochs`` with the
    page's recipe (:func:`mat_train`); ``shipped``: from the shipped store, as in the quick profile."""
    from ..models import mat_crafting_model

    net = mat_crafting_model(name, data.num_classes)
    return mat_train(net, data.images, data.labels, f"{name}_crafting", cfg.crafting_epochs, cfg, cache, seed=seed,
                     device=device, shipped=shipped)


def mat_page_trainer(e: MATExperiment, cfg, cache, seed: int = 0, device="cpu"):
    """The MAT page's ``train`` for experiment ``e``'s steps: a fresh victim of the page's architecture
    (:func:`papers_core.models.mat_victim`, ``cfg.cifar_widths``) trained for ``cfg.epochs`` by
    :func:`mat_train`, in the cache as ``mat_<dataset>_<tag>``."""
    from ..models import mat_victim

    def train(tag, x, y, **key):
        return mat_train(mat_victim(e.name, e.classes, cfg.cifar_widths), x, y, f"{e.name}_{tag}", cfg.epochs, cfg,
                         cache, seed=seed, device=device, **key)

    return train


class SceneMAT:
    """The outcome of :func:`scene_mat_twins`: ``mixed`` and ``parallel`` MAT classifiers, their
    ``plain`` twin (the same recipe and seed on the originals only), the single-strength victims
    (``single``: strength -> model), the penalty choice of the random walk (``choice``, a
    :class:`papers_core.mat.PenaltyChoice`) and its accuracy matrix ``A`` (validation)."""

    def __init__(self, mixed, parallel, plain, single, choice, A, candidates, grid):
        self.mixed, self.parallel, self.plain, self.single, self.choice = mixed, parallel, plain, single, choice
        self.A, self.candidates, self.grid = A, candidates, grid

    @property
    def strengths(self) -> list[float]:
        return list(self.choice.selection.strengths)


def scene_mat_twins(cfg, cache=None, seed: int = 0, n_per_class: int = 200, device="cpu") -> SceneMAT:
    """Mixed and parallel MAT applied to the quick scene classifier, for the comparison page (``cfg``:
    :class:`papers_core.profiles.Compare`), by the MAT page's steps (:class:`MATExperiment`) and
    settings (its 8-bit strength grid, candidate strengths, random walk and penalties:
    :class:`papers_core.profiles.MAT`, quick): single-strength victims at the candidate strengths,
    the random walk's selection with its penalty chosen on held-out validation images
    (``cfg.mat_val_per_class`` per class, halved as the MAT page halves its split), mixed MAT trained
    on the originals plus the selected strengths, parallel MAT voting over the selected single-strength
    victims (its unit trained for the MAT page's ``voting_epochs``). FGSM examples are crafted on a separate
    model (the ConvPoolNet stand-in, as the MAT paper crafts on its own). The victims are the scene
    classifier's recipe (SmallCNN, 8 epochs) from another seed (``seed + 1``), so that none shares the
    attacked classifier's initialisation, and so is their plain twin, trained on the originals only: the
    control that separates what MAT does from what any independently trained copy of the scene
    classifier does.

    Each victim's weights are shipped, keyed by its settings and a fingerprint of its exact training set
    (so a change to the FGSM examples retrains it). The walk's held-out scores and the chosen voting
    unit are one shipped entry too (``matscene_walk``, about 100 s to compute on 2 cores), keyed by the
    victims' weights, the walk's images and ``mat.py``'s source: the page and the stand-ins test then
    only replay the cheap random walks with the stored scores."""
    from ..cache import code_fingerprint, fingerprint
    from ..data import synth_scenes
    from ..models import SmallCNN
    from ..profiles import settings
    from ..train import train_classifier
    from ..zoo import quick_rp_classifiers, quick_scene_classifier

    m = settings("mat", "quick")
    grid = [float(e) for e in strength_grid(m, 255.0)]
    candidates = candidate_strengths(grid, m.candidate_every_8bit)
    walk_settings = dict(grid=tuple(grid), candidate_every=m.candidate_every_8bit, val_per_class=cfg.mat_val_per_class,
                         walks=m.walks, walk_steps=m.walk_steps, penalties=tuple(m.penalties),
                         voting_epochs=m.voting_epochs)
    _, train = quick_scene_classifier(cache, seed=seed, n_per_class=n_per_class)
    crafter = quick_rp_classifiers(cache, seed=seed, n_per_class=n_per_class)[0]["AlexNet"].to(device)
    val = synth_scenes("val", n_per_class=cfg.mat_val_per_class, seed=seed)
    x, y = train.images.to(device), train.labels.to(device)
    half = len(val.images) // 2
    order = torch.randperm(len(val.images), generator=torch.Generator().manual_seed(seed))
    vx, vy = val.images[order].to(device), val.labels[order].to(device)
    walk, held = (FGSMDirections(crafter, a, b, unit=255.0) for a, b in ((vx[:half], vy[:half]), (vx[half:], vy[half:])))
    e = MATExperiment(name="scenes", classes=train.num_classes, unit=255.0, grid=grid, candidates=candidates,
                      dirs=MATSplits(FGSMDirections(crafter, x, y, unit=255.0), walk, held))
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

    e.train_victims(victim)

    def _walk():   # every selection's held-out score, and the chosen selection's voting unit
        scores = {}

        def score(sel):   # mean accuracy (%) over the strengths, as accuracy_under_attack computes it
            ok = e.held_out_correct(sel, m.voting_epochs, seed, device)
            scores[",".join(map(repr, sel))] = float((100.0 * ok.sum(1) / ok.shape[1]).mean())
            return scores[",".join(map(repr, sel))]

        chosen = e.choose(score, m, seed)
        voting = e.parallel_mat(list(chosen.selection.strengths), m.voting_epochs, seed, device)
        return dict(scores=scores, voter=voting.voter.state_dict())

    key = dict(walk_settings, seed=seed, mat_code=code_fingerprint(("mat.py",)),
               victims=fingerprint(*e.single.values()),
               walk=fingerprint(walk.x, walk.sign, walk.y, held.x, held.sign, held.y))
    stored = cache.get_or_compute("matscene_walk", key, _walk, shipped=True) if cache is not None else _walk()
    choice = e.choose(lambda sel: stored["scores"][",".join(map(repr, sel))], m, seed)
    sel = list(choice.selection.strengths)
    voting = ParallelMAT([e.single[s] for s in sel], train.num_classes).to(device)
    voting.voter.load_state_dict(stored["voter"])
    return SceneMAT(e.mixed_mat(victim, sel, seed=seed), voting.eval(), e.original, e.single, choice, e.A, candidates,
                    grid)
