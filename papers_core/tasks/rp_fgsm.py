"""The RP-FGSM page's task (Sanchez-Matilla et al.): :func:`rp_fgsm_scenes` (the four classifiers and
the images), :func:`rp_eot_lambda` (EOT's weight by the paper's rule), :func:`rp_fgsm_attacks` (the 14
attacks of Table I and the single-classifier runs) and :func:`rp_fgsm_stage` (them all as jobs)."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from ..attacks.result import AttackResult
from ..jobs import AttackJob
from ..runs import page_seed

__all__ = ["RP_ROLES", "RP_SHORT", "RP_SEEN", "RP_REF", "RPScenes", "rp_fgsm_scenes", "rp_jsma_smallest",
           "rp_fgsm_attacks", "rp_fgsm_job", "rp_eot_lambda", "rp_fgsm_stage"]

#: the paper's four classifiers (roles), their short names, the three it attacks and the one it reports
RP_ROLES = ("ResNet18", "ResNet50", "AlexNet", "DenseNet161")
RP_SHORT = {"ResNet18": "R18", "ResNet50": "R50", "AlexNet": "A", "DenseNet161": "DN"}
RP_SEEN = ("ResNet18", "ResNet50", "AlexNet")
RP_REF = "ResNet50"


@dataclass
class RPScenes:
    """The RP-FGSM page's classifiers (role -> model, frozen on the device), their architectures, the
    test images and labels, the detector's clean fitting images, EOT's tuning images (labels where the
    profile has them), the class names, (quick profile) the stand-ins' training set, and the clean
    images the premise (the unseen classifier is the most accurate) is measured on: quick, a larger
    set than the attacks' (``cfg.premise_per_class`` per private class); paper, the test images."""

    nets: dict
    arch: dict
    class_names: list
    x_test: torch.Tensor
    y_test: torch.Tensor
    x_fit: torch.Tensor
    x_eot: torch.Tensor
    y_eot: torch.Tensor | None
    train: object = None
    x_acc: torch.Tensor | None = None
    y_acc: torch.Tensor | None = None



def rp_fgsm_scenes(cfg, profile: str, cache, seed: int = 0, device="cpu", root=None) -> RPScenes:
    """The RP-FGSM page's data and classifiers. Quick: the four SynthScenes stand-ins
    (:func:`papers_core.zoo.quick_rp_classifiers`), ``cfg.test_per_class`` test images per private
    class, the detector fitted on clean training images, EOT tuned on validation images of the private
    classes. Paper: the MEPP18val images and the four Places365 checkpoints
    (:func:`papers_core.tasks.scenes.load_paper_scenes`), the detector and EOT's rule on the first
    MEPP18test images (unlabelled, disjoint from the test images)."""
    from pathlib import Path

    from ..runs import repo_root
    from ..models import freeze

    if profile == "quick":
        from ..data import synth_scenes
        from ..zoo import QUICK_RP_CLASSIFIERS, quick_rp_classifiers
        from .scenes import fit_images

        nets, train = quick_rp_classifiers(cache, seed=seed)
        test = synth_scenes("test", n_per_class=cfg.test_per_class, classes=train.private_classes, seed=seed)
        x_fit = fit_images(train.images, cfg.detector_fit_images)   # clean training images
        tune = synth_scenes("val", n_per_class=max(cfg.eot_tune_images // len(train.private_classes), 1),
                            classes=train.private_classes, seed=seed)
        scenes = RPScenes(nets, {r: a for r, (a, _) in QUICK_RP_CLASSIFIERS.items()}, train.class_names,
                          test.images, test.labels, x_fit, tune.images[:cfg.eot_tune_images],
                          tune.labels[:cfg.eot_tune_images], train)
        premise = synth_scenes("test", n_per_class=cfg.premise_per_class, classes=train.private_classes, seed=seed)
        scenes.x_acc, scenes.y_acc = premise.images, premise.labels
    else:
        from .scenes import load_paper_scenes

        root = Path(root) if root is not None else repo_root()
        paper = load_paper_scenes(root / cfg.data_root, root / cfg.checkpoints, [r.lower() for r in RP_ROLES],
                                  size=cfg.image_size, fit_images=cfg.detector_fit_images)
        scenes = RPScenes({r: paper.nets[r.lower()] for r in RP_ROLES}, {r: r for r in RP_ROLES},
                          paper.test.class_names, paper.test.images, paper.test.labels, paper.x_fit,
                          paper.x_fit[:cfg.eot_tune_images], None)
    scenes.nets = freeze(scenes.nets, device)
    scenes.x_test, scenes.y_test = scenes.x_test.to(device), scenes.y_test.to(device)
    scenes.x_eot = scenes.x_eot.to(device)
    if scenes.x_acc is None:
        scenes.x_acc, scenes.y_acc = scenes.x_test, scenes.y_test
    scenes.x_acc, scenes.y_acc = scenes.x_acc.to(device), scenes.y_acc.to(device)
    return scenes


def rp_jsma_smallest(model, x: torch.Tensor, gamma: float):
    """JSMA towards the 2nd, 3rd and 4th most likely classes, keeping for each image the successful
    result with the fewest changed features (the paper's "the one that introduces the smallest
    perturbation", over three targets); an image no target reaches stays clean, unsuccessful."""
    from .. import attacks as A

    order = A.predict_proba(model, x).argsort(1, descending=True)
    best, best_l0 = x.clone(), torch.full((len(x),), float("inf"), device=x.device)
    target, steps = order[:, 1].clone(), torch.zeros(len(x), dtype=torch.long, device=x.device)
    for j in (1, 2, 3):
        r = A.jsma(model, x, targets=order[:, j], gamma=gamma)
        l0 = (r.adv != x).any(1).flatten(1).sum(1).float().masked_fill(~r.success, float("inf") / 2)
        take = l0 < best_l0
        best[take], best_l0[take], target[take], steps[take] = r.adv[take], l0[take], order[take, j], r.iterations[take]
    return A.AttackResult.from_model(model, best, target, targeted=True, iterations=steps)


def rp_fgsm_attacks(scenes: RPScenes, cfg, seed: int, eot_lam: float) -> dict:
    """The page's attacks as ``name -> fn(x, index)``: the 14 of Table I (non-FGSM and single-classifier
    ones on ResNet-50's role, ensembles on the three seen classifiers), then U- and P-FGSM on each other
    seen classifier alone and RP-FGSM (T, U) on each seen classifier alone (the paper's ranges)."""
    from .. import attacks as A

    nets = scenes.nets
    ref, triple = nets[RP_REF], [nets[r] for r in RP_SEEN]

    def s(k):
        return page_seed(seed, k)

    fns = {
        "JSMA": lambda x, index: rp_jsma_smallest(ref, x, cfg.jsma_gamma),
        "CW": lambda x, index: A.cw_l2(ref, x, targets=A.predict_proba(ref, x).argsort(1, descending=True)[:, 1],
                                       binary_search_steps=cfg.cw_search_steps, iterations=cfg.cw_iterations),
        "DeepFool": lambda x, index: A.deepfool(ref, x, num_candidates=cfg.deepfool_candidates),
        "SparseFool": lambda x, index: A.sparsefool(ref, x, iterations=cfg.sparsefool_iterations),
        "U-FGSM": lambda x, index: A.fgsm_variant(ref, x, variant="U-FGSM"),
        "R-FGSM": lambda x, index: A.fgsm_variant(ref, x, variant="R-FGSM", seed=s(1), index=index),
        "L-FGSM": lambda x, index: A.fgsm_variant(ref, x, variant="L-FGSM"),
        "P-FGSM": lambda x, index: A.fgsm_variant(ref, x, variant="P-FGSM", seed=s(2), index=index),
        "EOT": lambda x, index: A.eot(ref, x, lam=eot_lam, seed=s(3), index=index),
        "DI-FGSM (T)": lambda x, index: A.di_fgsm(triple, x, targets="auto", seed=s(4), index=index),
        "DI-FGSM (U)": lambda x, index: A.di_fgsm(triple, x, targets=None, seed=s(5), index=index),
        "E-FGSM": lambda x, index: A.e_fgsm(triple, x, seed=s(6), index=index),
        "RP-FGSM (T)": lambda x, index: A.rp_fgsm(triple, x, targets="auto", seed=s(7), index=index),
        "RP-FGSM (U)": lambda x, index: A.rp_fgsm(triple, x, targets=None, seed=s(8), index=index),
    }
    for r in RP_SEEN:
        m = nets[r]
        alone = {"U-FGSM": lambda x, index, m=m: A.fgsm_variant(m, x, variant="U-FGSM"),
                 "P-FGSM": lambda x, index, m=m: A.fgsm_variant(m, x, variant="P-FGSM", seed=s(2), index=index),
                 "RP-FGSM (T)": lambda x, index, m=m: A.rp_fgsm(m, x, targets="auto", seed=s(7), index=index),
                 "RP-FGSM (U)": lambda x, index, m=m: A.rp_fgsm(m, x, targets=None, seed=s(8), index=index)}
        for name, fn in alone.items():
            if r != RP_REF or name.startswith("RP"):
                fns[f"{name} [{RP_SHORT[r]}]"] = fn
    return fns


def _rp_key(scenes: RPScenes, cfg, seed: int) -> dict:
    from ..cache import fingerprint

    if getattr(scenes, "_key", None) is None:
        scenes._key = {"models": fingerprint(*(scenes.nets[r] for r in RP_ROLES)),
                       "seed": int(seed), **{k: v for k, v in asdict(cfg).items()
                                             if k not in ("data_root", "checkpoints", "batch_size")}}
    return scenes._key


def rp_fgsm_job(name: str, fn, x: torch.Tensor, scenes: RPScenes, cfg, seed: int, **extra) -> AttackJob:
    """``fn(x, index)`` on the images ``x`` as a job of ``cfg.batch_size`` images per batch, keyed by the
    attack's name, the classifiers' and the images' fingerprints, the settings and ``extra`` (e.g. the
    EOT weight the rule chose)."""
    from ..cache import fingerprint

    def run(index):
        r = fn(x[index.to(x.device)], index)
        if not isinstance(r, AttackResult):
            raise TypeError(f"the RP-FGSM page's attack {name!r} must return an AttackResult, got {type(r).__name__}.")
        vars(r).pop("plan", None)    # RP-FGSM's per-iteration choices (a list of tuples) are not cached
        return r

    return AttackJob("rp_fgsm", {**_rp_key(scenes, cfg, seed), "method": name, "inputs": fingerprint(x), **extra},
                     len(x), run, cfg.batch_size)


def rp_eot_lambda(scenes: RPScenes, cfg, seed: int, cache):
    """EOT's weight by the paper's rule (:func:`papers_core.tuning.choose_eot_lam`) on the tuning images:
    (the sweep, the rule's lambda, why, the lambda used: the rule's unless ``cfg.eot_lam`` sets one).
    Each weight's EOT run is a cached job, so the sharded stage's rank 0 computes the sweep once."""
    from .. import attacks as A
    from ..jobs import run_job
    from ..tuning import choose_eot_lam, eot_lam_sweep

    ref = scenes.nets[RP_REF]

    def eot_at(lam, x):
        fn = lambda xs, index: A.eot(ref, xs, lam=lam, seed=page_seed(seed, 3), index=index)  # noqa: E731
        return run_job(cache, rp_fgsm_job("EOT (tuning)", fn, x, scenes, cfg, seed, lam=float(lam))).adv

    sweep = eot_lam_sweep(eot_at, ref, scenes.x_eot, cfg.eot_lam_grid, labels=scenes.y_eot)
    rule, why = choose_eot_lam(sweep, cfg.eot_target_rate)
    return sweep, rule, why, rule if cfg.eot_lam is None else float(cfg.eot_lam)


def rp_fgsm_stage(cfg, profile: str, cache, seed: int = 0, device="cpu", scenes: RPScenes | None = None) -> list[AttackJob]:
    """The RP-FGSM page's attacks on the test images as jobs: EOT's weight chosen first (its sweep is
    cached), then the attacks of :func:`rp_fgsm_attacks`."""
    scenes = rp_fgsm_scenes(cfg, profile, cache, seed, device) if scenes is None else scenes
    lam = rp_eot_lambda(scenes, cfg, seed, cache)[3]
    return [rp_fgsm_job(name, fn, scenes.x_test, scenes, cfg, seed, eot_lam_used=lam)
            for name, fn in rp_fgsm_attacks(scenes, cfg, seed, lam).items()]
