"""The book's Performance page is what benchmarks/attacks.py renders from its stored results, and those
results cover what the page promises. (The benchmark itself is not part of the tests: make benchmark.)"""
import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "cpu.json"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_attacks", ROOT / "benchmarks" / "attacks.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def results():
    if not RESULTS.exists():
        pytest.fail(f"{RESULTS} is missing: run make benchmark and commit its results")
    return json.loads(RESULTS.read_text())


def test_page_is_rendered_from_the_stored_results(bench):
    files = sorted(p for p in bench.RESULTS.glob("*.json") if "quick" not in p.name)
    expected = bench.render([json.loads(p.read_text()) for p in files]) + "\n"
    assert bench.PAGE.read_text() == expected, "book/performance.md is stale: python benchmarks/attacks.py --render-only"


def test_results_cover_every_model_batch_and_attack(bench, results):
    have = {(r["model"], r["batch"], r["attack"], r["library"]) for r in results["rows"]}
    for model, batches in (("LeNet-5", (1, 32, 256)), ("ResNet-18", (1, 32, 256)), ("ResNet-50", (4,))):
        for batch in batches:
            for attack in bench.ATTACKS:
                if bench.skipped(model, attack, None):
                    continue
                assert (model, batch, attack, "papers_core") in have, (model, batch, attack)
    for r in results["rows"]:
        assert r["images_per_s"] > 0 and r["ratio_to_floor"] > 0 and r["floor_seconds"] > 0


def test_stored_agreement(results):
    """The first step agrees to the bit everywhere; papers_core equals torchattacks' BIM (same box
    convention) everywhere; on LeNet-5 every peer agrees within 1e-6. (The randomly initialised ResNets
    drift after a 1-ulp projection difference; the page explains it.)"""
    rows = results["agreement"]
    assert rows, "the benchmark records agreement checks"
    for a in rows:
        if a["attack"] == "FGSM" or (a["attack"] == "BIM" and a["library"] == "torchattacks") \
                or a["model"] == "LeNet-5":
            assert a["max_abs_diff"] <= 1e-6, a


def test_the_cpu_results_measured_todays_attack_code(results):
    """The Performance page says which commit it measured; when the code the benchmark times (the attacks,
    metrics, defenses and models: ATTACK_CODE, as the attack cache keys it) changed since, the page is
    stale and this fails until make benchmark is re-run and committed."""
    from papers_core.cache import ATTACK_CODE, code_fingerprint

    measured = results["machine"].get("attack_code")
    assert measured == code_fingerprint(ATTACK_CODE), (
        f"benchmarks/results/cpu.json measured papers_core at {results['machine'].get('papers_core_commit')} "
        "and the attack code has changed since: re-run `make benchmark` (about 20 minutes on 2 cores) and commit it")
