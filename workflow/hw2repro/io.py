"""Crash-safe file output: everything is written to a temporary name, then renamed.

A killed job therefore never leaves a file that looks finished under its final name.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; results should be readable as usual
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def stale_temporaries(path: str | os.PathLike) -> list[Path]:
    """Temporaries of ``path`` left by a writer that was killed (SIGKILL runs no ``finally``)."""
    path = Path(path)
    return sorted(path.parent.glob(f".{glob.escape(path.name)}.*.part"))


def remove_stale_temporaries(path: str | os.PathLike) -> None:
    # One writer per path (Snakemake runs one job per output), so any earlier temporary is stale.
    for stale in stale_temporaries(path):
        stale.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | os.PathLike, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def read_json(path: str | os.PathLike) -> Any:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def write_csv(path: str | os.PathLike, frame) -> None:
    """Write a pandas DataFrame atomically (no index, fixed float format for diffs)."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def save_torch(path: str | os.PathLike, obj: Any) -> None:
    # Into an open handle: torch.save(obj, path) names the zip's inner folder after the (random,
    # temporary) file name, so equal tensors would give different bytes run to run.
    import torch  # here, not at the top: Snakemake imports this module to parse the workflow (2 s saved per parse)

    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        torch.save(obj, fh)


def savefig(fig, path: str | os.PathLike, **kwargs) -> None:
    """Save a matplotlib figure atomically; the format comes from the final suffix."""
    path = Path(path)
    fmt = path.suffix.lstrip(".")
    if fmt == "pdf":  # no CreationDate: identical figures give identical PDF bytes
        kwargs.setdefault("metadata", {"CreationDate": None})
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt, **kwargs)


def file_digest(path: str | os.PathLike, algorithm: str) -> str:
    """Hex digest of a file's bytes (read in blocks by hashlib)."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, algorithm).hexdigest()
