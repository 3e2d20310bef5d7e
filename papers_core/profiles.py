"""Every setting of every paper page, for the two profiles, in one place.

A page reads its settings as ``cfg = settings("p_fgsm", profile, globals())``: the profile's values,
with any field overridden by a papermill parameter of the same name (``papermill ... -p profile paper
-p batch_size 32``). The book's reference page lists every field with both profiles' values
(:func:`table`).

* ``quick``: a 2-core CPU, no network, embedded data and small models (the stand-ins' weights shipped
  in ``data/models``, rebuilt by ``make standins``; MAT's victims trained in the page); a few
  minutes per page. The published book, ``make book`` and CI run it.
* ``paper``: the paper's datasets, models and hyper-parameters, for a machine with a GPU and the data.

A setting that is the same in both profiles is a method hyper-parameter of the paper (step sizes,
thresholds, iteration limits), kept here so that a page never hides a number in its code.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields, replace

from ._validate import check_choice

__all__ = ["PFGSM", "RPFGSM", "ColorVariance", "KAnonymity", "MAT", "Compare", "PAPERS", "settings", "table", "markdown", "PROFILES"]

PROFILES = ("quick", "paper")


@dataclass(frozen=True)
class PFGSM:
    """Li et al., "Scene privacy protection" (P-FGSM)."""

    data_root: str = "data/places365"                            # lists + val_256/ images (paper)
    checkpoint: str = "data/checkpoints/resnet50_places365.pth.tar"  # ResNet-50 Places365 (paper)
    test_per_class: int = 25          # quick: SynthScenes test images per private class (MEPP18: 50)
    batch_size: int = 500             # images per attack call
    step: float = 0.007 * 255         # eps = 0.007 for [0, 1] images (Sec. 3.1), in 8-bit units
    iterations: int = 50              # at most 50 iterations
    threshold: float = 0.99           # stop when p(target) > 0.99 (N-FGSM: 1 - p(y) > 0.99)
    sigma: float = 0.99               # Eq. 10's threshold
    official_step: float = 1.0        # the official code's row (its defaults as a whole): steps of 1/255
    official_eps: float = 8.0         # ... the change bounded to +-8/255 (the paper states no bound)
    official_iterations: int = 100    # ... at most 100 iterations (its stop at p > 0.99 is the paper's)
    explore_n: int = 100              # test images of the epsilon explorer
    image_size: int = 224             # paper: the side the MEPP18 images are resized to (Sec. 3.2); smaller
                                      # only for a trial run (the tests' miniature uses 64)


@dataclass(frozen=True)
class RPFGSM:
    """Sanchez-Matilla et al., "Exploiting vulnerabilities of deep neural networks for privacy
    protection" (RP-FGSM)."""

    data_root: str = "data/places365"         # lists + val_256/ images (paper)
    checkpoints: str = "data/checkpoints"   # {resnet18,resnet50,alexnet,densenet161}_places365.pth.tar
    test_per_class: int = 10          # quick: SynthScenes test images per private class (paper: 50)
    premise_per_class: int = 50       # quick: clean SynthScenes test images per private class the premise (the
                                      # unseen classifier is the most accurate) is measured on; paper: the test images
    batch_size: int = 200             # images per attack call
    step: float = 1.0                 # delta, grey levels (Sec. V-B)
    eps: float = 16.0                 # L-inf budget, grey levels
    gamma: float = 0.99               # Eq. 17's threshold
    detector_fpr: float = 0.05        # Eq. 4: tau at 5 % false positives on clean images
    detector_fit_images: int = 600    # clean images tau is learned on (quick: SynthScenes training images;
                                      # paper: the first of the MEPP18test list, disjoint from the test images)
    cw_search_steps: int = 4          # C&W binary-search steps (authors: 9)
    cw_iterations: int = 100          # C&W Adam steps per search step (authors: 10000)
    ablation_images: int | None = 24  # images of the ablations (Tables V-VII); None: all
    sweep_images: int | None = 24     # images of the epsilon sweep (Fig. 5); None: all
    quality_images: int | None = 30   # images per attack for MAD (the slowest metric); None: all
    runtime_images: int | None = 3    # images timed one at a time for Fig. 6 (paper: 300); None: all
    jsma_gamma: float = 0.1           # JSMA: the largest fraction of features it may change (the paper's 10 %)
    sparsefool_iterations: int = 20   # SparseFool: outer iterations (the authors' 20)
    deepfool_candidates: int = 10     # DeepFool: the most likely classes it searches (the authors' 10)
    eot_lam: float | None = None      # EOT's Lab weight; None: chosen by the paper's rule (papers_core.tuning)
    eot_lam_grid: tuple = (0.0, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5)  # the rule's weights
    eot_target_rate: float = 0.9      # ... the largest weight whose misleading rate reaches this (the paper's ~90 %)
    eot_tune_images: int = 150        # ... on this many clean images, not test images (quick: SynthScenes val; paper: MEPP18test)
    image_size: int = 224             # paper: the side the Places365 images are resized to (the checkpoints'
                                      # input); smaller only for a trial run (the tests' miniature uses 64)


@dataclass(frozen=True)
class ColorVariance:
    """Sweere, Liu and Larson, "Maintaining perceptual faithfulness of adversarial image examples by
    leveraging color variance" (MediaEval 2019)."""

    data_root: str = "data/places365"         # lists + val_256/ images (paper)
    checkpoint: str = "data/checkpoints/resnet50_places365.pth.tar"
    nima_checkpoint: str = ""         # a NIMA state dict, if you have one (none is published with the paper)
    nima_base: str = "mobilenet_v2"
    samples_dir: str = "data/places365/samples"  # real photos to illustrate the map, if present
    test_per_class: int = 25          # quick: SynthScenes test images per private class
    batch_size: int = 500             # images per attack call
    limit: int = 0                    # paper: only the first `limit` listed images (0: all), for a trial run
    alpha: float | None = None        # weight of the L1 term in the L1 runs (not stated in the paper); None: the page's rule
    alpha_grid: tuple = (1.0, 3.0, 10.0, 30.0, 100.0)  # the rule's candidates (Top1-L1 is run at each)
    alpha_top5: float = 0.99          # the rule: smallest alpha keeping the label in the top 5 of this share of the images it protects (paper's Top1-L1: 0.99)
    tune_per_class: int = 10          # quick: SynthScenes validation images per private class for the rule (disjoint from the test images)
    tune_list: str = "MEPP18val"      # paper: the list of the rule's images (disjoint from MEPP19test)
    tune_images: int = 100            # paper: that many of its images, evenly spaced over the list
    threshold: float = 50.0           # the multiplier m: the bound is m * cV / 255 in `units`
    units: str = "normalized"         # v, step and bound in ImageNet-normalised units (CV-PIRE's) or "pixel"
    image_size: int = 256             # paper: MEPP19test images at the task's 256x256, not resized
    sweep_images: int | None = 50     # test images of the budget check; None: all
    window: int = 5                   # colour-variance window (n x n)
    sigma: float = 1.0                # colour-variance Gaussian
    iterations: int = 100             # T
    lr: float = 0.05                  # Adam's learning rate


@dataclass(frozen=True)
class KAnonymity:
    """Mygdalis, Tefas and Pitas, "Introducing K-anonymity principles to adversarial attacks for privacy
    protection in image classification problems"."""

    data_root: str = "data"           # MNIST, cifar-10-batches-py and yalefaces folders (paper)
    datasets: str = "all"             # "all" or a comma-separated subset of mnist, cifar10, yale
    n_attack: int = 30                # correctly classified training samples attacked per dataset
    attack_batch: int | None = None   # samples per batch of an attack (None: all at once; the unit torchrun shards)
    cw_search_steps: int = 9          # C&W binary-search steps (the authors' default)
    cw_iterations: int = 100          # C&W Adam steps per search step (authors: 10000; quick: the CPU budget)
    cw_iterations_mnist: int = 1000   # ... on MNIST (LeNet-5 is cheap; its 0/1 background needs them)
    cw_lr: float = 0.01               # C&W's Adam learning rate (the authors' default)
    lbfgs_search_steps: int = 5       # L-BFGS line-search steps on c (and the proposed attack's)
    lbfgs_iterations: int = 20        # L-BFGS-B iterations per line-search step (and the proposed attack's)
    adam_lr: float = 0.01             # the proposed attack solved with Adam instead (the comparison)
    adam_iterations: int = 300        # ... at most this many Adam steps
    mnist_lenet: str = "1998"         # LeNet-5's form: "1998" (tanh, average pooling) or "relu" (ReLU, max pooling)
    ssim: str = "gauss11"             # Table 1's SSIM on grey images (papers_core.readings.SSIM_READINGS; gauss11: Wang et al.'s, which the paper cites; RGB: MS-SSIM)
    mnist_epochs: int = 15            # LeNet-5
    cifar_epochs: int = 15            # MobileNetV2
    yale_epochs: int = 60             # LightCNN-9
    yale_size: int = 16               # face image size (paper: 128)
    train_batch: int = 128            # training batch of LeNet-5 and MobileNetV2 (Adam, one-cycle)
    face_batch: int = 64              # ... of LightCNN-9
    train_lr: float = 2e-3            # Adam's peak learning rate, LeNet-5 and LightCNN-9
    cifar_lr: float = 5e-3            # ... MobileNetV2
    standin_per_class: int = 200      # quick: SynthScenes training images per class (CIFAR-10's stand-in, 10 classes)
    standin_difficulty: float = 0.7   # quick: ... at this difficulty
    standin_width: float = 0.5        # quick: MobileNetV2's width multiplier on the stand-in
    faces_per_identity: int = 30      # quick: SynthFaces images per identity (the Yale faces' stand-in)
    explore_n: int | None = None      # samples of the K explorer (the first attacked ones; None: all)


@dataclass(frozen=True)
class MAT:
    """Song et al., "A multi-strength adversarial training method to mitigate adversarial attacks"."""

    data_root: str = "data"           # MNIST files, cifar-10-batches-py, cifar-100-python, SVHN .mat (paper)
    datasets: str = "all"             # "all" (the profile's datasets) or a comma-separated subset
    all_datasets: tuple = ("cifar10", "cifar100", "mnist", "svhn")   # what "all" means (quick: stand-ins)
    epochs: int = 7                   # training epochs of every victim
    crafting_epochs: int = 7          # training epochs of the crafting models
    candidate_every: int = 2          # candidate training strengths: every n-th strength of MNIST's grid
    candidate_every_8bit: int = 3     # ... of the 8-bit grid (CIFAR-10, CIFAR-100, SVHN: 0, 0.5, ..., 5)
    cifar_widths: tuple = (16, 32, 64)  # the CIFAR victims' convolution widths
    train_batch: int = 128            # every network's training batch (Adam, one-cycle schedule)
    train_lr: float = 2e-3            # ... and peak learning rate
    val_images: int = 600             # validation images carved from the training set (a seeded draw)
    mnist_train_images: int | None = 1000  # MNIST training images kept after it (None: all the rest)
    standin_train_images: int = 1500  # quick: stand-in training images (SynthScenes: spread over the classes)
    standin_test_images: int = 500    # quick: SynthScenes test images (rounded up to whole classes)
    standin_difficulty: float = 1.5   # quick: SynthScenes' difficulty (CIFAR-10: 10 classes, CIFAR-100: 30)
    digits_test_images: int = 1000    # quick: ColourDigits test images (SVHN's stand-in)
    standin_classes_100: int = 30     # quick: SynthScenes classes standing in for CIFAR-100's 100
    standin_family: int = 5           # quick: ... in families of this many look-alikes
    grid_max: float = 0.3             # MNIST's test strengths: 0 to this, in [0, 1] units (Fig. 1's 0.05-0.15 inside)
    grid_step: float = 0.025          # ... in steps of this (the paper gives none for MNIST)
    grid_max_8bit: float = 5.0        # CIFAR-10, CIFAR-100, SVHN: 0 to this, in 8-bit units (Sec. 5.1)
    grid_step_8bit: float = 0.5       # ... in steps of this (Sec. 5.1)
    voting_epochs: int = 30           # parallel MAT's voting unit: training epochs (the paper gives none)
    walks: int = 200                  # random walk: number of walks t
    walk_steps: int = 4               # random walk: steps per walk l
    penalties: tuple = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0)  # random walk: penalties tried (points per strength);
                                      # the one whose selection does best on held-out validation is used


@dataclass(frozen=True)
class Compare:
    """The comparison page: the five papers' protections against common threats."""

    data_root: str = "data/places365"         # lists + val_256/ images (paper)
    checkpoints: str = "data/checkpoints"     # resnet50 (seen) and densenet161 (unseen) _places365.pth.tar (paper)
    test_per_class: int | None = 5    # test images per private class, the first the seen classifier gets right
                                      # (quick: of 30 SynthScenes images per class; paper, None: every MEPP18val one)
    pool_per_class: int = 30          # quick: the SynthScenes test images per private class they are drawn from
    mat_val_per_class: int = 20       # quick: MAT's twins: validation images per class for the random walk
    batch_size: int = 200             # images per attack call
    fgsm_eps: float = 16.0            # FGSM (the reference): one step of this many grey levels (RP-FGSM's budget)
    pfgsm_step: float = 0.007 * 255   # P-FGSM (Li et al.): step, grey levels
    pfgsm_iterations: int = 50        # ... at most this many iterations
    pfgsm_threshold: float = 0.99     # ... stop when p(target) > this
    sigma: float = 0.99               # ... Eq. 10's threshold
    rp_step: float = 1.0              # RP-FGSM: delta, grey levels
    rp_eps: float = 16.0              # ... L-inf budget, grey levels
    gamma: float = 0.99               # ... Eq. 17's threshold
    cv_alpha: float | None = None     # colour variance: weight of the L1 term (Top1-L1); None: the colour-variance page's rule
    cv_tune_images: int = 60          # ... on this many of the detector's clean fitting images (disjoint from the test images)
    cv_threshold: float = 50.0        # ... the multiplier m, in CV-PIRE's normalised units
    cv_iterations: int = 100          # ... T
    cv_lr: float = 0.05               # ... Adam's learning rate
    kanon_K: int = 5                  # K-anonymity attack: K
    kanon_search_steps: int = 5       # ... line-search steps on c (its page's quick value; paper: 10)
    kanon_iterations: int = 20        # ... L-BFGS-B iterations per step (its page's quick value; paper: 100)
    cw_search_steps: int = 4          # C&W binary-search steps (authors: 9)
    cw_iterations: int = 100          # C&W Adam steps per search step (authors: 10000)
    detector_fpr: float = 0.05        # Eq. 4: tau at 5 % false positives on clean images
    detector_fit_images: int = 600    # clean images tau is learned on (quick: SynthScenes training images;
                                      # paper: the first of the MEPP18test list, disjoint from the test images)
    survive: float = 0.5              # a protection survives a threat when more than this share of the images
                                      # keep the true class out of the threat's top-1


#: paper -> (settings class, the paper profile's values where they differ from the quick profile's)
PAPERS: dict[str, tuple[type, dict]] = {
    "p_fgsm": (PFGSM, dict(batch_size=64)),
    "rp_fgsm": (RPFGSM, dict(test_per_class=50, batch_size=32, detector_fit_images=3000, cw_search_steps=9, cw_iterations=10_000,
                             ablation_images=None, sweep_images=None, quality_images=None,
                             runtime_images=300)),
    "color_variance": (ColorVariance, dict(batch_size=64, sweep_images=None)),
    "k_anonymity": (KAnonymity, dict(n_attack=1000, cw_iterations=10_000, cw_iterations_mnist=10_000, lbfgs_search_steps=10,
                                     lbfgs_iterations=100, adam_iterations=2000, mnist_epochs=10,
                                     cifar_epochs=30, yale_size=128, explore_n=100)),
    "mat": (MAT, dict(epochs=20, crafting_epochs=10, val_images=5000, mnist_train_images=None,
                      candidate_every=1, candidate_every_8bit=1, cifar_widths=(32, 64, 128))),
    "compare": (Compare, dict(test_per_class=None, batch_size=32, detector_fit_images=3000, kanon_search_steps=10,
                              kanon_iterations=100, cw_search_steps=9, cw_iterations=10_000)),
}


def _check_value(name: str, value, default):
    kinds = {int: (int,), float: (int, float), str: (str,), tuple: (tuple, list), bool: (bool,)}
    allowed = kinds.get(type(default)) if default is not None else None
    if allowed is None and default is None:
        allowed = (int, type(None))
    if isinstance(value, bool) and bool not in allowed:
        allowed = ()
    if not isinstance(value, allowed):
        raise TypeError(f"setting {name} must be {' or '.join(a.__name__ for a in allowed) or 'of its type'}, "
                        f"got {value!r}.")
    return tuple(value) if isinstance(value, list) else value


def settings(paper: str, profile: str, overrides: dict | None = None):
    """The settings of ``paper``'s page in ``profile``; entries of ``overrides`` (e.g. a notebook's
    ``globals()``, where papermill puts its parameters) whose names are fields replace the profile's
    values. Other entries are ignored."""
    check_choice(paper, PAPERS, "paper")
    check_choice(profile, PROFILES, "profile")
    cls, paper_values = PAPERS[paper]
    cfg = cls() if profile == "quick" else cls(**paper_values)
    changes = {}
    for f in fields(cls):
        if overrides and f.name in overrides:
            changes[f.name] = _check_value(f.name, overrides[f.name], getattr(cfg, f.name))
    return replace(cfg, **changes)


def table(paper: str):
    """Every setting of ``paper`` with its quick and paper values (a DataFrame, for the reference page
    and the pages' settings sections)."""
    import pandas as pd

    quick, paper_cfg = settings(paper, "quick"), settings(paper, "paper")
    rows = {f.name: {"quick": getattr(quick, f.name), "paper": getattr(paper_cfg, f.name)} for f in fields(quick)}
    out = pd.DataFrame.from_dict(rows, orient="index", dtype=object)   # object: ints stay ints, None stays None
    out.index.name = "setting"
    return out


def as_dict(cfg) -> dict:
    """A settings object as a plain dict (for provenance)."""
    return dataclasses.asdict(cfg)




def markdown() -> str:
    """Every paper's settings as Markdown tables (setting, quick, paper, meaning): the reference page's
    *Profiles* section, which a test keeps equal to this."""
    import inspect

    out = []
    for paper, (cls, _) in PAPERS.items():
        src = inspect.getsource(cls)
        comments = {}
        for line in src.splitlines():
            name = line.strip().split(":", 1)[0]
            if "#" in line and name.isidentifier():
                comments[name] = line.split("#", 1)[1].strip()
        t = table(paper)
        out.append(f"### `{paper}` ({cls.__name__})\n")
        out.append("| setting | quick | paper | meaning |")
        out.append("|---|---|---|---|")
        for name, row in t.iterrows():
            q, pp = (f"`{v!r}`" for v in (row["quick"], row["paper"]))
            out.append(f"| `{name}` | {q} | {pp} | {comments.get(name, '').replace('|', '/')} |")
        out.append("")
    return "\n".join(out)
