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
