"""Training and evaluation loops (deterministic for a seed on the CPU)."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ._validate import as_generator, check_images, check_labels, check_range
from .attacks.fgsm import _num_classes
from .attacks.fgsm import predict_proba  # noqa: F401  (re-exported: evaluation lives beside training)

__all__ = ["train_classifier", "predict_proba", "quick_scene_classifier"]


def train_classifier(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, epochs: int = 10,
                     batch_size: int = 128, lr: float = 2e-3, weight_decay: float = 5e-4, seed: int = 0,
                     augment: bool = True, progress: bool = False) -> nn.Module:
    """Train ``model`` with Adam and a one-cycle learning-rate schedule on (x, y); return it in eval mode.

    The parameters are first re-initialised from ``seed``, and mini-batches are shuffled by a generator
    seeded with ``seed``, so the trained weights depend on the arguments alone. ``augment`` adds random
    horizontal flips. Runs on ``x``'s device.
    """
    check_images(x)
    check_range(epochs, "epochs", lo=1, integer=True)
    check_range(batch_size, "batch_size", lo=1, integer=True)
    g = as_generator(seed)
    with torch.random.fork_rng(devices=[]):  # the result depends on the arguments only, not on global state
        torch.manual_seed(seed)
        for module in model.modules():
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()
    model.to(x.device).eval()
    y = check_labels(y, x.shape[0], _num_classes(model, x)).to(x.device)  # also checks the channels
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    steps = epochs * ((len(x) + batch_size - 1) // batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.2)
    epoch_iter = range(epochs)
    if progress:
        from tqdm.auto import tqdm

        epoch_iter = tqdm(epoch_iter, desc="training", leave=False)
    for _ in epoch_iter:
        order = torch.randperm(len(x), generator=g).to(x.device)
        for i in range(0, len(x), batch_size):
            idx = order[i:i + batch_size]
            xb = x[idx]
            if augment:
                flip = (torch.rand(len(idx), generator=g) < 0.5).to(x.device)
                xb = torch.where(flip[:, None, None, None], xb.flip(-1), xb)
            loss = F.cross_entropy(model(xb), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    return model.eval()


def quick_scene_classifier(cache=None, seed: int = 0, n_per_class: int = 200, epochs: int = 8,
                           width: int = 32):
    """The quick profile's scene classifier: ``SmallCNN`` trained on SynthScenes (30 classes, 32x32).

    Returns ``(model, train_set)`` with the model in eval mode on the CPU. With a
    :class:`papers_core.experiment.Cache`, the weights are cached, keyed by every setting above (and the
    library's code), so the notebooks that share this classifier train it once per setting.
    """
    from .data import synth_scenes
    from .models import SmallCNN

    train = synth_scenes("train", n_per_class=n_per_class, seed=seed)
    settings = dict(model="SmallCNN", width=width, data="SynthScenes-v1", n_per_class=n_per_class,
                    epochs=epochs, seed=seed)

    def _train():
        net = SmallCNN(train.num_classes, width=width)
        return train_classifier(net, train.images, train.labels, epochs=epochs, seed=seed).state_dict()

    model = SmallCNN(train.num_classes, width=width)
    model.load_state_dict(cache.get_or_compute("smallcnn", settings, _train) if cache is not None else _train())
    return model.eval(), train
