"""One registry of every attack: what it is (the RP-FGSM paper's Table I columns) and how to call it.

Each :class:`Attack` entry names its function, the settings it is run with (``settings``: e.g. the RP-FGSM
paper's Sec. V-B U-, R-, L- and P-FGSM are the P-FGSM paper's functions with other settings), the norm
that bounds or measures the perturbation, its density (S: sparse, D: dense), the class selection
(U: untargeted, T: targeted), whether one call attacks several classifiers (MC), whether it is built
to withstand image transformations, and whether it needs ``targets``. Every entry is called the same
way::

    attack = get_attack("P-FGSM")
    result = attack(model, x, labels, **overrides)        # targets=... among the overrides

``tests/test_registry.py`` calls every entry like that and checks the descriptions against what the
code does (the L-inf attacks stay in their ball, the sparse ones change few pixels, the MC ones take a
list of classifiers). The book's Table I is :func:`attack_table`.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Callable

from .._validate import check_choice
from .result import AttackResult
from .color_variance import color_variance_attack
from .cw import cw_l2
from .deepfool import deepfool
from .di_fgsm import di_fgsm
from .ensemble import e_fgsm
from .eot import eot
from .fgsm import fgsm, n_fgsm, targeted_ifgsm
from .jsma import jsma
from .k_anonymity import k_anonymity_attack
from .lbfgs import lbfgs_attack
from .p_fgsm import l_fgsm, p_fgsm, r_fgsm
from .pgd import bim, pgd
from .rp_fgsm import fgsm_variant, rp_fgsm
from .sparsefool import sparsefool

__all__ = ["Attack", "ATTACKS", "TABLE_I", "get_attack", "attack_table"]


@dataclass(frozen=True)
class Attack:
    name: str
    function: Callable[..., AttackResult]
    reference: str            # citation (the RP-FGSM paper's numbering where it cites the method)
    norm: str                 # "L_0", "L_1", "L_2" or "L_inf"
    density: str              # "S" (sparse) or "D" (dense)
    types: str                # "U", "T" or "U, T"
    multi_classifier: bool = False
    transformations: bool = False
    needs_targets: bool = False
    settings: dict = field(default_factory=dict)
    #: whether the function takes true labels in an untargeted call (EOT, RP-FGSM, L-BFGS and JSMA never do,
    #: and refuse them)
    takes_labels: bool = True

    def __call__(self, model, x, labels=None, **overrides) -> AttackResult:
        """Run the attack: ``labels`` the true labels, ``overrides`` on top of the entry's ``settings``.
        ``targets``, if given, says the mode as everywhere in the library: one class per image,
        ``"auto"`` (the attack's own choice, where it has one) or ``None`` (untargeted, where it has
        that mode); left out, the attack runs in its paper's mode. It is required where
        ``needs_targets``. The one call for every attack: ``labels`` go to the call only when it is
        untargeted and the attack takes them (``takes_labels``); a targeted call has no use for them."""
        kw = {**self.settings, **overrides}
        if self.needs_targets and kw.get("targets") is None:
            raise ValueError(f"{self.name} is targeted: pass targets= (the class each image is pushed towards).")
        untargeted = kw.get("targets", _default_targets(self.function)) is None
        return self.function(model, x, labels if self.takes_labels and untargeted else None, **kw)


def _default_targets(function):
    """The default of ``function``'s ``targets`` (the attack's paper mode): None, "auto" or required."""
    p = inspect.signature(function).parameters.get("targets")
    return None if p is None else (p.default if p.default is not inspect.Parameter.empty else "required")


#: Every attack of the five papers, by the name the papers use.
ATTACKS: dict[str, Attack] = {a.name: a for a in [
    # Li et al. 2019 (P-FGSM paper), Table 1: step 0.007, stop at p > 0.99 or 50 iterations
    Attack("FGSM", fgsm, "Goodfellow et al. 2015", "L_inf", "D", "U"),
    Attack("N-FGSM", n_fgsm, "Kurakin et al. 2017 (iterative FGSM)", "L_inf", "D", "U"),
    Attack("I-FGSM (targeted)", targeted_ifgsm, "Kurakin et al. 2017", "L_inf", "D", "T", needs_targets=True),
    Attack("L-FGSM", l_fgsm, "Kurakin et al. 2017 (least likely)", "L_inf", "D", "T"),
    Attack("R-FGSM", r_fgsm, "Kurakin et al. 2017 (random target)", "L_inf", "D", "T"),
    Attack("P-FGSM", p_fgsm, "Li et al. 2019", "L_inf", "D", "T"),
    Attack("BIM", bim, "Kurakin et al. 2017", "L_inf", "D", "U"),
    Attack("PGD", pgd, "Madry et al. 2018", "L_inf", "D", "U"),
    # Sanchez-Matilla et al. 2020 (RP-FGSM paper), Table I
    Attack("JSMA", jsma, "[3] Papernot et al. 2016", "L_0", "S", "T", needs_targets=True, takes_labels=False),
    Attack("C&W", cw_l2, "[4] Carlini and Wagner 2017", "L_2", "D", "T"),
    Attack("DeepFool", deepfool, "[15] Moosavi-Dezfooli et al. 2016", "L_2", "D", "U"),
    Attack("SparseFool", sparsefool, "[16] Modas et al. 2019", "L_1", "S", "U"),
    # Sec. V-B's single-classifier baselines: the P-FGSM paper's functions with Sec. V-B's settings
    *(Attack(f"{v} (V-B)", fgsm_variant, ref, "L_inf", "D", kind,
             settings=dict(variant=v, **({"targets": None} if kind == "U" else {})))
      for v, ref, kind in (("U-FGSM", "[12] Kurakin et al. 2017", "U"), ("R-FGSM", "[10] Kurakin et al. 2017", "T"),
                           ("L-FGSM", "[12] Kurakin et al. 2017", "T"), ("P-FGSM", "[1] Li et al. 2019", "T"))),
    Attack("EOT", eot, "[5] Athalye et al. 2018", "L_inf", "D", "T", transformations=True, takes_labels=False),
    Attack("DI-FGSM", di_fgsm, "[13] Xie et al. 2019", "L_inf", "D", "U, T", multi_classifier=True,
           transformations=True),
    Attack("E-FGSM", e_fgsm, "[6] Tramer et al. 2018", "L_inf", "D", "T", multi_classifier=True),
    Attack("RP-FGSM", rp_fgsm, "Sanchez-Matilla et al. 2020", "L_inf", "D", "U, T", multi_classifier=True,
           transformations=True, takes_labels=False),
    # Mygdalis et al. (K-anonymity paper)
    Attack("L-BFGS", lbfgs_attack, "Szegedy et al. 2014", "L_2", "D", "T", needs_targets=True, takes_labels=False),
    Attack("K-anonymity", k_anonymity_attack, "Mygdalis, Tefas and Pitas", "L_2", "D", "U"),
    # Sweere et al. 2019
    Attack("CV", color_variance_attack, "Sweere, Liu and Larson 2019", "L_inf", "D", "U"),
]}

#: The RP-FGSM paper's Table I: its row names and the registry entries they are.
TABLE_I = {"JSMA": "JSMA", "CW": "C&W", "DeepFool": "DeepFool", "SparseFool": "SparseFool",
           "U-FGSM": "U-FGSM (V-B)", "R-FGSM": "R-FGSM (V-B)", "L-FGSM": "L-FGSM (V-B)", "P-FGSM": "P-FGSM (V-B)",
           "EOT": "EOT", "DI-FGSM": "DI-FGSM", "E-FGSM": "E-FGSM", "RP-FGSM": "RP-FGSM"}


def get_attack(name: str) -> Attack:
    """The attack called ``name`` (e.g. "P-FGSM"); an unknown name lists the valid ones."""
    return ATTACKS[check_choice(name, ATTACKS, "attack")]


def attack_table(names=None):
    """Table I as a DataFrame, one row per attack (default: the paper's rows, in the paper's order)."""
    import pandas as pd

    names = list(TABLE_I) if names is None else [check_choice(n, TABLE_I, "attack") for n in names]
    rows = {}
    for n in names:
        a = ATTACKS[TABLE_I[n]]
        rows[n] = {"Reference": a.reference, "Norm": a.norm, "Perturbation": a.density, "Type": a.types,
                   "MC": "yes" if a.multi_classifier else "", "Trans.": "yes" if a.transformations else "",
                   "function": f"papers_core.attacks.{a.function.__name__}"}
    out = pd.DataFrame(rows).T
    out.index.name = "Attack"
    return out
