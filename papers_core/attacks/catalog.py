"""What each attack of the RP-FGSM paper's comparison is, as the library implements it (Table I).

Each :class:`AttackCard` states the norm that bounds or measures the perturbation, its density
(S: sparse, D: dense), the class selection (U: untargeted, T: targeted), whether one call attacks
several classifiers (MC) and whether it is built to withstand image transformations. The cards
describe this library's functions (``tests/test_catalog.py`` checks them against the code: the
L-inf attacks stay in their ball, the sparse ones change few pixels, the MC ones take a list of
classifiers); the book's Table I is :func:`attack_table`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .._validate import check_choice
from .cw import cw_l2
from .deepfool import deepfool
from .jsma import jsma
from .rp_fgsm import di_fgsm, e_fgsm, eot, fgsm_variant, rp_fgsm
from .sparsefool import sparsefool

__all__ = ["AttackCard", "ATTACK_CARDS", "attack_table"]


@dataclass(frozen=True)
class AttackCard:
    name: str
    reference: str            # the RP-FGSM paper's citation of the method
    norm: str                 # "L_0", "L_1", "L_2" or "L_inf"
    density: str              # "S" (sparse) or "D" (dense)
    types: str                # "U", "T" or "U, T"
    multi_classifier: bool
    transformations: bool
    function: Callable


ATTACK_CARDS: dict[str, AttackCard] = {c.name: c for c in [
    AttackCard("JSMA", "[3] Papernot et al. 2016", "L_0", "S", "T", False, False, jsma),
    AttackCard("CW", "[4] Carlini and Wagner 2017", "L_2", "D", "T", False, False, cw_l2),
    AttackCard("DeepFool", "[15] Moosavi-Dezfooli et al. 2016", "L_2", "D", "U", False, False, deepfool),
    AttackCard("SparseFool", "[16] Modas et al. 2019", "L_1", "S", "U", False, False, sparsefool),
    AttackCard("U-FGSM", "[12] Kurakin et al. 2017", "L_inf", "D", "U", False, False, fgsm_variant),
    AttackCard("R-FGSM", "[10] Kurakin et al. 2017", "L_inf", "D", "T", False, False, fgsm_variant),
    AttackCard("L-FGSM", "[12] Kurakin et al. 2017", "L_inf", "D", "T", False, False, fgsm_variant),
    AttackCard("P-FGSM", "[1] Li et al. 2019", "L_inf", "D", "T", False, False, fgsm_variant),
    AttackCard("EOT", "[5] Athalye et al. 2018", "L_inf", "D", "T", False, True, eot),
    AttackCard("DI-FGSM", "[13] Xie et al. 2019", "L_inf", "D", "U, T", True, True, di_fgsm),
    AttackCard("E-FGSM", "[6] Tramer et al. 2018", "L_inf", "D", "T", True, False, e_fgsm),
    AttackCard("RP-FGSM", "Sanchez-Matilla et al. 2020", "L_inf", "D", "U, T", True, True, rp_fgsm),
]}


def attack_table(names=None):
    """Table I as a DataFrame, one row per attack (default: all cards, in the paper's order)."""
    import pandas as pd

    names = list(ATTACK_CARDS) if names is None else [check_choice(n, ATTACK_CARDS, "attack") for n in names]
    rows = {n: {"Reference": ATTACK_CARDS[n].reference, "Norm": ATTACK_CARDS[n].norm,
                "Perturbation": ATTACK_CARDS[n].density, "Type": ATTACK_CARDS[n].types,
                "MC": "yes" if ATTACK_CARDS[n].multi_classifier else "",
                "Trans.": "yes" if ATTACK_CARDS[n].transformations else "",
                "function": f"papers_core.attacks.{ATTACK_CARDS[n].function.__name__}"} for n in names}
    out = pd.DataFrame(rows).T
    out.index.name = "Attack"
    return out
