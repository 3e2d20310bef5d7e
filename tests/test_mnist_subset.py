"""The embedded MNIST subset: real MNIST, rebuilt from the original files, checked on every load."""
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from papers_core.data import load_mnist_subset
from papers_core.data import mnist_subset as S
from papers_core.data import load_mnist

KIT = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def test_subset_loads_with_its_sizes_and_all_ten_digits():
    train, test = load_mnist_subset("train"), load_mnist_subset("test")
    assert train.images.shape == (10_000, 1, 28, 28) and test.images.shape == (2_000, 1, 28, 28)
    assert train.images.dtype == torch.float32 and 0 <= float(train.images.min()) and float(train.images.max()) <= 1
    counts = torch.bincount(train.labels, minlength=10)
    assert counts.min() > 800 and counts.sum() == 10_000            # a random subset: every digit, roughly 1000 each
    with pytest.raises(ValueError, match="valid choices"):
        load_mnist_subset("val")


def test_a_corrupt_subset_is_refused(tmp_path, monkeypatch):
    with np.load(S.SUBSET_PATH) as z:
        arrays = {k: z[k].copy() for k in z.files}
    arrays["train_images"][0, 0, 0] ^= 1
    bad = tmp_path / "mnist_subset.npz"
    np.savez_compressed(bad, **arrays)
    monkeypatch.setattr(S, "SUBSET_PATH", bad)
    with pytest.raises(ValueError, match="corrupt.*train_images"):
        load_mnist_subset("train")
    monkeypatch.setattr(S, "SUBSET_PATH", tmp_path / "absent.npz")
    with pytest.raises(Exception, match="missing"):
        load_mnist_subset("test")


@pytest.mark.skipif(not (KIT / "MNIST" / "raw").is_dir(), reason="needs the original MNIST files")
def test_subset_is_rebuilt_from_the_original_files_and_matches_them(tmp_path):
    rebuilt = S.build_mnist_subset(KIT, tmp_path / "rebuilt.npz")
    with np.load(S.SUBSET_PATH) as z:
        for k in z.files:
            assert np.array_equal(z[k], rebuilt[k]), k
    full = load_mnist(KIT, "test")
    idx = torch.from_numpy(rebuilt["test_index"].astype(np.int64))
    sub = load_mnist_subset("test")
    assert torch.equal(sub.images, full.images[idx]) and torch.equal(sub.labels, full.labels[idx])
    # a file that is not the original is refused before anything is written
    raw = tmp_path / "copy" / "MNIST" / "raw"
    shutil.copytree(KIT / "MNIST" / "raw", raw)
    (raw / "t10k-labels-idx1-ubyte.gz").write_bytes(b"not mnist")
    with pytest.raises(ValueError, match="sha256"):
        S.build_mnist_subset(tmp_path / "copy", tmp_path / "never.npz")
    assert not (tmp_path / "never.npz").exists()


def test_colour_digits_is_the_subset_in_colour():
    """ColourDigits (the SVHN stand-in): 32x32 RGB, the subset's labels, deterministic, with a visible
    digit (foreground and background differ in luminance) and refusing a bad split."""
    from papers_core.data import colour_digits

    a = colour_digits("train", 64, seed=0)
    b = colour_digits("train", 64, seed=0)
    assert a.images.shape == (64, 3, 32, 32) and a.images.dtype == torch.float32
    assert torch.equal(a.images, b.images) and not torch.equal(a.images, colour_digits("train", 64, seed=1).images)
    assert torch.equal(a.labels, load_mnist_subset("train").labels[:64]) and a.num_classes == 10
    assert 0.0 <= float(a.images.min()) and float(a.images.max()) <= 1.0
    lum = (a.images * torch.tensor([0.299, 0.587, 0.114])[:, None, None]).sum(1)
    centre = lum[:, 8:24, 8:24].flatten(1)
    assert bool(((centre.max(1).values - centre.min(1).values) > 0.25).all())   # a digit in every image
    assert len(colour_digits("test").labels) == 2000
    with pytest.raises(ValueError, match="split"):
        colour_digits("val")
