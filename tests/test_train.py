"""The training loop (papers_core.train) and the zoo's cached stand-ins: deterministic for a seed."""
import torch


def test_training_is_deterministic_for_a_seed():
    from papers_core.data import synth_scenes
    from papers_core.models import SmallCNN
    from papers_core.train import train_classifier

    d = synth_scenes("train", n_per_class=4)
    a = train_classifier(SmallCNN(d.num_classes, width=8), d.images, d.labels, epochs=1, seed=1)
    b = train_classifier(SmallCNN(d.num_classes, width=8), d.images, d.labels, epochs=1, seed=1)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))


def test_quick_scene_classifier_is_cached_and_deterministic(tmp_path):
    from papers_core.cache import Cache
    from papers_core.zoo import quick_scene_classifier

    cache = Cache(tmp_path)
    a, train = quick_scene_classifier(cache, seed=1, n_per_class=4, epochs=1, width=8)
    assert len(list(tmp_path.glob("smallcnn-*.pt"))) == 1 and not a.training
    b, _ = quick_scene_classifier(cache, seed=1, n_per_class=4, epochs=1, width=8)  # from the cache
    c, _ = quick_scene_classifier(None, seed=1, n_per_class=4, epochs=1, width=8)  # trained afresh
    for (k, va), vb, vc in zip(a.state_dict().items(), b.state_dict().values(), c.state_dict().values()):
        assert torch.equal(va, vb) and torch.equal(va, vc), k
    assert train.num_classes == a.classifier.out_features


def test_training_with_dropout_does_not_depend_on_what_ran_before():
    """Dropout draws from the global generator: training reseeds it from its own seed (and restores it),
    so a model is the same whether or not other models were trained (or loaded from a cache) first."""
    import torch

    from papers_core.models import LightCNN9
    from papers_core.train import train_classifier

    x = torch.rand(24, 1, 32, 32, generator=torch.Generator().manual_seed(0))
    y = torch.arange(24) % 3
    torch.manual_seed(1)
    a = train_classifier(LightCNN9(3, input_size=32), x, y, epochs=1, batch_size=8, seed=0)
    torch.rand(1000)                         # another model's dropout would consume the global state
    net = LightCNN9(3, input_size=32)
    state = torch.random.get_rng_state()
    b = train_classifier(net, x, y, epochs=1, batch_size=8, seed=0)
    assert torch.equal(torch.random.get_rng_state(), state)          # restored afterwards
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))


def test_training_runs_for_any_number_of_steps():
    """Every step count trains, five included (0.2 x 5 = 1 ended torch's one-cycle warm-up on the first
    step, where it divides by zero)."""
    from papers_core.models import MLP
    from papers_core.train import train_classifier

    x = torch.rand(12, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    y = torch.arange(12) % 10
    for steps in range(1, 13):
        net = train_classifier(MLP(784, (4,), 10), x[:steps], y[:steps], epochs=1, batch_size=1, augment=False)
        assert not net.training
