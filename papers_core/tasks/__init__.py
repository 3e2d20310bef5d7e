"""What each page attacks, for either profile: the data, the models and the expensive attacks, built
by the library so that a page holds no ``if profile == ...`` branch and its sharded attack stage
(:mod:`papers_core.shard`) builds exactly what the page does. The page reads every staged attack
through :func:`papers_core.jobs.run_job`, so a stage run by ``torchrun`` beforehand leaves it
nothing to compute.

=====================  ======================================================================
module                 what it holds
=====================  ======================================================================
``scenes``             the P-FGSM, colour-variance and comparison pages' classifiers and images
``rp_fgsm``            the RP-FGSM page's four classifiers and images, EOT's weight, its attacks
                       as jobs and its stage
``k_anonymity``        the K-anonymity page's classifiers and attacked samples, jobs and stage
``mat``                the MAT page's splits and strength grids, crafting models, the victims'
                       training and Sec. 4's steps (also run by the comparison page's scene twins)
``common``             the datasets a run covers
=====================  ======================================================================

:func:`load_task` is the one entry: ``load_task(paper, cfg, profile, cache, seed, device)``.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from .._validate import check_choice
from ..profiles import PROFILES
from .k_anonymity import *  # noqa: F401,F403
from .k_anonymity import kanon_datasets, kanon_experiment, kanon_stage, KANON_LABELS
from .mat import *  # noqa: F401,F403
from .mat import MAT_LABELS, mat_datasets, mat_experiment
from .rp_fgsm import *  # noqa: F401,F403
from .rp_fgsm import rp_fgsm_scenes, rp_fgsm_stage
from .scenes import *  # noqa: F401,F403
from .scenes import color_variance_task, compare_task, pfgsm_task
from . import k_anonymity, mat, rp_fgsm, scenes

__all__ = [*scenes.__all__, *rp_fgsm.__all__, *k_anonymity.__all__, *mat.__all__, "TASKS", "load_task", "STAGES"]


def _kanon(cfg, profile, cache, seed=0, device="cpu", root=None):
    if root is not None:   # the paper profile's data root, under the repository (or root) as the other pages'
        cfg = dataclasses.replace(cfg, data_root=str(Path(root) / cfg.data_root))
    return {KANON_LABELS[n]: kanon_experiment(n, cfg, profile, cache, seed=seed, device=device)
            for n in kanon_datasets(cfg)}


def _mat(cfg, profile, cache, seed=0, device="cpu", root=None):
    return {MAT_LABELS[n]: mat_experiment(n, cfg, profile, cache, seed=seed, device=device, root=root)
            for n in mat_datasets(cfg)}


#: paper -> the function that builds its page's task
TASKS = {"p_fgsm": pfgsm_task, "rp_fgsm": rp_fgsm_scenes, "color_variance": color_variance_task,
         "k_anonymity": _kanon, "mat": _mat, "compare": compare_task}


def load_task(paper: str, cfg, profile: str, cache, seed: int = 0, device="cpu", root=None):
    """Paper ``paper``'s task for ``profile`` with the page's settings ``cfg``
    (:func:`papers_core.profiles.settings`): a :class:`~papers_core.tasks.scenes.SceneTask`
    (p_fgsm, color_variance), :class:`~papers_core.tasks.rp_fgsm.RPScenes` (rp_fgsm),
    :class:`~papers_core.tasks.scenes.CompareTask` (compare), or a dict from dataset label to
    :class:`~papers_core.tasks.k_anonymity.KAnonExperiment` (k_anonymity) or
    :class:`~papers_core.tasks.mat.MATExperiment` (mat). Models come back frozen on ``device``; trained
    ones are read from (or written to) ``cache``; ``root`` is where the paper profile's data lives
    (default: the repository)."""
    check_choice(paper, TASKS, "paper")
    check_choice(profile, PROFILES, "profile")
    return TASKS[paper](cfg, profile, cache, seed=seed, device=device, root=root)


#: paper -> its page's attack stage (what ``python -m papers_core.shard PAPER`` runs)
STAGES = {"k_anonymity": kanon_stage, "rp_fgsm": rp_fgsm_stage}
