"""Adversarial attacks, a module per method, on one base (:mod:`.base`) and one signed-gradient engine
(:mod:`.sign`). Every attack takes float NCHW images in [0, 1] and is called
``attack(model_or_models, x, labels=None, *, targets=..., ...)``, ``targets`` saying the mode (one class
per image, ``"auto"``: the attack's own choice, ``None``: untargeted; :func:`.base.target_mode`);
:data:`ATTACKS` registers them all.

Modules, one per method (``module``: what it holds):

* ``result``: AttackResult, the result every attack returns
* ``base``: model and input checks, the targets= modes, unused settings refused, the class count,
  predict_proba, the input gradient, the budget box and projection
* ``sign``: the signed-gradient engine of the FGSM family; paper_iterations
* ``targets``: target choice: least likely, random, Eq. 10's private set
* ``fgsm``: FGSM, N-FGSM (iterative), targeted I-FGSM
* ``p_fgsm``: L-, R- and P-FGSM (Li et al. 2019)
* ``noise``: Li et al.'s noise baselines (SoG, the "(XI)" rows): perturbations, not attacks
* ``pgd``: BIM and PGD
* ``ensemble``: E-FGSM, Eq. 17's target set, the multi-classifier label choice
* ``di_fgsm``: DI-FGSM (Xie et al. 2019)
* ``eot``: Expectation over Transformation (Athalye et al. 2018)
* ``rp_fgsm``: RP-FGSM and the Sec. V-B single-classifier baselines (fgsm_variant)
* ``cw``: C&W-L2
* ``deepfool``: DeepFool
* ``sparsefool``: SparseFool
* ``jsma``: JSMA
* ``lbfgs``: the L-BFGS attack and the batched L-BFGS-B solver
* ``k_anonymity``: the K-anonymity attack (Mygdalis et al.)
* ``color_variance``: the colour-variance attack (Sweere et al. 2019)
* ``optim``: Adam for batches of independent per-sample problems
* ``registry``: ATTACKS, get_attack, Table I
"""
from __future__ import annotations

from .base import AUTO, input_gradient, predict_proba, target_mode  # noqa: F401
from .color_variance import (CONDITIONS, IMAGENET_STD, PAPER_RUNS, UNITS, alpha_sweep, choose_alpha,  # noqa: F401
                             color_variance_attack, color_variance_map, protection_condition)
from .cw import CW_DEFAULTS, cw_l2  # noqa: F401
from .deepfool import deepfool  # noqa: F401
from .di_fgsm import di_fgsm  # noqa: F401
from .ensemble import e_fgsm, rp_target_mask  # noqa: F401
from .eot import EOT_TRANSFORMS, eot, eot_draw, eot_transform  # noqa: F401
from .fgsm import PAPER_EPSILON_8BIT, fgsm, iterative_fgsm, n_fgsm, targeted_ifgsm  # noqa: F401
from .jsma import jsma  # noqa: F401
from .k_anonymity import K_ANONYMITY_SOLVERS, KAnonymityResult, k_anonymity_attack, k_anonymity_groups  # noqa: F401
from .lbfgs import lbfgs_attack  # noqa: F401
from .noise import add_noise, fgsm_noise, sign_of_gaussian  # noqa: F401
from .p_fgsm import P_FGSM_SELECTIONS, l_fgsm, p_fgsm, r_fgsm  # noqa: F401
from .pgd import bim, pgd  # noqa: F401
from .result import AttackResult  # noqa: F401
from .registry import ATTACKS, TABLE_I, Attack, attack_table, get_attack  # noqa: F401
from .rp_fgsm import FGSM_VARIANTS, fgsm_variant, rp_fgsm, schedule  # noqa: F401
from .sign import QUANTIZE_MODES, paper_iterations, sign_gradient_attack  # noqa: F401
from .sparsefool import linear_solver, sparsefool  # noqa: F401
from .targets import least_likely_targets, private_target_mask, random_target_mask, sample_targets  # noqa: F401
