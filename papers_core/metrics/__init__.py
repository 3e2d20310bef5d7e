"""Metrics: classification (top-k accuracy, irreversibility and target frequencies, Li et al. 2019),
image quality (PSNR, SSIM, MS-SSIM, CW-SSIM, MAD, BRISQUE, NIMA for a user-supplied model) and colour
difference (CIELAB, CIEDE2000), one module each; every name is importable from here.

=====================  ======================================================================
module                 what it holds
=====================  ======================================================================
``classification``     top-k accuracy, label ranks, target frequencies, irreversibility
``quality``            MSE, PSNR, SSIM, MS-SSIM, CW-SSIM (steerable bands), BRISQUE, NIMA
``mad``                MAD (Larson and Chandler 2010)
``colour``             sRGB to CIELAB, CIEDE2000
=====================  ======================================================================
"""
from __future__ import annotations

from . import classification, colour, mad, quality

# before the star imports, which bind the name mad to the function
__all__ = [*classification.__all__, *quality.__all__, *mad.__all__, *colour.__all__]

from .classification import *  # noqa: F401,F403
from .colour import *  # noqa: F401,F403
from .mad import *  # noqa: F401,F403
from .quality import *  # noqa: F401,F403
