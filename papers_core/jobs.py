"""A page's expensive attacks as jobs of whole batches: an :class:`AttackJob` is one attack over a set
of images, cut into batches of ``batch_size`` consecutive images, the unit of work and of caching.
Each batch's result is stored under the job's key plus the batch's range, atomically, then the
batches are joined (:meth:`~papers_core.attacks.result.AttackResult.cat`) into the entry the page
reads (:func:`run_job`). :mod:`papers_core.shard` runs the same batches over processes."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from .attacks.result import AttackResult

__all__ = ["AttackJob", "batches", "run_batch", "run_job"]


@dataclass
class AttackJob:
    """One attack over ``n`` images, in batches of ``batch_size`` (``None``: one batch of all).

    ``name`` and ``settings`` are the cache key of the joined result (what the page reads): they must
    identify the attack, its settings and its inputs (e.g. :func:`papers_core.cache.fingerprint`
    of the model and images). ``run(index)`` attacks the images at positions ``index`` (a 1-D long
    tensor of consecutive positions) and returns an :class:`AttackResult`."""

    name: str
    settings: dict
    n: int
    run: Callable[[torch.Tensor], AttackResult]
    batch_size: int | None = None

    def __post_init__(self):
        if int(self.n) < 1:
            raise ValueError(f"job {self.name}: it needs at least one image, got n = {self.n}.")
        if self.batch_size is not None and int(self.batch_size) < 1:
            raise ValueError(f"job {self.name}: batch_size must be a positive whole number or None, "
                             f"got {self.batch_size!r}.")

    @property
    def key(self) -> dict:
        """The joined entry's settings: the job's, with the batching the results depend on."""
        return {**self.settings, "attack_batch": None if self.batch_size is None else int(self.batch_size)}


def batches(job: AttackJob) -> list[tuple[int, int]]:
    """The job's batches as [start, stop) ranges of positions."""
    size = int(job.n) if job.batch_size is None else int(job.batch_size)
    return [(a, min(a + size, int(job.n))) for a in range(0, int(job.n), size)]


def run_batch(cache, job: AttackJob, start: int, stop: int) -> AttackResult:
    """Batch ``[start, stop)`` of ``job``: from the cache, or computed and cached atomically."""
    return cache.attack_result(f"{job.name}.batch", {**job.key, "batch": [start, stop]},
                               lambda: job.run(torch.arange(start, stop)))


def run_job(cache, job: AttackJob) -> AttackResult:
    """The job's joined result: from the cache, or computed batch by batch (each batch cached, so an
    interrupted run resumes at the first missing batch) and joined. ``seconds`` is the sum of the
    batches' wall times."""
    return cache.attack_result(job.name, job.key,
                               lambda: AttackResult.cat([run_batch(cache, job, a, b) for a, b in batches(job)]))
