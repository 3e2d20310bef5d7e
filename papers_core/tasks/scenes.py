"""The scene pages' tasks for either profile: what the P-FGSM (:func:`pfgsm_task`), colour-variance
(:func:`color_variance_task`) and comparison (:func:`compare_task`) pages attack. Quick: SynthScenes
and the zoo's stand-ins (:mod:`papers_core.zoo`); paper: the MediaEval 2018/2019 lists and the
Places365 checkpoints (:mod:`papers_core.data.places365`). Models come back frozen on ``device``."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .. import attacks as A
from ..data.base import LabelledImages
from ..models import freeze
from ..runs import repo_root

__all__ = ["SceneTask", "pfgsm_task", "color_variance_task", "CompareTask", "compare_task", "PaperScenes",
           "load_paper_scenes", "fit_images"]


@dataclass
class SceneTask:
    """A scene page's classifier and test images (on the device), with the class names and the private
    classes; the colour-variance page adds the clean images its rule tunes on (``x_tune``, ``y_tune``),
    how many test and tuning images there were before the misclassified ones were dropped
    (``n_listed``, ``n_tune_listed``) and,
    paper profile, how often ResNet-50's top-1 agrees with the hand-labelled images (``manual``)."""

    model: torch.nn.Module
    x_test: torch.Tensor
    y_test: torch.Tensor
    class_names: list
    private_classes: list
    x_tune: torch.Tensor | None = None
    y_tune: torch.Tensor | None = None
    n_listed: int | None = None
    n_tune_listed: int | None = None
    manual: tuple | None = None

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


@dataclass
class PaperScenes:
    """What the scene pages' paper profile attacks: the labelled MEPP18val images, the Places365
    classifiers, and the clean images a detector's threshold is learned on (the unlabelled MEPP18test
    list, disjoint from the test images)."""

    test: LabelledImages
    nets: dict
    x_fit: torch.Tensor


def load_paper_scenes(root: str | Path, checkpoints: str | Path, archs, size: int = 224,
                      fit_images: int = 3000) -> PaperScenes:
    """The MEPP18val images at ``size`` x ``size``, the Places365 checkpoints ``<arch>_places365.pth.tar``
    of ``archs`` under ``checkpoints`` (as :func:`papers_core.models.places365_model` loads them: the 2017
    files' ``module.`` prefixes and DenseNet-161's old key names included), and the first ``fit_images``
    images of MEPP18test: the paper profile of the RP-FGSM and comparison pages."""
    from ..data.places365 import load_images, load_private_subset, read_image_names
    from ..models import places365_model

    if size < 64:
        raise ValueError(f"size must be at least 64 pixels (AlexNet's smallest input), got {size}.")
    if fit_images < 1:
        raise ValueError(f"fit_images must be at least 1, got {fit_images}.")
    root, checkpoints = Path(root), Path(checkpoints)
    test = load_private_subset(root, "MEPP18val", size=size)
    nets = {a: places365_model(a, checkpoints / f"{a}_places365.pth.tar") for a in archs}
    fit_names = read_image_names(root, "MEPP18test")[:fit_images]
    return PaperScenes(test, nets, load_images(root, fit_names, size=size))


def fit_images(x: torch.Tensor, n: int) -> torch.Tensor:
    """``n`` clean images spread evenly over ``x`` (every ``len(x) // n``-th): what a detector's
    threshold is fitted on in the quick profile."""
    return x[:: max(len(x) // n, 1)][:n]


def _root(root):
    return Path(root) if root is not None else repo_root()


def pfgsm_task(cfg, profile: str, cache, seed: int = 0, device="cpu", root=None) -> SceneTask:
    """The P-FGSM page's task. Quick: the zoo's SmallCNN and ``cfg.test_per_class`` SynthScenes test
    images per private class (:func:`papers_core.zoo.quick_scene_task`). Paper: the 3000 labelled
    MEPP18val images at ``cfg.image_size`` and ResNet-50 with the Places365 weights."""
    if profile == "quick":
        from ..zoo import quick_scene_task

        model, train, test = quick_scene_task(cache, seed=seed, test_per_class=cfg.test_per_class)
        names, private, x, y = train.class_names, train.private_classes, test.images, test.labels
    else:
        from ..data.places365 import load_private_subset
        from ..models import places365_model

        root = _root(root)
        data = load_private_subset(root / cfg.data_root, "MEPP18val", size=cfg.image_size)
        names, private, x, y = data.class_names, data.private_classes, data.images, data.labels
        model = places365_model("resnet50", root / cfg.checkpoint)
    return SceneTask(freeze(model, device), x.to(device), y.to(device), names, private)


def color_variance_task(cfg, profile: str, cache, seed: int = 0, device="cpu", root=None) -> SceneTask:
    """The colour-variance page's task: the test images the classifier labels correctly (its top-1 is
    c_0), and the clean images the page's rule tunes on, disjoint from them. Quick: the zoo's SmallCNN,
    ``cfg.test_per_class`` SynthScenes test images and ``cfg.tune_per_class`` validation images per
    private class. Paper: the MEPP19test list (the first ``cfg.limit`` if set) at ``cfg.image_size``,
    labelled by ResNet-50's top-1 (checked against ``MEPP19test_manual`` where it gives a label), and
    ``cfg.tune_images`` images evenly spaced over ``cfg.tune_list``."""
    manual = None
    if profile == "quick":
        from ..data import synth_scenes
        from ..zoo import quick_scene_task

        model, train, test = quick_scene_task(cache, seed=seed, test_per_class=cfg.test_per_class)
        names, private = train.class_names, train.private_classes
        x_all, y_all = test.images, test.labels
        tune = synth_scenes("val", n_per_class=cfg.tune_per_class, classes=private, seed=seed)
        x_tune, y_tune = tune.images, tune.labels
    else:
        from ..data.places365 import load_images, read_categories, read_image_names, read_labelled_list, \
            read_private_classes
        from ..models import places365_model

        data_root = _root(root) / cfg.data_root
        listed = read_image_names(data_root, "MEPP19test")
        listed = listed[:cfg.limit] if cfg.limit else listed
        x_all = load_images(data_root, listed, size=cfg.image_size)
        names, private = read_categories(data_root), read_private_classes(data_root)
        model = places365_model("resnet50", _root(root) / cfg.checkpoint)
        y_all = A.predict_proba(model.to(device), x_all.to(device), batch_size=cfg.batch_size).argmax(1).cpu()
        labelled = dict(read_labelled_list(data_root, "MEPP19test_manual"))
        agree = [int(y_all[i]) == labelled[n] for i, n in enumerate(listed) if n in labelled]
        manual = (sum(agree), len(agree))
        tune_names = read_image_names(data_root, cfg.tune_list)
        spaced = np.unique(np.linspace(0, len(tune_names) - 1, cfg.tune_images).round().astype(int))
        tune_names = [tune_names[i] for i in spaced]
        if set(tune_names) & set(listed):
            raise ValueError(f"{cfg.tune_list} shares images with MEPP19test: the rule must tune on other images.")
        x_tune = load_images(data_root, tune_names, size=cfg.image_size)
        y_tune = A.predict_proba(model.to(device), x_tune.to(device), batch_size=cfg.batch_size).argmax(1).cpu()
    model = freeze(model, device)
    correct = A.predict_proba(model, x_all.to(device)).argmax(1).cpu() == y_all
    kept = A.predict_proba(model, x_tune.to(device)).argmax(1).cpu() == y_tune
    return SceneTask(model, x_all[correct].to(device), y_all[correct].to(device), names, private,
                     x_tune[kept].to(device), y_tune[kept].to(device), n_listed=len(y_all), n_tune_listed=len(y_tune),
                     manual=manual)


@dataclass
class CompareTask:
    """The comparison page's classifiers (name -> frozen model on the device: "seen", "unseen" and, quick
    profile, the MAT-trained twins), their architectures, the pool of private-class test images, the
    clean images the detector is fitted on, the class names and, quick profile, what MAT chose
    (:class:`papers_core.tasks.mat.SceneMAT`)."""

    classifiers: dict
    arch: dict
    x_test: torch.Tensor
    y_test: torch.Tensor
    x_fit: torch.Tensor
    class_names: list
    mat: object = None


def compare_task(cfg, profile: str, cache, seed: int = 0, device="cpu", root=None) -> CompareTask:
    """The comparison page's task. Quick: the RP-FGSM page's stand-ins (SmallCNN seen, the small
    DenseNet unseen), ``cfg.pool_per_class`` SynthScenes test images per private class, the detector
    fitted on ``cfg.detector_fit_images`` clean training images, and the MAT-trained twins of the
    seen classifier (:func:`papers_core.tasks.mat.scene_mat_twins`). Paper: MEPP18val with
    ResNet-50 (seen) and DenseNet-161 (unseen), the detector on the first MEPP18test images."""
    if profile == "quick":
        from ..data import synth_scenes
        from ..zoo import quick_rp_classifiers
        from .mat import scene_mat_twins

        nets, train = quick_rp_classifiers(cache, seed=seed)
        test = synth_scenes("test", n_per_class=cfg.pool_per_class, classes=train.private_classes, seed=seed)
        names, x_test, y_test = train.class_names, test.images, test.labels
        x_fit = fit_images(train.images, cfg.detector_fit_images)
        classifiers = {"seen": nets["ResNet50"], "unseen": nets["DenseNet161"]}
        arch = {"seen": "SmallCNN", "unseen": "DenseNet (small)"}
        mat = scene_mat_twins(cfg, cache, seed=seed, device=device)
        n = len(mat.strengths)
        classifiers.update({"plain twin": mat.plain, "mixed MAT": mat.mixed, "parallel MAT": mat.parallel})
        arch.update({"plain twin": "SmallCNN, seed + 1", "mixed MAT": "SmallCNN, seed + 1, mixed MAT",
                     "parallel MAT": f"{n} SmallCNN{'s' if n > 1 else ''}, seed + 1, parallel MAT"})
    else:
        root = _root(root)
        scenes = load_paper_scenes(root / cfg.data_root, root / cfg.checkpoints, ["resnet50", "densenet161"],
                                   fit_images=cfg.detector_fit_images)
        names, x_test, y_test, x_fit = scenes.test.class_names, scenes.test.images, scenes.test.labels, scenes.x_fit
        classifiers = {"seen": scenes.nets["resnet50"], "unseen": scenes.nets["densenet161"]}
        arch = {"seen": "ResNet-50 (Places365)", "unseen": "DenseNet-161 (Places365)"}
        mat = None
    classifiers = {k: (m.to(device).eval() if k == "parallel MAT" else freeze(m, device)) for k, m in classifiers.items()}
    return CompareTask(classifiers, arch, x_test.to(device), y_test.to(device), x_fit.to(device), names, mat)
