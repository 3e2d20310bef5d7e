"""A page's run (papers_core.runs): results and provenance, profiles, devices and seeds, batching, CPU
threads, notebook_setup, and when a run's commit is dirty."""
import json
import subprocess

import pandas as pd
import pytest
import torch

from papers_core.progress import progress_enabled
from papers_core.runs import (RESULT_INPUTS, Results, check_profile, full_float32, git_commit, notebook_setup,
                              pick_device, provenance, seed_everything)


def test_results_write_tables_figures_and_provenance(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    res = Results(tmp_path / "r", profile="quick", seed=3)
    res.table(pd.DataFrame({"a": [1, 2]}), "t")
    fig, ax = plt.subplots()
    res.figure(fig, "f")
    assert (tmp_path / "r" / "t.csv").exists() and (tmp_path / "r" / "f.png").read_bytes()[:4] == b"\x89PNG"
    prov = json.loads((tmp_path / "r" / "provenance.json").read_text())
    assert prov["settings"] == {"profile": "quick", "seed": 3}
    assert prov["packages"]["torch"] and "git_commit" in prov


def test_profiles_devices_and_seeds():
    assert check_profile("quick") == "quick"
    with pytest.raises(ValueError, match="valid choices.*paper"):
        check_profile("full")
    assert pick_device("cpu").type == "cpu"
    cudnn, matmul = torch.backends.cudnn, torch.backends.cuda.matmul
    flags = cudnn.conv.fp32_precision, cudnn.rnn.fp32_precision, matmul.fp32_precision
    try:
        torch.backends.cudnn.conv.fp32_precision = torch.backends.cuda.matmul.fp32_precision = "tf32"
        pick_device("cpu")   # the CPU: the flags are left alone
        assert torch.backends.cudnn.conv.fp32_precision == "tf32"
        full_float32()       # what pick_device calls when it picks CUDA
        assert torch.backends.cudnn.conv.fp32_precision == torch.backends.cuda.matmul.fp32_precision == "ieee"
    finally:
        cudnn.conv.fp32_precision, cudnn.rnn.fp32_precision, matmul.fp32_precision = flags
        assert isinstance(cudnn.allow_tf32, bool)   # restored consistently (mixed flags make this raise)
    assert pick_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    g1, g2 = seed_everything(4), seed_everything(4)
    assert torch.equal(torch.rand(3, generator=g1), torch.rand(3, generator=g2))
    assert provenance()["python"]


def test_in_batches_gives_the_whole_batch_result():
    import pytest
    import torch

    from papers_core.runs import in_batches

    x = torch.arange(10.0)[:, None]
    assert torch.equal(in_batches(lambda t: t * 2, x, batch_size=3), x * 2)
    with pytest.raises(ValueError, match="batch_size"):
        in_batches(lambda t: t, x, batch_size=0)


def _threads_after_setup(tmp_path, profile, env_threads=None):
    import os
    import subprocess
    import sys

    env = {**os.environ, "PAPERS_CORE_RESULTS": str(tmp_path)}
    env.pop("PAPERS_CORE_THREADS", None)
    if env_threads:
        env["PAPERS_CORE_THREADS"] = env_threads
    code = ("import torch; from threadpoolctl import threadpool_info; torch.set_num_threads(2); "
            "from papers_core.runs import notebook_setup; "
            f"notebook_setup('p_fgsm', {{'profile': {profile!r}}}); "
            "print(torch.get_num_threads(), max(i['num_threads'] for i in threadpool_info()))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return tuple(int(v) for v in out.stdout.split()[-2:])


def test_the_quick_profile_computes_on_one_thread_and_the_paper_profile_on_all(tmp_path):
    # one thread for torch and for NumPy's BLAS: the book's numbers do not depend on the core count
    assert _threads_after_setup(tmp_path, "quick") == (1, 1)
    assert _threads_after_setup(tmp_path, "quick", env_threads="2") == (2, 2)
    assert _threads_after_setup(tmp_path, "paper")[0] == 2    # left as it was
    assert _threads_after_setup(tmp_path, "paper", env_threads="1") == (1, 1)   # unless the variable says


def test_set_cpu_threads_rejects_nonsense():
    from papers_core.runs import set_cpu_threads

    with pytest.raises(ValueError, match="at least 1"):
        set_cpu_threads(0)


def test_run_commit_is_dirty_only_when_result_inputs_change(tmp_path):
    import shutil

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    assert "papers_core" in RESULT_INPUTS and "notebooks/*.py" in RESULT_INPUTS

    def git(*args):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path, check=True,
                       capture_output=True)

    (tmp_path / "papers_core").mkdir()
    (tmp_path / "notebooks").mkdir()
    for f in ("papers_core/a.py", "notebooks/p.py", "notebooks/p.ipynb", "README.md"):
        (tmp_path / f).write_text("1")
    git("init", "-q")
    git("add", "-A")
    git("commit", "-qm", "init")
    clean = git_commit(tmp_path)
    assert len(clean) == 40 and not clean.endswith("-dirty")
    (tmp_path / "README.md").write_text("2")
    (tmp_path / "notebooks/p.ipynb").write_text("2")          # executed copies and docs: still clean
    assert git_commit(tmp_path) == clean
    (tmp_path / "notebooks/p.py").write_text("2")             # a notebook's source: dirty
    assert git_commit(tmp_path) == clean + "-dirty"
    git("checkout", "notebooks/p.py")
    (tmp_path / "papers_core/a.py").write_text("2")           # the library: dirty
    assert git_commit(tmp_path) == clean + "-dirty"


def test_notebook_setup_turns_progress_on_for_the_paper_profile(tmp_path, monkeypatch):
    monkeypatch.delenv("PAPERS_CORE_PROGRESS", raising=False)
    monkeypatch.setattr("papers_core.runs.repo_root", lambda: tmp_path)
    notebook_setup("demo", "paper", 0, "cpu")
    assert progress_enabled()
    from papers_core.runs import set_cpu_threads

    threads = torch.get_num_threads()
    try:
        notebook_setup("demo", "quick", 0, "cpu")
        assert not progress_enabled()
    finally:
        set_cpu_threads(threads)   # the quick profile set one thread; the other tests keep theirs
