"""The on-disk cache: entries keyed by the settings that produced them and by a fingerprint of the
code they depend on (:data:`TRAINING_CODE` for trained models, :data:`ATTACK_CODE` for attack results),
written atomically; the shipped stand-ins of ``data/models`` are one of its stores."""
from __future__ import annotations

import hashlib
import json
import platform
import time
from pathlib import Path
from typing import Any, Callable

import torch

from .download import atomic_path

__all__ = ["Cache", "code_fingerprint", "fingerprint", "TRAINING_CODE", "ATTACK_CODE"]


#: The sources a trained stand-in's weights depend on (architectures, training loop, the generated and
#: embedded data, the zoo and the MAT task that name and train them): the key of a shipped model
#: (:meth:`Cache.get_or_compute` with ``shipped=True``) covers these files only, so editing a page's
#: reports or an attack does not invalidate the weights the repository ships in ``data/models``.
TRAINING_CODE = ("_validate.py", "models", "train.py", "zoo.py", "tasks/mat.py", "data/base.py",
                 "data/synth_scenes.py", "data/mnist.py", "data/mnist_subset.py", "data/mnist_subset.npz", "data/colour_digits.py",
                 "data/digits.py", "data/faces.py", "data/cifar_svhn.py")


#: The sources an attack's result depends on besides its model's weights and its inputs (the attacks,
#: the metrics and defenses some of them use, the architectures' forward passes): the key of
#: :meth:`Cache.attack_result`, so cached attacks survive edits of the pages' reports, the data loaders
#: or the training loop.
ATTACK_CODE = ("attacks", "rng.py", "_validate.py", "defenses.py", "metrics", "models")


def code_fingerprint(files: tuple[str, ...] | None = None) -> str:
    """A hash of papers_core's source (or of ``files``, paths inside the package: files, or folders for
    every ``.py`` file under them): cache entries made by other library code are not reused."""
    h = hashlib.sha256()
    pkg = Path(__file__).resolve().parent
    missing = [str(f) for f in files or () if not (pkg / f).exists()]
    if missing:
        raise ValueError(f"code_fingerprint: no file {', '.join(missing)} in {pkg}; name files or folders inside "
                         "papers_core (e.g. 'train.py', 'data/mnist.py', 'attacks')")
    paths = sorted(pkg.rglob("*.py")) if files is None else [
        q for f in files for q in ((sorted((pkg / f).rglob("*.py"))) if (pkg / f).is_dir() else [pkg / f])]
    for path in paths:
        h.update(str(path.relative_to(pkg)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def fingerprint(*items) -> str:
    """A hash of tensors (their values, dtype and shape) and modules (their state dicts, in order): the
    identity of an attack's inputs in a cache key (:meth:`Cache.attack_result`)."""
    h = hashlib.sha256()

    def add(t: torch.Tensor):
        t = t.detach().cpu().contiguous()
        h.update(f"{t.dtype}{tuple(t.shape)}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")

    for item in items:
        if isinstance(item, torch.nn.Module):
            for name, t in item.state_dict().items():
                h.update(name.encode())
                add(t)
        elif isinstance(item, torch.Tensor):
            add(item)
        else:
            raise TypeError(f"fingerprint() takes tensors and modules, not {type(item).__name__}.")
    return h.hexdigest()[:16]


def _key(settings: dict, code: str | None = None) -> str:
    blob = json.dumps({"settings": settings, "code": code or code_fingerprint()}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _attack_result_types() -> dict:
    from .attacks.result import AttackResult

    types, todo = {}, [AttackResult]
    while todo:
        t = todo.pop()
        types[t.__name__] = t
        todo += t.__subclasses__()
    return types


class Cache:
    """Expensive steps (trained models, adversarial sets) stored under ``root`` as ``name-<hash>.pt``,
    where the hash covers every setting that produced the entry and the library's source code.

    Writes are atomic (temporary file, then rename), so a killed run leaves no file a later run would
    trust, and a rerun resumes from the entries that were finished. Loading is weights-only: a cache
    file can hold tensors, dicts, lists and numbers, nothing that runs code.

    ``shipped`` is a read-only second store, the repository's ``data/models``: the quick profile's
    stand-in classifiers, trained by this code (``make standins``) and committed, so that a page does not
    retrain them on every run. An entry asked for with ``shipped=True`` is keyed by its settings and
    :data:`TRAINING_CODE` alone and is looked up there too; ``ship`` (``make standins`` sets it through
    ``PAPERS_CORE_SHIP_MODELS=1``) writes such entries there when they are computed. A disabled cache
    (``use_cache=False``) computes everything, so a page can always retrain its stand-ins itself.
    """

    def __init__(self, root: str | Path, enabled: bool = True, shipped: str | Path | None = None,
                 ship: bool = False, train_shipped: bool = True):
        self.root = Path(root)
        self.enabled = enabled
        self.shipped = Path(shipped) if shipped is not None else None
        self.ship = ship
        self.train_shipped = train_shipped   # False: a shipped entry that is missing raises instead
        self.requested: list[Path] = []      # the shipped entries asked for, in order

    def path(self, name: str, settings: dict, shipped: bool = False, code: tuple[str, ...] | None = None) -> Path:
        if shipped:   # in the store; without one, in the cache itself
            return (self.shipped or self.root) / f"{name}-{_key(settings, code_fingerprint(TRAINING_CODE))}.pt"
        return self.root / f"{name}-{_key(settings, code_fingerprint(code) if code else None)}.pt"

    @staticmethod
    def _save(entry: dict, path: Path) -> None:
        with atomic_path(path) as tmp:
            torch.save(entry, tmp)

    def get_or_compute(self, name: str, settings: dict, compute: Callable[[], Any], shipped: bool = False,
                       code: tuple[str, ...] | None = None) -> Any:
        """The entry ``name`` for ``settings``, computed (and stored) if there is none.

        The key covers ``settings`` and the library's source: all of it by default, or only the files
        ``code`` names (paths inside the package), for an entry that depends on nothing else, such as a
        model whose exact training data is part of ``settings``. Such an entry survives edits of the
        rest of the library, so a long paper-profile run interrupted in one version resumes in the next.
        ``shipped`` entries are keyed by :data:`TRAINING_CODE`."""
        if shipped and code is not None:
            raise ValueError("a shipped entry is keyed by TRAINING_CODE; pass either shipped=True or code, not both")
        path = self.path(name, settings, shipped, code)
        candidates = [path] if not shipped or self.shipped is None else [self.root / path.name, path]
        if shipped:
            self.requested.append(path)
            if not self.train_shipped and not path.exists():
                raise LookupError(f"{path.name}: the store {self.shipped} has no weights for {name} with these "
                                  "settings and this training code; run `make standins` and commit data/models.")
        if self.enabled:
            for p in candidates:
                if p.exists():
                    try:
                        entry = torch.load(p, map_location="cpu", weights_only=True)
                        if shipped and self.ship and not path.exists():
                            self._save(entry, path)
                        return entry["value"]
                    except Exception:  # unreadable entry: recompute and replace it
                        if p.parent == self.root:
                            p.unlink(missing_ok=True)
        value = compute()
        if self.enabled:
            entry = {"settings": json.dumps(settings, sort_keys=True, default=str), "value": value}
            if shipped:   # what a retraining needs to match it bit for bit
                entry.update(code=code_fingerprint(TRAINING_CODE), threads=torch.get_num_threads(),
                             machine=f"{platform.machine()}, torch {torch.__version__}")
            for p in candidates[:1] + (candidates[1:] if self.ship else []):
                self._save(entry, p)
        return value

    def has_attack_result(self, name: str, settings: dict) -> bool:
        """Whether :meth:`attack_result` would load ``name`` with ``settings`` from the cache (same key)."""
        return self.path(name, settings, code=ATTACK_CODE).exists()

    def attack_result(self, name: str, settings: dict, run: Callable[[], Any]):
        """An attack's result (:class:`papers_core.attacks.AttackResult` or a subclass), run by ``run()`` or
        loaded from the cache. ``settings`` must identify the run: the attack's settings and the
        :func:`fingerprint` of its model and inputs; the key also covers the attack code
        (:data:`ATTACK_CODE`), not the rest of the library. A long
        paper-profile page that caches its attacks this way resumes, after an interruption, at the first
        attack that had not finished. The result's ``seconds`` is the wall time of the run that made it
        (or the ``seconds`` ``run()`` set itself: a result joined from cached batches keeps their sum)."""
        def compute():
            start = time.perf_counter()
            result = run()
            if "seconds" not in vars(result):
                result.seconds = time.perf_counter() - start
            return {"type": type(result).__name__, "state": result.state()}

        entry = self.get_or_compute(name, settings, compute, code=ATTACK_CODE)
        types = _attack_result_types()
        if entry.get("type") not in types:
            raise ValueError(f"cache entry {name}: unknown result type {entry.get('type')!r}")
        return types[entry["type"]].from_state(entry["state"])
