"""Classification metrics: top-k accuracy, label ranks, target frequencies and irreversibility
(Li et al. 2019), and the mean and deviation the tables print."""
from __future__ import annotations


import numpy as np
import torch

from .._validate import check_labels, check_range

__all__ = ["topk_accuracy", "label_ranks", "rank_pmf", "target_frequencies", "irreversibility", "mean_std"]


def topk_accuracy(scores: torch.Tensor, labels: torch.Tensor, ks=(1, 5)) -> dict[int, float]:
    """Percentage of samples whose label is among the ``k`` highest scores, for each k in ``ks``."""
    if scores.dim() != 2:
        raise ValueError(f"scores must have shape (N, D), got {tuple(scores.shape)}.")
    labels = check_labels(labels, scores.shape[0], scores.shape[1]).to(scores.device)
    kmax = max(ks)
    if kmax > scores.shape[1]:
        raise ValueError(f"k = {kmax} exceeds the number of classes ({scores.shape[1]}).")
    top = scores.topk(kmax, dim=1).indices
    hit = top == labels[:, None]
    return {k: 100.0 * hit[:, :k].any(1).float().mean().item() for k in ks}


def label_ranks(scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The 1-based position of each label in its row's descending ranking r(1), r(2), ... (1 = top-1).
    A label tied with other classes ranks after them."""
    if scores.dim() != 2:
        raise ValueError(f"scores must have shape (N, D), got {tuple(scores.shape)}.")
    labels = check_labels(labels, scores.shape[0], scores.shape[1]).to(scores.device)
    return (scores >= scores.gather(1, labels[:, None])).sum(1)


def rank_pmf(scores: torch.Tensor, labels: torch.Tensor) -> np.ndarray:
    """Mygdalis et al.'s Eq. 5 and Fig. 1: p(j) = P(r(j) = y), the fraction of samples whose true label
    sits at ranking position j, for j = 1 .. D (entry j - 1). p(1) is the classification rate."""
    ranks = label_ranks(scores, labels)
    return (torch.bincount(ranks.cpu() - 1, minlength=scores.shape[1]).double() / len(ranks)).numpy()


def target_frequencies(targets: torch.Tensor, num_classes: int) -> np.ndarray:
    """Fig. 3 of Li et al.: how often (in %) each class is the target, over all images."""
    check_range(num_classes, "num_classes", lo=1, integer=True)
    targets = check_labels(torch.as_tensor(targets), len(targets), num_classes, "targets")
    return 100.0 * torch.bincount(targets.cpu(), minlength=num_classes).double().numpy() / len(targets)


def irreversibility(true_labels: torch.Tensor, targets: torch.Tensor, num_classes: int,
                    per_class: bool = False):
    """Table 2 of Li et al.: the Euclidean distance between the uniform distribution over the
    ``num_classes`` classes and the distribution of the target class, for each true class, averaged
    over the true classes present. Lower means more irreversible.

    For a true class c with n_c images, the target distribution is the histogram of their targets
    divided by n_c. (With the paper's 50 images per class and 365 classes, targets drawn uniformly
    without repeats give sqrt(1/50 - 1/365) = 0.131; the paper's R-FGSM value is 0.1414.)
    """
    check_range(num_classes, "num_classes", lo=1, integer=True)
    true_labels = check_labels(torch.as_tensor(true_labels), len(true_labels), None, "true labels").cpu()
    targets = check_labels(torch.as_tensor(targets), len(true_labels), num_classes, "targets").cpu()
    classes = torch.unique(true_labels)
    onehot = torch.zeros(len(targets), num_classes, dtype=torch.float64)
    onehot[torch.arange(len(targets)), targets] = 1.0
    index = torch.searchsorted(classes, true_labels)
    hist = torch.zeros(len(classes), num_classes, dtype=torch.float64).index_add_(0, index, onehot)
    dist = hist / hist.sum(1, keepdim=True)
    d = torch.linalg.vector_norm(dist - 1.0 / num_classes, dim=1).numpy()
    return (float(d.mean()), dict(zip(classes.tolist(), d.tolist()))) if per_class else float(d.mean())


def mean_std(values) -> tuple[float, float]:
    """Mean and (population) standard deviation of finite values."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    return float(v.mean()), float(v.std())
