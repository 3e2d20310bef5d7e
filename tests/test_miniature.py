"""The Places365 pages' paper-profile code path, on the CPU, on a miniature of the real layout: the real
lists' formats cut to a few images (quoted CSV rows, the private-class list's UTF-8 BOM), generated
256x256 JPEGs, and a random-weight ResNet-50 checkpoint saved the way the 2017 Places365 files are
(legacy serialization, a ``state_dict`` with ``module.`` prefixes, ``epoch``/``arch``/``best_prec1``
beside it). The pages run with papermill in the paper profile, their sizes cut by parameters; their
tables go to a results folder of the test's own (``PAPERS_CORE_RESULTS``), removed afterwards."""
import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from papers_core.reproduce import page_notebook

ROOT = Path(__file__).resolve().parents[1]
PRIVATE = list(range(0, 360, 6))[:60]


@pytest.fixture(scope="module")
def miniature(tmp_path_factory):
    from PIL import Image

    root = tmp_path_factory.mktemp("miniature")
    places = root / "places365"
    for sub in ("MEPP18labels", "MEPP19labels", "val_256"):
        (places / sub).mkdir(parents=True)
    (places / "categories_places365.txt").write_text("\n".join(f"/c/class{i:03d} {i}" for i in range(365)))
    (places / "MEPP18senscats.txt").write_text(
        "\ufeff" + "\n".join(f"/c/class{i:03d} {i} " for i in PRIVATE) + "\n", encoding="utf-8")
    rng = np.random.default_rng(0)

    def image(name):
        Image.fromarray(rng.integers(0, 256, (256, 256, 3), dtype=np.uint8)).save(places / "val_256" / name,
                                                                                  quality=90)

    labelled = [(f"Places365_val_{i + 1:08d}.jpg", PRIVATE[i // 2]) for i in range(6)]   # 3 classes x 2
    test19 = [f"Places365_val_{i:08d}.jpg" for i in range(101, 105)]
    for name, _ in labelled:
        image(name)
    for name in test19:
        image(name)
    with open(places / "MEPP18labels" / "MEPP18val.csv", "w", newline="") as f:
        csv.writer(f, quoting=csv.QUOTE_ALL).writerows(labelled)
    with open(places / "MEPP19labels" / "MEPP19test.csv", "w", newline="") as f:
        csv.writer(f, quoting=csv.QUOTE_ALL).writerows([n] for n in test19)
    with open(places / "MEPP19labels" / "MEPP19test_manual.csv", "w", newline="") as f:
        csv.writer(f, quoting=csv.QUOTE_ALL).writerows([(test19[0], PRIVATE[0])])
    test18 = [f"Places365_val_{i:08d}.jpg" for i in range(201, 205)]   # RP-FGSM's detector fit (unlabelled)
    for name in test18:
        image(name)
    with open(places / "MEPP18labels" / "MEPP18test.csv", "w", newline="") as f:
        csv.writer(f, quoting=csv.QUOTE_ALL).writerows([n] for n in test18)
    (root / "checkpoints").mkdir()
    return root


def _checkpoint(root, arch):
    """A random-weight ``arch`` saved the way the 2017 Places365 files are: legacy serialization, a
    ``state_dict`` with ``module.`` prefixes beside ``epoch``/``arch``/``best_prec1``, and for
    DenseNet-161 the old torchvision key names (``norm.1``, ``conv.2``, ...)."""
    import re

    import torchvision

    path = root / "checkpoints" / f"{arch}_places365.pth.tar"
    if not path.exists():
        torch.manual_seed(0)
        state = getattr(torchvision.models, arch)(weights=None, num_classes=365).state_dict()
        if arch == "densenet161":
            state = {re.sub(r"(norm|relu|conv)([12])\.", r"\1.\2.", k): v for k, v in state.items()}
            assert any(".norm.1." in k for k in state)
        torch.save({"epoch": 90, "arch": arch, "best_prec1": 54.7,
                    "state_dict": {"module." + k: v for k, v in state.items()}}, path,
                   _use_new_zipfile_serialization=False)
    return path


def test_the_scene_pages_paper_data_and_four_checkpoints_load_from_the_miniature(miniature):
    """RP-FGSM's and the comparison page's paper-profile inputs: the labelled MEPP18val list (quoted CSV,
    the private-class list's BOM), the unlabelled MEPP18test list for the detector, and the four 2017-style
    checkpoints, DenseNet-161's old key names included, loaded into the very weights that were saved."""
    import torchvision

    from papers_core.tasks import load_paper_scenes

    archs = ("resnet18", "resnet50", "alexnet", "densenet161")
    for arch in archs:
        _checkpoint(miniature, arch)
    scenes = load_paper_scenes(miniature / "places365", miniature / "checkpoints", archs, size=64, fit_images=3)
    assert scenes.test.images.shape == (6, 3, 64, 64) and scenes.test.labels.tolist() == [0, 0, 6, 6, 12, 12]
    assert scenes.test.private_classes == PRIVATE and len(scenes.test.class_names) == 365
    assert scenes.x_fit.shape == (3, 3, 64, 64) and not torch.equal(scenes.x_fit[0], scenes.test.images[0])
    torch.manual_seed(0)
    reference = torchvision.models.densenet161(weights=None, num_classes=365).state_dict()
    loaded = scenes.nets["densenet161"].model.state_dict()
    assert loaded.keys() == reference.keys() and all(torch.equal(loaded[k], reference[k]) for k in reference)
    with torch.no_grad():
        assert all(scenes.nets[a](scenes.test.images[:2]).shape == (2, 365) for a in archs)
    with pytest.raises(ValueError, match="at least 64 pixels"):
        load_paper_scenes(miniature / "places365", miniature / "checkpoints", archs, size=32)


@pytest.fixture
def results_dir(tmp_path):
    """A results folder of its own, inside the checkout (the pages print it relative to the checkout)
    under the ignored results/, removed afterwards: a user's own paper-profile results are never touched."""
    import shutil

    path = ROOT / "results" / ".tests" / tmp_path.name
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _run(paper, miniature, tmp_path, results_dir, monkeypatch, **params):
    import papermill

    _checkpoint(miniature, "resnet50")
    monkeypatch.setenv("PAPERS_CORE_RESULTS", str(results_dir))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    out = tmp_path / f"{paper}.ipynb"
    checkpoints = ({"checkpoints": str(miniature / "checkpoints")} if paper == "rp_fgsm" else
                   {"checkpoint": str(miniature / "checkpoints" / "resnet50_places365.pth.tar")})
    papermill.execute_notebook(str(page_notebook(paper, tmp_path / "in")), str(out), cwd=str(ROOT),
                               kernel_name="python3", progress_bar=False,
                               parameters=dict(profile="paper", device="cpu", data_root=str(miniature / "places365"),
                                               **checkpoints, **params))
    text = "\n".join("".join(o.get("text", [])) + "".join(o.get("data", {}).get("text/plain", []))
                     for c in json.loads(out.read_text())["cells"] if c["cell_type"] == "code"
                     for o in c.get("outputs", []))
    return results_dir / "paper" / paper, text


@pytest.mark.slow
def test_p_fgsm_paper_profile_runs_on_the_miniature(miniature, tmp_path, results_dir, monkeypatch):
    results, text = _run("p_fgsm", miniature, tmp_path, results_dir, monkeypatch, iterations=5, explore_n=4, batch_size=8,
                         image_size=64, official_iterations=5)
    assert "profile=paper" in text and "6 test images of 3 private classes; D = 365 classes" in text
    run = json.loads((results / "provenance.json").read_text())["settings"]
    assert run["profile"] == "paper" and run["settings"]["iterations"] == 5 and run["settings"]["image_size"] == 64
    claims = (results / "claims.csv").read_text()
    assert "paper" in claims and claims.count("\n") > 5


@pytest.mark.slow
def test_color_variance_paper_profile_runs_on_the_miniature(miniature, tmp_path, results_dir, monkeypatch):
    results, text = _run("color_variance", miniature, tmp_path, results_dir, monkeypatch, iterations=5, batch_size=4,
                         samples_dir=str(tmp_path / "no_samples"))
    assert "profile=paper" in text and "equals the manual label for" in text
    run = json.loads((results / "provenance.json").read_text())["settings"]
    assert run["profile"] == "paper" and run["settings"]["image_size"] == 256 and run["settings"]["iterations"] == 5
    assert (results / "table1.csv").is_file() and (results / "claims.csv").is_file()


@pytest.mark.long
def test_rp_fgsm_paper_profile_runs_on_the_miniature(miniature, tmp_path, results_dir, monkeypatch):
    """The four checkpoints (DenseNet-161 with its old key names), the MEPP18test list for the detector
    and the labelled MEPP18val list, at 64 pixels (AlexNet's smallest), with C&W, JSMA and SparseFool cut
    to a few steps, the ablations and the epsilon sweep to two images (34 min on one thread without these two
    cuts; most of it the ablations and the sweep)."""
    for arch in ("resnet18", "alexnet", "densenet161"):
        _checkpoint(miniature, arch)
    results, text = _run("rp_fgsm", miniature, tmp_path, results_dir, monkeypatch, image_size=64, batch_size=8,
                         detector_fit_images=4, cw_search_steps=1, cw_iterations=2, runtime_images=1,
                         jsma_gamma=0.005, sparsefool_iterations=1, ablation_images=2, sweep_images=2,
                         eot_lam_grid=[0.0, 0.5])
    assert "profile=paper" in text and "6 test images, 365 classes" in text
    assert "misleading rate (4 tuning images)" in text and "the paper's: 0.5" in text   # EOT's rule on MEPP18test
    run = json.loads((results / "provenance.json").read_text())["settings"]
    assert run["profile"] == "paper" and run["settings"]["image_size"] == 64
    table2 = (results / "table2.csv").read_text()
    assert all(r in table2 for r in ("ResNet18", "ResNet50", "AlexNet", "DenseNet161"))
    claims = (results / "claims.csv").read_text()
    assert "paper" in claims and claims.count("\n") > 5


@pytest.mark.slow
def test_k_anonymity_paper_profile_stores_yale_numbers_and_draws_no_face(tmp_path, results_dir, monkeypatch):
    """The Yale faces may not be redistributed: the K-anonymity page in the paper profile, on a miniature of
    their layout (SynthFaces' 15 generated identities x 11 conditions as 320x243 GIFs, not people), stores Yale's numbers
    and draws no Yale image (no Fig. 2 file, the explorer's panels without the face)."""
    import papermill
    from PIL import Image

    from papers_core import data as D
    from papers_core.data import YALE_CONDITIONS

    faces = tmp_path / "data" / "yalefaces"
    faces.mkdir(parents=True)
    gen = D.synth_faces(per_identity=len(YALE_CONDITIONS), size=64, seed=0)   # 15 generated identities
    for img, label, cond in zip(gen.images[:, 0], gen.labels, YALE_CONDITIONS * 15):
        face = Image.fromarray((img.numpy() * 255).astype(np.uint8)).resize((243, 243))
        page = Image.new("L", (320, 243), 128)
        page.paste(face, (38, 0))
        page.save(faces / f"subject{int(label) + 1:02d}.{cond}", format="GIF")
    monkeypatch.setenv("PAPERS_CORE_RESULTS", str(results_dir))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    out = tmp_path / "k_anonymity.ipynb"
    papermill.execute_notebook(str(page_notebook("k_anonymity", tmp_path / "in")), str(out), cwd=str(ROOT),
                               kernel_name="python3", progress_bar=False,
                               parameters=dict(profile="paper", device="cpu", data_root=str(tmp_path / "data"),
                                               datasets="yale", yale_size=16, yale_epochs=15, n_attack=6,
                                               cw_search_steps=2, cw_iterations=5, lbfgs_search_steps=3,
                                               lbfgs_iterations=20, adam_iterations=10, use_cache=False))
    results = results_dir / "paper" / "k_anonymity"
    table1 = (results / "table1.csv").read_text()
    assert "Yale" in table1 and "C&W" in table1
    assert not (results / "fig2_perturbations.png").exists()
    text = "\n".join("".join(o.get("text", [])) for c in json.loads(out.read_text())["cells"]
                     if c["cell_type"] == "code" for o in c.get("outputs", []))
    assert "Fig. 2 is not drawn at the paper profile" in text
