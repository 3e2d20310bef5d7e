"""Table I's attack cards describe the library's functions: checked against what the code does."""
import inspect

import pytest
import torch

from papers_core.attacks import ATTACK_CARDS, attack_table, predict_proba

PAPER_ORDER = ["JSMA", "CW", "DeepFool", "SparseFool", "U-FGSM", "R-FGSM", "L-FGSM", "P-FGSM", "EOT",
               "DI-FGSM", "E-FGSM", "RP-FGSM"]


def _run(card, model, x, models=None):
    f, m = card.function, models or model
    if card.name in ("JSMA", "CW"):
        t = (predict_proba(model, x).argmax(1) + 1) % 30
        kw = dict(targeted=True, binary_search_steps=1, max_iter=50) if card.name == "CW" else {}
        return f(m, x, t, **kw)
    if card.name in ("DeepFool", "SparseFool"):
        return f(m, x, predict_proba(model, x).argmax(1))
    if card.function.__name__ == "fgsm_variant":
        return f(m, x, card.name)
    return f(m, x)


def test_table_has_the_papers_rows_and_columns():
    t = attack_table()
    assert list(t.index) == PAPER_ORDER
    assert list(t.columns[:6]) == ["Reference", "Norm", "Perturbation", "Type", "MC", "Trans."]
    assert set(t.loc[["DI-FGSM", "E-FGSM", "RP-FGSM"], "MC"]) == {"yes"}
    with pytest.raises(ValueError, match="attack"):
        attack_table(["FGSM-X"])


def test_cards_match_the_code(model, second_model_cat, batch):
    x, _ = batch
    x = x[:6]
    for card in ATTACK_CARDS.values():
        params = inspect.signature(card.function).parameters
        if "U" in card.types and "T" in card.types:
            assert "targeted" in params, card.name
        r = _run(card, model, x)
        d = (r.adv - x).abs()
        if card.norm == "L_inf":
            assert d.max() <= 16 / 255 + 1e-6, card.name
        moved = d.flatten(1).amax(1) > 1e-6              # images the attack changed at all
        assert moved.any(), card.name
        changed = d[moved].amax(1).gt(1e-6).float().mean()   # share of their pixels changed
        if card.density == "S":
            assert changed < 0.5, (card.name, float(changed))
        elif card.name not in ("DeepFool",):  # DeepFool can stop after a tiny dense step
            assert changed > 0.5, (card.name, float(changed))
        if card.multi_classifier:
            r2 = _run(card, model, x, models=[model, second_model_cat])
            assert r2.adv.shape == x.shape
        elif card.function.__name__ == "fgsm_variant":
            with pytest.raises(ValueError, match="one classifier"):
                _run(card, model, x, models=[model, second_model_cat])


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
    share = {n: float(_run(ATTACK_CARDS[n], model, x).adv.ne(x).any(1).float().mean())
             for n in ("JSMA", "SparseFool", "U-FGSM", "P-FGSM")}
    assert max(share["JSMA"], share["SparseFool"]) < min(share["U-FGSM"], share["P-FGSM"])
