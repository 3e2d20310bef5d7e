"""The on-disk cache (papers_core.cache): keyed by settings and code, atomic, resumable after a kill."""
import os
import signal
import subprocess
import sys
import textwrap

import pytest
import torch

from papers_core.cache import Cache


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
        from papers_core.cache import Cache
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


def test_an_entry_keyed_by_named_code_survives_edits_of_the_rest_of_the_library(tmp_path):
    """A long paper-profile run's models (``code=``) resume after the library changes elsewhere; an edit of
    a named file, or the default whole-library key, recomputes."""
    import shutil

    import papers_core

    pkg = tmp_path / "lib" / "papers_core"
    shutil.copytree(os.path.dirname(papers_core.__file__), pkg, ignore=shutil.ignore_patterns("__pycache__"))
    script = textwrap.dedent(f"""
        from papers_core.cache import Cache
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
    from papers_core.cache import code_fingerprint

    assert code_fingerprint(("attacks",)) == code_fingerprint(("attacks",)) != code_fingerprint(("attacks/cw.py",))
    with pytest.raises(ValueError, match="no file nosuch.py"):
        Cache(tmp_path).get_or_compute("m", {}, lambda: 1, code=("nosuch.py",))
    with pytest.raises(ValueError, match="either shipped=True or code"):
        Cache(tmp_path).get_or_compute("m", {}, lambda: 1, shipped=True, code=("train.py",))


def test_attack_results_are_cached_with_their_type_time_and_per_sample_subsets(tmp_path):
    """Cache.attack_result: a long page's attacks resume from the cache, as the same result type with the
    same tensors and the wall time of the run that made them; fingerprint() tells inputs apart."""
    from papers_core import attacks as A
    from papers_core.cache import fingerprint

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
