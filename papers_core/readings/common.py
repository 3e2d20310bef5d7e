"""What the readings studies share: where they are stored, the SSIM definitions they score with, the
MNIST training images they draw from, and how a study is written with its provenance."""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch

from .._validate import check_images

__all__ = ["STUDIES", "KANON_CSV", "MAT_CSV", "MAT_MSSIM_CSV", "MNIST_STD", "SSIM_READINGS", "ssim_per_image", "ssim_readings",
           "mnist_train", "write_study"]

STUDIES = Path("results") / "studies"


#: Where ``python -m papers_core.readings kanon`` writes its study, relative to the repository root.
KANON_CSV = STUDIES / "k_anonymity_readings.csv"


#: Where ``python -m papers_core.readings mat`` writes the victims' accuracies and the MSSIMs.
MAT_CSV = STUDIES / "mat_readings.csv"


MAT_MSSIM_CSV = STUDIES / "mat_mssim_readings.csv"


#: MNIST's pixel standard deviation (the usual ``Normalize((0.1307,), (0.3081,))``): eps given in
#: normalised units is ``eps * MNIST_STD`` on the [0, 1] scale.
MNIST_STD = 0.3081


#: SSIM definitions (scikit-image ``structural_similarity`` arguments on [0, 1] images). ``gauss11``
#: is the page's (Wang et al.'s 11x11 Gaussian, sigma 1.5, data range 1); ``uniform7`` scikit-image's
#: default window (7x7 uniform, sample covariance), with data range 1 or, as ``uniform7 range2``, with
#: scikit-image's default for float images before 0.19 (data range 2: ``structural_similarity(a, b)`` as a
#: 2020 user called it); ``range2`` the Gaussian window with data range 2; ``8bit`` the Gaussian window on 8-bit values
#: with data range 1 (constants C1, C2 practically zero).
SSIM_READINGS = {
    "gauss11": dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0),
    "uniform7": dict(win_size=7, data_range=1.0),
    "uniform7 range2": dict(win_size=7, data_range=2.0),
    "range2": dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=2.0),
    "8bit": dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0 / 255.0),
}


def ssim_per_image(x: torch.Tensor, y: torch.Tensor, reading: str = "uniform7") -> torch.Tensor:
    """SSIM per image (0..1, float64, on the CPU) between ``x`` and ``y`` (N, C, H, W) in [0, 1] under the
    definition ``reading`` of :data:`SSIM_READINGS` (scikit-image's ``structural_similarity``), averaged
    over channels. The K-anonymity page's Table 1 uses it with its profile's ``ssim`` setting."""
    from skimage.metrics import structural_similarity

    check_images(x, "reference images")
    check_images(y, "distorted images")
    if x.shape != y.shape:
        raise ValueError(f"image batches differ in shape: {tuple(x.shape)} vs {tuple(y.shape)}.")
    if reading not in SSIM_READINGS:
        raise ValueError(f"unknown SSIM definition {reading!r}; choose from {list(SSIM_READINGS)}.")
    kw = dict(SSIM_READINGS[reading])
    scale = 255.0 if reading == "8bit" else 1.0
    side = min(x.shape[-2:])
    if side < kw.get("win_size", 11 if kw.get("gaussian_weights") else 7):
        raise ValueError(f"SSIM ({reading}) needs images of at least {kw.get('win_size', 11)} pixels a side, got "
                         f"{tuple(x.shape[-2:])}.")
    a = x.detach().cpu().double().numpy() * scale
    b = y.detach().cpu().double().numpy() * scale
    return torch.tensor([np.mean([structural_similarity(p[c], q[c], **kw) for c in range(p.shape[0])])
                         for p, q in zip(a, b)], dtype=torch.float64)


def ssim_readings(x: torch.Tensor, adv: torch.Tensor, readings=None) -> dict:
    """Mean SSIM (0..100) between ``x`` and ``adv`` (N, C, H, W) under each of ``readings`` (names of
    :data:`SSIM_READINGS`; default all)."""
    return {name: 100.0 * float(ssim_per_image(x, adv, name).mean()) for name in readings or SSIM_READINGS}


def mnist_train(n: int | None, seed: int):
    from ..data import load_mnist_subset

    data = load_mnist_subset("train")
    order = torch.randperm(len(data.labels), generator=torch.Generator().manual_seed(seed))
    if n is not None:
        order = order[:n]
    return data.images[order], data.labels[order]


def write_study(df, out: Path, command: str, commit: str, t0: float) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    df.round(4).to_csv(tmp, index=False)
    tmp.replace(out)
    meta = dict(command=command, commit=commit, torch=torch.__version__, threads=torch.get_num_threads(),
                seconds=round(time.perf_counter() - t0))
    out.with_suffix(".json").write_text(json.dumps(meta, indent=1) + "\n")
