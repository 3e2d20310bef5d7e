"""Experiment plumbing: atomic cache keyed by settings, resume after a kill, provenance, determinism."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pandas as pd
import pytest
import torch

from papers_core.experiment import Cache, Results, check_profile, full_float32, pick_device, provenance, seed_everything


def test_cache_is_keyed_by_settings(tmp_path):
    cache = Cache(tmp_path)
    calls = []

    def compute():
        calls.append(1)
        return {"w": torch.arange(3.0)}

    a = cache.get_or_compute("m", {"lr": 1}, compute)
    b = cache.get_or_compute("m", {"lr": 1}, compute)
    cache.get_or_compute("m", {"lr": 2}, compute)
    assert len(calls) == 2 and torch.equal(a["w"], b["w"])
    assert len(list(tmp_path.glob("m-*.pt"))) == 2


def test_corrupt_cache_entry_is_recomputed(tmp_path):
    cache = Cache(tmp_path)
    cache.path("m", {}).parent.mkdir(parents=True, exist_ok=True)
    cache.path("m", {}).write_bytes(b"garbage")
    assert cache.get_or_compute("m", {}, lambda: 5) == 5
    assert cache.get_or_compute("m", {}, lambda: 6) == 5  # now a valid entry


def test_killed_run_leaves_no_trusted_file_and_rerun_resumes(tmp_path):
    script = textwrap.dedent(f"""
        import time, torch
        from papers_core.experiment import Cache
        cache = Cache({str(tmp_path)!r})
        cache.get_or_compute("first", {{}}, lambda: torch.ones(3))
        def slow():
            print("started", flush=True)
            time.sleep(60)
            return torch.zeros(3)
        cache.get_or_compute("second", {{}}, slow)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "started"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert len(files) == 1 and files[0].startswith("first-")  # nothing half-written for "second"
    cache = Cache(tmp_path)
    assert torch.equal(cache.get_or_compute("first", {}, lambda: pytest.fail("recomputed")), torch.ones(3))


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


def test_training_is_deterministic_for_a_seed():
    from papers_core.data import synth_scenes
    from papers_core.models import SmallCNN
    from papers_core.train import train_classifier

    d = synth_scenes("train", n_per_class=4)
    a = train_classifier(SmallCNN(d.num_classes, width=8), d.images, d.labels, epochs=1, seed=1)
    b = train_classifier(SmallCNN(d.num_classes, width=8), d.images, d.labels, epochs=1, seed=1)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))


def test_quick_scene_classifier_is_cached_and_deterministic(tmp_path):
    from papers_core.experiment import Cache
    from papers_core.zoo import quick_scene_classifier

    cache = Cache(tmp_path)
    a, train = quick_scene_classifier(cache, seed=1, n_per_class=4, epochs=1, width=8)
    assert len(list(tmp_path.glob("smallcnn-*.pt"))) == 1 and not a.training
    b, _ = quick_scene_classifier(cache, seed=1, n_per_class=4, epochs=1, width=8)  # from the cache
    c, _ = quick_scene_classifier(None, seed=1, n_per_class=4, epochs=1, width=8)  # trained afresh
    for (k, va), vb, vc in zip(a.state_dict().items(), b.state_dict().values(), c.state_dict().values()):
        assert torch.equal(va, vb) and torch.equal(va, vc), k
    assert train.num_classes == a.classifier.out_features


def test_in_batches_gives_the_whole_batch_result():
    import pytest
    import torch

    from papers_core.experiment import in_batches

    x = torch.arange(10.0)[:, None]
    assert torch.equal(in_batches(lambda t: t * 2, x, batch_size=3), x * 2)
    with pytest.raises(ValueError, match="batch_size"):
        in_batches(lambda t: t, x, batch_size=0)


def test_training_with_dropout_does_not_depend_on_what_ran_before():
    """Dropout draws from the global generator: training reseeds it from its own seed (and restores it),
    so a model is the same whether or not other models were trained (or loaded from a cache) first."""
    import torch

    from papers_core.models import LightCNN9
    from papers_core.train import train_classifier

    x = torch.rand(24, 1, 32, 32, generator=torch.Generator().manual_seed(0))
    y = torch.arange(24) % 3
    torch.manual_seed(1)
    a = train_classifier(LightCNN9(3, input_size=32), x, y, epochs=1, batch_size=8, seed=0)
    torch.rand(1000)                         # another model's dropout would consume the global state
    net = LightCNN9(3, input_size=32)
    state = torch.random.get_rng_state()
    b = train_classifier(net, x, y, epochs=1, batch_size=8, seed=0)
    assert torch.equal(torch.random.get_rng_state(), state)          # restored afterwards
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))


def _threads_after_setup(tmp_path, profile, env_threads=None):
    import os
    import subprocess
    import sys

    env = {**os.environ, "PAPERS_CORE_RESULTS": str(tmp_path)}
    env.pop("PAPERS_CORE_THREADS", None)
    if env_threads:
        env["PAPERS_CORE_THREADS"] = env_threads
    code = ("import torch; from threadpoolctl import threadpool_info; torch.set_num_threads(2); "
            "from papers_core.experiment import notebook_setup; "
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
    from papers_core.experiment import set_cpu_threads

    with pytest.raises(ValueError, match="at least 1"):
        set_cpu_threads(0)


def test_an_entry_keyed_by_named_code_survives_edits_of_the_rest_of_the_library(tmp_path):
    """A long paper-profile run's models (``code=``) resume after the library changes elsewhere; an edit of
    a named file, or the default whole-library key, recomputes."""
    import shutil

    import papers_core

    pkg = tmp_path / "lib" / "papers_core"
    shutil.copytree(os.path.dirname(papers_core.__file__), pkg, ignore=shutil.ignore_patterns("__pycache__"))
    script = textwrap.dedent(f"""
        from papers_core.experiment import Cache
        cache = Cache({str(tmp_path / "cache")!r})
        for name, code in (("named", ("train.py",)), ("whole", None)):
            cache.get_or_compute(name, {{"a": 1}}, lambda: print("computed", name), code=code)
    """)

    def run():
        env = dict(os.environ, PYTHONPATH=str(tmp_path / "lib"))
        out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True,
                             cwd=tmp_path).stdout
        return sorted(line.split()[1] for line in out.splitlines() if line.startswith("computed"))

    assert run() == ["named", "whole"]
    assert run() == []                                  # both cached
    with open(pkg / "reports.py", "a") as f:            # an edit elsewhere in the library
        f.write("\n# edited\n")
    assert run() == ["whole"]
    with open(pkg / "train.py", "a") as f:              # an edit of the code the entry depends on
        f.write("\n# edited\n")
    assert run() == ["named", "whole"]
    from papers_core.experiment import code_fingerprint

    assert code_fingerprint(("attacks",)) == code_fingerprint(("attacks",)) != code_fingerprint(("attacks/cw.py",))
    with pytest.raises(ValueError, match="no file nosuch.py"):
        Cache(tmp_path).get_or_compute("m", {}, lambda: 1, code=("nosuch.py",))
    with pytest.raises(ValueError, match="either shipped=True or code"):
        Cache(tmp_path).get_or_compute("m", {}, lambda: 1, shipped=True, code=("train.py",))


def test_attack_results_are_cached_with_their_type_time_and_per_sample_subsets(tmp_path):
    """Cache.attack_result: a long page's attacks resume from the cache, as the same result type with the
    same tensors and the wall time of the run that made them; fingerprint() tells inputs apart."""
    from papers_core import attacks as A
    from papers_core.experiment import fingerprint

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.BatchNorm2d(1), torch.nn.Flatten(), torch.nn.Linear(256, 4)).eval()
    x = torch.rand(6, 1, 16, 16)
    y = A.predict_proba(model, x).argmax(1)
    calls = []

    def run():
        calls.append(1)
        return A.k_anonymity_attack(model, x, y, K=2, solver="adam", iterations=20)

    cache = Cache(tmp_path)
    key = {"method": "K = 2", "inputs": fingerprint(model, x, y)}
    first = cache.attack_result("kanon", key, run)
    again = Cache(tmp_path).attack_result("kanon", key, run)
    assert len(calls) == 1 and type(again) is type(first) is A.KAnonymityResult
    for f in ("adv", "target", "success", "prediction", "probs", "k", "satisfied"):
        assert torch.equal(getattr(first, f), getattr(again, f)), f
    assert again.seconds == first.seconds > 0
    part = again.subset(slice(0, 2))
    assert type(part) is A.KAnonymityResult and len(part) == 2 and torch.equal(part.k, first.k[:2])
    assert torch.equal(part.probs, first.probs[:2])
    assert fingerprint(model, x, y) != fingerprint(model, x[:5], y[:5])
    model[2].bias.data += 1
    assert fingerprint(model, x, y) != key["inputs"]
    with pytest.raises(TypeError, match="tensors and modules"):
        fingerprint([1, 2])
    with pytest.raises(ValueError, match="not an attack result's state"):
        A.AttackResult.from_state({"adv": x})
