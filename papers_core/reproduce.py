"""One command per paper: fetch what is public, then run the paper's notebook in the paper profile.

    python -m papers_core.reproduce k_anonymity --device cuda        # or: make reproduce PAPER=k_anonymity
    python -m papers_core.reproduce rp_fgsm --fetch-only             # only fetch (and say what is missing)

What is fetched, into ``data/`` (the data root the paper profile reads by default):

* MNIST, CIFAR-10, CIFAR-100 and SVHN, through torchvision's downloads (checked by torchvision's md5s);
* the Places365 class list and the MediaEval 2018/2019 Pixel Privacy lists, from their public
  repositories pinned to a commit and checked by sha256 (:data:`LISTS`);
* the Places365 validation images the lists name, streamed out of Places365's ``val_256.tar`` (2.1 GB;
  :func:`papers_core.data.places365.download_private_images`), and the Places365 checkpoints
  (:func:`papers_core.models.download_places365_checkpoint`).

Every file is written atomically (a temporary file renamed into place), and what is already there and
verified is kept, so an interrupted fetch resumes. What cannot be fetched (the Yale faces, which their
distributors give out on request; NIMA weights, which the colour-variance paper does not publish) is
named with how to get it. The notebook then runs with papermill into ``results/paper/<paper>/``.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from ._validate import check_choice
from .download import DownloadError, download_url, sha256sum
from .runs import literal, repo_root

__all__ = ["PAPERS", "LISTS", "NEEDS", "ListFile", "fetch", "fetch_lists", "missing", "data_parameters", "run", "main", "page_notebook"]

PAPERS = ("p_fgsm", "rp_fgsm", "color_variance", "k_anonymity", "mat", "compare")

#: Where the public raw files are served from; tests point it at a local ``file://`` copy.
GITHUB_RAW = "https://raw.githubusercontent.com"


@dataclass(frozen=True)
class ListFile:
    """One small public list: its path under ``data/places365``, its repository, commit and sha256."""

    path: str
    repo: str
    commit: str
    sha256: str

    def url(self, base: str = GITHUB_RAW) -> str:
        return f"{base.rstrip('/')}/{self.repo}/{self.commit}/{self.path}"


_PLACES = ("CSAILVision/places365", "06218620d593de09ac4f9f39b72ea0d175990a24")
_MEPP18 = ("multimediaeval/2018-Pixel-Privacy-Task", "f1ad2b3aa88546800dccf278a71442cc26039971")
_MEPP19 = ("multimediaeval/2019-Pixel-Privacy-Task", "e1af8b9bea164706de48cf1d1724f512d94eec27")

#: The Places365 class list (MIT licence) and the MediaEval lists (no licence stated; public in the
#: task's repositories): fetched, not shipped.
LISTS = {
    "categories": ListFile("categories_places365.txt", *_PLACES,
                           "2affba635eb657e7ca95f4e6cc69bd9fac29ef4c32aeb83cafdfcd06ec6a1ea6"),
    "senscats": ListFile("MEPP18senscats.txt", *_MEPP18,
                         "03c500f8adbc57e2aac6e6c3faa4ae5675daeda13f3167f999ccfde4b4b84afa"),
    "MEPP18val": ListFile("MEPP18labels/MEPP18val.csv", *_MEPP18,
                          "226ff261d208f2b264ca0ea2218627f085678570f540fbbb239b763df71c6637"),
    "MEPP18test": ListFile("MEPP18labels/MEPP18test.csv", *_MEPP18,
                           "3e09ef3323e8ef5f5d93664e30100c7ead19877de1a4e0e90077a378a9afe027"),
    "MEPP19test": ListFile("MEPP19labels/MEPP19test.csv", *_MEPP19,
                           "e3a883a57c5c2a42c134181a9c8206b419e739f496df590aca8083eb37ba401a"),
    "MEPP19test_manual": ListFile("MEPP19labels/MEPP19test_manual.csv", *_MEPP19,
                                  "0b24a7e0d66207c19d28830058aa0fd17bd2b52d5c71c1d9a5c51cc24df33467"),
}

#: paper -> what its paper profile reads: torchvision datasets, Places365 lists, the lists whose images
#: are needed, Places365 checkpoints, and what cannot be fetched.
NEEDS = {
    "p_fgsm": dict(lists=("categories", "senscats", "MEPP18val"), images=("MEPP18val",), checkpoints=("resnet50",)),
    "rp_fgsm": dict(lists=("categories", "senscats", "MEPP18val", "MEPP18test"), images=("MEPP18val", "MEPP18test"),
                    checkpoints=("resnet18", "resnet50", "alexnet", "densenet161")),
    "color_variance": dict(lists=("categories", "senscats", "MEPP18val", "MEPP19test", "MEPP19test_manual"),
                           images=("MEPP18val", "MEPP19test"),
                           checkpoints=("resnet50",),
                           manual=("NIMA weights (optional: the paper publishes none; without them the page skips "
                                   "NIMA): pass a NIMA state dict with -p nima_checkpoint PATH",)),
    "k_anonymity": dict(datasets=("mnist", "cifar10"),
                        manual=("the Yale faces: the UCSD/Yale Face Database, given out on request by its "
                                "distributors (it may not be redistributed); unpack its 165 files into "
                                "data/yalefaces/. Without them, run the other datasets with "
                                "-p datasets mnist,cifar10",)),
    "mat": dict(datasets=("mnist", "cifar10", "cifar100", "svhn")),
    "compare": dict(lists=("categories", "senscats", "MEPP18val", "MEPP18test"), images=("MEPP18val", "MEPP18test"),
                    checkpoints=("resnet50", "densenet161")),
}


def _say(msg: str) -> None:
    print(msg, flush=True)


def _data_root(data_root) -> Path:
    """The data root given, or the project's ``data/``."""
    return Path(data_root) if data_root is not None else repo_root() / "data"


def _wanted(datasets) -> set | None:
    """The datasets a ``-p datasets`` value names (None for "all")."""
    return None if datasets == "all" else {d.strip() for d in str(datasets).split(",") if d.strip()}


def fetch_lists(names, root: str | Path, base: str = GITHUB_RAW) -> list[Path]:
    """Fetch the named :data:`LISTS` into ``root`` (``data/places365``), each checked by sha256. A file
    already there with the right sha256 is kept; one with another is replaced."""
    out = []
    for name in names:
        item = LISTS[name]
        dest = Path(root) / item.path
        if dest.is_file() and sha256sum(dest) == item.sha256:
            _say(f"  have {dest}")
        else:
            _say(f"  fetch {item.url(base)}")
            download_url(item.url(base), dest, sha256=item.sha256)
        out.append(dest)
    return out


def _torchvision_dataset(name: str, root: Path) -> None:
    import torchvision.datasets as tvd

    _say(f"  {name}: torchvision download into {root} (skipped where already there and verified)")
    if name == "mnist":  # one download holds both splits (as for the CIFARs)
        tvd.MNIST(str(root), train=True, download=True)
    elif name == "cifar10":
        tvd.CIFAR10(str(root), train=True, download=True)
    elif name == "cifar100":
        tvd.CIFAR100(str(root), train=True, download=True)
    elif name == "svhn":
        for split in ("train", "test"):
            tvd.SVHN(str(root), split=split, download=True)


def fetch(paper: str, data_root: str | Path | None = None, base: str = GITHUB_RAW, images_url: str | None = None,
          checkpoint_urls: dict | None = None, datasets: str = "all") -> list[str]:
    """Fetch everything public that ``paper``'s paper profile reads into ``data_root`` (default: the
    project's ``data/``). Returns what could not be fetched, as lines saying how to get it.
    ``base``, ``images_url`` and ``checkpoint_urls`` replace the public addresses (tests use local copies).
    ``datasets``: the K-anonymity and MAT pages' parameter of that name; only those datasets are fetched."""
    check_choice(paper, PAPERS, "paper")
    root = _data_root(data_root)
    needs = NEEDS[paper]
    _say(f"fetching what {paper}'s paper profile reads into {root}")
    wanted = _wanted(datasets)
    for name in needs.get("datasets", ()):
        if wanted is not None and name not in wanted:
            continue
        try:
            _torchvision_dataset(name, root)
        except RuntimeError as e:  # torchvision: every mirror failed, or an md5 did not match
            raise DownloadError(f"{name} could not be downloaded into {root}: {e}") from e
    places = root / "places365"
    fetch_lists(needs.get("lists", ()), places, base)
    if needs.get("images"):
        from .data.places365 import VAL_256_URL, download_private_images

        for split in needs["images"]:
            _say(f"  Places365 images listed in {split} (streamed out of val_256.tar, 2.1 GB)")
            download_private_images(places, split, url=images_url or VAL_256_URL)
    if needs.get("checkpoints"):
        from .models import download_places365_checkpoint

        for arch in needs["checkpoints"]:
            _say(f"  checkpoint {arch}_places365.pth.tar")
            download_places365_checkpoint(arch, root / "checkpoints", url=(checkpoint_urls or {}).get(arch))
    manual = list(needs.get("manual", ()))
    for line in manual:
        _say(f"  not fetched: {line}")
    return manual


def data_parameters(paper: str, data_root: str | Path) -> dict:
    """The notebook parameters that point ``paper``'s paper profile at ``data_root`` (laid out as
    :func:`fetch` leaves it)."""
    root = Path(data_root)
    if paper in ("k_anonymity", "mat"):
        return {"data_root": str(root)}
    out = {"data_root": str(root / "places365")}
    if paper in ("rp_fgsm", "compare"):
        out["checkpoints"] = str(root / "checkpoints")
    else:
        out["checkpoint"] = str(root / "checkpoints" / "resnet50_places365.pth.tar")
    return out


def missing(paper: str, data_root: str | Path | None = None, datasets: str = "all") -> list[str]:
    """The files ``paper``'s paper profile needs that are not under ``data_root`` (empty when all are
    there; the Places365 images are checked by the page itself, which names any it lacks). ``datasets``:
    the K-anonymity page's parameter of that name (the Yale faces are needed unless it leaves them out)."""
    check_choice(paper, PAPERS, "paper")
    root = _data_root(data_root)
    needs, out = NEEDS[paper], []
    yale = paper == "k_anonymity" and (datasets == "all" or "yale" in datasets)
    if yale and not any((root / "yalefaces").glob("subject*")):
        out.append(f"{root / 'yalefaces'} (the Yale faces; or pass -p datasets mnist,cifar10)")
    expect = {"mnist": root / "MNIST" / "raw" / "train-images-idx3-ubyte.gz",
              "cifar10": root / "cifar-10-batches-py" / "data_batch_1",
              "cifar100": root / "cifar-100-python" / "train",
              "svhn": root / "train_32x32.mat"}
    wanted = _wanted(datasets)
    out += [str(expect[d]) for d in needs.get("datasets", ())
            if (wanted is None or d in wanted) and not expect[d].exists()]
    out += [str(root / "places365" / LISTS[n].path) for n in needs.get("lists", ())
            if not (root / "places365" / LISTS[n].path).is_file()]
    out += [str(root / "checkpoints" / f"{a}_places365.pth.tar") for a in needs.get("checkpoints", ())
            if not (root / "checkpoints" / f"{a}_places365.pth.tar").is_file()]
    return out


def page_notebook(paper: str, folder: str | Path) -> Path:
    """The page ``notebooks/<paper>.py`` (the one source) converted with jupytext to
    ``folder/<paper>.ipynb``, inputs only, for papermill; never a stale copy."""
    import jupytext

    check_choice(paper, PAPERS, "paper")
    py = repo_root() / "notebooks" / f"{paper}.py"
    if not py.is_file():
        raise FileNotFoundError(f"{py} not found: run from a clone of the project, where notebooks/ holds the pages.")
    path = Path(folder) / f"{paper}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    jupytext.write(jupytext.read(py), path)
    return path


def run(paper: str, device: str = "auto", data_root: str | Path | None = None, parameters: dict | None = None,
        output: str | Path | None = None) -> Path:
    """Run the page ``notebooks/<paper>.py`` (converted afresh by :func:`page_notebook`) in the paper
    profile with papermill; the executed notebook goes to ``output`` (default
    ``results/paper/<paper>/<paper>.ipynb``), its tables and figures to ``results/paper/<paper>/``."""
    import papermill

    check_choice(paper, PAPERS, "paper")
    check_choice(device, ("auto", "cpu", "cuda"), "device")
    import tempfile

    root = repo_root()
    params = dict(profile="paper", device=device)
    if data_root is not None:
        params.update(data_parameters(paper, data_root))
    params.update(parameters or {})
    out = Path(output) if output is not None else root / "results" / "paper" / paper / f"{paper}.ipynb"
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        source = page_notebook(paper, tmp)
        _say(f"running notebooks/{paper}.py in the paper profile ({params}) -> {out}")
        papermill.execute_notebook(str(source), str(out), parameters=params, cwd=str(root), kernel_name="python3")
    if output is None:   # the run's wall time, beside its provenance (shown with the stored results)
        from .stored import record_wall_time

        _say(f"wall time {record_wall_time(out, out.parent):.0f} s")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m papers_core.reproduce", description=__doc__.split("\n")[0])
    ap.add_argument("paper", choices=PAPERS)
    ap.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    ap.add_argument("--data", default=None, help="data root (default: the project's data/)")
    ap.add_argument("--fetch-only", action="store_true", help="fetch, then stop")
    ap.add_argument("-p", nargs=2, action="append", metavar=("NAME", "VALUE"), default=[],
                    help="a notebook parameter, as papermill's -p (values are read as Python literals when they can be)")
    args = ap.parse_args(argv)
    datasets = dict(args.p).get("datasets", "all")
    try:
        manual = fetch(args.paper, args.data, datasets=datasets)
    except (DownloadError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.fetch_only:
        return 0
    params = {k: literal(v) for k, v in args.p}
    gaps = missing(args.paper, args.data, str(params.get("datasets", "all")))
    if gaps:
        print("error: still missing after the fetch: " + ", ".join(gaps), file=sys.stderr)
        return 2
    if manual:
        print("note: " + "; ".join(manual))
    run(args.paper, args.device, args.data, params)
    return 0


if __name__ == "__main__":
    sys.exit(main())
