"""papers_core against torchattacks, ART and foolbox where the attacks are defined identically: FGSM,
and BIM / PGD without random start. The peers are test-only dependencies (``make env`` installs them).

The images agree to within 1e-6: every library adds ``alpha * sign(grad)`` in float32 and clips to the
same box; differences are float rounding in the projection (ART projects ``x_adv - x`` and adds ``x``
back) and, at most, a gradient component that is exactly zero in one library's reduction (mean versus
sum of the loss) and not in another's. Nothing rounds to the 8-bit grid here (``quantize="none"``)."""
import numpy as np
import pytest
import torch

from papers_core.attacks import bim, fgsm, jsma, pgd
from papers_core.models import LeNet5

EPS, STEP, ITERS = 8.0, 2.0, 10
TOL = 1e-6


@pytest.fixture(scope="module")
def lenet():
    torch.manual_seed(0)
    net = LeNet5().eval()
    for p in net.parameters():
        p.requires_grad_(False)
    x = torch.rand(16, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        y = net(x).argmax(1)
    return net, x, y


def _ours(attack, net, x, y):
    if attack == "FGSM":
        return fgsm(net, x, y, step=EPS, quantize="none").adv
    if attack == "BIM":
        return bim(net, x, y, eps=EPS, step=STEP, iterations=ITERS).adv
    return pgd(net, x, y, eps=EPS, step=STEP, iterations=ITERS, random_start=False).adv


@pytest.fixture(scope="module")
def trained(model, batch):
    x, _ = batch
    with torch.no_grad():
        y = model(x).argmax(1)
    return model, x, y


ATTACKS = ("FGSM", "BIM", "PGD")


@pytest.mark.parametrize("which", ["lenet", "trained"])
@pytest.mark.parametrize("attack", ATTACKS)
def test_torchattacks_agrees(attack, which, request):
    ta = pytest.importorskip("torchattacks", reason="peer library (test-only dependency; make env)")
    net, x, y = request.getfixturevalue(which)
    e, a = EPS / 255, STEP / 255
    atk = {"FGSM": lambda: ta.FGSM(net, eps=e), "BIM": lambda: ta.BIM(net, eps=e, alpha=a, steps=ITERS),
           "PGD": lambda: ta.PGD(net, eps=e, alpha=a, steps=ITERS, random_start=False)}[attack]()
    assert (atk(x, y) - _ours(attack, net, x, y)).abs().max() <= TOL


@pytest.mark.parametrize("which", ["lenet", "trained"])
@pytest.mark.parametrize("attack", ATTACKS)
def test_art_agrees(attack, which, request):
    pytest.importorskip("art", reason="peer library (test-only dependency; make env)")
    from art.attacks import evasion as ev
    from art.estimators.classification import PyTorchClassifier
    net, x, y = request.getfixturevalue(which)
    with torch.no_grad():
        classes = net(x[:1]).shape[1]
    clf = PyTorchClassifier(model=net, loss=torch.nn.CrossEntropyLoss(), input_shape=tuple(x.shape[1:]),
                            nb_classes=classes, clip_values=(0.0, 1.0), device_type="cpu")
    e, a = EPS / 255, STEP / 255
    atk = {"FGSM": lambda: ev.FastGradientMethod(clf, norm=np.inf, eps=e, batch_size=len(x)),
           "BIM": lambda: ev.BasicIterativeMethod(clf, eps=e, eps_step=a, max_iter=ITERS, batch_size=len(x),
                                                  verbose=False),
           "PGD": lambda: ev.ProjectedGradientDescent(clf, norm=np.inf, eps=e, eps_step=a, max_iter=ITERS,
                                                      num_random_init=0, batch_size=len(x), verbose=False)}[attack]()
    theirs = torch.from_numpy(atk.generate(x.numpy(), y=y.numpy()))
    assert (theirs - _ours(attack, net, x, y)).abs().max() <= TOL


@pytest.mark.parametrize("which", ["lenet", "trained"])
@pytest.mark.parametrize("attack", ATTACKS)
def test_foolbox_agrees(attack, which, request):
    fb = pytest.importorskip("foolbox", reason="peer library (test-only dependency; make env)")
    net, x, y = request.getfixturevalue(which)
    e, a = EPS / 255, STEP / 255
    atk = {"FGSM": lambda: fb.attacks.FGSM(random_start=False),
           "BIM": lambda: fb.attacks.LinfBasicIterativeAttack(abs_stepsize=a, steps=ITERS, random_start=False),
           "PGD": lambda: fb.attacks.LinfPGD(abs_stepsize=a, steps=ITERS, random_start=False)}[attack]()
    _, clipped, _ = atk(fb.PyTorchModel(net, bounds=(0.0, 1.0)), x, y, epsilons=e)
    assert (clipped - _ours(attack, net, x, y)).abs().max() <= TOL


def test_jsma_equals_torchattacks_on_digits_sized_inputs(lenet):
    """Same pair rule, same budget rule where they coincide: identical images (features kept below
    0.99, where torchattacks' search domain ends, and a budget that floor and ceil agree on)."""
    ta = pytest.importorskip("torchattacks", reason="peer library (test-only dependency; make env)")
    net, x, y = lenet
    x = x[:6] * 0.98
    with torch.no_grad():
        y = net(x).argmax(1)
    t = (y + 3) % 10
    gamma = 2 * 39 / 784                       # floor and ceil of gamma * D / 2 are both 39
    atk = ta.JSMA(net, theta=1.0, gamma=gamma)
    atk.set_mode_targeted_by_label(quiet=True)
    assert torch.equal(atk(x, t), jsma(net, x, targets=t, theta=1.0, gamma=gamma).adv)


@pytest.fixture(scope="module")
def mnist_lenet():
    """LeNet-5 trained briefly on real MNIST (the embedded subset) and 12 test images it classifies
    correctly."""
    from papers_core.data import load_mnist_subset
    from papers_core.train import train_classifier

    tr, te = load_mnist_subset("train"), load_mnist_subset("test")
    net = train_classifier(LeNet5(), tr.images[:3000], tr.labels[:3000], epochs=3, augment=False, seed=0)
    for p in net.parameters():
        p.requires_grad_(False)
    with torch.no_grad():
        ok = net(te.images[:200]).argmax(1) == te.labels[:200]
    idx = torch.nonzero(ok).squeeze(1)[:12]
    return net, te.images[idx], te.labels[idx]


def test_cw_l2_finds_foolboxs_l2_on_a_trained_mnist_model(mnist_lenet):
    """C&W-L2 at equal settings (the authors' lr 0.01 and c from 1e-3, 5 search steps of 300 Adam steps,
    early abort): the mean L2 of the successful images within 2 % of foolbox's L2CarliniWagnerAttack."""
    from papers_core.attacks import cw_l2

    fb = pytest.importorskip("foolbox", reason="peer library (test-only dependency; make env)")
    net, x, y = mnist_lenet
    ours = cw_l2(net, x, y, binary_search_steps=5, iterations=300, lr=0.01, initial_const=1e-3)
    attack = fb.attacks.L2CarliniWagnerAttack(binary_search_steps=5, steps=300, stepsize=0.01, confidence=0,
                                              initial_const=1e-3, abort_early=True)
    _, theirs, ok = attack(fb.PyTorchModel(net, bounds=(0, 1)), x, fb.criteria.Misclassification(y), epsilons=None)
    both = ours.success & ok
    assert both.float().mean() >= 0.9
    l2_ours = (ours.adv - x).flatten(1).norm(dim=1)[both].mean()
    l2_theirs = (theirs - x).flatten(1).norm(dim=1)[both].mean()
    assert abs(float(l2_ours / l2_theirs) - 1) <= 0.02, (float(l2_ours), float(l2_theirs))
