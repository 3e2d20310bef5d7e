"""MAD, Most Apparent Distortion (Larson and Chandler 2010).

Most Apparent Distortion: a detection-based index for near-threshold distortions (luminance, contrast
sensitivity, local contrast masking) and an appearance-based index for clearly visible ones (changes
of log-Gabor subband statistics), blended by how visible the distortion is. No maintained package
fits (pyiqa carries MAD but pulls in a large model stack), so it is written here, vectorised over the
batch, with the constants of the authors' MATLAB release.
"""
from __future__ import annotations

import functools
import math

import torch

from .quality import check_pair

__all__ = ["mad"]


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
    check_pair(x, y)
    if min(x.shape[-2:]) < _MAD_BLOCK:
        raise ValueError(f"MAD needs images of at least {_MAD_BLOCK}x{_MAD_BLOCK} pixels, got {tuple(x.shape[-2:])}.")
    ref, dst = _gray255(x), _gray255(y)
    hi, lo = _mad_detection(ref, dst), _mad_appearance(ref, dst)
    b1, b2 = math.exp(-2.55 / 3.35), 1.0 / (math.log(10) * 3.35)
    alpha = 1.0 / (1.0 + b1 * hi ** b2)
    return (hi ** alpha * lo ** (1 - alpha)).float()
