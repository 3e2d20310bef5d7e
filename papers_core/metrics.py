"""Metrics: classification (top-k accuracy), irreversibility and target frequencies (Li et al. 2019),
image quality (PSNR, SSIM, BRISQUE, NIMA for a user-supplied model) and colour difference (CIELAB,
CIEDE2000).

Full-reference quality metrics take two batches of float NCHW images in [0, 1] and return one value
per image. Libraries do the work where one fits: SSIM is ``pytorch_msssim`` (tested against
scikit-image), BRISQUE is the ``brisque`` package with its shipped SVM model.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import torch

from ._validate import check_images, check_labels, check_range

__all__ = [
    "topk_accuracy",
    "label_ranks",
    "rank_pmf",
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
    "MS_SSIM_WEIGHTS",
    "ms_ssim",
    "steerable_bands",
    "cw_ssim",
    "mad",
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


# ------------------------------------------------------------------------- multi-scale and wavelet SSIM
#: Wang, Simoncelli and Bovik (2003): the weights of the five scales of MS-SSIM.
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def ms_ssim(x: torch.Tensor, y: torch.Tensor, win_size: int = 11, levels: int | None = None) -> torch.Tensor:
    """MS-SSIM (Wang et al. 2003) per image, averaged over channels; Gaussian window sigma 1.5, data
    range 1.

    The standard five scales need images of at least 161 pixels (16 x (``win_size`` - 1) + 1); then
    the result equals ``pytorch_msssim.ms_ssim``. Smaller images (CIFAR's 32x32) use as many scales as
    keep the window inside the coarsest scale, with the first weights of :data:`MS_SSIM_WEIGHTS`
    renormalised to sum to one (the five standard weights are used as published, summing to 1.0001) (``levels`` overrides the count); our choice, since the standard
    definition is undefined there.
    """
    from pytorch_msssim.ssim import _fspecial_gauss_1d, _ssim

    _pair(x, y)
    check_range(win_size, "win_size", lo=1, integer=True)
    if win_size % 2 == 0:
        raise ValueError(f"win_size must be odd, got {win_size}.")
    side = min(x.shape[-2:])
    fit = 0
    while fit < 5 and side // 2 ** fit >= win_size:
        fit += 1
    if levels is None:
        levels = fit
    check_range(levels, "levels", lo=1, hi=5, integer=True)
    if levels > fit:
        raise ValueError(f"MS-SSIM with {levels} scales and a {win_size}-pixel window needs images of at "
                         f"least {win_size * 2 ** (levels - 1)} pixels, got {tuple(x.shape[-2:])}; "
                         "pass fewer levels or a smaller win_size.")
    weights = torch.tensor(MS_SSIM_WEIGHTS[:levels], dtype=torch.float64, device=x.device)
    if levels < 5:
        weights = weights / weights.sum()
    X, Y = x.double(), y.double()
    win = _fspecial_gauss_1d(win_size, 1.5).repeat([X.shape[1], 1, 1, 1]).to(X)
    mcs = []
    for i in range(levels):
        ssim_c, cs = _ssim(X, Y, win=win, data_range=1.0, size_average=False, K=(0.01, 0.03))
        if i < levels - 1:
            mcs.append(torch.relu(cs))
            pad = [s % 2 for s in X.shape[2:]]
            X = torch.nn.functional.avg_pool2d(X, kernel_size=2, padding=pad)
            Y = torch.nn.functional.avg_pool2d(Y, kernel_size=2, padding=pad)
    stack = torch.stack(mcs + [torch.relu(ssim_c)], dim=0)  # (levels, N, C)
    return torch.prod(stack ** weights.view(-1, 1, 1), dim=0).mean(1)


def _cw_ssim_default_level(side: int) -> int:
    level = 1
    while level < 4 and side // 2 ** level >= 14:
        level += 1
    return level


_PYR_MASKS: dict = {}


def _steerable_masks(h: int, w: int, level: int, orientations: int):
    """Fourier masks of the complex steerable pyramid (Simoncelli and Freeman 1995), designed by
    ``pyrtools.pyramids.SteerablePyramidFreq`` (the Python port of matlabPyrTools' buildSCFpyr) and
    cached per size: the low-pass masks down to scale ``level`` and the band masks of that scale."""
    key = (h, w, level, orientations)
    if key not in _PYR_MASKS:
        from pyrtools.pyramids import SteerablePyramidFreq

        pyr = SteerablePyramidFreq(np.zeros((h, w)), height=level, order=orientations - 1, is_complex=True)
        lomasks = [torch.from_numpy(np.asarray(m, dtype=np.float64)) for m in [pyr._lo0mask] + pyr._lomasks]
        bands = torch.from_numpy(np.stack([np.asarray(a) * pyr._himasks[level - 1]
                                           for a in pyr._anglemasks[level - 1]]).astype(np.float64))
        _PYR_MASKS[key] = (lomasks, bands)
    return _PYR_MASKS[key]


def _crop_lowpass(d: torch.Tensor) -> torch.Tensor:
    """pyrtools' crop of a centred spectrum to its low-pass half (same index arithmetic)."""
    dims = np.asarray(d.shape[-2:])
    ctr = np.ceil((dims + 0.5) / 2).astype(int)
    lodims = np.ceil((dims - 0.5) / 2).astype(int)
    start = ctr - np.ceil((lodims + 0.5) / 2).astype(int)
    return d[..., start[0]:start[0] + lodims[0], start[1]:start[1] + lodims[1]]


def steerable_bands(x: torch.Tensor, level: int, orientations: int) -> torch.Tensor:
    """The complex oriented bands of the complex steerable pyramid at scale ``level`` (1 = finest), as
    ``pyrtools``' ``SteerablePyramidFreq(..., is_complex=True).pyr_coeffs[(level - 1, b)]``, for a batch
    (N, C, H, W): returns complex (N, C, orientations, h, w) in the input's precision (complex128 for
    float64 input). Differentiable (torch.fft)."""
    h, w = x.shape[-2:]
    lomasks, bands = _steerable_masks(h, w, level, orientations)
    real = x.dtype if x.dtype == torch.float64 else torch.float32
    d = torch.fft.fftshift(torch.fft.fft2(x.to(real)), dim=(-2, -1)) * lomasks[0].to(x.device, real)
    for i in range(level - 1):
        d = _crop_lowpass(d) * lomasks[i + 1].to(x.device, real)
    order = orientations - 1
    d = ((-1j) ** order) * d.unsqueeze(2) * bands.to(x.device, real)
    return torch.fft.ifft2(torch.fft.ifftshift(d, dim=(-2, -1)))


def cw_ssim(x: torch.Tensor, y: torch.Tensor, level: int | None = None, orientations: int = 8,
            K: float = 1e-8) -> torch.Tensor:
    """CW-SSIM (Sampat, Wang, Gupta, Bovik and Markey 2009) per image, averaged over channels;
    differentiable, so it serves as the K-anonymity attack's similarity loss.

    As the authors' ``cwssim_index.m``: the complex steerable pyramid's ``orientations`` bands at scale
    ``level``; per band ``c1 c2*``, local sums over 7x7 windows, the map
    ``(2 |sum c1 c2*| + K) / (sum |c1|^2 + sum |c2|^2 + K)``, weighted by a normalised Gaussian of the map's size with sigma = band side / 4;
    the mean over bands. ``level`` defaults to the coarsest scale (at most 4) whose bands keep at least
    14 pixels (2 for MNIST's 28x28 and CIFAR's 32x32, 3 for 64x64, 4 from 128). K > 0 keeps flat regions
    (MNIST's black border) at 1 instead of 0/0; the Matlab default is 0. Identical images give 1.
    Computed in float64 for float64 input, else in float32 (the attack's setting: 1e-6 of float64).
    """
    _pair(x, y)
    side = min(x.shape[-2:])
    if level is None:
        level = _cw_ssim_default_level(side)
    check_range(level, "level", lo=1, integer=True)
    check_range(orientations, "orientations", lo=2, hi=16, integer=True)
    check_range(K, "K", lo=0)
    if side // 2 ** (level - 1) < 7 or level > max(1, int(np.floor(np.log2(side))) - 2):
        raise ValueError(f"CW-SSIM at scale {level} needs bands of at least 7 pixels: images of "
                         f"{tuple(x.shape[-2:])} allow at most scale {_cw_ssim_default_level(side)}.")
    b1 = steerable_bands(x, level, orientations)
    b2 = steerable_bands(y, level, orientations)
    n, c, o, h, w = b1.shape
    corr = b1 * b2.conj()
    # local means over 7x7 windows ('valid'), real and imaginary parts and the variances in one pass
    stacked = torch.stack([corr.real, corr.imag, b1.real ** 2 + b1.imag ** 2 + b2.real ** 2 + b2.imag ** 2], 0)
    pooled = torch.nn.functional.avg_pool2d(stacked.reshape(-1, 1, h, w), 7, stride=1)
    mh, mw = pooled.shape[-2:]
    cre, cim, varr = pooled.reshape(3, n * c * o, mh, mw)
    cmap = (2.0 * torch.sqrt(cre ** 2 + cim ** 2 + 1e-30) + K) / (varr + K)
    gy = torch.arange(mh, dtype=cmap.dtype, device=x.device) - (mh - 1) / 2.0
    gx = torch.arange(mw, dtype=cmap.dtype, device=x.device) - (mw - 1) / 2.0
    g = torch.exp(-(gy[:, None] ** 2 + gx[None, :] ** 2) / (2.0 * (h / 4.0) ** 2))
    g = g / g.sum()
    per_band = (cmap.reshape(n, c, o, mh, mw) * g).sum((-2, -1))
    return per_band.mean(2).mean(1)


# ---------------------------------------------------------------------- MAD (Larson and Chandler 2010)
# Most Apparent Distortion: a detection-based index for near-threshold distortions (luminance, contrast
# sensitivity, local contrast masking) and an appearance-based index for clearly visible ones (changes
# of log-Gabor subband statistics), blended by how visible the distortion is. No maintained package
# fits (pyiqa carries MAD but pulls in a large model stack), so it is written here, vectorised over the
# batch, with the constants of the authors' MATLAB release.
_MAD_BLOCK, _MAD_STEP = 16, 4


def _gray255(x: torch.Tensor) -> torch.Tensor:
    """Luma Y of ITU-R BT.601 on the 0-255 scale (MAD works on grey-scale images)."""
    x = x.double() * 255.0
    if x.shape[1] == 1:
        return x
    return (0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3])


def _centered_freqs(h: int, w: int):
    fy = (torch.arange(h, dtype=torch.float64) - h // 2) / (h / 2.0)
    fx = (torch.arange(w, dtype=torch.float64) - w // 2) / (w / 2.0)
    return torch.meshgrid(fy, fx, indexing="ij")


def _mad_csf(h: int, w: int, nfreq: float = 32.0) -> torch.Tensor:
    """Mannos-Sakrison contrast sensitivity with the oblique effect (MAD's ``make_csf``), centred."""
    fy, fx = _centered_freqs(h, w)
    rad = torch.sqrt(fx ** 2 + fy ** 2) * nfreq          # cycles per degree
    ang = torch.atan2(fy, fx)
    rad = rad / ((1 - 0.7) / 2 * torch.cos(4 * ang) + (1 + 0.7) / 2)
    csf = 2.6 * (0.0192 + 0.114 * rad) * torch.exp(-(0.114 * rad) ** 1.1)
    return torch.where(rad < 7.8909, torch.full_like(csf, 0.9809), csf)


def _filter_centered(x: torch.Tensor, filt: torch.Tensor) -> torch.Tensor:
    f = torch.fft.fftshift(torch.fft.fft2(x), dim=(-2, -1)) * filt.to(x.device)
    return torch.fft.ifft2(torch.fft.ifftshift(f, dim=(-2, -1)))


def _blocks(x: torch.Tensor, size: int = _MAD_BLOCK, step: int = _MAD_STEP) -> torch.Tensor:
    """(N, 1, H, W) -> (N, h, w, size*size): the size x size blocks at the given step."""
    b = x[:, 0].unfold(1, size, step).unfold(2, size, step)
    return b.reshape(*b.shape[:3], -1)


def _mad_detection(ref: torch.Tensor, dst: torch.Tensor) -> torch.Tensor:
    """d_detect: local contrast-masking-weighted MSE on CSF-filtered perceived luminance."""
    k, gamma = 0.02874, 2.2 / 3
    csf = _mad_csf(*ref.shape[-2:])
    lum_ref = _filter_centered(k * ref ** gamma, csf).real
    lum_err = _filter_centered(k * dst ** gamma, csf).real - lum_ref
    blocks = _blocks(lum_ref)
    mean = blocks.mean(-1)
    # the reference's masking contrast: the smallest standard deviation of the four 8x8 sub-blocks
    sub = blocks.reshape(*blocks.shape[:3], 2, 8, 2, 8).permute(0, 1, 2, 3, 5, 4, 6).reshape(*blocks.shape[:3], 4, 64)
    std_ref = sub.std(-1, unbiased=False).min(-1).values
    std_err = _blocks(lum_err).std(-1, unbiased=False)
    tiny = 1e-12
    c_ref = torch.log((std_ref + tiny) / (mean.abs() + tiny))
    c_err = torch.log((std_err + tiny) / (mean.abs() + tiny))
    c_err = torch.where(mean < 0.5, torch.full_like(c_err, -math.inf), c_err)  # too dark to see
    thr_ref, thr_err = -5.0, -5.0
    vis = torch.where(c_ref > thr_ref, c_err - (c_ref - thr_ref + thr_err), c_err - thr_err)
    vis = vis.clamp(min=0.0).nan_to_num(0.0)
    lmse = _blocks((ref - dst) ** 2).mean(-1)
    m = (vis * lmse).flatten(1)
    return m.norm(dim=1) / math.sqrt(m.shape[1]) * 200.0


@functools.lru_cache(maxsize=8)
def _log_gabor_bank(h: int, w: int) -> torch.Tensor:
    """MAD's log-Gabor filters (5 scales from wavelength 3, factor 3; 4 orientations), (5, 4, H, W)."""
    fy, fx = _centered_freqs(h, w)
    radius = torch.sqrt(fx ** 2 + fy ** 2)
    radius[h // 2, w // 2] = 1.0
    theta = torch.atan2(-fy, fx)
    sigma_theta = math.pi / 4 / 1.5
    bank = torch.empty(5, 4, h, w, dtype=torch.float64)
    for s in range(5):
        rfo = (1.0 / (3 * 3 ** s)) / 0.5
        radial = torch.exp(-(torch.log(radius) - math.log(rfo)) ** 2 / (2 * math.log(0.55) ** 2))
        radial[h // 2, w // 2] = 0.0
        for o in range(4):
            a = o * math.pi / 4
            ds = torch.sin(theta) * math.cos(a) - torch.cos(theta) * math.sin(a)
            dc = torch.cos(theta) * math.cos(a) + torch.sin(theta) * math.sin(a)
            bank[s, o] = radial * torch.exp(-torch.atan2(ds, dc) ** 2 / (2 * sigma_theta ** 2))
    return bank


def _mad_appearance(ref: torch.Tensor, dst: torch.Tensor) -> torch.Tensor:
    """d_appear: change of the local standard deviation, skewness and kurtosis of log-Gabor magnitudes."""
    bank = _log_gabor_bank(*ref.shape[-2:])
    weights = torch.tensor([0.5, 0.75, 1.0, 5.0, 6.0], dtype=torch.float64) / 13.25  # finest to coarsest

    def stats(img):
        mag = _filter_centered(img[:, :, None], bank).abs()          # (N, 5, 4, H, W) after squeeze
        b = mag.flatten(0, 2).unsqueeze(1)
        b = _blocks(b)                                              # (N*20, h, w, 256)
        mu = b.mean(-1, keepdim=True)
        d = b - mu
        var = d.pow(2).mean(-1)
        std = (var + 1e-12).sqrt()
        z = d / std[..., None]
        return std, z.pow(3).mean(-1), z.pow(4).mean(-1) - 3.0

    (s1, k1, c1), (s2, k2, c2) = stats(ref), stats(dst)
    diff = (s1 - s2).abs() + 2 * (k1 - k2).abs() + (c1 - c2).abs()   # (N*20, h, w)
    diff = diff.reshape(ref.shape[0], 5, 4, *diff.shape[1:])
    m = (weights.view(1, 5, 1, 1, 1) * diff).sum((1, 2)).flatten(1)
    return m.norm(dim=1) / math.sqrt(m.shape[1])


def mad(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Most Apparent Distortion (Larson and Chandler 2010) of ``y`` against the reference ``x``, per
    image (lower is better; 0 for identical images). Colour images are reduced to BT.601 luma. MAD
    blends the detection index (for high quality) and the appearance index (for low quality):
    ``d_detect ** a * d_appear ** (1 - a)`` with ``a = 1 / (1 + b1 * d_detect ** b2)``,
    ``b1 = exp(-2.55 / 3.35)``, ``b2 = 1 / (ln(10) * 3.35)``. Images need sides of at least 16 pixels
    (the 16x16 blocks at a step of 4 pixels)."""
    _pair(x, y)
    if min(x.shape[-2:]) < _MAD_BLOCK:
        raise ValueError(f"MAD needs images of at least {_MAD_BLOCK}x{_MAD_BLOCK} pixels, got {tuple(x.shape[-2:])}.")
    ref, dst = _gray255(x), _gray255(y)
    hi, lo = _mad_detection(ref, dst), _mad_appearance(ref, dst)
    b1, b2 = math.exp(-2.55 / 3.35), 1.0 / (math.log(10) * 3.35)
    alpha = 1.0 / (1.0 + b1 * hi ** b2)
    return (hi ** alpha * lo ** (1 - alpha)).float()
