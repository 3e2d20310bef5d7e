"""Candidate readings behind the gaps between the stored MNIST runs and the K-anonymity and MAT papers'
Table 1: small runs on the embedded real-MNIST subset that rank the readings the papers leave open, so
that the pages can say why their runs differ from the papers (each page's "Why this run differs" section
shows the stored study).

:func:`kanon_readings`: the K-anonymity page's six attacks on LeNet-5 classifiers trained several ways
(the page's modern LeNet-5, the same trained for one epoch, the 1998 LeNet-5 with tanh and average
pooling), with the baselines' targets as the page reads them (the runner-up) or random, and C&W's
learning rate "slightly tuned"; each result is scored by MSE and by four SSIM definitions (the window
and constants the paper does not give).

:func:`mat_readings`: MAT's MNIST victims (original, single-strength, mixed) under FGSM test examples
crafted four ways (on the crafting LeNet-5 or on the victim itself, from the true label or from the
model's prediction), for the MLP victim and a LeNet-5 victim (capacity); and
:func:`mat_mssim_readings`: the MSSIM of the FGSM examples at the paper's three strengths under three
units of eps and three SSIM definitions.

``python -m papers_core.readings kanon|mat`` (:mod:`papers_core.readings.__main__`) writes the stored studies under ``results/studies/``
(:data:`KANON_CSV`, :data:`MAT_CSV`, :data:`MAT_MSSIM_CSV`) with their provenance beside them.

=============  ===========================================================================
module         what it holds
=============  ===========================================================================
``common``     where the studies are stored, the SSIM definitions, MNIST's training images
``kanon``      the K-anonymity study and the page's summary of it
``mat``        the MAT studies and the page's summaries of them
=============  ===========================================================================
"""
from __future__ import annotations

from . import common, kanon, mat

__all__ = [*common.__all__, *kanon.__all__, *mat.__all__]

from .common import *  # noqa: F401,F403,E402
from .kanon import *  # noqa: F401,F403,E402
from .mat import *  # noqa: F401,F403,E402
