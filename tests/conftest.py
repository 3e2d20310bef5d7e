from pathlib import Path

import pytest
import torch

from papers_core import data as D
from papers_core.data import synth_scenes
from papers_core.models import LeNet5, SmallCNN
from papers_core.train import train_classifier

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    if not SHARED.exists():
        pytest.skip(f"the project's data kit is not at {SHARED} (it sits beside the checkout as shared/datasets)")
    return SHARED


@pytest.fixture(scope="session")
def scenes():
    """A small, easier SynthScenes split (30 classes, 40 training images each) so that a model trained
    for seconds is confident enough to attack like the notebooks do."""
    torch.set_num_threads(2)
    return (synth_scenes("train", n_per_class=40, difficulty=0.7),
            synth_scenes("test", n_per_class=4, difficulty=0.7))


@pytest.fixture(scope="session")
def model(scenes):
    """A SmallCNN trained for a few seconds: good enough to attack, deterministic."""
    train, _ = scenes
    net = SmallCNN(train.num_classes, width=16)
    return train_classifier(net, train.images, train.labels, epochs=8, batch_size=32, seed=0)


@pytest.fixture(scope="session")
def batch(scenes):
    _, test = scenes
    return test.images[:24], test.labels[:24]


class CountingModel(torch.nn.Module):
    """Wraps a model and counts its forward calls (to check what an attack does before calling it)."""

    def __init__(self, net):
        super().__init__()
        self.net, self.calls = net, 0

    def forward(self, x):
        self.calls += 1
        return self.net(x)


@pytest.fixture
def counting():
    """``counting(model)``: the model wrapped in a :class:`CountingModel`, in eval mode."""
    return lambda net: CountingModel(net).eval()


# ------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def lenet():
    """LeNet-5 trained for a few seconds on scikit-learn's digits (28x28), and 48 correctly classified
    training samples."""
    torch.set_num_threads(2)
    d = D.load_digits()
    net = train_classifier(LeNet5(), d.images, d.labels, epochs=10, augment=False, seed=0)
    for p in net.parameters():
        p.requires_grad_(False)
    with torch.no_grad():
        ok = net(d.images).argmax(1) == d.labels
    idx = torch.nonzero(ok).squeeze(1)[:48]
    return net, d.images[idx], d.labels[idx]
