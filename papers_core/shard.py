"""A page's expensive attacks as jobs of whole batches, run in one process or sharded over processes and
machines with PyTorch's launcher, ``torchrun``::

    python -m papers_core.shard k_anonymity                          # one process (CPU or one GPU)
    torchrun --nproc-per-node 4 -m papers_core.shard k_anonymity     # four processes, one per GPU
    torchrun --nnodes 2 --nproc-per-node 8 --rdzv-backend c10d --rdzv-endpoint HOST:29500 \\
        -m papers_core.shard k_anonymity -p n_attack 60000           # two machines, sixteen GPUs
    make reproduce PAPER=k_anonymity                                 # the page then reads every attack

A job (:class:`papers_core.jobs.AttackJob`) is one attack over a set of images, cut into batches of
``batch_size`` consecutive images: the batch is the unit of work and of caching. Each batch's result
is stored in the cache under the job's key plus the batch's range, atomically (a temporary file renamed
into place), then the batches are joined into the entry the page reads, under the key the page
computes. One process (:func:`papers_core.jobs.run_job`, what the page calls) and N processes
(:func:`run_sharded`: batch b goes to rank ``b % world_size``, then rank 0 joins) compute the same
batches with the same inputs, so they give the same results to the bit (tested with two gloo
processes); the random draws do not depend on the batch either (:mod:`papers_core.rng`).

A rank that dies leaves at most a temporary file, which no run reads; run the same command again (or
let ``torchrun --max-restarts`` do it) and only the missing batches are computed. The ranks share
results through the cache folder: on several machines it must be on a filesystem they all mount (as a
cluster's home or scratch space is), named with ``--cache``.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from datetime import timedelta
from typing import Callable

import torch

from .attacks.result import AttackResult
from .jobs import AttackJob, batches, run_batch, run_job

__all__ = ["run_sharded", "distributed", "stages", "main"]











def run_sharded(cache, jobs: list[AttackJob], rank: int = 0, world_size: int = 1, barrier=None,
                progress: Callable[[str], None] | None = None) -> list[AttackResult] | None:
    """Run ``jobs`` as rank ``rank`` of ``world_size``: this rank's batches (batch b of the jobs' list
    of all batches goes to rank ``b % world_size``), then, after ``barrier()``, rank 0 joins every job
    (returning the results; other ranks return None) and a last ``barrier()`` lets every rank exit
    after the joins. A job whose joined entry is already cached is skipped."""
    if not 0 <= int(rank) < int(world_size):
        raise ValueError(f"rank must be in 0 .. world_size - 1, got rank {rank} of {world_size}.")
    barrier = barrier or (lambda: None)
    todo = [(job, a, b) for job in jobs if not cache.has_attack_result(job.name, job.key) for a, b in batches(job)]
    mine = todo[int(rank)::int(world_size)]
    for i, (job, a, b) in enumerate(mine):
        if progress:
            progress(f"rank {rank}: {job.name} {job.settings.get('method', '')} images {a}..{b - 1} "
                     f"({i + 1} of {len(mine)})")
        run_batch(cache, job, a, b)
    barrier()
    out = [run_job(cache, job) for job in jobs] if int(rank) == 0 else None
    barrier()
    return out


def distributed(cuda: bool, timeout_hours: float = 48.0) -> tuple[int, int, int, Callable[[], None]]:
    """(rank, world size, local rank, barrier) of this process: from torchrun's environment (``RANK``,
    ``WORLD_SIZE``, ``LOCAL_RANK``) through ``torch.distributed`` (NCCL when the ranks compute on GPUs,
    ``cuda``, one GPU each; gloo on CPUs), or a single process when not launched by torchrun. The
    barrier waits up to ``timeout_hours`` (ranks finish their batches at different times)."""
    if "RANK" not in os.environ or int(os.environ.get("WORLD_SIZE", "1")) == 1:
        return 0, 1, 0, lambda: None
    import torch.distributed as dist

    local = int(os.environ.get("LOCAL_RANK", "0"))
    backend = "nccl" if cuda else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(local)
    if not dist.is_initialized():
        dist.init_process_group(backend, timeout=timedelta(hours=float(timeout_hours)))
    if backend == "nccl":
        return dist.get_rank(), dist.get_world_size(), local, lambda: dist.barrier(device_ids=[local])
    return dist.get_rank(), dist.get_world_size(), local, dist.barrier


def stages() -> dict[str, Callable]:
    """paper -> the function that builds its page's attack jobs, ``stage(cfg, profile, cache, seed, device)``."""
    from . import tasks
    return dict(tasks.STAGES)


def main(argv=None) -> int:
    from .profiles import PROFILES, settings
    from .runs import QUICK_THREADS, literal, page_cache, pick_device, seed_everything, set_cpu_threads

    stages_ = stages()
    ap = argparse.ArgumentParser(prog="python -m papers_core.shard",
                                 description="Run a page's expensive attacks, sharded over the processes torchrun starts.")
    ap.add_argument("paper", choices=sorted(stages_))
    ap.add_argument("--profile", default="paper", choices=PROFILES)
    ap.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    ap.add_argument("--cache", default=None, help="the cache folder the page reads (default: data/cache/models of "
                                                   "this checkout; on several machines, one they all mount)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout-hours", type=float, default=48.0, help="how long a rank waits for the others")
    ap.add_argument("-p", nargs=2, action="append", metavar=("NAME", "VALUE"), default=[],
                    help="a page setting, as papermill's -p (e.g. -p n_attack 200)")
    args = ap.parse_args(argv)
    dev = pick_device(args.device)
    rank, world, local, barrier = distributed(dev.type == "cuda", args.timeout_hours)
    if dev.type == "cuda" and world > 1:
        if local >= torch.cuda.device_count():
            raise SystemExit(f"rank {rank}: local rank {local} but only {torch.cuda.device_count()} GPU(s); start at "
                             "most one process per GPU (--nproc-per-node).")
        dev = torch.device("cuda", local)
    cfg = settings(args.paper, args.profile, {k: literal(v) for k, v in args.p})
    if args.profile == "quick" or os.environ.get("PAPERS_CORE_THREADS"):   # as the page computes
        set_cpu_threads(os.environ.get("PAPERS_CORE_THREADS") or QUICK_THREADS)
    seed_everything(args.seed)
    cache = page_cache()
    if args.cache:
        cache.root = Path(args.cache)
    if rank != 0:      # rank 0 trains (or loads) the models and caches them first; the others then load them
        barrier()
    jobs = stages_[args.paper](cfg, args.profile, cache, args.seed, dev)
    if rank == 0:
        barrier()
    say = (lambda m: print(m, file=sys.stderr, flush=True))
    say(f"rank {rank} of {world} on {dev}: {len(jobs)} attacks, {sum(len(batches(j)) for j in jobs)} batches")
    run_sharded(cache, jobs, rank, world, barrier, progress=say)
    if rank == 0:
        say(f"done: {len(jobs)} attacks joined in {cache.root}; the page now reads them from there")
    if world > 1:
        import torch.distributed as dist
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
