"""The MAT page's readings studies: MNIST victims under FGSM test examples crafted four ways, and the
MSSIM of the FGSM examples under three units of eps and three SSIM definitions."""
from __future__ import annotations

import numpy as np

from .._validate import check_range
from .common import MNIST_STD, SSIM_READINGS, mnist_train, ssim_readings

__all__ = ["MAT_READINGS", "mat_readings", "mat_mssim_readings", "mat_summary", "mssim_fit"]

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

    from ..attacks import predict_proba
    from ..mat import FGSMDirections, accuracy_under_attack, mat_training_set
    from ..models import MLP, LeNet5
    from ..data import load_mnist_subset
    from ..profiles import settings
    from ..tasks.mat import strength_grid
    from ..train import train_classifier

    check_range(n_train, "n_train", lo=100, hi=10_000, integer=True)
    x, y = mnist_train(n_train, seed)
    test = load_mnist_subset("test")
    xt, yt = test.images[:test_n], test.labels[:test_n]
    page = settings("mat", "paper")          # the page's grid and recipe
    grid = strength_grid(page, 1.0)

    def fit(net, xs, ys, n_epochs):
        train_classifier(net, xs, ys, epochs=n_epochs, seed=seed, augment=False, batch_size=page.train_batch,
                         lr=page.train_lr, progress=False)
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

    from ..data import load_mnist_subset
    from ..mat import FGSMDirections
    from ..models import LeNet5
    from ..train import train_classifier

    x, y = mnist_train(n_train, seed)
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
