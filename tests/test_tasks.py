"""What each page attacks (papers_core.tasks): load_task builds a page's data and models for either
profile, with the sizes its settings give, and the paper profile's data is looked for under the root."""
import dataclasses

import pytest
import torch

from papers_core.data import DatasetNotFoundError
from papers_core.profiles import settings
from papers_core.runs import page_cache
from papers_core.tasks import TASKS, fit_images, load_task, mat_data, mat_label


def test_every_page_has_a_task():
    assert set(TASKS) == {"p_fgsm", "rp_fgsm", "color_variance", "k_anonymity", "mat", "compare"}
    with pytest.raises(ValueError, match="paper"):
        load_task("pfgsm", settings("p_fgsm", "quick"), "quick", None)
    with pytest.raises(ValueError, match="profile"):
        load_task("p_fgsm", settings("p_fgsm", "quick"), "fast", None)


def test_the_p_fgsm_task_is_the_shipped_classifier_and_the_private_classes_test_images():
    cfg = settings("p_fgsm", "quick")
    task = load_task("p_fgsm", cfg, "quick", page_cache(), seed=0)
    assert len(task.y_test) == cfg.test_per_class * len(task.private_classes)
    assert set(task.y_test.tolist()) <= set(task.private_classes)
    assert task.num_classes == len(task.class_names) and not task.model.training
    assert not any(p.requires_grad for p in task.model.parameters())


def test_the_colour_variance_task_keeps_only_correctly_classified_test_and_tuning_images():
    cfg = settings("color_variance", "quick")
    task = load_task("color_variance", cfg, "quick", page_cache(), seed=0)
    with torch.no_grad():
        assert (task.model(task.x_test).argmax(1) == task.y_test).all()
        assert (task.model(task.x_tune).argmax(1) == task.y_tune).all()
    assert len(task.y_test) <= task.n_listed == cfg.test_per_class * len(task.private_classes)
    assert len(task.y_tune) <= task.n_tune_listed == cfg.tune_per_class * len(task.private_classes)
    flat = lambda x: {tuple(v) for v in x.flatten(1).tolist()}  # noqa: E731
    assert not flat(task.x_test) & flat(task.x_tune)        # the rule tunes on other images


def test_mat_data_takes_its_sizes_and_grids_from_the_settings():
    cfg = settings("mat", "quick")
    train, val, test, unit, grid = mat_data("mnist", cfg, "quick")
    assert (len(train), len(val), len(test), unit) == (cfg.mnist_train_images, cfg.val_images, 2000, 1.0)
    assert grid[0] == 0 and grid[-1] == pytest.approx(cfg.grid_max) and grid[1] == pytest.approx(cfg.grid_step)
    small = dataclasses.replace(cfg, val_images=300, standin_train_images=900, standin_test_images=100)
    train, val, test, unit, grid = mat_data("cifar100", small, "quick")
    assert (len(train), len(val), len(test), unit) == (900, 300, 4 * 30, 255.0)   # 100 over 30 classes: 4 each
    assert grid[-1] == pytest.approx(cfg.grid_max_8bit)
    assert mat_label("CIFAR-100", "quick") == "CIFAR-100: SynthScenes-30" and mat_label("CIFAR-100", "paper") == "CIFAR-100"


def test_the_paper_profiles_data_is_looked_for_under_the_root(tmp_path):
    with pytest.raises(DatasetNotFoundError, match=str(tmp_path)):
        mat_data("mnist", settings("mat", "paper"), "paper", root=tmp_path)
    cfg = settings("k_anonymity", "paper", {"datasets": "mnist"})
    with pytest.raises(DatasetNotFoundError, match=str(tmp_path)):
        load_task("k_anonymity", cfg, "paper", None, root=tmp_path)


def test_fit_images_spreads_over_the_set():
    x = torch.arange(10.0)[:, None]
    assert fit_images(x, 3).flatten().tolist() == [0.0, 3.0, 6.0]
    assert fit_images(x, 20).flatten().tolist() == x.flatten().tolist()


def test_the_mat_steps_train_what_sec_4_says_through_the_callers_trainer():
    """MATExperiment's steps (the MAT page's, and the comparison page's scene twins'): one victim on the
    originals and one per candidate strength on Eq. 3's half-and-half set, the walk's matrix on the
    validation half, parallel MAT over the selected copies, mixed MAT on the originals plus every
    selected strength; each victim through the caller's ``train`` with its tag and strengths."""
    import numpy as np

    from papers_core import data as D
    from papers_core import mat as T
    from papers_core.models import MLP
    from papers_core.tasks import MATExperiment, MATSplits
    from papers_core.train import train_classifier

    d = D.load_digits()
    x, y = d.images[:200], d.labels[:200]
    crafter = train_classifier(MLP(784, (32,), 10), x, y, epochs=2, augment=False, seed=0)
    dirs = [T.FGSMDirections(crafter, d.images[a:b], d.labels[a:b]) for a, b in ((0, 200), (200, 260), (260, 320))]
    grid = np.array([0.0, 0.1, 0.2])
    e = MATExperiment(name="digits", classes=10, unit=1.0, grid=grid, candidates=[0.1, 0.2], dirs=MATSplits(*dirs))
    calls = []

    def train(tag, xs, ys, **key):
        calls.append((tag, len(xs), key))
        return train_classifier(MLP(784, (32,), 10), xs, ys, epochs=1, batch_size=32, augment=False, seed=0)

    e.train_victims(train)
    assert calls == [("original", 200, {}), ("single", 400, {"eps": 0.1}), ("single", 400, {"eps": 0.2})]
    assert set(e.single) == {0.1, 0.2} and e.A.shape == (2, 3)
    assert np.allclose(e.A[1], T.accuracy_under_attack(e.single[0.2], dirs[1], grid))
    choice = e.choose(lambda sel: float(len(sel)), settings("mat", "quick"), seed=0)
    assert e.choice is choice and set(choice.selection.strengths) <= {0.1, 0.2}
    pmat = e.parallel_mat([0.1, 0.2], epochs=3)
    assert isinstance(pmat, T.ParallelMAT) and len(pmat.copies) == 2
    e.mixed_mat(train, [0.1, 0.2])
    e.mixed_mat(train, [0.1, 0.2], reduced=True)
    assert calls[3:] == [("mixed", 600, {"strengths": [0.1, 0.2], "reduced": False}),
                         ("mixed", 200, {"strengths": [0.1, 0.2], "reduced": True})]
