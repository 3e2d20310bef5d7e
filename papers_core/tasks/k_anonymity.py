"""The K-anonymity page's task (Mygdalis et al.): :func:`kanon_experiment` (one dataset's classifier and
the correctly classified training samples attacked), :func:`kanon_job` (one method on one set of
samples, keyed as the page keys it) and :func:`kanon_stage` (the six methods of Table 1 on every
dataset of the run)."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from ..jobs import AttackJob
from .common import chosen_datasets

__all__ = ["KANON_LABELS", "KANON_METHODS", "KAnonExperiment", "kanon_datasets", "kanon_classifier", "kanon_experiment", "kanon_settings",
           "kanon_job", "kanon_method", "kanon_stage"]

#: dataset name -> the label the K-anonymity page and its tables use
KANON_LABELS = {"mnist": "MNIST", "cifar10": "CIFAR10", "yale": "Yale"}

#: Table 1's methods, in the paper's order
KANON_METHODS = ("L-BFGS", "DeepFool", "C&W", "Proposed (K = 1)", "Proposed (K = 5)", "Proposed (K = 9)")


@dataclass
class KAnonExperiment:
    """One dataset: the trained classifier and the correctly classified training samples attacked."""

    model: torch.nn.Module
    x: torch.Tensor
    y: torch.Tensor
    train_acc: float
    n_train: int
    classes: int


def kanon_datasets(cfg) -> list[str]:
    """The datasets a run covers (``cfg.datasets``: "all" or names separated by commas)."""
    return chosen_datasets(cfg.datasets, KANON_LABELS, KANON_LABELS, "K-anonymity")


def kanon_classifier(name: str, cfg, profile: str, cache, seed: int = 0, device="cpu"):
    """Dataset ``name``'s classifier and training data, as ``(model, data)``. Quick: the zoo's stand-in
    (:func:`papers_core.zoo.kanon_classifier`). Paper: MNIST's 60,000, CIFAR-10's 50,000 training images
    or the Yale faces at ``cfg.yale_size``, under ``cfg.data_root``, with the paper's architectures
    (:func:`papers_core.zoo.kanon_net`), trained by the page's recipe (:func:`papers_core.zoo.train_kanon`)."""
    from .. import data as D
    from .._validate import check_choice
    from ..zoo import KANON_RECIPE, kanon_classifier as standin, kanon_net, train_kanon

    check_choice(name, KANON_RECIPE, "K-anonymity dataset")
    if profile == "quick":
        return standin(name, cfg, cache, seed=seed, device=device)
    data = {"mnist": lambda: D.load_mnist(cfg.data_root, "train"), "cifar10": lambda: D.load_cifar10(cfg.data_root, "train"),
            "yale": lambda: D.load_yale_faces(cfg.data_root, size=cfg.yale_size)}[name]()
    net = kanon_net(name, cfg, data.num_classes, standin=False)
    return train_kanon(name, net, data, cfg, cache, seed, device, shipped=False), data


def kanon_experiment(name: str, cfg, profile: str, cache, seed: int = 0, device="cpu") -> KAnonExperiment:
    """Dataset ``name``'s classifier (:func:`kanon_classifier`) and the first
    ``cfg.n_attack`` of its correctly classified training samples in a random order drawn from
    ``seed`` (as the paper, the attacks modify training samples that the classifier labels correctly)."""
    from ..attacks import predict_proba
    from ..models import freeze

    net, data = kanon_classifier(name, cfg, profile, cache, seed=seed, device=device)
    net = freeze(net, device)
    pred = predict_proba(net, data.images.to(device)).argmax(1).cpu()
    correct = torch.nonzero(pred == data.labels).squeeze(1)
    order = correct[torch.randperm(len(correct), generator=torch.Generator().manual_seed(seed))]
    pick = order[:cfg.n_attack]
    return KAnonExperiment(model=net, x=data.images[pick].to(device), y=data.labels[pick].to(device),
                           train_acc=100.0 * float((pred == data.labels).float().mean()), n_train=len(data),
                           classes=data.num_classes)


def kanon_settings(cfg, seed: int) -> dict:
    """What an attack's result depends on besides its model and inputs: every setting but where the data
    lives, which datasets run and how Table 1 scores it."""
    return {k: v for k, v in asdict(cfg).items() if k not in ("data_root", "datasets", "ssim")} | {"seed": seed}


def kanon_job(label: str, method: str, model, x: torch.Tensor, y: torch.Tensor, cfg, seed: int, attack) -> AttackJob:
    """``attack(x, y, index)`` on the samples ``x`` (true labels ``y``) as a job of ``cfg.attack_batch``
    samples per batch, keyed by the method, the fingerprint of the model and samples, and the settings."""
    from ..cache import fingerprint

    def run(index):
        i = index.to(x.device)
        return attack(x[i], y[i], index)

    return AttackJob(f"kanon_{label}", dict(method=method, inputs=fingerprint(model, x, y), **kanon_settings(cfg, seed)),
                     len(x), run, cfg.attack_batch)


def kanon_method(method: str, model, cfg, seed: int, label: str, population: int):
    """Table 1's ``method`` as ``attack(x, y, index)``: L-BFGS and C&W towards the runner-up class (the
    same target for both, as the paper assigns them), DeepFool, and the proposed attack for K = 1, 5,
    9 (its groups drawn over the ``population`` samples attacked)."""
    from .. import attacks as A

    def runner_up(x):
        return A.predict_proba(model, x).argsort(1, descending=True)[:, 1]

    if method == "L-BFGS":
        return lambda x, y, index: A.lbfgs_attack(model, x, targets=runner_up(x), search_steps=cfg.lbfgs_search_steps,
                                                  iterations=cfg.lbfgs_iterations)
    if method == "DeepFool":
        return lambda x, y, index: A.deepfool(model, x, y)
    if method == "C&W":
        steps = cfg.cw_iterations_mnist if label == "MNIST" else cfg.cw_iterations
        return lambda x, y, index: A.cw_l2(model, x, targets=runner_up(x), binary_search_steps=cfg.cw_search_steps,
                                           iterations=steps, lr=cfg.cw_lr)
    if method.startswith("Proposed (K = ") and method.endswith(")"):
        K = int(method[len("Proposed (K = "):-1])
        return lambda x, y, index: A.k_anonymity_attack(model, x, y, K=K, search_steps=cfg.lbfgs_search_steps,
                                                        iterations=cfg.lbfgs_iterations, seed=seed, index=index,
                                                        population=population)
    raise ValueError(f"unknown K-anonymity method {method!r}; Table 1's are {', '.join(KANON_METHODS)}.")


def kanon_stage(cfg, profile: str, cache, seed: int = 0, device="cpu",
                experiments: dict[str, KAnonExperiment] | None = None) -> list[AttackJob]:
    """Table 1's six methods on every dataset of the run, as jobs (datasets in order, then methods)."""
    if experiments is None:
        experiments = {KANON_LABELS[n]: kanon_experiment(n, cfg, profile, cache, seed, device) for n in kanon_datasets(cfg)}
    return [kanon_job(label, m, e.model, e.x, e.y, cfg, seed, kanon_method(m, e.model, cfg, seed, label, len(e.x)))
            for label, e in experiments.items() for m in KANON_METHODS]


