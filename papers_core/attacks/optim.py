"""Adam for a batch of independent per-sample problems.

A sample that has finished leaves the ``active`` index set; its moments stay frozen while the rest
of the batch goes on, so for each sample the steps equal ``torch.optim.Adam`` on that sample alone
(every active sample has taken the same number of steps, so one step counter serves the batch).
"""
from __future__ import annotations

import math

import torch


class MaskedAdam:
    """Adam moments for a tensor shaped like ``like``; :meth:`delta` updates the rows in ``active``."""

    def __init__(self, like: torch.Tensor, lr: float, betas=(0.9, 0.999), eps: float = 1e-8):
        self.m1 = torch.zeros_like(like)
        self.m2 = torch.zeros_like(like)
        self.lr, (self.b1, self.b2), self.eps = lr, betas, eps

    def delta(self, active, grad: torch.Tensor, step: int) -> torch.Tensor:
        """The amount to subtract from the ``active`` rows at (1-based) ``step`` given their ``grad``.

        ``active`` is an index tensor, or ``slice(None)`` for every row (updated in place, no copies)."""
        b1, b2 = self.b1, self.b2
        if isinstance(active, slice):  # the same arithmetic as below, without gathering rows
            m1 = self.m1 = b1 * self.m1 + (1 - b1) * grad
            m2 = self.m2 = b2 * self.m2 + (1 - b2) * grad * grad
        else:
            self.m1[active] = b1 * self.m1[active] + (1 - b1) * grad
            self.m2[active] = b2 * self.m2[active] + (1 - b2) * grad * grad
            m1, m2 = self.m1[active], self.m2[active]
        denom = (m2.sqrt() / math.sqrt(1 - b2 ** step)) + self.eps
        return (self.lr / (1 - b1 ** step)) * m1 / denom
