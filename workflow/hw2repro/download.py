"""One downloader for every data set: resumable, size- and checksum-verified, never torn.

The file grows under ``<name>.part``; an interrupted download resumes with an HTTP Range
request; only a file whose size and checksum match is renamed to its final name.
"""

from __future__ import annotations

import hashlib
import os
import time
import urllib.error
import urllib.request
from pathlib import Path

from .errors import InputError
from .io import file_digest

CHUNK = 1 << 20


class DownloadError(InputError, RuntimeError):
    """A download that could not be completed or verified; the message says what to do."""


def verify(path: Path, size: int | None, checksums: dict[str, str]) -> None:
    """Raise DownloadError unless ``path`` has the expected size and every checksum."""
    actual = path.stat().st_size
    if size is not None and actual != size:
        raise DownloadError(f"{path}: expected {size:,} bytes, got {actual:,}")
    for algorithm, expected in checksums.items():
        got = file_digest(path, algorithm)
        if got.lower() != expected.lower():
            raise DownloadError(f"{path}: {algorithm} mismatch (expected {expected}, got {got})")


def fetch(url: str, dest: str | os.PathLike, *, size: int | None = None, sha256: str | None = None,
          md5: str | None = None, manual_hint: str = "", log=print, timeout: float = 60.0) -> Path:
    """Download ``url`` to ``dest`` unless a verified copy is already there."""
    dest = Path(dest)
    checksums = {k: v for k, v in (("sha256", sha256), ("md5", md5)) if v}
    if dest.exists():
        verify(dest, size, checksums)
        log(f"{dest} already present and verified")
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    if size is not None and have > size:  # cannot be ours: start over
        part.unlink()
        have = 0
    request = urllib.request.Request(url, headers={"User-Agent": "hw2repro"})
    if have:
        request.add_header("Range", f"bytes={have}-")
        log(f"resuming {url} at byte {have:,}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            resumed = have and response.status == 206
            mode = "ab" if resumed else "wb"
            done = have if resumed else 0
            total = size or (done + int(response.headers.get("Content-Length") or 0)) or None
            last = time.monotonic()
            with open(part, mode) as fh:
                for block in iter(lambda: response.read(CHUNK), b""):
                    fh.write(block)
                    done += len(block)
                    if time.monotonic() - last > 5:
                        pct = f" ({100 * done / total:.1f}%)" if total else ""
                        log(f"downloaded {done:,} bytes{pct}")
                        last = time.monotonic()
    except (urllib.error.URLError, OSError) as exc:
        kept = (f" The partial file {part} is kept and the next run resumes it."
                if part.exists() and part.stat().st_size else "")
        hint = f" {manual_hint}" if manual_hint else ""
        raise DownloadError(f"could not download {url}: {exc}.{kept}{hint}") from exc
    try:
        verify(part, size, checksums)
    except DownloadError as exc:
        part.unlink()
        raise DownloadError(f"{exc} (downloaded from {url}; the bad file was removed)") from None
    os.replace(part, dest)
    log(f"verified and saved {dest}")
    return dest
