"""Progress bars for the long loops (training epochs, attack iterations, batches of a dataset).

Shown at paper scale and quiet in the quick profile: :func:`papers_core.runs.notebook_setup`
turns them on for ``profile="paper"`` and off for ``"quick"``; the environment variable
``PAPERS_CORE_PROGRESS`` (``1`` or ``0``) overrides both, and every function that draws a bar takes
``progress=True/False`` for a single call. Bars are ``tqdm.auto`` bars: a widget in a live notebook,
text on a terminal; finished inner bars are removed (``leave=False``).
"""
from __future__ import annotations

import os
from typing import Iterable

__all__ = ["set_progress", "progress_enabled", "progress"]

_ENABLED = False


def set_progress(enabled: bool) -> None:
    """Turn progress bars on or off for every later call that does not say otherwise."""
    global _ENABLED
    if not isinstance(enabled, bool):
        raise TypeError(f"set_progress takes True or False, got {enabled!r}.")
    _ENABLED = enabled


def progress_enabled(override: bool | None = None) -> bool:
    """Whether a loop draws a bar: ``override`` when given, else ``PAPERS_CORE_PROGRESS`` when set,
    else the value of :func:`set_progress` (off by default)."""
    if override is not None:
        return bool(override)
    env = os.environ.get("PAPERS_CORE_PROGRESS", "").strip()
    if env in ("0", "1"):
        return env == "1"
    return _ENABLED


def progress(iterable: Iterable, *, desc: str, total: int | None = None, enabled: bool | None = None,
             leave: bool = False, unit: str = "it"):
    """``iterable`` wrapped in a ``tqdm.auto`` bar when progress is enabled, else returned as it is."""
    if not progress_enabled(enabled):
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, total=total, leave=leave, unit=unit, dynamic_ncols=True)
