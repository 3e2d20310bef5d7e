"""A page's run: the profile check, CPU threads, seeding, the device, the repository root, provenance
and results (CSV tables, PNG figures written with it), batching (:func:`in_batches`, the one every
page uses), timing, and :func:`notebook_setup`, the opening of every page, which returns a
:class:`NotebookSetup`."""
from __future__ import annotations

import json
import os
import platform
import random
import subprocess
import sys
import time
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch

from ._validate import check_choice
from .cache import Cache
from .download import atomic_path
from .profiles import PROFILES

__all__ = [
    "PROFILES",
    "check_profile",
    "seed_everything",
    "pick_device",
    "full_float32",
    "repo_root",
    "Results",
    "provenance",
    "git_commit",
    "RESULT_INPUTS",
    "timer",
    "in_batches",
    "notebook_setup",
    "NotebookSetup",
    "QUICK_THREADS",
    "set_cpu_threads",
    "page_seed",
    "literal",
    "page_cache",
]


def check_profile(profile: str) -> str:
    """``profile`` if it is one of :data:`papers_core.profiles.PROFILES` (quick: 2-core CPU, no network,
    embedded data, small models, minutes per notebook; paper: the paper's data, models and
    hyper-parameters, for a GPU machine with the data), else a ValueError naming the choices."""
    return check_choice(profile, PROFILES, "profile")


#: The CPU threads the quick profile computes with (torch and the BLAS of NumPy and SciPy). Floating-point
#: sums split across threads round differently for each thread count, so a page's numbers depend on it:
#: one thread everywhere makes the published quick pages reproduce on any CPU, whatever its core count,
#: and lets CI run two pages at once on two cores. ``PAPERS_CORE_THREADS=N`` overrides it (faster on a
#: many-core machine, with numbers that no longer match the book's to the last digit).
QUICK_THREADS = 1


def set_cpu_threads(n: int) -> int:
    """Compute with ``n`` CPU threads from now on: torch's intra-op pool and the BLAS/OpenMP pools NumPy
    and SciPy use (threadpoolctl). Returns ``n``."""
    from threadpoolctl import threadpool_limits

    n = int(n)
    if n < 1:
        raise ValueError(f"the number of CPU threads must be at least 1, got {n}.")
    torch.set_num_threads(n)
    threadpool_limits(limits=n)
    return n


def literal(v: str):
    """A command-line value as papermill's ``-p`` reads it: a Python literal when it is one, else the string."""
    import ast

    try:
        return ast.literal_eval(v)
    except (ValueError, SyntaxError):
        return v


def page_seed(seed: int, k: int = 0) -> int:
    """The seed of a page's k-th random attack (each image draws from its own stream of it,
    :mod:`papers_core.rng`): ``seed * 1000 + k``, one stream family per attack."""
    return int(seed) * 1000 + int(k)


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch; return a CPU ``torch.Generator`` seeded with ``seed`` for the
    explicit draws the attacks take."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def full_float32() -> None:
    """Float32 convolutions and matrix products on CUDA computed in full float32, not TF32.

    PyTorch lets cuDNN run float32 convolutions as TF32 (10-bit mantissas) by default. An iterative
    sign attack amplifies that: measured on an H200 (``make gpu-check``), DI-FGSM on two small colour
    classifiers left 28 % of the pixels within 1e-3 of the CPU's image with TF32 and 100 % without;
    E-FGSM agreed either way. The pages' GPU runs should give the CPU's numbers, so
    :func:`pick_device` calls this when it picks CUDA (``tf32=True`` keeps PyTorch's default)."""
    cudnn, matmul = torch.backends.cudnn, torch.backends.cuda.matmul
    if hasattr(getattr(cudnn, "conv", None), "fp32_precision"):   # torch >= 2.9: the per-backend flags
        cudnn.conv.fp32_precision = cudnn.rnn.fp32_precision = "ieee"
        matmul.fp32_precision = "ieee"
    else:  # pragma: no cover (older torch)
        cudnn.allow_tf32 = matmul.allow_tf32 = False


def pick_device(preference: str = "auto", tf32: bool = False) -> torch.device:
    """'auto' picks CUDA when present, else the CPU; 'cpu' and 'cuda' force one. On CUDA, float32
    work runs in full float32 unless ``tf32`` (see :func:`full_float32`)."""
    check_choice(preference, ("auto", "cpu", "cuda"), "device")
    if preference == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' was asked for but torch sees no CUDA GPU; use 'auto' or 'cpu'.")
    if preference == "auto":
        preference = "cuda" if torch.cuda.is_available() else "cpu"
    if preference == "cuda" and not tf32:
        full_float32()
    return torch.device(preference)


def repo_root() -> Path:
    """The checkout this package lives in (where data/ and results/ go), or the working directory."""
    here = Path(__file__).resolve().parent.parent
    return here if (here / "pyproject.toml").exists() else Path.cwd()


#: What a run's numbers depend on: changes to these, and only these, make its commit "dirty".
#: (Documentation edits and the files that executing the notebooks rewrites do not.)
RESULT_INPUTS = ("papers_core", "notebooks/*.py", "data/paper", "pyproject.toml", "constraints.txt")


def git_commit(root: Path) -> str:
    """HEAD, with ``-dirty`` when a tracked file of :data:`RESULT_INPUTS` differs from it."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--",
                                *(f":(glob){g}" if "*" in g else g for g in RESULT_INPUTS)],
                               cwd=root, capture_output=True, text=True, timeout=10).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "") if out.returncode == 0 else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def provenance(**settings) -> dict:
    """Where a result came from: git commit, versions, machine, and the settings given."""
    versions = {}
    for pkg in ("torch", "torchvision", "numpy", "scikit-image", "scikit-learn", "pytorch-msssim", "pyrtools",
                "brisque", "papers_core"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    return {
        "git_commit": git_commit(repo_root()),
        "python": sys.version.split()[0],
        "packages": versions,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}",
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "settings": settings,
    }


class Results:
    """Writes a notebook's tables (CSV) and figures (PNG) to ``root``, each with a ``provenance.json``."""

    def __init__(self, root: str | Path, **settings):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.provenance = provenance(**settings)
        with atomic_path(self.root / "provenance.json") as tmp:
            tmp.write_text(json.dumps(self.provenance, indent=2, default=str))

    def table(self, df, name: str) -> Path:
        """Write ``df`` as ``<name>.csv``; returns the path."""
        with atomic_path(self.root / f"{name}.csv") as tmp:
            df.to_csv(tmp, index=True)
        return self.root / f"{name}.csv"

    def figure(self, fig, name: str, dpi: int = 120) -> Path:
        """Write ``fig`` as ``<name>.png``; returns the path."""
        with atomic_path(self.root / f"{name}.png") as tmp:
            fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format="png")
        return self.root / f"{name}.png"

    def show(self, fig, name: str, dpi: int = 120) -> Path:
        """Lay out ``fig``, write it as ``<name>.png`` and show it (the end of every figure cell)."""
        import matplotlib.pyplot as plt

        fig.tight_layout()
        path = self.figure(fig, name, dpi)
        plt.show()
        return path


def in_batches(fn, *tensors, batch_size: int, desc: str = "batches", with_index: bool = False):
    """Call ``fn`` on consecutive chunks of ``batch_size`` rows of ``tensors`` and concatenate what it
    returns (tensors, or :class:`papers_core.attacks.AttackResult` objects). ``with_index=True`` also
    passes ``index=``, the chunk's row positions (0 .. n - 1 over the whole call), which the attacks
    take to draw each image's random numbers from its own stream (:mod:`papers_core.rng`): a seeded
    run then gives the same numbers in any batch size."""
    from .attacks.result import AttackResult
    from .progress import progress

    if batch_size is None or batch_size < 1:
        raise ValueError(f"batch_size must be a positive whole number, got {batch_size!r}.")
    n = len(tensors[0])

    def call(i):
        chunk = (t[i:i + batch_size] for t in tensors)
        if with_index:
            return fn(*chunk, index=torch.arange(i, min(i + batch_size, n)))
        return fn(*chunk)

    parts = [call(i) for i in progress(range(0, n, batch_size), desc=desc)]
    return AttackResult.cat(parts) if isinstance(parts[0], AttackResult) else torch.cat(parts)


@contextmanager
def timer(store: dict, name: str):
    """Record the wall-clock seconds of a block in ``store[name]``."""
    t0 = time.perf_counter()
    try:
        yield
    finally:
        store[name] = time.perf_counter() - t0


def page_cache(root: Path | None = None, use_cache: bool = True) -> Cache:
    """The cache the pages share: ``data/cache/models`` (trained models and attack results), with the
    shipped stand-ins of ``data/models`` (written there too when ``PAPERS_CORE_SHIP_MODELS=1``)."""
    root = repo_root() if root is None else Path(root)
    return Cache(root / "data" / "cache" / "models", enabled=use_cache, shipped=root / "data" / "models",
                 ship=os.environ.get("PAPERS_CORE_SHIP_MODELS") == "1")


class NotebookSetup(NamedTuple):
    root: Path
    device: torch.device
    generator: torch.Generator
    cache: Cache
    results: Results
    timings: dict
    cfg: Any = None


def notebook_setup(paper: str, profile, seed: int = 0, device: str = "auto", use_cache: bool = True,
                   overrides: dict | None = None) -> NotebookSetup:
    """The opening of every paper notebook: check the profile, read the page's settings
    (:func:`papers_core.profiles.settings`, with ``overrides``: the notebook's ``globals()``, where
    papermill puts its parameters), pick the device, seed everything, open the model cache shared by
    the notebooks (``data/cache/models``, with the shipped stand-ins of ``data/models``), compute on
    :data:`QUICK_THREADS` CPU thread(s) in the quick profile, and open the paper's results folder (``results/<profile>/<paper>``,
    or under ``$PAPERS_CORE_RESULTS`` when set; its provenance records the settings); print the run's
    settings. Returns ``(root, device,
    generator, cache, results, timings, cfg)``, where ``timings`` is an empty dict for :func:`timer` and
    ``cfg`` the settings (None for a name that is not one of the papers). A page calls it as
    ``notebook_setup("<paper>", globals())``: ``profile``, ``seed``, ``device`` and ``use_cache`` (default
    "quick", 0, "auto", True) and any setting are then read from the notebook's parameters. Progress bars
    (:mod:`papers_core.progress`) are on in the paper profile and off in the quick one."""
    import pandas as pd

    from . import profiles
    from .progress import set_progress

    if isinstance(profile, dict):  # notebook_setup(paper, globals()): the run's own parameters
        overrides = profile
        profile, seed = overrides.get("profile", "quick"), overrides.get("seed", 0)
        device, use_cache = overrides.get("device", "auto"), overrides.get("use_cache", True)
    check_profile(profile)
    cfg = profiles.settings(paper, profile, overrides) if paper in profiles.PAPERS else None
    root = repo_root()
    dev = pick_device(device)
    if profile == "quick" or os.environ.get("PAPERS_CORE_THREADS"):   # the variable sets either profile's
        set_cpu_threads(os.environ.get("PAPERS_CORE_THREADS") or QUICK_THREADS)
    generator = seed_everything(seed)
    set_progress(profile == "paper")
    cache = page_cache(root, use_cache)
    extra = {} if cfg is None else {"settings": profiles.as_dict(cfg)}
    out = Path(os.environ.get("PAPERS_CORE_RESULTS") or root / "results")
    results = Results(out / profile / paper, profile=profile, seed=seed, device=str(dev), **extra)
    pd.set_option("display.width", 200)
    print(f"profile={profile}  device={dev}  seed={seed}")
    return NotebookSetup(root, dev, generator, cache, results, {}, cfg)
