"""What the pages' tasks share: the datasets a run covers."""
from __future__ import annotations

__all__ = ["chosen_datasets"]


def chosen_datasets(setting: str, known, every, paper: str) -> list[str]:
    """The datasets a run covers: ``setting`` is "all" (``every``) or names separated by commas, each
    one of ``known``; an unknown name is refused with the choices."""
    names = list(every) if setting == "all" else [d.strip() for d in setting.split(",")]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown {paper} dataset(s) {unknown}; choose among {', '.join(known)} or 'all'.")
    return names
