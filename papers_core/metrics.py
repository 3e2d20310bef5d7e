"""Metrics: classification (top-k accuracy), irreversibility and target frequencies (Li et al. 2019),
and image quality (PSNR, SSIM, BRISQUE).

Full-reference quality metrics take two batches of float NCHW images in [0, 1] and return one value
per image. Libraries do the work where one fits: SSIM is ``pytorch_msssim`` (tested against
scikit-image), BRISQUE is the ``brisque`` package with its shipped SVM model.
"""
from __future__ import annotations

import numpy as np
import torch

from ._validate import check_images, check_labels, check_range

__all__ = [
    "topk_accuracy",
    "mse",
    "psnr",
    "ssim",
    "brisque",
    "target_frequencies",
    "irreversibility",
    "mean_std",
]


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


def _pair(x: torch.Tensor, y: torch.Tensor) -> None:
    check_images(x, "reference images")
    check_images(y, "distorted images")
    if x.shape != y.shape:
        raise ValueError(f"image batches differ in shape: {tuple(x.shape)} vs {tuple(y.shape)}.")


def mse(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean squared error per image, for images in [0, 1]."""
    _pair(x, y)
    return ((x.double() - y.double()) ** 2).flatten(1).mean(1)


def psnr(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Peak signal-to-noise ratio per image in dB (peak 1); identical images give +inf."""
    return 10.0 * torch.log10(1.0 / mse(x, y))


def ssim(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """SSIM (Wang et al. 2004) per image: 11x11 Gaussian window with sigma 1.5, K1 0.01, K2 0.03, data
    range 1, averaged over channels; equal to scikit-image's ``structural_similarity(...,
    gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1, channel_axis=0)``."""
    from pytorch_msssim import ssim as _ssim

    _pair(x, y)
    if min(x.shape[-2:]) < 11:
        raise ValueError(f"SSIM needs images of at least 11x11 pixels, got {tuple(x.shape[-2:])}.")
    return _ssim(x.double(), y.double(), data_range=1.0, size_average=False, win_size=11, win_sigma=1.5)


_BRISQUE = None


def _brisque_model():
    """The ``brisque`` package's scorer, with one fix: its feature scaling calls ``float()`` on
    one-element arrays, which NumPy >= 2.4 rejects; we take the element instead. The features, the
    normalisation and the SVM model are the package's own."""
    from brisque import BRISQUE

    class _Brisque(BRISQUE):
        def scale_features(self, features):
            f = np.array([np.asarray(v, dtype=np.float64).reshape(-1)[0] for v in features])
            lo = np.asarray(self.scale_params["min_"], dtype=np.float64).reshape(-1)
            hi = np.asarray(self.scale_params["max_"], dtype=np.float64).reshape(-1)
            return -1.0 + 2.0 / (hi - lo) * (f - lo)

    return _Brisque(url=False)


def brisque(x: torch.Tensor) -> np.ndarray:
    """BRISQUE (Mittal et al. 2012) per image, from the ``brisque`` package and its shipped model.

    Images are rounded to 8 bits first, as a saved image would be. Lower is better. The package scores
    one image at a time (NumPy/SciPy), so this is the slowest metric here.
    """
    global _BRISQUE
    check_images(x)
    if x.shape[1] not in (1, 3):
        raise ValueError(f"BRISQUE takes grey or RGB images, got {x.shape[1]} channels.")
    if _BRISQUE is None:
        _BRISQUE = _brisque_model()
    imgs = torch.round(x.detach().cpu() * 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    if imgs.shape[-1] == 1:
        imgs = np.repeat(imgs, 3, axis=-1)
    return np.array([float(_BRISQUE.score(im)) for im in imgs])


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
