"""Downloads that never leave a half-written file behind."""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.request
from pathlib import Path

__all__ = ["DatasetNotFoundError", "DownloadError", "download_url", "sha256sum", "atomic_path"]


class DatasetNotFoundError(FileNotFoundError):
    """A dataset (or part of one) is missing; the message says where it was looked for and how to get it."""


class DownloadError(RuntimeError):
    """A download failed or its checksum did not match; nothing was written."""


def sha256sum(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


class atomic_path:
    """Context manager giving a temporary path beside ``dest``; on success it is renamed onto ``dest``
    (atomic on POSIX), on error it is removed. A killed process leaves only a ``.tmp`` file that no
    reader trusts."""

    def __init__(self, dest: str | Path):
        self.dest = Path(dest)

    def __enter__(self) -> Path:
        self.dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.dest.name}.", suffix=".tmp", dir=self.dest.parent)
        os.close(fd)
        self.tmp = Path(tmp)
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None:
            os.replace(self.tmp, self.dest)
        else:
            self.tmp.unlink(missing_ok=True)
        return False


def download_url(url: str, dest: str | Path, sha256: str | None = None, timeout: float = 60.0) -> Path:
    """Download ``url`` to ``dest`` atomically, checking ``sha256`` when given."""
    dest = Path(dest)
    try:
        with atomic_path(dest) as tmp:
            with urllib.request.urlopen(url, timeout=timeout) as r, open(tmp, "wb") as f:
                shutil.copyfileobj(r, f, length=1 << 20)
            if sha256 is not None and sha256sum(tmp) != sha256.lower():
                raise DownloadError(f"checksum mismatch for {url}: expected sha256 {sha256}, got "
                                    f"{sha256sum(tmp)}. Nothing was written to {dest}.")
    except DownloadError:
        raise
    except OSError as e:
        raise DownloadError(f"could not download {url} to {dest}: {e}. Check the network, or download it "
                            f"by hand and place it at {dest}.") from e
    return dest
