"""The papers' attacks on a CUDA device: each runs there (its images stay on the device) and agrees with
the same attack on the CPU. Skipped without a GPU; `make gpu-check` runs it on a machine with one.

``PAPERS_CORE_TEST_DEVICE=cpu`` runs the same checks with the CPU standing in for the device (a check of
these tests on a machine without a GPU: then both runs must agree exactly)."""
import os

import pytest
import torch

from papers_core import attacks as A
from papers_core.data import colour_digits, load_mnist_subset
from papers_core.defenses import paper_defenses
from papers_core.runs import full_float32
from papers_core.models import ConvPoolNet, LeNet5, freeze
from papers_core.train import train_classifier

DEVICE = os.environ.get("PAPERS_CORE_TEST_DEVICE") or ("cuda" if torch.cuda.is_available() else None)
pytestmark = pytest.mark.skipif(DEVICE is None, reason="needs a CUDA GPU (make gpu-check runs these)")
if DEVICE == "cuda":
    full_float32()   # as pick_device does for the pages: TF32 convolutions move DI-FGSM's pixels (its docstring)

N = 16


@pytest.fixture(scope="module")
def grey():
    """LeNet-5 trained for two epochs on the embedded MNIST test subset, N of its images, and its labels."""
    d = load_mnist_subset("test")
    net = freeze(train_classifier(LeNet5(10), d.images, d.labels, epochs=2, seed=0, augment=False), "cpu")
    x = d.images[:N]
    return net, x, A.predict_proba(net, x).argmax(1)   # labels: its own predictions (all correct)


@pytest.fixture(scope="module")
def colour():
    """Two small colour classifiers (ColourDigits, 32x32 RGB), for the colour and multi-model attacks."""
    d = colour_digits("test", n=400, seed=0)
    nets = [freeze(train_classifier(ConvPoolNet(3, 10, (8, 16, 32), batch_norm=True), d.images, d.labels,
                                    epochs=2, seed=s), "cpu") for s in (0, 1)]
    x = d.images[:N]
    return nets, x, A.predict_proba(nets[0], x).argmax(1)


def _both(fn, models, x, y):
    """The attack on the CPU and on DEVICE (the model moved there), as (cpu result, device result)."""
    import copy

    cpu = fn(models, x, y)
    dev = fn(freeze(copy.deepcopy(models), DEVICE), x.to(DEVICE), y.to(DEVICE))
    return cpu, dev


def _adv(r):
    return getattr(r, "adv", r)


def _check(cpu, dev, atol, agree):
    a, b = _adv(cpu), _adv(dev)
    assert b.device.type == torch.device(DEVICE).type, "the result left the device"
    assert a.shape == b.shape
    b = b.cpu()
    assert torch.isfinite(b).all() and b.min() >= 0 and b.max() <= 1
    if DEVICE == "cpu":  # the CPU standing in: the same computation, the same numbers
        assert torch.equal(a, b)
        return
    close = ((a - b).abs().flatten(1) <= atol).float().mean(1)    # share of pixels within atol, per image
    assert float((close > 0.95).float().mean()) >= agree, f"CPU and {DEVICE} disagree: {close.tolist()}"
    if hasattr(cpu, "success"):
        assert float((cpu.success == dev.success.cpu()).float().mean()) >= agree


GREY = {
    "FGSM": (lambda m, x, y: A.fgsm(m, x, y, step=8.0), 1e-3, 0.9),
    "BIM": (lambda m, x, y: A.bim(m, x, y), 1e-3, 0.8),
    "PGD": (lambda m, x, y: A.pgd(m, x, y, seed=0), 1e-3, 0.8),
    "DeepFool": (lambda m, x, y: A.deepfool(m, x, y), 1e-2, 0.8),
    "C&W": (lambda m, x, y: A.cw_l2(m, x, y, binary_search_steps=2, iterations=30), 1e-2, 0.8),
    "P-FGSM": (lambda m, x, y: A.p_fgsm(m, x, y, seed=0, iterations=10), 1e-3, 0.8),
    "JSMA": (lambda m, x, y: A.jsma(m, x, targets=(y + 1) % 10), 1e-3, 0.8),
    "K-anonymity": (lambda m, x, y: A.k_anonymity_attack(m, x, y, K=3, search_steps=2, iterations=10), 1e-2, 0.8),
}

COLOUR = {
    "colour variance": (lambda m, x, y: A.color_variance_attack(m[0], x, y, iterations=10), 1e-2, 0.8),
    # without the JPEG defense: kornia's JPEG rounds differently on the GPU (on an H200, 77 % of the
    # pixels agreed with the CPU's with the paper's 14 defenses, 100 % with none)
    "RP-FGSM": (lambda m, x, y: A.rp_fgsm(m, x, targets=None, seed=0, iterations=6,
                                          defenses=paper_defenses(("requantize", "median"))), 1e-3, 0.8),
    "E-FGSM": (lambda m, x, y: A.e_fgsm(m, x, y, targets=None, seed=0), 1e-3, 0.8),
    "DI-FGSM": (lambda m, x, y: A.di_fgsm(m, x, y, targets=None, seed=0), 1e-3, 0.8),
    "EOT": (lambda m, x, y: A.eot(m[0], x, seed=0), 1e-3, 0.8),
}


@pytest.mark.parametrize("name", list(GREY))
def test_attack_runs_on_the_device_and_agrees_with_the_cpu(grey, name):
    fn, atol, agree = GREY[name]
    _check(*_both(fn, *grey), atol, agree)


@pytest.mark.parametrize("name", list(COLOUR))
def test_colour_attack_runs_on_the_device_and_agrees_with_the_cpu(colour, name):
    fn, atol, agree = COLOUR[name]
    _check(*_both(fn, *colour), atol, agree)
