"""Per-image random streams (papers_core.rng): SplitMix64 against its published test vector and a
pure-Python reference, the distributions, and every attack that draws giving each image the same
result in any batch and any shard."""
import numpy as np
import pytest
import torch
from scipy import stats

from papers_core import attacks as A
from papers_core.defenses import paper_defenses
from papers_core.runs import in_batches
from papers_core.rng import ImageStreams, _mix_int, _GOLDEN, _MASK, draw_key, image_streams, splitmix64


def test_splitmix64_matches_its_published_test_vector():
    # the first outputs of SplitMix64 seeded with 1234567 (Vigna's reference C code, used as the test
    # vector of the xoshiro family's seeding)
    assert splitmix64(1234567, 5) == [6457827717110365317, 3203168211198807973, 9817491932198370423,
                                      4593380528125082431, 16408922859458223821]


def test_vectorised_streams_equal_the_reference_stream_of_each_image():
    index = torch.tensor([0, 1, 5, 2 ** 40, 2 ** 62])
    bits = ImageStreams(11, index=index).bits(("noise", 3), 7)
    base = _mix_int((11 * _GOLDEN) ^ draw_key(("noise", 3)))
    for row, i in enumerate(index.tolist()):
        key = _mix_int(i * _GOLDEN + base)
        assert [v & _MASK for v in bits[row].tolist()] == splitmix64(key, 7)


def test_a_rows_numbers_depend_on_its_index_only():
    full = ImageStreams(3, 50)
    part = ImageStreams(3, index=torch.tensor([49, 7, 7, 20]))
    for draw in (lambda s: s.uniform("u", 4, 5), lambda s: s.normal("n", 6), lambda s: s.integers("i", 2, 9, 3),
                 lambda s: s.permutations("p", 10)):
        torch.testing.assert_close(draw(part), draw(full)[[49, 7, 7, 20]], rtol=0, atol=0)
    assert torch.equal(full.subset([3, 4]).uniform("u", 2), full.uniform("u", 2)[3:5])
    # other seeds, other names, other images: other numbers
    u = full.uniform("u", 100)
    assert not torch.equal(u, ImageStreams(4, 50).uniform("u", 100))
    assert not torch.equal(u, full.uniform("v", 100))
    assert len({tuple(r) for r in u[:, :3].tolist()}) == 50


def test_distributions():
    s = ImageStreams(0, 2000)
    u = s.uniform("u", 50).flatten().numpy()
    assert u.min() >= 0 and u.max() < 1 and stats.kstest(u, "uniform").pvalue > 1e-3
    u64 = s.uniform("u", 50, dtype=torch.float64).flatten().numpy()
    assert u64.max() < 1 and stats.kstest(u64, "uniform").pvalue > 1e-3
    z = s.normal("z", 50).flatten().numpy()
    assert stats.kstest(z, "norm").pvalue > 1e-3
    k = s.integers("k", 3, 10, 50)
    assert int(k.min()) == 3 and int(k.max()) == 9
    assert stats.chisquare(np.bincount(k.flatten().numpy() - 3)).pvalue > 1e-3
    # per-image bounds broadcast
    hi = torch.arange(2, 2002)[:, None]
    k = s.integers("k2", 0, hi, 5)
    assert (k >= 0).all() and (k < hi).all()
    # choice: only True entries, uniformly
    mask = torch.zeros(2000, 6, dtype=torch.bool)
    mask[:, [1, 3, 4]] = True
    c = s.choice("c", mask)
    assert set(c.tolist()) == {1, 3, 4} and stats.chisquare(np.bincount(c.numpy())[[1, 3, 4]]).pvalue > 1e-3
    p = s.permutations("p", 8)
    assert torch.equal(p.sort(1).values, torch.arange(8).expand(2000, 8))
    # neighbouring images' streams are uncorrelated
    a = s.uniform("u", 200, dtype=torch.float64)
    assert abs(np.corrcoef(a[:-1].flatten().numpy(), a[1:].flatten().numpy())[0, 1]) < 0.01


def test_bad_input_is_refused():
    with pytest.raises(TypeError, match="seed=<int>"):
        ImageStreams(torch.Generator(), 3)
    with pytest.raises(TypeError, match="whole number"):
        ImageStreams(1.5, 3)
    with pytest.raises(ValueError, match="one position per image"):
        ImageStreams(0, 3, torch.arange(4))
    with pytest.raises(ValueError, match="negative"):
        ImageStreams(0, index=torch.tensor([-1]))
    with pytest.raises(ValueError, match="1-D"):
        ImageStreams(0, index=torch.rand(3))
    with pytest.raises(ValueError, match="high > low"):
        ImageStreams(0, 3).integers("i", 4, 4)
    with pytest.raises(ValueError, match="at least one"):
        ImageStreams(0, 2).choice("c", torch.tensor([[True, False], [False, False]]))
    with pytest.raises(TypeError, match="draw's name"):
        ImageStreams(0, 2).uniform(1.5)
    with pytest.raises(TypeError, match="seed=<int>"):
        A.pgd(_Linear(), torch.rand(2, 3, 8, 8), seed=torch.Generator())


class _Linear(torch.nn.Module):
    """A linear classifier computed row by row (a product and a sum over each image's own features):
    its outputs and gradients for an image are bitwise the same in any batch, so the tests below see
    the attacks' random draws alone (a convolution's batched kernels round differently per batch size)."""

    def __init__(self, features=3 * 8 * 8, classes=10):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.w = torch.nn.Parameter(torch.randn(classes, features, generator=g) * 0.3)
        self.eval()

    def forward(self, x):
        return (x.flatten(1)[:, None, :] * self.w[None]).sum(-1)


def _images(n=12):
    g = torch.Generator().manual_seed(5)
    return torch.round(torch.rand(n, 3, 8, 8, generator=g) * 255) / 255


M1, M2 = _Linear(), _Linear()
with torch.no_grad():
    M2.w.mul_(-0.7).add_(0.1)

#: RP-FGSM's transformations whose result is bitwise the same in any batch (kornia's differentiable
#: JPEG rounds differently, at 2e-7, in other batch sizes; the draws are tested all the same)
EXACT = [d for d in paper_defenses() if d.name != "jpeg"]

#: every attack that draws, with settings small enough for a test; fn(x, index) -> images
DRAWING = {
    "R-FGSM": lambda x, index: A.r_fgsm(M1, x, seed=3, index=index, iterations=4).adv,
    "P-FGSM": lambda x, index: A.p_fgsm(M1, x, sigma=0.5, seed=3, index=index, iterations=4).adv,
    "PGD": lambda x, index: A.pgd(M1, x, seed=3, index=index, iterations=3).adv,
    "SoG (fresh)": lambda x, index: A.sign_of_gaussian(x, iterations=3, fresh=True, seed=3, index=index),
    "E-FGSM": lambda x, index: A.e_fgsm([M1, M2], x, seed=3, index=index, iterations=3).adv,
    "DI-FGSM": lambda x, index: A.di_fgsm([M1, M2], x, targets="auto", seed=3, index=index, iterations=4, p=0.7).adv,
    "EOT": lambda x, index: A.eot(M1, x, seed=3, index=index, iterations=6).adv,
    "RP-FGSM": lambda x, index: A.rp_fgsm([M1, M2], x, seed=3, index=index, iterations=6, defenses=EXACT).adv,
    "RP-FGSM (stratified)": lambda x, index: A.rp_fgsm([M1, M2], x, seed=3, index=index, iterations=6,
                                                       schedule_kind="stratified", defenses=EXACT).adv,
    "colour variance": lambda x, index: A.color_variance_attack(
        M1, x, seed=3, index=index, iterations=3, cv_map=torch.full((len(x), 1, 8, 8), 0.5)).adv,
}


@pytest.mark.parametrize("name", list(DRAWING))
def test_each_images_result_is_the_same_in_any_batch_and_shard(name):
    attack, x = DRAWING[name], _images()
    whole = attack(x, None)
    assert not torch.equal(whole, x)
    for batch_size in (1, 7, len(x)):
        torch.testing.assert_close(in_batches(attack, x, batch_size=batch_size, with_index=True), whole, rtol=0, atol=0)
    # two shards: every other image, each shard attacked at once with its images' positions
    for shard in (torch.arange(0, len(x), 2), torch.arange(1, len(x), 2)):
        torch.testing.assert_close(attack(x[shard], shard), whole[shard], rtol=0, atol=0)
    # and the draws do depend on the seed and the positions
    shifted = attack(x, torch.arange(100, 100 + len(x)))
    assert not torch.equal(shifted, whole)


def test_k_anonymity_groups_belong_to_the_whole_set():
    whole = A.k_anonymity_groups(23, 4, seed=2)
    assert torch.equal(whole, A.k_anonymity_groups(23, 4, seed=2))
    assert torch.bincount(whole - 2).tolist() in ([6, 6, 6, 5], [6, 6, 5, 6], [6, 5, 6, 6], [5, 6, 6, 6])
    # a shard's samples get the set's groups through index and population
    model = _Linear(features=1 * 8 * 8)
    x = _images(23)[:, :1]
    y = model(x).argmax(1)
    shard = torch.arange(1, 23, 2)
    r = A.k_anonymity_attack(model, x[shard], y[shard], K=4, seed=2, index=shard, population=23,
                             similarity_weight=0.0, search_steps=1, iterations=2)
    assert torch.equal(r.k, whole[shard])
    with pytest.raises(ValueError, match="population="):
        A.k_anonymity_attack(model, x[shard], y[shard], K=4, index=shard)
    with pytest.raises(ValueError, match="not both"):
        A.k_anonymity_attack(model, x[shard], y[shard], index=shard, population=23, k=whole[shard])


def test_image_streams_follow_the_images_device():
    x = torch.rand(3, 1, 4, 4, dtype=torch.float64)
    s = image_streams(x, 0)
    assert s.device == x.device and s.uniform("u", 2, dtype=x.dtype).dtype == torch.float64


def test_di_fgsm_per_image_resize_equals_interpolate_and_pad():
    from papers_core.attacks.di_fgsm import _resize_pad, resize_pad

    for H in (32, 224):
        x = torch.rand(1, 3, H, H, generator=torch.Generator().manual_seed(H))
        lo = round(200 / 224 * H)
        for r in range(lo, H + 1):
            top, left = (H - r) // 3, (H - r) - (H - r) // 3
            want = _resize_pad(x, r, top, left)
            got = resize_pad(x, torch.tensor([r]), torch.tensor([top]), torch.tensor([left]))
            assert torch.equal(got, want), (H, r)
    # a batch with one draw per image is each image's own transformation
    x = torch.rand(3, 2, 16, 16, requires_grad=True)
    r, top, left = torch.tensor([16, 12, 14]), torch.tensor([0, 3, 1]), torch.tensor([0, 1, 2])
    out = resize_pad(x, r, top, left)
    for i in range(3):
        assert torch.equal(out[i:i + 1], _resize_pad(x[i:i + 1], int(r[i]), int(top[i]), int(left[i])))
    out.sum().backward()
    assert x.grad.abs().sum() > 0
