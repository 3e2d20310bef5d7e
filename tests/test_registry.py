"""One registry: every attack is called through it the same way, and its description (Table I's
columns) matches what the code does."""
import inspect

import pytest
import torch

from papers_core.attacks import ATTACKS, TABLE_I, AttackResult, attack_table, get_attack, predict_proba

PAPER_ORDER = ["JSMA", "CW", "DeepFool", "SparseFool", "U-FGSM", "R-FGSM", "L-FGSM", "P-FGSM", "EOT",
               "DI-FGSM", "E-FGSM", "RP-FGSM"]

# the fewest steps that still show each attack's character (settings on top of the entry's own)
FAST = {"C&W": dict(binary_search_steps=1, iterations=50), "L-BFGS": dict(search_steps=1, iterations=20),
        "K-anonymity": dict(K=2, iterations=30), "CV": dict(iterations=10), "N-FGSM": dict(iterations=10),
        "I-FGSM (targeted)": dict(iterations=10), "L-FGSM": dict(iterations=10), "R-FGSM": dict(iterations=10),
        "P-FGSM": dict(iterations=10)}


def _call(name, model, x, models=None, **kw):
    """The uniform call: attack(model_or_models, x, labels, targets=...)."""
    attack = get_attack(name)
    labels = predict_proba(model, x).argmax(1)   # correctly classified by construction (K-anonymity needs it)
    given = {"targets": (labels + 1) % 30} if attack.needs_targets else {}   # else the paper's own mode
    return attack(models or model, x, labels, **{**given, **FAST.get(name, {}), **kw})

def test_every_registered_attack_runs_through_the_registry(model, batch):
    x, _ = batch
    x = x[:4]
    for name, attack in ATTACKS.items():
        params = list(inspect.signature(attack.function).parameters)
        assert params[1:3] == ["x", "labels"], (name, params)    # the one call convention
        assert "targets" in params and "max_iter" not in params, name
        r = _call(name, model, x)
        assert isinstance(r, AttackResult) and r.adv.shape == x.shape, name
        assert r.adv.min() >= 0 and r.adv.max() <= 1, name
        assert r.success.shape == r.iterations.shape == (4,), name
        if attack.needs_targets:
            with pytest.raises(ValueError, match="targets"):
                attack(model, x)


def test_table_has_the_papers_rows_and_columns():
    t = attack_table()
    assert list(t.index) == PAPER_ORDER == list(TABLE_I)
    assert list(t.columns[:6]) == ["Reference", "Norm", "Perturbation", "Type", "MC", "Trans."]
    assert set(t.loc[["DI-FGSM", "E-FGSM", "RP-FGSM"], "MC"]) == {"yes"}
    with pytest.raises(ValueError, match="attack"):
        attack_table(["FGSM-X"])


def test_descriptions_match_the_code(model, second_model_cat, batch):
    x, _ = batch
    x = x[:6]
    for table_name, name in TABLE_I.items():
        attack = ATTACKS[name]
        params = inspect.signature(attack.function).parameters
        if "U" in attack.types and "T" in attack.types:   # both modes, said by targets= alone
            assert "targeted" not in params, name
            assert _call(name, model, x, targets=None).target.eq(-1).all(), name
            assert _call(name, model, x, targets="auto").target.ge(0).all(), name
        elif attack.types == "U":   # Table I's untargeted attacks have no targeted mode: refused
            with pytest.raises(ValueError, match="untargeted"):
                _call(name, model, x, targets=torch.zeros(len(x), dtype=torch.long))
        r = _call(name, model, x)
        d = (r.adv - x).abs()
        if attack.norm == "L_inf":
            assert d.max() <= 16 / 255 + 1e-6, name
        moved = d.flatten(1).amax(1) > 1e-6              # images the attack changed at all
        assert moved.any(), name
        changed = d[moved].amax(1).gt(1e-6).float().mean()   # share of their pixels changed
        if attack.density == "S":
            assert changed < 0.5, (name, float(changed))
        elif name not in ("DeepFool",):  # DeepFool can stop after a tiny dense step
            assert changed > 0.5, (name, float(changed))
        if attack.multi_classifier:
            r2 = _call(name, model, x, models=[model, second_model_cat])
            assert r2.adv.shape == x.shape
        elif attack.function.__name__ == "fgsm_variant":
            with pytest.raises(ValueError, match="one classifier"):
                _call(name, model, x, models=[model, second_model_cat])


@pytest.fixture(scope="module")
def second_model_cat(scenes):
    from papers_core.models import SmallCNN
    from papers_core.train import train_classifier

    train, _ = scenes
    return train_classifier(SmallCNN(train.num_classes, width=8), train.images, train.labels, epochs=2,
                            batch_size=32, seed=1)


def test_sparse_attacks_change_fewer_pixels_than_dense_ones(model, batch):
    x, _ = batch
    x = x[:6]
    share = {n: float(_call(TABLE_I[n], model, x).adv.ne(x).any(1).float().mean())
             for n in ("JSMA", "SparseFool", "U-FGSM", "P-FGSM")}
    assert max(share["JSMA"], share["SparseFool"]) < min(share["U-FGSM"], share["P-FGSM"])


def test_sec_vb_baselines_are_the_p_fgsm_papers_functions_with_other_settings(model, batch):
    from papers_core import attacks as A

    x, _ = batch
    x = x[:6]
    vb = dict(step=1.0, eps=16.0, iterations=20, threshold=None, quantize="step")
    assert torch.equal(get_attack("P-FGSM (V-B)")(model, x, seed=4).adv,
                       A.p_fgsm(model, x, sigma=0.99, seed=4, **vb).adv)
    assert torch.equal(get_attack("L-FGSM (V-B)")(model, x).adv, A.l_fgsm(model, x, **vb).adv)
