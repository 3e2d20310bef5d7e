"""Metrics: classification (top-k accuracy), irreversibility and target frequencies (Li et al. 2019),
image quality (PSNR, SSIM, BRISQUE, NIMA for a user-supplied model) and colour difference (CIELAB,
CIEDE2000).

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
    "rgb_to_lab",
    "ciede2000",
    "nima_score",
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


# ------------------------------------------------------------------------------------ colour science
#: sRGB (linear) to CIE XYZ, and the D65 white point for the 2-degree observer, as scikit-image's rgb2lab.
_RGB_TO_XYZ = ((0.412453, 0.357580, 0.180423),
               (0.212671, 0.715160, 0.072169),
               (0.019334, 0.119193, 0.950227))
_D65 = (0.95047, 1.0, 1.08883)


def rgb_to_lab(x: torch.Tensor) -> torch.Tensor:
    """CIELAB (D65, 2-degree observer) of sRGB images: float (N, 3, H, W) in [0, 1] to (N, 3, H, W)
    holding L* in [0, 100], a* and b*. Equal to ``skimage.color.rgb2lab`` (tested), batched, on the
    inputs' device and dtype, and differentiable."""
    check_images(x)
    if x.shape[1] != 3:
        raise ValueError(f"rgb_to_lab needs RGB images (3 channels), got {x.shape[1]}.")
    lin = torch.where(x > 0.04045, ((x + 0.055) / 1.055) ** 2.4, x / 12.92)
    m = torch.tensor(_RGB_TO_XYZ, dtype=x.dtype, device=x.device)
    white = torch.tensor(_D65, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    xyz = torch.einsum("ij,njhw->nihw", m, lin) / white
    f = torch.where(xyz > 0.008856, xyz.clamp(min=0.008856) ** (1.0 / 3.0), 7.787 * xyz + 16.0 / 116.0)
    fx, fy, fz = f[:, 0], f[:, 1], f[:, 2]
    return torch.stack([116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)], dim=1)


def ciede2000(lab1: torch.Tensor, lab2: torch.Tensor, kL: float = 1.0, kC: float = 1.0,
              kH: float = 1.0, dim: int = 1) -> torch.Tensor:
    """CIEDE2000 colour difference (Luo, Cui and Rigg 2001) between CIELAB tensors whose ``dim`` axis
    holds (L*, a*, b*); the result drops that axis. Written as in Sharma, Wu and Dalal (2005), element-
    wise and batched; tested against their 34 reference pairs and ``skimage.color.deltaE_ciede2000``."""
    if lab1.shape != lab2.shape or lab1.shape[dim] != 3:
        raise ValueError(f"ciede2000 needs two tensors of equal shape with 3 (L*, a*, b*) entries along "
                         f"dim {dim}, got {tuple(lab1.shape)} and {tuple(lab2.shape)}.")
    L1, a1, b1 = lab1.unbind(dim)
    L2, a2, b2 = lab2.unbind(dim)
    c7 = ((torch.sqrt(a1 ** 2 + b1 ** 2) + torch.sqrt(a2 ** 2 + b2 ** 2)) / 2) ** 7
    G = 0.5 * (1 - torch.sqrt(c7 / (c7 + 25.0 ** 7)))
    a1p, a2p = (1 + G) * a1, (1 + G) * a2
    C1p, C2p = torch.sqrt(a1p ** 2 + b1 ** 2), torch.sqrt(a2p ** 2 + b2 ** 2)
    h1p = torch.rad2deg(torch.atan2(b1, a1p)) % 360.0  # atan2(0, 0) = 0, as the formula wants
    h2p = torch.rad2deg(torch.atan2(b2, a2p)) % 360.0
    cprod = C1p * C2p
    zero = cprod == 0
    dh = h2p - h1p
    dh = torch.where(dh > 180, dh - 360, torch.where(dh < -180, dh + 360, dh))
    dh = torch.where(zero, torch.zeros_like(dh), dh)
    dL, dC = L2 - L1, C2p - C1p
    dH = 2 * torch.sqrt(cprod) * torch.sin(torch.deg2rad(dh) / 2)
    Lbar, Cbar = (L1 + L2) / 2, (C1p + C2p) / 2
    hsum = h1p + h2p
    hbar = torch.where((h1p - h2p).abs() <= 180, hsum / 2,
                       torch.where(hsum < 360, (hsum + 360) / 2, (hsum - 360) / 2))
    hbar = torch.where(zero, hsum, hbar)
    rad = torch.deg2rad
    T = (1 - 0.17 * torch.cos(rad(hbar - 30)) + 0.24 * torch.cos(rad(2 * hbar))
         + 0.32 * torch.cos(rad(3 * hbar + 6)) - 0.20 * torch.cos(rad(4 * hbar - 63)))
    dtheta = 30 * torch.exp(-(((hbar - 275) / 25) ** 2))
    Cbar7 = Cbar ** 7
    RC = 2 * torch.sqrt(Cbar7 / (Cbar7 + 25.0 ** 7))
    SL = 1 + 0.015 * (Lbar - 50) ** 2 / torch.sqrt(20 + (Lbar - 50) ** 2)
    SC = 1 + 0.045 * Cbar
    SH = 1 + 0.015 * Cbar * T
    RT = -torch.sin(rad(2 * dtheta)) * RC
    tL, tC, tH = dL / (kL * SL), dC / (kC * SC), dH / (kH * SH)
    return torch.sqrt((tL ** 2 + tC ** 2 + tH ** 2 + RT * tC * tH).clamp(min=0))


@torch.no_grad()
def nima_score(model, x: torch.Tensor, batch_size: int = 64) -> torch.Tensor:
    """NIMA aesthetics (Talebi and Milanfar 2018): the mean of the 10-bin score distribution a NIMA
    model predicts, sum_i i * p_i for i = 1..10, per image. ``model`` takes [0, 1] images and returns
    the 10 probabilities (or logits, which are softmaxed); see :func:`papers_core.models.nima_model`."""
    import torch.nn.functional as F

    check_images(x)
    out = []
    for i in range(0, len(x), batch_size):
        p = model(x[i:i + batch_size])
        if p.dim() != 2 or p.shape[1] != 10:
            raise ValueError(f"a NIMA model must return (N, 10) score distributions, got {tuple(p.shape)}.")
        if (p < 0).any() or not torch.allclose(p.sum(1), torch.ones_like(p[:, 0]), atol=1e-3):
            p = F.softmax(p, dim=1)
        out.append(p @ torch.arange(1, 11, dtype=p.dtype, device=p.device))
    return torch.cat(out)
