"""Multi-strength adversarial training (Song et al.): FGSM sets from a crafting model, the training sets
of mixed and parallel MAT, the voting unit, the random-walk strength selection, the MAT models."""
import numpy as np
import pytest
import torch

from papers_core import attacks as A
from papers_core import mat as T
from papers_core.train import train_classifier
from papers_core import data as D
from papers_core.download import DatasetNotFoundError
from papers_core.models import MLP, ConvPoolNet, LeNet5


@pytest.fixture(scope="module")
def digits():
    torch.set_num_threads(2)
    d = D.load_digits()
    order = torch.randperm(len(d), generator=torch.Generator().manual_seed(0))
    return D.subset(d, order[:900]), D.subset(d, order[900:1300])


@pytest.fixture(scope="module")
def crafter(digits):
    train, _ = digits
    return train_classifier(LeNet5(10), train.images, train.labels, epochs=8, augment=False, seed=1)


def mlp_trained(x, y):
    return train_classifier(MLP(784, (128, 128), 10), x, y, epochs=15, augment=False, seed=0)


def test_fgsm_directions_equal_the_library_fgsm_at_every_strength(crafter, digits):
    _, test = digits
    x, y = test.images[:64], test.labels[:64]
    dirs = T.FGSMDirections(crafter, x, y, unit=255.0)
    assert dirs.sign.dtype == torch.int8 and dirs.sign.shape == x.shape
    for eps in (0.5, 3.0, 40.0):
        ref = A.fgsm(crafter, x, y, step=eps, quantize="none").adv
        assert torch.allclose(dirs.at(eps), ref, atol=1e-6)
    assert torch.equal(dirs.at(0.0), x)


def test_fgsm_directions_in_batches_equal_one_batch(crafter, digits):
    _, test = digits
    x, y = test.images[:50], test.labels[:50]
    one = T.FGSMDirections(crafter, x, y, batch_size=50)
    many = T.FGSMDirections(crafter, x, y, batch_size=7)
    assert torch.equal(one.sign, many.sign)


def test_mean_ssim_falls_with_strength(crafter, digits):
    _, test = digits
    dirs = T.FGSMDirections(crafter, test.images[:100], test.labels[:100])
    m = T.mssim_by_strength(dirs, [0.0, 0.05, 0.1, 0.2, 0.3])
    assert m[0] == pytest.approx(1.0) and np.all(np.diff(m) < 0)


def test_full_and_reduced_training_sets():
    x = torch.rand(40, 1, 4, 4)
    y = torch.arange(40) % 10
    adv = [(x + 0.1 * (s + 1)).clamp(0, 1) for s in range(3)]
    xs, ys = T.mat_training_set(x, y, adv)
    assert xs.shape[0] == 160 and torch.equal(ys, y.repeat(4))
    assert torch.equal(xs[:40], x) and torch.equal(xs[120:], adv[2])
    xr, yr = T.mat_training_set(x, y, adv, reduced=True, generator=3)
    assert xr.shape[0] == 40
    # each original image appears exactly once: clean or at one strength, 25 % each
    sets = torch.stack([x, *adv])                                           # (4, 40, ...)
    source = (xr[None, :, None] == sets[:, None, :]).flatten(3).all(3)      # [set, sample, original]
    per_image = source.sum((0, 1))              # how often each original shows up, in any set
    per_set = source.any(2).sum(1)              # how many samples come from each set
    assert torch.equal(yr, y[source.any(0).float().argmax(1)])
    assert torch.equal(per_image, torch.ones(40, dtype=torch.long)) and per_set.tolist() == [10, 10, 10, 10]
    assert torch.equal(xr, T.mat_training_set(x, y, adv, reduced=True, generator=3)[0])


def test_adversarial_training_raises_accuracy_under_attack(crafter, digits):
    """A victim trained on originals plus FGSM examples (crafted on another model, as in Sec. 5.1)
    resists that attack much better than one trained on the originals alone."""
    train, test = digits
    tr = T.FGSMDirections(crafter, train.images, train.labels)
    te = T.FGSMDirections(crafter, test.images, test.labels)
    original = mlp_trained(train.images, train.labels)
    xs, ys = T.mat_training_set(tr.x, tr.y, [tr.at(0.15)])
    adversarial = mlp_trained(xs, ys)
    acc_o = T.accuracy_under_attack(original, te, [0.0, 0.15, 0.25])
    acc_a = T.accuracy_under_attack(adversarial, te, [0.0, 0.15, 0.25])
    assert acc_o[0] > 85 and acc_a[0] > 85                 # both learned the task
    assert acc_a[1] > acc_o[1] + 15 and acc_a[2] > acc_o[2] + 15


class _Constant(torch.nn.Module):
    """A useless copy: the same logits for every image."""

    def forward(self, x):
        return torch.zeros(x.shape[0], 10).index_fill_(1, torch.tensor([3]), 5.0)


@pytest.mark.parametrize("voting", T.VOTING)
def test_voting_coefficients_sum_to_one_and_learn_the_useful_copy(crafter, digits, voting):
    train, test = digits
    good = mlp_trained(train.images, train.labels)
    before = {k: v.clone() for k, v in good.state_dict().items()}
    pmat = T.ParallelMAT([_Constant(), good], 10, voting=voting)
    a = pmat.coefficients(test.images)
    assert torch.allclose(a.sum(1), torch.ones(len(a))) and (a >= 0).all()
    # Eq. 4's per-copy vote has S weights and one Adam step per epoch here: it needs more epochs
    T.train_voting_unit(pmat, test.images[:200], test.labels[:200], epochs=40 if voting == "per-image" else 300, seed=0)
    with torch.no_grad():
        a = pmat.coefficients(test.images[200:])
        out = pmat(test.images[200:])
        copies = pmat.copy_probs(test.images[200:])
    assert torch.allclose(a.sum(1), torch.ones(len(a)), atol=1e-6)
    assert float(a[:, 1].mean()) > 0.9                          # the vote trusts the copy that works
    assert torch.allclose(out.softmax(1), (a[:, :, None] * copies).sum(1), atol=1e-5)
    acc = float((out.argmax(1) == test.labels[200:]).float().mean())
    assert acc >= float((good(test.images[200:]).argmax(1) == test.labels[200:]).float().mean()) - 0.02
    # the copies themselves are untouched by the voter's training
    assert all(torch.equal(v, before[k]) for k, v in good.state_dict().items())
    if voting == "per-copy":                                    # Eq. 4: one a_k per copy, for every image
        assert torch.allclose(a, a[:1].expand_as(a))


def test_the_ensemble_is_attackable_like_any_classifier(crafter, digits):
    train, test = digits
    pmat = T.ParallelMAT([mlp_trained(train.images, train.labels), crafter], 10).eval()
    r = A.fgsm(pmat, test.images[:32], test.labels[:32], step=40.0)
    assert r.adv.shape == (32, 1, 28, 28) and bool(r.success.any())


# ----------------------------------------------------------------------------------- the random walk
ZONES = np.array([  # accuracy (%) of four candidates across five attack strengths: each has its own zone
    [95, 90, 60, 40, 30],
    [90, 92, 80, 55, 40],
    [85, 85, 88, 75, 60],
    [80, 78, 80, 82, 80],
], dtype=float)
STRENGTHS = [0.05, 0.10, 0.15, 0.20]


def test_random_walk_is_deterministic_for_a_seed():
    a = T.random_walk_selection(ZONES, STRENGTHS, steps=3, walks=20, penalty=0.5, generator=7)
    b = T.random_walk_selection(ZONES, STRENGTHS, steps=3, walks=20, penalty=0.5, generator=7)
    assert a.strengths == b.strengths and a.score == b.score and a.visited.equals(b.visited)
    np.testing.assert_allclose(a.transition.sum(1), 1.0)
    assert np.all(np.diag(a.transition) == 0)


def test_random_walk_scores_are_the_stated_formula():
    s = T.random_walk_selection(ZONES, STRENGTHS, steps=3, walks=50, penalty=2.0, generator=0)
    idx = s.index
    assert s.estimate == pytest.approx(ZONES[idx].max(0).mean())
    assert s.score == pytest.approx(s.estimate - 2.0 * len(idx))
    assert s.score == pytest.approx(s.visited["G"].max())      # the best of all visited sets


def test_random_walk_honours_the_penalty():
    sizes = []
    for penalty in (0.0, 0.5, 2.0, 5.0, 100.0):
        s = T.random_walk_selection(ZONES, STRENGTHS, steps=4, walks=100, penalty=penalty, generator=0)
        sizes.append(len(s.strengths))
    assert sizes == sorted(sizes, reverse=True)                # a larger penalty never selects more
    assert sizes[0] >= 3 and sizes[-1] == 1
    one = T.random_walk_selection(ZONES, STRENGTHS, steps=4, walks=100, penalty=100.0, generator=0)
    assert one.index == [int(ZONES.mean(1).argmax())]          # alone, the best single strength


def test_random_walk_prefers_complementary_zones():
    """Two candidates that are good in opposite halves beat a pair that are good in the same half."""
    A_ = np.array([[90, 90, 20, 20], [89, 89, 21, 21], [20, 20, 90, 90]], dtype=float)
    s = T.random_walk_selection(A_, [1.0, 2.0, 3.0], steps=2, walks=30, penalty=1.0, generator=0)
    assert s.strengths in ([1.0, 3.0],)
    # the walk is likelier to jump to the complementary candidate than to the look-alike
    assert s.transition[0, 2] > 10 * s.transition[0, 1]


def test_the_penalty_is_chosen_by_the_held_out_score():
    """Held-out data that rewards a second strength makes the choice select several strengths; held-out
    data on which extra strengths do not help makes it keep one (the larger penalty wins ties)."""
    penalties = (0.0, 0.5, 2.0, 100.0)
    calls = []

    def rewards_more(sel):
        calls.append(tuple(sel))
        return 80.0 + 5.0 * min(len(sel), 2)          # two strengths are better, three no better than two

    c = T.choose_penalty(ZONES, STRENGTHS, rewards_more, penalties, steps=4, walks=100, generator=0)
    assert len(c.selection.strengths) >= 2
    assert c.table["chosen"].sum() == 1 and c.table.loc[c.table["chosen"], "penalty"].item() == c.penalty
    assert len(calls) == len(set(calls))              # each distinct selection is scored once
    best = c.table["held-out score (%)"].max()
    assert c.penalty == c.table.loc[c.table["held-out score (%)"] == best, "penalty"].max()

    flat = T.choose_penalty(ZONES, STRENGTHS, lambda sel: 80.0, penalties, steps=4, walks=100, generator=0)
    assert flat.penalty == 100.0 and len(flat.selection.strengths) == 1
    with pytest.raises(ValueError, match="penalty"):
        T.choose_penalty(ZONES, STRENGTHS, rewards_more, (), steps=2, walks=5)


# ----------------------------------------------------------------------------------------- models and data
def test_mat_models_take_their_inputs_and_refuse_others():
    assert MLP(784, (256, 256), 10)(torch.rand(2, 1, 28, 28)).shape == (2, 10)
    victim = ConvPoolNet(3, 10)
    svhn = ConvPoolNet(3, 10, hidden=(256,))
    crafting = ConvPoolNet(3, 100, hidden=(256,), batch_norm=True).eval()
    x = torch.rand(2, 3, 32, 32)
    assert victim(x).shape == (2, 10) and svhn(x).shape == (2, 10) and crafting(x).shape == (2, 100)
    convs = [m for m in crafting.modules() if isinstance(m, torch.nn.Conv2d)]
    linears = [m for m in svhn.modules() if isinstance(m, torch.nn.Linear)]
    assert len(convs) == 3 and len(linears) == 2
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in crafting.modules()) == 3
    with pytest.raises(ValueError, match="C\\*H\\*W = 784"):
        MLP()(torch.rand(2, 3, 32, 32))
    with pytest.raises(ValueError, match="built for 32x32"):
        victim(torch.rand(2, 3, 28, 28))
    with pytest.raises(ValueError, match="divisible by 8"):
        ConvPoolNet(input_size=30)


@pytest.mark.parametrize("loader", [D.load_cifar100, D.load_svhn])
def test_missing_torchvision_datasets_say_how_to_download(tmp_path, loader):
    with pytest.raises(DatasetNotFoundError, match="download=True"):
        loader(tmp_path, "train")
