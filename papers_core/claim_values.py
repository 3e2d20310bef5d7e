"""The per-image values behind a run's claims, stored beside its ``claims.csv`` so that a later change of
a rule re-decides a stored run without re-running its attacks: :func:`save_claim_values` writes them,
:func:`redecide` rebuilds the claims from them with today's rules (:mod:`papers_core.claims`, read as ``claims.<builder>`` at the time of the call)."""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from . import claims as C

__all__ = ["VALUES_FILE", "save_claim_values", "redecide"]


#: The per-image values behind a run's claims, written beside ``claims.csv`` (:func:`save_claim_values`),
#: so that a later change of a rule re-decides a stored run without re-running its attacks.
VALUES_FILE = "claims_values.npz"


_BUILDERS = ("compare_claim", "bound_claim", "rank_bound_claim")


def save_claim_values(claims: list[C.Claim], folder: str | Path) -> Path:
    """Write the per-image values and the deciding call of every claim that has them (those built by
    :func:`~papers_core.claims.compare_claim`, :func:`~papers_core.claims.bound_claim` and
    :func:`~papers_core.claims.rank_bound_claim`) into
    ``folder/claims_values.npz`` (compressed, atomically); :func:`redecide` rebuilds the claims from it."""
    import json

    import numpy as np

    from .download import atomic_path

    arrays, specs = {}, []
    for i, c in enumerate(claims):
        v = getattr(c, "_values", None)
        if v is None:   # a check without per-image values: kept as it was decided
            specs.append(dict(builder=None, claim=asdict(c)))
            continue
        for k, arr in v["arrays"].items():
            arrays[f"c{i}_{k}"] = arr
        specs.append(dict(builder=v["builder"], claim=asdict(c), kwargs=v["kwargs"], arrays=sorted(v["arrays"]),
                          overridden=[c.verdict, c.margin] != list(v["built"])))
    arrays["spec"] = np.frombuffer(json.dumps(specs).encode(), dtype=np.uint8)
    path = Path(folder) / VALUES_FILE
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)
    return path


def redecide(path: str | Path) -> list[C.Claim]:
    """The claims stored in ``path`` (a ``claims_values.npz`` of :func:`save_claim_values`) decided
    again by today's rules, from their per-image values: the same calls, with the same floors and paper
    effects. Claims stored without values come back as they were decided."""
    import json

    import numpy as np

    with np.load(path) as z:
        specs = json.loads(z["spec"].tobytes().decode())
        data = {k: z[k] for k in z.files if k != "spec"}
    out = []
    for i, sp in enumerate(specs):
        old = {("verdict" if k == "holds" else k): v for k, v in sp["claim"].items()}   # runs stored before the rename
        head = (old["claim"], old["paper_value"])
        if sp["builder"] is None:
            out.append(C.Claim(**old))
            continue
        if sp["builder"] not in _BUILDERS:
            raise ValueError(f"{path}: unknown claim builder {sp['builder']!r}.")
        arr = {k: data[f"c{i}_{k}"] for k in sp["arrays"]}
        kw = dict(sp["kwargs"])
        if sp["builder"] == "compare_claim":
            value, source, share = kw.pop("by")
            kw["names"] = tuple(kw["names"])
            c = C.compare_claim(*head, arr["a"], arr["b"], by=C.Floor(value, source, share), **kw)
        elif sp["builder"] == "bound_claim":
            c = C.bound_claim(*head, arr["values"], kw.pop("bound"), **kw)
        else:
            c = C.rank_bound_claim(*head, arr["ranks"], kw.pop("K"), **kw)
        if sp.get("overridden"):   # the page set the verdict itself (e.g. two schemes that are one model): kept
            c.verdict, c.margin = old["verdict"], old["margin"]
        out.append(c)
    return out
