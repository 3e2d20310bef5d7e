"""The store of shipped stand-in weights (data/models): the Cache's lookup and writing rules, every
stand-in the pages use present and current, and a shipped file equal to what its training code makes."""
import json

import pytest
import torch

from papers_core import standins, zoo
from papers_core.cache import TRAINING_CODE, Cache, code_fingerprint
from papers_core.runs import repo_root
from papers_core.profiles import settings

STORE = repo_root() / "data" / "models"


def test_a_shipped_entry_is_written_by_ship_and_read_without_training(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return {"w": torch.arange(3.0)}

    maker = Cache(tmp_path / "cache_a", shipped=tmp_path / "store", ship=True)
    maker.get_or_compute("m", {"a": 1}, compute, shipped=True)
    files = list((tmp_path / "store").glob("m-*.pt"))
    assert len(files) == 1 and calls == [1]
    assert torch.load(files[0], weights_only=True)["code"] == code_fingerprint(TRAINING_CODE)

    # another checkout: an empty local cache, the store only; nothing is trained
    reader = Cache(tmp_path / "cache_b", shipped=tmp_path / "store", train_shipped=False)
    assert torch.equal(reader.get_or_compute("m", {"a": 1}, compute, shipped=True)["w"], torch.arange(3.0))
    assert calls == [1] and reader.requested == files
    # other settings are not in the store: without training allowed, a clear error
    with pytest.raises(LookupError, match="make standins"):
        reader.get_or_compute("m", {"a": 2}, compute, shipped=True)
    # without ship, a computed entry goes to the local cache only, never into the store
    Cache(tmp_path / "cache_b", shipped=tmp_path / "store").get_or_compute("m", {"a": 3}, compute, shipped=True)
    assert len(list((tmp_path / "store").glob("*.pt"))) == 1 and len(list((tmp_path / "cache_b").glob("*.pt"))) == 1
    # a disabled cache (use_cache=False) trains even when the store has the entry
    Cache(tmp_path / "cache_c", enabled=False, shipped=tmp_path / "store").get_or_compute("m", {"a": 1}, compute, shipped=True)
    assert calls == [1, 1, 1]


def test_the_shipped_key_covers_the_training_code_only(tmp_path):
    cache = Cache(tmp_path, shipped=tmp_path / "store")
    assert cache.path("m", {"a": 1}, shipped=True) != cache.path("m", {"a": 1})
    assert cache.path("m", {"a": 1}, shipped=True) != cache.path("m", {"a": 2}, shipped=True)
    assert code_fingerprint(TRAINING_CODE) != code_fingerprint()
    for f in TRAINING_CODE:   # every listed file exists (a renamed module would silently drop out of the key)
        assert (repo_root() / "papers_core" / f).exists(), f
    # without a store, a shipped entry is an ordinary cache entry (keyed by the training code)
    assert Cache(tmp_path / "c").path("m", {"a": 1}, shipped=True) == tmp_path / "c" / cache.path("m", {"a": 1}, shipped=True).name


def test_every_standin_the_pages_use_is_shipped_current_and_nothing_else(tmp_path):
    cache = Cache(tmp_path, shipped=STORE, train_shipped=False)
    standins.build_standins(cache)          # raises LookupError naming the first stale or missing entry
    assert set(cache.requested) == set(STORE.glob("*.pt")), "data/models has entries no page uses: make standins"
    for path in cache.requested:
        entry = torch.load(path, map_location="cpu", weights_only=True)
        assert entry["code"] == code_fingerprint(TRAINING_CODE)
        assert isinstance(json.loads(entry["settings"]), dict)


def test_a_shipped_standin_is_what_its_training_code_makes():
    """Retrain the cheapest stand-in (LeNet-5 on the embedded MNIST, 15 epochs) and compare it with the
    shipped weights, bit for bit: training is deterministic on a given machine and thread count."""
    cfg = settings("k_anonymity", "quick")
    cache = Cache(repo_root() / "data" / "cache" / "unused", shipped=STORE, train_shipped=False)
    shipped, _ = zoo.kanon_classifier("mnist", cfg, cache)
    threads = torch.load(cache.requested[0], map_location="cpu", weights_only=True)["threads"]
    before = torch.get_num_threads()
    torch.set_num_threads(threads)   # the thread count the store was built with (float sums depend on it)
    try:
        retrained, _ = zoo.kanon_classifier("mnist", cfg, cache=None)
    finally:
        torch.set_num_threads(before)
    a, b = shipped.state_dict(), retrained.state_dict()
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a), "the shipped LeNet-5 is not what its training code makes"
