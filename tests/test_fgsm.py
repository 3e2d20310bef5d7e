"""The FGSM family (papers_core.attacks: fgsm, p_fgsm, pgd, sign, targets, base): budgets, ranges, the
8-bit grid, targets, Eq. 10, seeds and batch independence, BIM and PGD, the lazy result."""
import pytest
import torch

from papers_core import attacks as A
from papers_core.attacks import bim, fgsm, pgd
from papers_core.models import LeNet5

ITER = dict(step=A.PAPER_EPSILON_8BIT, iterations=50, threshold=0.99)


def test_fgsm_moves_every_pixel_by_one_rounded_step(model, batch):
    x, y = batch
    r = A.fgsm(model, x, y, step=1.0)
    d = (r.adv - x).abs() * 255
    moved = d > 0.5
    assert torch.allclose(d[moved], torch.ones_like(d[moved]), atol=1e-4)
    # only pixels already at the boundary (0 or 1) can stay put
    assert ((x[~moved] == 0) | (x[~moved] == 1)).all()


@pytest.mark.parametrize("quantize", ["none", "step", "output"])
def test_eps_ball_and_unit_range_hold(model, batch, quantize):
    x, y = batch
    r = A.n_fgsm(model, x, y, step=2.0, iterations=10, threshold=None, eps=4.0, quantize=quantize)
    assert r.adv.min() >= 0 and r.adv.max() <= 1
    assert (r.adv - x).abs().max() <= 4.0 / 255 + 1e-6
    assert (r.iterations == 10).all()


def test_without_eps_displacement_is_bounded_by_iterations(model, batch):
    x, _ = batch
    r = A.l_fgsm(model, x, **ITER)
    bound = (r.iterations.float() * ITER["step"] + 0.5) / 255
    assert ((r.adv - x).abs().flatten(1).max(1).values <= bound + 1e-6).all()


@pytest.mark.parametrize("quantize", ["step", "output"])
def test_outputs_lie_on_the_8bit_grid(model, batch, quantize):
    x, y = batch
    r = A.p_fgsm(model, x, seed=1, quantize=quantize, **ITER)
    assert torch.equal(torch.round(r.adv * 255) / 255, r.adv)


def test_no_quantisation_leaves_the_grid(model, batch):
    x, y = batch
    r = A.fgsm(model, x, y, step=A.PAPER_EPSILON_8BIT, quantize="none")
    assert not torch.equal(torch.round(r.adv * 255) / 255, r.adv)


@pytest.mark.parametrize("name", ["L-FGSM", "R-FGSM", "P-FGSM"])
def test_targeted_attacks_reach_their_targets(model, batch, name):
    x, _ = batch
    r = A.get_attack(name)(model, x, **ITER)  # the paper's settings: step 0.007, 0.99, 50 iterations
    assert r.success.float().mean() >= 0.95
    assert torch.equal(r.prediction[r.success], r.target[r.success])
    p_target = r.probs.gather(1, r.target[:, None]).squeeze(1)
    # a sample stops early only because its target probability passed 0.99 (checked before the final
    # rounding to 8 bits, which moves it a little)
    assert (p_target[r.iterations < 50] > 0.98).all()
    assert (r.iterations < 50).float().mean() >= 0.3


def test_n_fgsm_stops_when_the_label_probability_drops(model, batch):
    x, y = batch
    r = A.n_fgsm(model, x, y, **ITER)
    assert (r.target == -1).all()
    assert r.success.all()
    p_label = r.probs.gather(1, y[:, None]).squeeze(1)
    assert (p_label[r.iterations < 50] < 0.01 + 1e-3).all()


def test_l_fgsm_targets_the_least_likely_class(model, batch):
    x, _ = batch
    r = A.l_fgsm(model, x, **ITER)
    assert torch.equal(r.target, A.predict_proba(model, x).argmin(1))


def test_r_fgsm_never_targets_the_top1(model, batch):
    x, _ = batch
    top1 = A.predict_proba(model, x).argmax(1)
    for seed in range(5):
        assert (A.r_fgsm(model, x, seed=seed, iterations=1).target != top1).all()


def test_private_target_set_matches_eq10_on_constructed_probabilities():
    p = torch.tensor([[0.5, 0.3, 0.15, 0.04, 0.01],     # sorted already
                      [0.01, 0.04, 0.15, 0.3, 0.5],     # reversed
                      [0.2, 0.2, 0.2, 0.2, 0.2]])
    # row 0: sums before j = 0, .5, .8, .95, .99 -> sigma .9 keeps j with sum > .9: classes 3, 4
    m = A.private_target_mask(p, 0.9)
    assert m[0].tolist() == [False, False, False, True, True]
    assert m[1].tolist() == [True, True, False, False, False]
    # uniform: sums before = 0, .2, .4, .6, .8 -> sigma .5 keeps the last two sorted positions (2 classes)
    assert int(A.private_target_mask(p, 0.5)[2].sum()) == 2
    # sigma 0 excludes only the top-1 (then P-FGSM's set is R-FGSM's)
    assert torch.equal(A.private_target_mask(p[:2], 0.0), A.random_target_mask(p[:2]))
    # the set shrinks as sigma grows
    sizes = [int(A.private_target_mask(p, s).sum()) for s in (0.0, 0.5, 0.9, 0.97)]
    assert sizes == sorted(sizes, reverse=True)
    # the class whose probability makes the sum cross sigma is excluded: sigma .94 -> only class 4
    assert A.private_target_mask(p[:1], 0.94)[0].tolist() == [False, False, False, True, True]
    assert A.private_target_mask(p[:1], 0.96)[0].tolist() == [False, False, False, False, True]


def test_private_target_set_falls_back_to_least_likely_when_empty():
    p = torch.tensor([[0.4, 0.3, 0.3]])
    assert A.private_target_mask(p, 0.99)[0].tolist() == [False, False, True]


def test_p_fgsm_draws_from_eq10_set_and_official_from_all_but_top1(model, batch):
    x, _ = batch
    probs = A.predict_proba(model, x)
    mask = A.private_target_mask(probs, 0.99)
    r = A.p_fgsm(model, x, sigma=0.99, seed=3, iterations=1)
    assert mask[torch.arange(len(x)), r.target].all()
    off = A.p_fgsm(model, x, selection="official", seed=3, iterations=1)
    assert (off.target != probs.argmax(1)).all()


def test_same_seed_gives_identical_results(model, batch):
    x, _ = batch
    a = A.p_fgsm(model, x, seed=7, **ITER)
    b = A.p_fgsm(model, x, seed=7, **ITER)
    assert torch.equal(a.adv, b.adv) and torch.equal(a.target, b.target)
    # the draws are each image's: the same image at another position draws another target
    moved = A.p_fgsm(model, x, seed=7, index=torch.arange(len(x)) + 1000, **ITER)
    assert not torch.equal(moved.target, a.target)
    c = A.sign_of_gaussian(x, step=1.0, iterations=3, seed=7)
    assert torch.equal(c, A.sign_of_gaussian(x, step=1.0, iterations=3, seed=7))
    assert not torch.equal(c, A.sign_of_gaussian(x, step=1.0, iterations=3, seed=8))


def test_a_samples_result_does_not_depend_on_its_batch(model, batch):
    """The attack arithmetic is per sample; the model's batched kernels round differently at the 1e-7
    level for other batch sizes, and sign() can amplify such a difference where a gradient component
    is near zero. So: the same stopping iteration and outcome for every sample, and bitwise-identical
    images for the large majority."""
    x, y = batch
    full = A.n_fgsm(model, x, y, **ITER)
    targets = A.r_fgsm(model, x, seed=0, iterations=1).target
    tfull = A.targeted_ifgsm(model, x, targets=targets, **ITER)
    same = []
    for i in range(len(x)):
        alone = A.n_fgsm(model, x[i:i + 1], y[i:i + 1], **ITER)
        talone = A.targeted_ifgsm(model, x[i:i + 1], targets=targets[i:i + 1], **ITER)
        assert alone.iterations[0] == full.iterations[i] and talone.iterations[0] == tfull.iterations[i]
        assert alone.success[0] == full.success[i] and talone.success[0] == tfull.success[i]
        same += [torch.equal(alone.adv[0], full.adv[i]), torch.equal(talone.adv[0], tfull.adv[i])]
    assert sum(same) >= 0.8 * len(same)
    # and the first step, before any divergence can build up, is identical for every sample
    one = A.fgsm(model, x, y, step=1.0)
    assert all(torch.equal(A.fgsm(model, x[i:i + 1], y[i:i + 1], step=1.0).adv[0], one.adv[i])
               for i in range(len(x)))


def test_attacks_do_not_modify_their_inputs(model, batch):
    x, y = batch
    x0, y0 = x.clone(), y.clone()
    A.n_fgsm(model, x, y, **ITER)
    A.p_fgsm(model, x, **ITER)
    A.add_noise(x, torch.full_like(x, 0.01), 3)
    assert torch.equal(x, x0) and torch.equal(y, y0)


def test_repeated_noise_adds_up_with_clipping(batch):
    x, _ = batch
    noise = torch.full_like(x, 2.0 / 255)
    out = A.add_noise(x, noise, 3)
    assert torch.allclose(out, (x + 6.0 / 255).clamp(max=1.0), atol=1e-6)


def test_sign_of_gaussian_is_plus_or_minus_step(batch):
    x, _ = batch
    x = x.clamp(0.1, 0.9)
    d = (A.sign_of_gaussian(x, step=1.0, quantize="none") - x) * 255
    assert torch.allclose(d.abs(), torch.ones_like(d), atol=1e-4)
    assert 0.45 < (d > 0).float().mean() < 0.55


@pytest.mark.parametrize("bad, match", [
    (lambda x: x * 255, r"\[0, 1\].*divide by 255"),
    (lambda x: (x * 255).to(torch.uint8), "uint8"),
    (lambda x: x[0], "4 dimensions"),
    (lambda x: x[:0], "empty batch"),
    (lambda x: torch.where(x > 0.5, torch.nan, x), "NaN"),
    (lambda x: x - 0.5, "normalised"),
])
def test_bad_images_get_clear_errors(model, batch, bad, match):
    x, y = batch
    with pytest.raises((ValueError, TypeError), match=match):
        A.n_fgsm(model, bad(x), y[: max(1, len(bad(x)))] if bad(x).dim() == 4 else y)


def test_bad_arguments_get_clear_errors(model, batch):
    x, y = batch
    with pytest.raises(ValueError, match="valid choices.*P-FGSM"):
        A.get_attack("PFGSM")
    with pytest.raises(ValueError, match="selection"):
        A.p_fgsm(model, x, selection="shipped")
    with pytest.raises(ValueError, match="quantize"):
        A.fgsm(model, x, y, quantize="round")
    with pytest.raises(ValueError, match="labels must lie in"):
        A.n_fgsm(model, x, y + 100)
    with pytest.raises(ValueError, match="step"):
        A.fgsm(model, x, y, step=0)
    with pytest.raises(ValueError, match="iterations"):
        A.n_fgsm(model, x, y, iterations=0)
    with pytest.raises(ValueError, match="sigma"):
        A.p_fgsm(model, x, sigma=1.5)
    with pytest.raises(TypeError, match="seed"):
        A.r_fgsm(model, x, seed="seven")
    model.train()
    try:
        with pytest.raises(ValueError, match="eval"):
            A.fgsm(model, x, y)
    finally:
        model.eval()


def test_cat_keeps_the_result_class_and_its_extra_fields(model, batch):
    from papers_core.attacks.k_anonymity import KAnonymityResult

    x, y = batch
    a = A.fgsm(model, x[:3], y[:3], step=8.0)
    b = A.fgsm(model, x[3:5], y[3:5], step=8.0)
    parts = []
    for r, k in ((a, [2, 3, 4]), (b, [5, 2])):
        p = KAnonymityResult(r.adv, r.target, r.success, r.iterations, r.prediction, r.probs,
                             k=torch.tensor(k), satisfied=torch.ones(len(k), dtype=torch.bool),
                             plan=[[("id", i) for i in range(len(k))], [("jpeg", i) for i in range(len(k))]],
                             seconds=0.5, note="same")
        parts.append(p)
    whole = A.AttackResult.cat(parts)
    assert type(whole) is KAnonymityResult and len(whole) == 5
    assert whole.k.tolist() == [2, 3, 4, 5, 2] and whole.satisfied.all()
    assert whole.plan == [[("id", 0), ("id", 1), ("id", 2), ("id", 0), ("id", 1)],
                          [("jpeg", 0), ("jpeg", 1), ("jpeg", 2), ("jpeg", 0), ("jpeg", 1)]]
    assert whole.seconds == 1.0 and whole.note == "same"
    assert torch.equal(whole.adv, torch.cat([a.adv, b.adv])) and torch.equal(whole.probs, torch.cat([a.probs, b.probs]))
    parts[1].note = "other"
    with pytest.raises(ValueError, match="cannot join the field 'note'"):
        A.AttackResult.cat(parts)
    with pytest.raises(ValueError, match="one attack"):
        A.AttackResult.cat([a, parts[0]])
    with pytest.raises(ValueError, match="at least one"):
        A.AttackResult.cat([])


def test_bim_stays_in_the_ball_and_pgd_without_random_start_is_bim(model, batch):
    x, y = batch
    a = bim(model, x, y, eps=4, step=1, iterations=6)
    assert (a.adv - x).abs().max() <= 4 / 255 + 1e-6
    b = pgd(model, x, y, eps=4, step=1, iterations=6, random_start=False)
    assert torch.equal(a.adv, b.adv)
    c = pgd(model, x, y, eps=4, step=1, iterations=6, seed=3)
    assert (c.adv - x).abs().max() <= 4 / 255 + 1e-6
    assert not torch.equal(c.adv, a.adv)
    assert torch.equal(c.adv, pgd(model, x, y, eps=4, step=1, iterations=6, seed=3).adv)


def test_fgsm_result_probabilities_are_computed_only_when_read(model, batch, counting):
    x, y = batch
    counted = counting(model)
    eager = fgsm(model, x, y)
    fgsm(counted, x, y)           # probes the class count once
    before = counted.calls
    r = fgsm(counted, x, y)
    assert counted.calls == before + 1, "one forward-backward pass, no forward for the result"
    assert torch.equal(r.success, eager.success) and torch.allclose(r.probs, eager.probs)
    assert counted.calls == before + 2
    r.prediction
    assert counted.calls == before + 2, "evaluated once"


def test_lenet_input_gradient_attacks_run_in_batches_without_weight_gradients():
    net = LeNet5().eval()
    x = torch.rand(5, 1, 28, 28)
    y = net(x).argmax(1)
    bim(net, x, y, iterations=2)
    assert all(p.grad is None for p in net.parameters())
