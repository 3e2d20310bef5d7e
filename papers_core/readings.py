"""Candidate readings behind the gaps between the stored MNIST runs and the K-anonymity and MAT papers'
Table 1: small runs on the embedded real-MNIST subset that rank the readings the papers leave open, so
that the pages can say why their runs differ from the papers (each page's "Why this run differs" section
shows the stored study).

:func:`kanon_readings`: the K-anonymity page's six attacks on LeNet-5 classifiers trained several ways
(the page's modern LeNet-5, the same trained for one epoch, the 1998 LeNet-5 with tanh and average
pooling), with the baselines' targets as the page reads them (the runner-up) or random, and C&W's
learning rate "slightly tuned"; each result is scored by MSE and by four SSIM definitions (the window
and constants the paper does not give).

:func:`mat_readings`: MAT's MNIST victims (original, single-strength, mixed) under FGSM test examples
crafted four ways (on the crafting LeNet-5 or on the victim itself, from the true label or from the
model's prediction), for the MLP victim and a LeNet-5 victim (capacity); and
:func:`mat_mssim_readings`: the MSSIM of the FGSM examples at the paper's three strengths under three
units of eps and three SSIM definitions.

``python -m papers_core.readings kanon|mat`` writes the stored studies under ``results/studies/``
(:data:`KANON_CSV`, :data:`MAT_CSV`, :data:`MAT_MSSIM_CSV`) with their provenance beside them.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from ._validate import check_images, check_range
from .zoo import ClassicLeNet5

__all__ = ["KANON_CLASSIFIERS", "ssim_per_image", "ssim_readings", "kanon_readings", "mat_readings", "mat_mssim_readings", "kanon_fit", "mat_summary", "mssim_fit",
           "SSIM_READINGS",
           "KANON_CSV", "MAT_CSV", "MAT_MSSIM_CSV", "MNIST_STD"]

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


def _mnist_train(n: int | None, seed: int):
    from .data import load_mnist_subset

    data = load_mnist_subset("train")
    order = torch.randperm(len(data.labels), generator=torch.Generator().manual_seed(seed))
    if n is not None:
        order = order[:n]
    return data.images[order], data.labels[order]


KANON_CLASSIFIERS = {
    # name: (LeNet-5's form, as the K-anonymity profile's mnist_lenet names it; epochs)
    "LeNet-5 (ReLU, max-pool), 15 epochs": ("relu", 15),
    "LeNet-5 (ReLU, max-pool), 1 epoch": ("relu", 1),
    "LeNet-5 (1998: tanh, avg-pool), 15 epochs": ("1998", 15),
}


def kanon_readings(n: int = 100, *, classifiers=None, lbfgs_search_steps: int = 10, lbfgs_iterations: int = 100,
                   cw_search_steps: int = 9, cw_iterations: int = 1000, tuned_cw_lr: float = 0.1,
                   similarity_weights=(10.0, 100.0), train_n: int | None = None, seed: int = 0, progress=None):
    """The K-anonymity page's six attacks on ``n`` correctly classified images of the embedded real-MNIST
    subset's *test* split (disjoint from every image the page attacks: its training images at the quick
    profile, MNIST's training split at the paper profile), for each classifier reading (names of
    :data:`KANON_CLASSIFIERS`; default all), each trained with the page's recipe (Adam, one-cycle,
    learning rate 0.002, batch 128) on the subset's 10,000 training images (or the first ``train_n`` of
    them in a seeded order). On each classifier, more readings: L-BFGS and C&W towards one
    random wrong label per image (the same for both), C&W at ``tuned_cw_lr``, and the proposed attack
    (K = 1) with the (1 - CW-SSIM) term weighted by each of ``similarity_weights`` (the page: 1).
    Budgets: L-BFGS and the proposed attack ``lbfgs_search_steps`` x ``lbfgs_iterations`` (the paper
    profile's), C&W ``cw_search_steps`` x ``cw_iterations`` (the quick profile's MNIST budget).

    Returns a DataFrame, one row per (classifier, reading, method): ``ASR`` (constraint met, %),
    ``misclassified`` (%), ``MSE`` (x 1e-3, per-pixel mean on [0, 1]), ``L2``, an ``SSIM <reading>``
    column per :data:`SSIM_READINGS`, the classifier's ``test_acc`` and the attack's ``seconds``."""
    import pandas as pd

    from . import attacks as A
    from . import metrics as M
    from .models import LeNet5
    from .train import train_classifier

    check_range(n, "n", lo=2, hi=2000, integer=True)
    names = list(classifiers or KANON_CLASSIFIERS)
    for c in names:
        if c not in KANON_CLASSIFIERS:
            raise ValueError(f"unknown classifier reading {c!r}; choose from {list(KANON_CLASSIFIERS)}.")
    from .data import load_mnist_subset

    x_all, y_all = _mnist_train(train_n, seed)
    test = load_mnist_subset("test")
    rows = []
    for ci, cname in enumerate(names):
        arch, epochs = KANON_CLASSIFIERS[cname]
        net = LeNet5(10) if arch == "relu" else ClassicLeNet5(10)
        train_classifier(net, x_all, y_all, epochs=epochs, seed=seed, augment=False, batch_size=128, lr=2e-3,
                         progress=False)
        net.eval()
        for p in net.parameters():
            p.requires_grad_(False)
        pred = A.predict_proba(net, test.images).argmax(1)
        test_acc = 100.0 * float((pred == test.labels).float().mean())
        ok = torch.nonzero(pred == test.labels).squeeze(1)
        pick = ok[torch.randperm(len(ok), generator=torch.Generator().manual_seed(seed))][:n]
        x, y = test.images[pick], test.labels[pick]
        ranked = A.predict_proba(net, x).argsort(1, descending=True)
        runner_up = ranked[:, 1]
        g = torch.Generator().manual_seed(seed + 1)
        random_t = (y + torch.randint(1, 10, (len(y),), generator=g)) % 10

        def lbfgs(t):
            return A.lbfgs_attack(net, x, targets=t, search_steps=lbfgs_search_steps, iterations=lbfgs_iterations)

        def cw(t, lr=0.01):
            return A.cw_l2(net, x, y, targets=t, binary_search_steps=cw_search_steps, iterations=cw_iterations, lr=lr)

        jobs = [("page's reading", "L-BFGS", lambda: lbfgs(runner_up)),
                ("page's reading", "DeepFool", lambda: A.deepfool(net, x, y)),
                ("page's reading", "C&W", lambda: cw(runner_up))]
        jobs += [("page's reading", f"Proposed (K = {K})", lambda K=K: A.k_anonymity_attack(
            net, x, y, K=K, search_steps=lbfgs_search_steps, iterations=lbfgs_iterations, seed=seed))
            for K in (1, 5, 9)]
        jobs += [("random targets", "L-BFGS", lambda: lbfgs(random_t)),
                 ("random targets", "C&W", lambda: cw(random_t)),
                 (f"C&W lr {tuned_cw_lr:g}", "C&W", lambda: cw(runner_up, tuned_cw_lr))]
        jobs += [(f"CW-SSIM weight {w:g}", "Proposed (K = 1)", lambda w=w: A.k_anonymity_attack(
            net, x, y, K=1, similarity_weight=w, search_steps=lbfgs_search_steps, iterations=lbfgs_iterations,
            seed=seed)) for w in similarity_weights]
        for reading, method, run in jobs:
            t0 = time.perf_counter()
            r = run()
            secs = time.perf_counter() - t0
            met = r.satisfied if hasattr(r, "satisfied") else r.success
            row = dict(classifier=cname, reading=reading, method=method, ASR=100.0 * float(met.float().mean()),
                       misclassified=100.0 * float((r.prediction != y).float().mean()),
                       MSE=float(M.mse(x, r.adv).mean()) * 1e3, L2=float((r.adv - x).flatten(1).norm(dim=1).mean()))
            row.update({f"SSIM {k}": v for k, v in ssim_readings(x, r.adv).items()})
            row.update(test_acc=test_acc, seconds=round(secs, 1))
            rows.append(row)
            if progress:
                progress(row)
    return pd.DataFrame(rows)


MAT_READINGS = {
    # name: (which model crafts the test examples, which label FGSM ascends)
    "crafting model, true label": ("crafter", "true"),
    "crafting model, its prediction": ("crafter", "pred"),
    "victim, true label": ("victim", "true"),
    "victim, its prediction": ("victim", "pred"),
}


def mat_readings(n_train: int = 8000, *, epochs: int = 20, crafting_epochs: int = 10, single=(0.1, 0.2),
                 mixed=(0.1, 0.2, 0.3), test_n: int | None = None, seed: int = 0, progress=None):
    """MAT's MNIST victims under the four readings of how the test examples are crafted
    (:data:`MAT_READINGS`). Data: ``n_train`` images of the embedded real-MNIST subset's training split
    and its 2000 test images; a LeNet-5 crafting model (``crafting_epochs``) crafts the training
    examples, as Sec. 5.1 says. Victims, each trained for ``epochs`` with the page's recipe: the MAT
    page's MLP (784-256-256) on the originals, single-strength at each of ``single`` (half originals,
    half FGSM), mixed MAT on ``mixed``; and a LeNet-5 victim (the capacity reading) on the originals and
    at ``single[0]``. Test strengths: the page's grid, 0 to 0.3 by 0.025, on the first ``test_n`` test
    images (default all 2000).

    The page's reading (crafting model, true label) is also evaluated with eps in MNIST's normalised
    units (``eps * MNIST_STD`` on [0, 1]), the unit that fits the paper's MSSIMs
    (:func:`mat_mssim_readings`). Returns a DataFrame, one row per (victim, architecture, reading, unit,
    eps), with the test ``accuracy`` (%) and the crafting model's test accuracy ``crafter_acc``."""
    import pandas as pd

    from .attacks import predict_proba
    from .mat import FGSMDirections, accuracy_under_attack, mat_training_set
    from .models import MLP, LeNet5
    from .train import train_classifier
    from .data import load_mnist_subset

    check_range(n_train, "n_train", lo=100, hi=10_000, integer=True)
    x, y = _mnist_train(n_train, seed)
    test = load_mnist_subset("test")
    xt, yt = test.images[:test_n], test.labels[:test_n]
    grid = np.round(np.arange(0, 0.3 + 1e-9, 0.025), 3)

    def fit(net, xs, ys, n_epochs):
        train_classifier(net, xs, ys, epochs=n_epochs, seed=seed, augment=False, batch_size=128, lr=2e-3,
                         progress=False)
        return net.eval()

    crafter = fit(LeNet5(10), x, y, crafting_epochs)
    crafter_acc = 100.0 * float((predict_proba(crafter, xt).argmax(1) == yt).float().mean())
    train_dirs = FGSMDirections(crafter, x, y)
    victims = {}
    for arch, make in (("MLP 784-256-256", lambda: MLP(784, (256, 256), 10)), ("LeNet-5", lambda: LeNet5(10))):
        victims[("original", arch)] = fit(make(), x, y, epochs)
        for s in (single if arch.startswith("MLP") else single[:1]):
            xs, ys = mat_training_set(x, y, [train_dirs.at(s)])
            victims[(f"single-strength {s:g}", arch)] = fit(make(), xs, ys, epochs)
        if arch.startswith("MLP"):
            xs, ys = mat_training_set(x, y, [train_dirs.at(s) for s in mixed])
            victims[("mixed MAT " + ", ".join(f"{s:g}" for s in mixed), arch)] = fit(make(), xs, ys, epochs)
    crafted = {lab: FGSMDirections(crafter, xt, yt if lab == "true" else predict_proba(crafter, xt).argmax(1))
               for lab in ("true", "pred")}
    rows = []
    for (vname, arch), net in victims.items():
        for reading, (who, lab) in MAT_READINGS.items():
            if who == "crafter":
                dirs = crafted[lab]
            else:
                dirs = FGSMDirections(net, xt, yt if lab == "true" else predict_proba(net, xt).argmax(1))
            # accuracy against the true labels whatever label crafted the examples
            dirs.y = yt
            units = {"[0, 1] scale": 1.0}
            if (who, lab) == ("crafter", "true"):   # the page's reading, also with eps in normalised units
                units["normalised (x 0.3081)"] = MNIST_STD
            for unit, factor in units.items():
                acc = accuracy_under_attack(net, dirs, grid * factor)
                for eps, a in zip(grid, acc):
                    rows.append(dict(victim=vname, architecture=arch, reading=reading, unit=unit, eps=float(eps),
                                     accuracy=float(a), crafter_acc=crafter_acc))
        if progress:
            progress(rows[-1])
    return pd.DataFrame(rows)


def mat_mssim_readings(n_train: int = 8000, *, crafting_epochs: int = 10, strengths=(0.09, 0.15, 0.30),
                       test_n: int | None = None, seed: int = 0):
    """The MSSIM of the FGSM examples of the embedded MNIST subset's 2000 test images, crafted on a LeNet-5
    (trained as in :func:`mat_readings`), at the MAT paper's ``strengths`` under three units of eps
    (the [0, 1] scale; MNIST's normalised units, ``eps * MNIST_STD`` on [0, 1]; the [-1, 1] scale,
    ``eps / 2``) and each SSIM definition of :data:`SSIM_READINGS` (on the first ``test_n`` test images;
    default all). Returns a DataFrame, one row per
    (unit, eps) with a column per SSIM definition (0..1)."""
    import pandas as pd

    from .data import load_mnist_subset
    from .mat import FGSMDirections
    from .models import LeNet5
    from .train import train_classifier

    x, y = _mnist_train(n_train, seed)
    test = load_mnist_subset("test")
    crafter = LeNet5(10)
    train_classifier(crafter, x, y, epochs=crafting_epochs, seed=seed, augment=False, batch_size=128, lr=2e-3,
                     progress=False)
    xt, yt = test.images[:test_n], test.labels[:test_n]
    dirs = FGSMDirections(crafter.eval(), xt, yt)
    units = {"[0, 1] scale": 1.0, "normalised (x 0.3081)": MNIST_STD, "[-1, 1] scale (x 0.5)": 0.5}
    rows = []
    for unit, factor in units.items():
        for eps in strengths:
            adv = dirs.at(float(eps) * factor)
            row = dict(unit=unit, eps=float(eps), pixel_eps=round(float(eps) * factor, 4))
            row.update({k: v / 100.0 for k, v in ssim_readings(xt, adv).items()})
            rows.append(row)
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------- the pages' summaries
def kanon_fit(study, paper):
    """How well each classifier reading of :func:`kanon_readings` (its page's-reading rows) fits the
    paper's MNIST column (``paper``: rows of ``data/paper/k_anonymity_table1.csv``, MSE in units of
    1e-3), under each SSIM definition. One row per (classifier, SSIM definition): ``MSE ratio`` (the
    geometric mean over the six methods of run / paper), ``MSE ratio, baselines`` (L-BFGS, DeepFool,
    C&W), ``SSIM |diff|`` (mean absolute difference to the paper, points), ``SSIM order`` (Spearman
    correlation of the six methods' SSIMs with the paper's; 1 is the paper's order)."""
    import pandas as pd
    from scipy.stats import spearmanr

    p = paper[paper.dataset == "MNIST"].set_index("method")
    page = study[study.reading == "page's reading"]
    rows = []
    for cname, g in page.groupby("classifier", sort=False):
        g = g.set_index("method").loc[p.index]
        ratio = g.MSE / p.MSE
        base = ratio.loc[["L-BFGS", "DeepFool", "C&W"]]
        for name in SSIM_READINGS:
            col = g[f"SSIM {name}"]
            rows.append({"classifier": cname, "SSIM definition": name,
                         "MSE ratio": float(np.exp(np.log(ratio).mean())),
                         "MSE ratio, baselines": float(np.exp(np.log(base).mean())),
                         "SSIM |diff|": float((col - p.SSIM).abs().mean()),
                         "SSIM order": float(spearmanr(col, p.SSIM).statistic)})
    return pd.DataFrame(rows)


def mat_summary(study):
    """One row per (architecture, victim, reading, unit) of :func:`mat_readings`: the mean accuracy over
    the strength range (Table 1's statistic), the clean accuracy, the best accuracy at a strength above
    0 and its excess over the clean one (label leaking's signature), and the accuracy at the largest
    strength."""
    import pandas as pd

    keys = ["architecture", "victim", "reading", "unit"]
    g = study.sort_values("eps").groupby(keys, sort=False)
    out = pd.DataFrame({"mean over the range": g.accuracy.mean(), "clean": g.accuracy.first(),
                        "best above eps 0": study[study.eps > 0].groupby(keys, sort=False).accuracy.max(),
                        "at eps 0.3": g.accuracy.last()})
    out["best minus clean"] = out["best above eps 0"] - out["clean"]
    return out


def mssim_fit(study, paper):
    """The MSSIMs of :func:`mat_mssim_readings` beside the paper's (``paper``: ``data/paper/mat_mssim.csv``,
    its MNIST rows), one row per (unit, SSIM definition) with a column per strength and the mean absolute
    difference to the paper (``|diff|``), best first."""
    import pandas as pd

    p = paper[paper.dataset == "MNIST"].set_index("eps").MSSIM
    rows = []
    for (unit, ), g in study.groupby(["unit"], sort=False):
        g = g.set_index("eps")
        for name in SSIM_READINGS:
            vals = {f"eps {e:g}": float(g.loc[e, name]) for e in g.index}
            diff = np.mean([abs(float(g.loc[e, name]) - float(p.loc[np.isclose(p.index, e)].iloc[0])) for e in g.index])
            rows.append({"unit": unit, "SSIM definition": name, **vals, "|diff|": float(diff)})
    return pd.DataFrame(rows).sort_values("|diff|").reset_index(drop=True)


def _write(df, out: Path, command: str, commit: str, t0: float) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    df.round(4).to_csv(tmp, index=False)
    tmp.replace(out)
    meta = dict(command=command, commit=commit, torch=torch.__version__, threads=torch.get_num_threads(),
                seconds=round(time.perf_counter() - t0))
    out.with_suffix(".json").write_text(json.dumps(meta, indent=1) + "\n")


def main(argv=None) -> None:
    from .runs import QUICK_THREADS, git_commit, set_cpu_threads

    ap = argparse.ArgumentParser(description="Candidate readings behind the K-anonymity and MAT pages' gaps to the "
                                             "papers' Table 1, on the embedded real-MNIST subset (stored studies).")
    ap.add_argument("study", choices=["kanon", "mat"])
    ap.add_argument("--n", type=int, default=100, help="kanon: attacked test images per classifier")
    ap.add_argument("--out-dir", type=Path, default=STUDIES)
    argv = sys.argv[1:] if argv is None else list(argv)
    args = ap.parse_args(argv)
    set_cpu_threads(QUICK_THREADS)
    commit = git_commit(Path(__file__).resolve().parents[1])
    command = " ".join(["python -m papers_core.readings", *argv])
    t0 = time.perf_counter()
    show = lambda row: print(row, flush=True)  # noqa: E731
    if args.study == "kanon":
        df = kanon_readings(args.n, progress=show)
        _write(df, args.out_dir / KANON_CSV.name, command, commit, t0)
    else:
        ms = mat_mssim_readings()
        _write(ms, args.out_dir / MAT_MSSIM_CSV.name, command, commit, t0)
        print(ms.round(3).to_string())
        df = mat_readings(progress=show)
        _write(df, args.out_dir / MAT_CSV.name, command, commit, t0)
    print(df.round(3).to_string())


if __name__ == "__main__":
    main()
