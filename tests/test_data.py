"""Datasets (papers_core.data): SynthScenes, the Places365 private subset (on files made here and on the
project's data kit when it is present), the embedded digits and SynthFaces, MNIST and Yale from a root."""
import gzip
import io
import shutil
import tarfile

import numpy as np
import pytest
import torch
from PIL import Image

from papers_core import data as D
from papers_core.data import DatasetNotFoundError, DownloadError, download_url
from papers_core.data import places365 as P
from papers_core.data import synth_scenes


def test_synth_scenes_is_deterministic_and_well_formed():
    a = synth_scenes("test", n_per_class=3)
    b = synth_scenes("test", n_per_class=3)
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    assert a.num_classes >= 20 and a.images.shape == (3 * a.num_classes, 3, 32, 32)
    assert a.images.min() >= 0 and a.images.max() <= 1
    assert torch.equal(torch.round(a.images * 255) / 255, a.images)  # 8-bit, like a decoded photo
    assert not torch.equal(synth_scenes("train", n_per_class=3).images, a.images)
    assert set(a.private_classes) < set(range(a.num_classes))
    sub = synth_scenes("test", n_per_class=2, classes=[1, 4])
    assert sub.labels.tolist() == [1, 1, 4, 4]


def test_synth_scenes_bad_arguments():
    with pytest.raises(ValueError, match="valid choices.*train"):
        synth_scenes("validation")
    with pytest.raises(ValueError, match="classes"):
        synth_scenes("test", classes=[99])


def _jpeg(seed: int) -> bytes:
    arr = np.random.default_rng(seed).integers(0, 256, (256, 256, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG")
    return buf.getvalue()


@pytest.fixture
def fake_root(tmp_path):
    """A miniature Places365 layout: 365 classes, 2 private classes, 4 labelled images."""
    root = tmp_path / "places365"
    (root / "MEPP18labels").mkdir(parents=True)
    (root / "categories_places365.txt").write_text("\n".join(f"/c/class{i} {i}" for i in range(365)))
    (root / "MEPP18senscats.txt").write_text("\ufeff/c/class3 3 \n/c/class7 7\n", encoding="utf-8")
    names = [f"Places365_val_{i:08d}.jpg" for i in (1, 2, 3, 4)]
    rows = [f'"{n}","{c}"' for n, c in zip(names, (3, 3, 7, 7))]
    (root / "MEPP18labels" / "MEPP18val.csv").write_text("\n".join(rows) + "\n")
    return root, names


def test_places365_lists_parse(fake_root):
    root, _ = fake_root
    assert P.read_categories(root)[7] == "/c/class7"
    assert P.read_private_classes(root) == [3, 7]
    assert [c for _, c in P.read_labelled_list(root)] == [3, 3, 7, 7]


def test_missing_images_say_where_and_how(fake_root):
    root, _ = fake_root
    with pytest.raises(DatasetNotFoundError, match="4 of 4 images.*val_256.*download_private_images"):
        P.load_private_subset(root)
    with pytest.raises(DatasetNotFoundError, match="looked for"):
        P.read_categories(root / "nowhere")


def test_download_streams_only_listed_images_and_resumes(fake_root, tmp_path):
    root, names = fake_root
    tar_path = tmp_path / "val_256.tar"
    with tarfile.open(tar_path, "w") as tar:
        for i, n in enumerate(names + ["Places365_val_00000099.jpg"]):
            data = _jpeg(i)
            info = tarfile.TarInfo(f"val_256/{n}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    out = P.download_private_images(root, url=tar_path.as_uri())
    assert sorted(p.name for p in out.iterdir()) == names  # the unlisted image is not kept
    (out / names[0]).unlink()
    P.download_private_images(root, url=tar_path.as_uri())  # resumes: fetches only what is missing
    data = P.load_private_subset(root, size=224)
    assert data.images.shape == (4, 3, 224, 224) and data.labels.tolist() == [3, 3, 7, 7]
    assert data.images.min() >= 0 and data.images.max() <= 1
    assert data.private_classes == [3, 7]


def test_download_failure_leaves_nothing(tmp_path):
    dest = tmp_path / "x" / "file.bin"
    src = tmp_path / "src.bin"
    src.write_bytes(b"hello")
    with pytest.raises(DownloadError, match="checksum mismatch"):
        download_url(src.as_uri(), dest, sha256="0" * 64)
    assert not dest.exists() and not list(dest.parent.glob("*"))
    with pytest.raises(DownloadError, match="could not download"):
        download_url((tmp_path / "absent").as_uri(), dest)
    assert download_url(src.as_uri(), dest).read_bytes() == b"hello"


def test_places365_kit_lists(shared_datasets, tmp_path):
    kit = shared_datasets / "places365"
    assert len(P.read_categories(kit)) == 365
    private = P.read_private_classes(kit)
    assert len(private) == 60 and len(set(private)) == 60
    items = P.read_labelled_list(kit)
    assert len(items) == 3000
    counts = np.bincount([c for _, c in items], minlength=365)
    assert set(np.flatnonzero(counts)) == set(private) and set(counts[private]) == {50}
    # the kit's sample photograph loads as the paper does: bilinear resize to 224x224
    img = P.load_image(kit / "samples" / "Places365_val_00000702.png")
    assert img.shape == (3, 224, 224)
    root = tmp_path / "p"
    shutil.copytree(kit, root)
    with pytest.raises(DatasetNotFoundError, match="3000 of 3000"):
        P.load_private_subset(root)


def test_corrupt_or_truncated_images_are_refused(tmp_path):
    good = tmp_path / "good.jpg"
    Image.fromarray(np.full((40, 40, 3), 120, np.uint8)).save(good, format="JPEG")
    assert P.load_image(good, 32).shape == (3, 32, 32)
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(good.read_bytes()[:100])
    not_an_image = tmp_path / "text.jpg"
    not_an_image.write_text("<html>404</html>")
    for bad in (truncated, not_an_image):
        with pytest.raises(DatasetNotFoundError, match="not a readable image.*fetch it again"):
            P.load_image(bad, 32)
    with pytest.raises(DatasetNotFoundError, match="image not found"):
        P.load_image(tmp_path / "absent.jpg")


def test_digits_and_synth_faces_are_embedded_and_deterministic():
    d = D.load_digits()
    assert d.images.shape == (1797, 1, 28, 28) and d.images.min() >= 0 and d.images.max() <= 1
    assert torch.bincount(d.labels).min() >= 170
    f1, f2 = D.synth_faces(per_identity=4, seed=0), D.synth_faces(per_identity=4, seed=0)
    assert torch.equal(f1.images, f2.images) and f1.images.shape == (60, 1, 48, 48)
    assert not torch.equal(f1.images, D.synth_faces(per_identity=4, seed=1).images)
    # identities differ more than two images of one identity (a learnable identity signal)
    m = f1.images.view(15, 4, -1)
    within = (m[:, 0] - m[:, 1]).norm(dim=1).mean()
    between = (m[0, 0] - m[1:, 0]).norm(dim=1).mean()
    assert between > within


def test_mnist_and_yale_from_the_data_kit(shared_datasets):
    mn = D.load_mnist(shared_datasets, "test")
    assert mn.images.shape == (10000, 1, 28, 28) and mn.labels[:5].tolist() == [7, 2, 1, 0, 4]
    yale = D.load_yale_faces(shared_datasets, size=32)
    assert yale.images.shape == (164, 1, 32, 32) and yale.num_classes == 15
    assert torch.bincount(yale.labels).tolist() == [10] + [11] * 14  # subject01.centerlight is missing


def test_missing_or_corrupt_real_data_says_how_to_get_it(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="torchvision.datasets.MNIST"):
        D.load_mnist(tmp_path)
    with pytest.raises(DatasetNotFoundError, match="torchvision.datasets.CIFAR10"):
        D.load_cifar10(tmp_path)
    with pytest.raises(DatasetNotFoundError, match="Yale"):
        D.load_yale_faces(tmp_path)
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    with gzip.open(raw / "t10k-images-idx3-ubyte.gz", "wb") as f:
        f.write(bytes([0, 0, 8, 3]) + (100).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2 + bytes(50))
    with pytest.raises(DatasetNotFoundError, match="truncated"):
        D.load_mnist(tmp_path, "test")
