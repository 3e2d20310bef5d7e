"""Image quality: full-reference (MSE, PSNR, SSIM, MS-SSIM, CW-SSIM) and no-reference (BRISQUE,
NIMA for a user-supplied model).

Full-reference metrics take two batches of float NCHW images in [0, 1] and return one value per
image. Libraries do the work where one fits: SSIM is ``pytorch_msssim`` (tested against
scikit-image), BRISQUE is the ``brisque`` package with its shipped SVM model."""
from __future__ import annotations


import numpy as np
import torch

from .._validate import check_images, check_range

__all__ = ["mse", "psnr", "ssim", "brisque", "nima_score", "MS_SSIM_WEIGHTS", "ms_ssim", "steerable_bands", "cw_ssim"]


def check_pair(x: torch.Tensor, y: torch.Tensor) -> None:
    check_images(x, "reference images")
    check_images(y, "distorted images")
    if x.shape != y.shape:
        raise ValueError(f"image batches differ in shape: {tuple(x.shape)} vs {tuple(y.shape)}.")


def mse(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean squared error per image, for images in [0, 1]."""
    check_pair(x, y)
    return ((x.double() - y.double()) ** 2).flatten(1).mean(1)


def psnr(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Peak signal-to-noise ratio per image in dB (peak 1); identical images give +inf."""
    return 10.0 * torch.log10(1.0 / mse(x, y))


def ssim(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """SSIM (Wang et al. 2004) per image: 11x11 Gaussian window with sigma 1.5, K1 0.01, K2 0.03, data
    range 1, averaged over channels; equal to scikit-image's ``structural_similarity(...,
    gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1, channel_axis=0)``."""
    from pytorch_msssim import ssim as _ssim

    check_pair(x, y)
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

    check_pair(x, y)
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
    check_pair(x, y)
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
