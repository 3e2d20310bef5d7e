"""Colour difference: sRGB to CIELAB and CIEDE2000, as scikit-image computes them, on tensors."""
from __future__ import annotations


import torch

from .._validate import check_images

__all__ = ["rgb_to_lab", "ciede2000"]


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
