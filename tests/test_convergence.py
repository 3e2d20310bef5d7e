"""The P-FGSM page's study of what sets the iterations (papers_core.convergence)."""
import json

import pandas as pd
import pytest

from papers_core.convergence import input_size_study, main


def test_input_size_study_measures_each_setting():
    df = input_size_study(sizes=(16, 24), epochs=(1,), n_per_class=5, test_per_class=2, iterations=5, seed=0)
    assert list(df.index) == [(16, 1), (24, 1)]
    assert df.loc[(16, 1), "inputs"] == 3 * 16 * 16 and df.loc[(24, 1), "inputs"] == 3 * 24 * 24
    assert ((df["mean_iterations"] >= 1) & (df["mean_iterations"] <= 5)).all()
    assert ((df["confidence"] > 0) & (df["confidence"] <= 1)).all() and (df["grad_l1"] > 0).all()
    assert df["share_within_2"].between(0, 1).all() and (df["PSNR"] > 20).all()
    # deterministic: the same settings give the same numbers
    again = input_size_study(sizes=(16,), epochs=(1,), n_per_class=5, test_per_class=2, iterations=5, seed=0)
    pd.testing.assert_series_equal(again.loc[(16, 1)].drop("train_s"), df.loc[(16, 1)].drop("train_s"))
    with pytest.raises(ValueError, match="size"):
        input_size_study(sizes=(4,))
    with pytest.raises(ValueError, match="at least one"):
        input_size_study(sizes=(), epochs=(1,))


def test_the_command_writes_the_table_and_its_provenance(tmp_path, monkeypatch):
    import papers_core.convergence as C

    calls = {}

    def small(sizes, epochs, progress=None):
        calls["args"] = (tuple(sizes), tuple(epochs))
        return input_size_study(sizes, epochs, n_per_class=5, test_per_class=1, iterations=3)

    monkeypatch.setattr(C, "input_size_study", small)
    out = tmp_path / "s" / "study.csv"
    main(["--sizes", "16", "--epochs", "1", "--out", str(out)])
    assert calls["args"] == ((16,), (1,))
    df = pd.read_csv(out, index_col=["size", "epochs"])
    assert list(df.index) == [(16, 1)] and not out.with_suffix(".tmp").exists()
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["command"] == f"python -m papers_core.convergence --sizes 16 --epochs 1 --out {out}"
    assert len(meta["commit"].removesuffix("-dirty")) == 40 and meta["threads"] == 1
