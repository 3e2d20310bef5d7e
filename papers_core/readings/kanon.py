"""The K-anonymity page's readings study: its six attacks on LeNet-5 classifiers trained several ways,
with the baselines' targets and C&W's learning rate read two ways, scored by MSE and four SSIMs."""
from __future__ import annotations

import time

import numpy as np
import torch

from .._validate import check_range
from ..models import ClassicLeNet5
from .common import SSIM_READINGS, mnist_train, ssim_readings

__all__ = ["KANON_CLASSIFIERS", "kanon_readings", "kanon_fit"]

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

    from .. import attacks as A
    from .. import metrics as M
    from ..models import LeNet5
    from ..train import train_classifier

    check_range(n, "n", lo=2, hi=2000, integer=True)
    names = list(classifiers or KANON_CLASSIFIERS)
    for c in names:
        if c not in KANON_CLASSIFIERS:
            raise ValueError(f"unknown classifier reading {c!r}; choose from {list(KANON_CLASSIFIERS)}.")
    from ..data import load_mnist_subset

    x_all, y_all = mnist_train(train_n, seed)
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
            return A.cw_l2(net, x, targets=t, binary_search_steps=cw_search_steps, iterations=cw_iterations, lr=lr)

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
