"""The paper profile's fetch (papers_core.reproduce), without the network: the public lists and MNIST are
served from local file:// copies laid out like their public sources; a corrupt and an interrupted
download leave nothing behind, and a rerun resumes."""
import shutil
from pathlib import Path

import pytest

from papers_core import reproduce as R
from papers_core.download import DownloadError, sha256sum

KIT = Path(__file__).resolve().parents[2] / "shared" / "datasets"
needs_kit = pytest.mark.skipif(not (KIT / "places365" / "MEPP18labels").is_dir(),
                               reason="needs the project's data kit beside the checkout (../shared/datasets)")


def _mirror(tmp_path: Path, content: dict[str, bytes] | None = None) -> str:
    """A file:// tree laid out like raw.githubusercontent.com (repo/commit/path) holding every list: the
    kit's copies, or ``content`` by list name."""
    base = tmp_path / "mirror"
    for name, item in R.LISTS.items():
        dest = base / item.repo / item.commit / item.path
        dest.parent.mkdir(parents=True, exist_ok=True)
        if content is not None:
            dest.write_bytes(content.get(name, b"not the list\n"))
        else:
            shutil.copy(KIT / "places365" / item.path, dest)
    return base.as_uri()


@needs_kit
def test_fetch_lists_gets_every_list_checked_and_keeps_verified_files(tmp_path):
    base = _mirror(tmp_path)
    root = tmp_path / "data" / "places365"
    paths = R.fetch_lists(list(R.LISTS), root, base)
    assert [p.relative_to(root).as_posix() for p in paths] == [i.path for i in R.LISTS.values()]
    assert all(sha256sum(p) == i.sha256 for p, i in zip(paths, R.LISTS.values()))
    # a second fetch downloads nothing: it works with the mirror gone
    shutil.rmtree(tmp_path / "mirror")
    assert R.fetch_lists(list(R.LISTS), root, base) == paths
    # and the loaders read what was fetched
    from papers_core.data.places365 import read_categories, read_labelled_list, read_private_classes

    assert len(read_categories(root)) == 365 and len(read_private_classes(root)) == 60
    assert len(read_labelled_list(root, "MEPP18val")) == 3000


def test_a_corrupt_list_is_refused_and_nothing_is_written(tmp_path):
    base = _mirror(tmp_path, {})           # every file served is wrong
    root = tmp_path / "data" / "places365"
    with pytest.raises(DownloadError, match="checksum mismatch"):
        R.fetch_lists(["senscats"], root, base)
    assert not root.exists() or not any(p.is_file() for p in root.rglob("*"))


def test_a_wrong_file_already_there_is_replaced_by_a_verified_one(tmp_path, monkeypatch):
    import hashlib

    good, item = b"/a/airplane_cabin 1\n", R.LISTS["senscats"]
    monkeypatch.setitem(R.LISTS, "senscats", R.ListFile(item.path, item.repo, item.commit,
                                                         hashlib.sha256(good).hexdigest()))
    base = _mirror(tmp_path, {"senscats": good})
    root = tmp_path / "places365"
    (root / item.path).parent.mkdir(parents=True, exist_ok=True)
    (root / item.path).write_bytes(b"stale\n")
    R.fetch_lists(["senscats"], root, base)
    assert (root / item.path).read_bytes() == good


def test_an_interrupted_download_leaves_nothing_and_a_rerun_completes(tmp_path, monkeypatch):
    good = b"x" * 5000
    item = R.LISTS["senscats"]
    import hashlib

    monkeypatch.setitem(R.LISTS, "senscats", R.ListFile(item.path, item.repo, item.commit,
                                                         hashlib.sha256(good).hexdigest()))
    base = _mirror(tmp_path, {"senscats": good})
    root = tmp_path / "places365"
    import papers_core.download as dl

    real = dl.shutil.copyfileobj

    def cut(src, dst, length=0):
        dst.write(src.read(1000))
        raise ConnectionResetError("connection reset by peer")

    monkeypatch.setattr(dl.shutil, "copyfileobj", cut)
    with pytest.raises(DownloadError, match="could not download"):
        R.fetch_lists(["senscats"], root, base)
    assert [p for p in root.rglob("*") if p.is_file()] == []      # no partial file, no temporary file
    monkeypatch.setattr(dl.shutil, "copyfileobj", real)
    (path,) = R.fetch_lists(["senscats"], root, base)
    assert path.read_bytes() == good


@needs_kit
def test_fetch_gets_mnist_through_torchvision_from_a_mirror_and_the_loader_reads_it(tmp_path, monkeypatch):
    import torchvision.datasets as tvd

    from papers_core.data import load_mnist

    import functools
    import http.server
    import threading

    # torchvision's downloader reads a response's length, which file:// responses lack: a local HTTP server
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(KIT / "MNIST" / "raw"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setattr(tvd.MNIST, "mirrors", [f"http://127.0.0.1:{server.server_port}/"])
        monkeypatch.setitem(R.NEEDS, "k_anonymity", dict(datasets=("mnist",)))
        assert R.fetch("k_anonymity", tmp_path) == []
    finally:
        server.shutdown()
    test = load_mnist(tmp_path, "test")
    assert test.images.shape == (10000, 1, 28, 28) and int(test.labels.max()) == 9
    assert R.missing("k_anonymity", tmp_path, datasets="mnist") == []


def test_fetch_gets_only_the_datasets_the_run_asks_for(tmp_path, monkeypatch):
    got = []
    monkeypatch.setattr(R, "_torchvision_dataset", lambda name, root: got.append(name))
    R.fetch("mat", tmp_path, datasets="mnist, svhn")
    assert got == ["mnist", "svhn"]
    assert R.missing("mat", tmp_path, datasets="mnist") == [str(tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte.gz")]
    got.clear()
    R.fetch("mat", tmp_path)
    assert got == ["mnist", "cifar10", "cifar100", "svhn"]


def test_missing_names_what_the_paper_profile_lacks(tmp_path):
    gaps = R.missing("rp_fgsm", tmp_path)
    assert any("MEPP18test.csv" in g for g in gaps)
    assert sum("_places365.pth.tar" in g for g in gaps) == 4
    gaps = R.missing("k_anonymity", tmp_path)
    assert any("yalefaces" in g and "-p datasets mnist,cifar10" in g for g in gaps)
    assert not any("yalefaces" in g for g in R.missing("k_anonymity", tmp_path, datasets="mnist,cifar10"))
    with pytest.raises(ValueError, match="paper"):
        R.missing("not_a_paper", tmp_path)


def test_data_parameters_point_each_page_at_the_fetched_layout(tmp_path):
    assert R.data_parameters("mat", tmp_path) == {"data_root": str(tmp_path)}
    rp = R.data_parameters("rp_fgsm", tmp_path)
    assert rp == {"data_root": str(tmp_path / "places365"), "checkpoints": str(tmp_path / "checkpoints")}
    from papers_core import profiles

    for paper in R.PAPERS:   # every parameter is a setting of the page's profile
        fields = profiles.as_dict(profiles.settings(paper, "paper"))
        assert set(R.data_parameters(paper, tmp_path)) <= set(fields)


def test_the_command_line_refuses_an_unknown_paper(capsys):
    with pytest.raises(SystemExit):
        R.main(["not_a_paper"])
    assert "invalid choice" in capsys.readouterr().err


def test_a_page_is_run_from_its_py_source_converted_afresh(tmp_path):
    import jupytext

    path = R.page_notebook("mat", tmp_path / "in")
    nb = jupytext.read(path)
    src = jupytext.read(R.repo_root() / "notebooks" / "mat.py")
    assert [c.source for c in nb.cells] == [c.source for c in src.cells]
    assert not any(c.get("outputs") for c in nb.cells if c.cell_type == "code")
    with pytest.raises(ValueError, match="paper"):
        R.page_notebook("no_such_page", tmp_path)
