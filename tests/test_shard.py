"""The sharded attack stage (papers_core.shard): jobs of whole batches, cached batch by batch and
joined under the page's key; two gloo processes launched by torchrun give the same results as one
process, to the bit; an interrupted run computes only the missing batches."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from papers_core import attacks as A
from papers_core.cache import ATTACK_CODE, Cache
from papers_core.jobs import AttackJob, batches, run_job
from papers_core.shard import run_sharded

ROOT = Path(__file__).resolve().parents[1]


class _Linear(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.randn(10, 3 * 8 * 8, generator=torch.Generator().manual_seed(0)) * 0.3)
        self.eval()

    def forward(self, x):
        return (x.flatten(1)[:, None, :] * self.w[None]).sum(-1)


MODEL = _Linear()
X = torch.round(torch.rand(11, 3, 8, 8, generator=torch.Generator().manual_seed(1)) * 255) / 255


def _job(calls, batch_size=3, name="toy"):
    def run(index):
        calls.append((int(index[0]), int(index[-1]) + 1))
        return A.r_fgsm(MODEL, X[index], seed=4, index=index, iterations=3)
    return AttackJob(name, {"method": "R-FGSM", "n": len(X)}, len(X), run, batch_size)


def test_batches_cover_the_images_once():
    assert batches(_job([], 3)) == [(0, 3), (3, 6), (6, 9), (9, 11)]
    assert batches(_job([], None)) == [(0, 11)]
    with pytest.raises(ValueError, match="batch_size"):
        _job([], 0)
    with pytest.raises(ValueError, match="at least one image"):
        AttackJob("x", {}, 0, lambda i: None)


def test_run_job_caches_each_batch_and_joins_them(tmp_path):
    cache, calls = Cache(tmp_path), []
    r = run_job(cache, _job(calls))
    assert calls == [(0, 3), (3, 6), (6, 9), (9, 11)]
    # the joined result is the attack on every image (per-image draws: the batches do not matter here)
    whole = A.r_fgsm(MODEL, X, seed=4, iterations=3)
    assert torch.equal(r.adv, whole.adv) and torch.equal(r.target, whole.target)
    assert r.seconds > 0
    # a second run reads the joined entry; the batch size is part of the key
    assert torch.equal(run_job(cache, _job(calls)).adv, r.adv) and len(calls) == 4
    run_job(cache, _job(calls, batch_size=5))
    assert calls[4:] == [(0, 5), (5, 10), (10, 11)]


def test_an_interrupted_sharded_run_computes_only_the_missing_batches(tmp_path):
    cache, calls = Cache(tmp_path), []
    # rank 1 of 2 finishes its batches and rank 0 dies before its own: nothing is joined
    assert run_sharded(cache, [_job(calls), _job(calls, name="other")], rank=1, world_size=2) is None
    assert calls == [(3, 6), (9, 11), (3, 6), (9, 11)]
    job = _job(calls)
    assert not cache.path(job.name, job.key, code=ATTACK_CODE).exists()
    # a temporary file left by a killed write is never read
    (tmp_path / "toy.batch-deadbeef.pt.tmp").write_bytes(b"half")
    # the rerun (one process) computes rank 0's batches only, then joins
    out = run_sharded(cache, [_job(calls), _job(calls, name="other")], rank=0, world_size=1)
    assert calls[4:] == [(0, 3), (6, 9), (0, 3), (6, 9)]
    assert torch.equal(out[0].adv, run_job(Cache(tmp_path / "fresh"), _job([])).adv)
    with pytest.raises(ValueError, match="rank"):
        run_sharded(cache, [job], rank=2, world_size=2)


#: the two stages on the miniature: the quick profile with every size cut to seconds
SMALL = {"k_anonymity": ["-p", "datasets", "mnist", "-p", "n_attack", "6", "-p", "attack_batch", "2",
                         "-p", "cw_iterations_mnist", "10", "-p", "lbfgs_search_steps", "2", "-p", "lbfgs_iterations", "3"],
         "rp_fgsm": ["-p", "test_per_class", "1", "-p", "batch_size", "8", "-p", "cw_search_steps", "1",
                     "-p", "cw_iterations", "3", "-p", "sparsefool_iterations", "2", "-p", "eot_tune_images", "8",
                     "-p", "eot_lam_grid", "(0.0, 0.5)", "-p", "jsma_gamma", "0.01"]}


def _stage(tmp, nproc, paper="k_anonymity", device="cpu"):
    """``paper``'s attack stage (quick profile, small settings) in ``nproc`` processes launched by
    torchrun (gloo on the CPU, NCCL on GPUs)."""
    env = {**os.environ, "PAPERS_CORE_THREADS": "1", "OMP_NUM_THREADS": "1"}
    # --standalone: a rendezvous on a free local port (a fixed port can still be held by a previous run)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(nproc),
           "-m", "papers_core.shard", paper, "--profile", "quick", "--device", device,
           "--cache", str(tmp), *SMALL[paper]]
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stderr


def _entries(folder, batches=False):
    """The joined attack results in a cache folder (or, with ``batches``, the batches), by file name (the
    models cached beside them, e.g. ``kanon_mnist-*.pt``, are state dicts, not results: left out)."""
    out = {}
    for p in sorted(folder.glob("*.pt")):
        if (".batch-" in p.name) == batches and p.name.startswith(("kanon_", "rp_fgsm")):
            value = torch.load(p, weights_only=True)["value"]
            if isinstance(value, dict) and value.keys() == {"type", "state"}:
                out[p.name] = value["state"]
    return out


def _same(a, b):
    """Two cached results' states are equal field by field, to the bit (the wall time aside)."""
    assert a.keys() == b.keys()
    for k in a:
        if k != "seconds":
            assert type(a[k]) is type(b[k]), k
            assert torch.equal(a[k], b[k]) if isinstance(a[k], torch.Tensor) else a[k] == b[k], k


@pytest.mark.parametrize("paper, joined", [("k_anonymity", 6), ("rp_fgsm", 26)])
def test_two_gloo_processes_give_the_one_process_results_to_the_bit(tmp_path, paper, joined):
    """The stage in two processes (torchrun, gloo) and in one: the same joined results, to the bit, and
    the same batches, each computed once. RP-FGSM's 26 entries: 24 attacks and EOT's two tuning runs."""
    log2 = _stage(tmp_path / "two", 2, paper)
    assert "rank 1 of 2" in log2 and "attacks joined" in log2
    _stage(tmp_path / "one", 1, paper)
    one, two = _entries(tmp_path / "one"), _entries(tmp_path / "two")
    assert len(one) == joined and one.keys() == two.keys()
    for name in one:
        _same(one[name], two[name])
    assert _entries(tmp_path / "one", batches=True).keys() == _entries(tmp_path / "two", batches=True).keys()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (make gpu-check runs it)")
def test_the_stage_on_the_gpus(tmp_path):
    """On the GPU machine: the stage in one process per GPU (two where there are two or more, NCCL),
    against one process on one GPU: every attack joined, the same images to within one grey level
    (GPU kernels need not be deterministic)."""
    nproc = min(2, torch.cuda.device_count())
    _stage(tmp_path / "many", nproc, device="cuda")
    _stage(tmp_path / "one", 1, device="cuda")
    many, one = _entries(tmp_path / "many"), _entries(tmp_path / "one")
    assert len(one) == 6 and many.keys() == one.keys()
    for name in one:
        close = ((many[name]["adv"] - one[name]["adv"]).abs().flatten(1).amax(1) <= 1.01 / 255).float().mean()
        assert close >= 0.8, (name, float(close))
