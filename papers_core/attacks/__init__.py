"""Adversarial attacks, one family per module. Every attack takes float NCHW images in [0, 1]."""
from __future__ import annotations

from typing import Callable

from .._validate import check_choice
from .color_variance import (  # noqa: F401
    CONDITIONS,
    PAPER_RUNS,
    color_variance_attack,
    color_variance_map,
    protection_condition,
)
from .cw import CW_DEFAULTS, cw_l2  # noqa: F401
from .deepfool import deepfool  # noqa: F401
from .jsma import jsma  # noqa: F401
from .catalog import ATTACK_CARDS, AttackCard, attack_table  # noqa: F401
from .sparsefool import linear_solver, sparsefool  # noqa: F401
from .lbfgs import KAnonymityResult, k_anonymity_attack, k_anonymity_groups, lbfgs_attack  # noqa: F401
from .rp_fgsm import (EOT_TRANSFORMS, FGSM_VARIANTS, di_fgsm, e_fgsm, eot, eot_draw, eot_transform,  # noqa: F401
                      fgsm_variant, paper_iterations, rp_fgsm, rp_target_mask, schedule)
from .fgsm import (  # noqa: F401
    P_FGSM_SELECTIONS,
    PAPER_EPSILON_8BIT,
    QUANTIZE_MODES,
    AttackResult,
    add_noise,
    bim,
    fgsm,
    fgsm_noise,
    iterative_sign_attack,
    l_fgsm,
    least_likely_targets,
    n_fgsm,
    p_fgsm,
    pgd,
    predict_proba,
    private_target_mask,
    r_fgsm,
    random_target_mask,
    sample_targets,
    sign_of_gaussian,
    targeted_ifgsm,
)

#: Attacks by the names the papers use.
ATTACKS: dict[str, Callable[..., AttackResult]] = {
    "FGSM": fgsm,
    "BIM": bim,
    "PGD": pgd,
    "N-FGSM": n_fgsm,
    "L-FGSM": l_fgsm,
    "R-FGSM": r_fgsm,
    "P-FGSM": p_fgsm,
    "CV": color_variance_attack,
    "DeepFool": deepfool,
    "JSMA": jsma,
    "SparseFool": sparsefool,
    "C&W": cw_l2,
    "L-BFGS": lbfgs_attack,
    "K-anonymity": k_anonymity_attack,
    "RP-FGSM": rp_fgsm,
    "E-FGSM": e_fgsm,
    "DI-FGSM": di_fgsm,
    "EOT": eot,
}


def get_attack(name: str) -> Callable[..., AttackResult]:
    """The attack called ``name`` (e.g. "P-FGSM"); an unknown name lists the valid ones."""
    return ATTACKS[check_choice(name, ATTACKS, "attack")]
