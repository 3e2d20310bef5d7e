"""Settings chosen by a paper's rule (papers_core.tuning): EOT's Lab weight by the RP-FGSM paper's
"misleading rate of approximately 90 %"."""
import pandas as pd
import pytest
import torch

from papers_core.attacks import eot, predict_proba
from papers_core.tuning import choose_eot_lam, eot_lam_sweep


def _sweep(rates):
    df = pd.DataFrame({"misleading": list(rates.values()), "PSNR": [30.0] * len(rates)}, index=list(rates))
    df.index.name = "lam"
    return df


def test_choose_eot_lam_takes_the_largest_weight_that_reaches_the_rate():
    lam, why = choose_eot_lam(_sweep({0.0: 1.0, 0.01: 0.95, 0.1: 0.9, 0.5: 0.4}), 0.9)
    assert lam == 0.1 and "at least 90%" in why and "0.900" in why
    # a non-monotone sweep: still the largest weight at or above the rate
    assert choose_eot_lam(_sweep({0.0: 0.92, 0.01: 0.85, 0.1: 0.91, 0.5: 0.2}), 0.9)[0] == 0.1
    # none reaches it: the highest rate, the largest weight among ties
    lam, why = choose_eot_lam(_sweep({0.0: 0.7, 0.01: 0.7, 0.1: 0.5}), 0.9)
    assert lam == 0.01 and why.startswith("no lambda reaches 90%")
    with pytest.raises(ValueError, match="target"):
        choose_eot_lam(_sweep({0.0: 1.0}), 1.5)
    with pytest.raises(ValueError, match="empty"):
        choose_eot_lam(_sweep({}), 0.9)
    with pytest.raises(ValueError, match="needs eot_lam_sweep"):
        choose_eot_lam(_sweep({0.0: 1.0}), 0.9, column="misleading (labels)")
    labelled = _sweep({0.0: 1.0, 0.1: 0.85}).assign(**{"misleading (labels)": [1.0, 0.95]})
    assert choose_eot_lam(labelled, 0.9)[0] == 0.0 and choose_eot_lam(labelled, 0.9, "misleading (labels)")[0] == 0.1


def test_eot_lam_sweep_measures_moves_off_the_clean_prediction(model, batch):
    x = batch[0][:12]
    calls = []

    def run(lam, xs):
        calls.append(lam)
        return eot(model, xs, lam=lam, seed=3).adv

    sweep = eot_lam_sweep(run, model, x, [0, 100.0])
    assert calls == [0.0, 100.0] and list(sweep.index) == [0.0, 100.0]
    clean = predict_proba(model, x).argmax(1)
    for lam in (0.0, 100.0):
        moved = (predict_proba(model, run(lam, x)).argmax(1) != clean).float().mean()
        assert sweep.loc[lam, "misleading"] == pytest.approx(float(moved))
    # the Lab term trades misleading for quality: a heavy weight keeps the images closer and misleads less
    assert sweep.loc[100.0, "PSNR"] > sweep.loc[0.0, "PSNR"]
    assert sweep.loc[100.0, "misleading"] < sweep.loc[0.0, "misleading"]
    # against the labels: the clean errors count as misled, so the rate is at least the clean error
    y = batch[1][:12]
    labelled = eot_lam_sweep(run, model, x, [100.0], labels=y)
    pred = predict_proba(model, run(100.0, x)).argmax(1)
    assert labelled.loc[100.0, "misleading (labels)"] == pytest.approx(float((pred != y).float().mean()))
    with pytest.raises(ValueError, match="one label per image"):
        eot_lam_sweep(run, model, x, [0.5], labels=y[:3])
    # an unchanged image counts as not moved, with PSNR capped at 100 dB
    same = eot_lam_sweep(lambda lam, xs: xs.clone(), model, x, [0.5])
    assert same.loc[0.5, "misleading"] == 0 and same.loc[0.5, "PSNR"] == 100
    with pytest.raises(ValueError, match="lams is empty"):
        eot_lam_sweep(run, model, x, [])
    with pytest.raises(ValueError, match="lam"):
        eot_lam_sweep(run, model, x, [-1.0])
    with pytest.raises(ValueError, match="no tuning images"):
        eot_lam_sweep(run, model, x[:0], [0.5])
