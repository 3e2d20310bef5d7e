"""How many iterations P-FGSM needs to reach p(target) > 0.99, and what sets it: the P-FGSM page's
explanation of its PSNR gap to the paper (the paper's ResNet-50 at 224 px reaches about 40 dB, i.e. one
or two full steps per pixel; a 32 px stand-in needs tens).

:func:`input_size_study` trains the quick profile's scene classifier (``SmallCNN`` on SynthScenes, the
P-FGSM page's settings) at several image sizes and training lengths and runs P-FGSM at the page's
settings on each, so that the iterations can be read against the input size and the classifier's
confidence. It trains one classifier per setting (minutes on a CPU), so the page shows a stored run of it
(``python -m papers_core.convergence``, which writes ``results/studies/p_fgsm_input_size.csv`` with its
provenance beside it).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from ._validate import check_range

__all__ = ["input_size_study", "STUDY_CSV"]

#: Where ``python -m papers_core.convergence`` writes the study, relative to the repository root.
STUDY_CSV = Path("results") / "studies" / "p_fgsm_input_size.csv"


def input_size_study(sizes=(32, 64, 96), epochs=(8,), *, n_per_class: int = 200, test_per_class: int = 5,
                     width: int = 32, step: float = 0.007 * 255, iterations: int = 50, threshold: float = 0.99,
                     sigma: float = 0.99, seed: int = 0, progress=None):
    """For each image side in ``sizes`` and training length in ``epochs``: SynthScenes at that side
    (``n_per_class`` training images per class, ``test_per_class`` test images per private class), a
    ``SmallCNN`` of ``width`` trained on it for that many epochs, and P-FGSM (``sigma``, ``step`` in 8-bit
    units, at most ``iterations``, stop at ``threshold``) on the test images.

    Returns a pandas DataFrame, one row per (size, epochs): ``inputs`` (values per image), clean
    ``top1`` accuracy and mean top-1 ``confidence``, P-FGSM's ``mean_iterations``, ``median_iterations``
    and ``share_within_2`` (images done in at most two iterations), its mean ``PSNR`` (dB, over changed
    images), the mean L1 norm of the gradient of the target's log-probability at the clean image per
    image (``grad_l1``: the first-order gain of one sign step of one 8-bit level), and ``train_s``."""
    import pandas as pd

    from .attacks import p_fgsm, predict_proba
    from .data import synth_scenes
    from .metrics import psnr
    from .models import SmallCNN
    from .train import train_classifier

    for s in sizes:
        check_range(s, "size", lo=8, hi=1024, integer=True)
    for e in epochs:
        check_range(e, "epochs", lo=1, integer=True)
    if not sizes or not epochs:
        raise ValueError("sizes and epochs must each hold at least one value, e.g. sizes=(32, 64), epochs=(8,).")
    rows = []
    for size in sizes:
        train = synth_scenes("train", n_per_class=n_per_class, size=size, seed=seed)
        test = synth_scenes("test", n_per_class=test_per_class, size=size, classes=train.private_classes, seed=seed)
        for ep in epochs:
            t0 = time.perf_counter()
            net = train_classifier(SmallCNN(train.num_classes, width=width), train.images, train.labels,
                                   epochs=ep, seed=seed, progress=False)
            train_s = time.perf_counter() - t0
            x, y = test.images, test.labels
            probs = predict_proba(net, x)
            r = p_fgsm(net, x, sigma=sigma, seed=seed, step=step, iterations=iterations, threshold=threshold)
            xg = x.clone().requires_grad_(True)
            with torch.enable_grad():
                logp = torch.log_softmax(net(xg), 1).gather(1, r.target[:, None]).sum()
                (grad,) = torch.autograd.grad(logp, xg)
            p = psnr(x, r.adv)
            its = r.iterations.float()
            rows.append(dict(size=size, epochs=ep, inputs=int(x[0].numel()),
                             top1=float((probs.argmax(1) == y).float().mean()),
                             confidence=float(probs.max(1).values.mean()),
                             mean_iterations=float(its.mean()), median_iterations=float(its.median()),
                             share_within_2=float((its <= 2).float().mean()),
                             PSNR=float(p[torch.isfinite(p)].mean()) if torch.isfinite(p).any() else float("nan"),
                             grad_l1=float(grad.flatten(1).abs().sum(1).mean() / 255.0), train_s=round(train_s, 1)))
            if progress:
                progress(rows[-1])
    return pd.DataFrame(rows).set_index(["size", "epochs"])


def main(argv=None) -> None:
    from .runs import QUICK_THREADS, git_commit, set_cpu_threads

    ap = argparse.ArgumentParser(description="P-FGSM's iterations against input size and classifier confidence "
                                             "(SynthScenes, SmallCNN): the P-FGSM page's stored study.")
    ap.add_argument("--sizes", type=int, nargs="+", default=[32, 64, 96])
    ap.add_argument("--epochs", type=int, nargs="+", default=[8, 24])
    ap.add_argument("--out", type=Path, default=STUDY_CSV)
    argv = sys.argv[1:] if argv is None else list(argv)
    args = ap.parse_args(argv)
    set_cpu_threads(QUICK_THREADS)
    commit = git_commit(Path(__file__).resolve().parents[1])    # the code that runs, before anything is edited
    t0 = time.perf_counter()
    df = input_size_study(args.sizes, args.epochs, progress=lambda row: print(row, flush=True))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    df.round(4).to_csv(tmp)
    tmp.replace(args.out)
    meta = dict(command=" ".join(["python -m papers_core.convergence", *argv]), commit=commit,
                torch=torch.__version__, threads=torch.get_num_threads(), seconds=round(time.perf_counter() - t0))
    args.out.with_suffix(".json").write_text(json.dumps(meta, indent=1) + "\n")
    print(df.round(3).to_string())


if __name__ == "__main__":
    main()
