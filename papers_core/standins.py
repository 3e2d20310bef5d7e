"""Build the quick profile's stand-ins: train (or load) every shipped model the pages use (the zoo's,
:mod:`papers_core.zoo`, and the MAT crafting models and scene twins of :mod:`papers_core.tasks.mat`)
and write the repository's store of shipped models, ``data/models`` (``make standins``)::

    python -m papers_core.standins [--only scenes|kanon|mat] [--clean]

Needed after a change to the training code (:data:`papers_core.cache.TRAINING_CODE`) or a stand-in's
settings; ``tests/test_standins.py`` says when.
"""
from __future__ import annotations

from ._validate import check_choice
from .cache import Cache
from .profiles import settings
from .runs import QUICK_THREADS, repo_root, set_cpu_threads
from .tasks import mat_crafting, mat_data, scene_mat_twins
from .zoo import kanon_classifier, quick_rp_classifiers

__all__ = ["STANDIN_GROUPS", "build_standins"]

STANDIN_GROUPS = ("scenes", "kanon", "mat")


def build_standins(cache, seed: int = 0, groups=STANDIN_GROUPS) -> list[str]:
    """Train (or load) every quick-profile stand-in the pages use, through ``cache``: ``groups`` "scenes"
    (SmallCNN and the RP-FGSM classifiers, on SynthScenes), "kanon" (the K-anonymity page's three) and
    "mat" (the MAT page's crafting models and the comparison page's MAT-trained scene classifiers; it
    trains "scenes" first if needed).
    Returns their file names. With a cache whose ``ship`` is on, this writes the shipped store."""

    for g in groups:
        check_choice(g, STANDIN_GROUPS, "stand-in group")
    if "scenes" in groups:
        quick_rp_classifiers(cache, seed=seed)
    if "kanon" in groups:
        cfg = settings("k_anonymity", "quick")
        for name in ("mnist", "cifar10", "yale"):
            kanon_classifier(name, cfg, cache, seed=seed)
    if "mat" in groups:
        cfg = settings("mat", "quick")
        for name in cfg.all_datasets:
            mat_crafting(name, mat_data(name, cfg, "quick", seed=seed)[0], cfg, cache, seed=seed)
        scene_mat_twins(settings("compare", "quick"), cache, seed=seed)
    return [p.name for p in cache.requested]


def _main(argv=None) -> int:
    import argparse
    import os
    ap = argparse.ArgumentParser(prog="python -m papers_core.standins",
                                 description="Train the quick profile's stand-in classifiers and write them to "
                                             "the repository's store of shipped models (data/models).")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--clean", action="store_true", help="remove the store's entries the pages no longer ask for "
                                                         "(only with every group)")
    ap.add_argument("--only", choices=STANDIN_GROUPS, help="build one group (two runs can share the cores)")
    args = ap.parse_args(argv)
    if args.clean and args.only:
        ap.error("--clean needs every group: it removes what the run did not ask for.")
    set_cpu_threads(os.environ.get("PAPERS_CORE_THREADS") or QUICK_THREADS)   # as the quick pages train
    root = repo_root()
    store = root / "data" / "models"
    cache = Cache(root / "data" / "cache" / "models", shipped=store, ship=True)
    build_standins(cache, seed=args.seed, groups=(args.only,) if args.only else STANDIN_GROUPS)
    if args.clean:
        for p in sorted(set(store.glob("*.pt")) - set(cache.requested)):
            p.unlink()
            print("removed", p.relative_to(root))
    for p in sorted(store.glob("*.pt")):
        print(f"{p.relative_to(root)}  {p.stat().st_size / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
