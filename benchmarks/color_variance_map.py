"""Time the colour-variance map (Sweere et al. 2019) of 224x224 images.

    .venv/bin/python benchmarks/color_variance_map.py [--threads 2] [--device cpu]

Prints the best-of-N wall time per call for windows 3 and 5 at batch sizes 1 and 8, and the speed-up
over a per-pixel implementation with scikit-image (timed on a 32x32 crop and scaled by pixel count).
"""
from __future__ import annotations

import argparse
import json
import math
import platform
import time

import numpy as np
import torch

from papers_core.attacks import color_variance_map


def best_of(fn, reps: int) -> float:
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return min(times)


def per_pixel_reference(img: np.ndarray, window: int) -> None:
    from skimage.color import deltaE_ciede2000, rgb2lab

    lab = rgb2lab(img)
    h, w, _ = img.shape
    r = window // 2
    for i in range(h):
        for j in range(w):
            acc = 0.0
            for dy in range(-r, r + 1):
                for dx in range(-r, r + 1):
                    y, x = i + dy, j + dx
                    if (dy or dx) and 0 <= y < h and 0 <= x < w:
                        acc += (float(deltaE_ciede2000(lab[i, j], lab[y, x])) * math.exp(-(dx * dx + dy * dy) / 2)) ** 2


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    rows = []
    for window in (3, 5):
        for n in (1, 8):
            x = torch.rand(n, 3, 224, 224, generator=g).to(args.device)
            t = best_of(lambda: color_variance_map(x, window=window), args.reps)
            rows.append(dict(window=window, batch=n, seconds_per_call=round(t, 4),
                             ms_per_image=round(1000 * t / n, 1)))
    crop = torch.rand(32, 32, 3, generator=g).numpy()
    t0 = time.perf_counter()
    per_pixel_reference(crop, 5)
    ref_224 = (time.perf_counter() - t0) * (224 * 224) / (32 * 32)
    print(json.dumps(dict(machine=f"{platform.processor() or platform.machine()}, torch threads {args.threads}",
                          device=args.device, results=rows,
                          per_pixel_skimage_estimate_224_window5_s=round(ref_224, 1)), indent=2))


if __name__ == "__main__":
    main()
