"""What a user's input outside the pipeline *is*, as a short string the data rules take as a param.

Snakemake re-runs a job when an input is newer than its outputs, or when a param changed since the
job ran. A user's file replaced by other content with an older time stamp (``cp -p``), or a wav
added, changed or deleted in a ``source: path`` LJ folder (where only metadata.csv is an input) is
not newer: its identity as a param makes ``snakemake -n`` plan the data rule and all downstream.

- a file: size and SHA-256 of its content, whatever its times. Hashing runs at every DAG build, so
  the digest is cached by (size, mtime, ctime, inode): only a file whose status changed is read again
  (ctime cannot be set back by the user, so ``cp -p`` over it is read again);
- a folder of clips: name, size and mtime of every wav and of metadata.csv, hashed (13,100 stats, no
  reads: a DAG build stays fast).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from .io import file_digest

CACHE = Path(".snakemake") / "hw2repro" / "input_identity.json"  # beside Snakemake's own metadata


def _status(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def file_identity(path: str | os.PathLike, cache: Path = CACHE) -> str:
    """``"<size>:<sha256>"`` of ``path``'s content; ``"missing"`` when there is none (the data rule
    then says what is missing and where)."""
    path = Path(path)
    try:
        st = path.stat()
    except OSError:
        return "missing"
    key = str(path.resolve())
    try:
        known = json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        known = {}
    entry = known.get(key)
    if isinstance(entry, dict) and entry.get("status") == _status(st):
        return entry["identity"]
    identity = f"{st.st_size}:{file_digest(path, 'sha256')}"
    known[key] = {"status": _status(st), "identity": identity}
    try:  # a cache: a read-only working directory only costs a re-read next time
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(known), encoding="utf-8")
        tmp.replace(cache)
    except OSError:
        pass
    return identity


def clips_identity(folder: str | os.PathLike) -> str:
    """A digest of name, size and mtime of ``folder``'s metadata.csv and every ``wavs/*.wav``."""
    folder = Path(folder)
    h = hashlib.sha256()
    entries = []
    for sub in (folder, folder / "wavs"):
        try:
            with os.scandir(sub) as it:
                for e in it:
                    if (sub == folder and e.name == "metadata.csv") or (sub != folder and e.name.endswith(".wav")):
                        st = e.stat()
                        entries.append(f"{sub.name}/{e.name}\t{st.st_size}\t{st.st_mtime_ns}")
        except OSError:
            entries.append(f"{sub.name}: unreadable")
    for line in sorted(entries):
        h.update(line.encode("utf-8", "surrogateescape") + b"\n")
    return f"{len(entries)} files:{h.hexdigest()[:32]}"
