"""One downloader for every data set: resumable, size- and checksum-verified, never torn.

The file grows under ``<name>.part``; an interrupted download (clean close, reset, kill) keeps
the part and resumes it with an HTTP Range request, in the same call and on the next run; only a
file whose size and checksum match is renamed to its final name.
"""

from __future__ import annotations

import http.client
import os
import re
import time
import urllib.error
import urllib.request
from pathlib import Path

from .errors import InputError
from .io import file_digest

CHUNK = 1 << 20
ATTEMPTS = 5  # Range requests per call while each one makes progress


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


def _server_total(response, resumed: bool, have: int) -> int | None:
    """The whole file's size as the server states it (Content-Range of a 206, else Content-Length)."""
    if resumed:
        match = re.search(r"/(\d+)\s*$", response.headers.get("Content-Range") or "")
        if match:
            return int(match.group(1))
    length = response.headers.get("Content-Length")
    return (have if resumed else 0) + int(length) if length else None


def _finish(part: Path, dest: Path, url: str, size: int | None, checksums: dict[str, str], log) -> Path:
    try:
        verify(part, size, checksums)
    except DownloadError as exc:  # the whole file arrived and is wrong: it cannot be resumed into a good one
        part.unlink()
        raise DownloadError(
            f"{exc} (downloaded from {url}; the bad file was removed and the next run downloads it again)"
        ) from None
    os.replace(part, dest)
    log(f"verified and saved {dest}")
    return dest


def _get(url: str, part: Path, size: int | None, log, timeout: float) -> int | None:
    """One request appending to ``part`` from its current size; returns the server's stated total."""
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "hw2repro"})
    if have:
        request.add_header("Range", f"bytes={have}-")
        log(f"resuming {url} at byte {have:,}")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        resumed = bool(have) and response.status == 206
        total = _server_total(response, resumed, have)
        if size is not None and total is not None and total != size:
            part.unlink(missing_ok=True)  # not the file we expect: nothing of it is worth keeping
            raise DownloadError(
                f"{url}: expected {size:,} bytes, got {total:,} (the size the server "
                "states for the file; check the url and size keys of this data set)"
            )
        done = have if resumed else 0
        last = time.monotonic()
        with open(part, "ab" if resumed else "wb") as fh:
            for block in iter(lambda: response.read(CHUNK), b""):
                fh.write(block)
                done += len(block)
                if time.monotonic() - last > 5:
                    pct = f" ({100 * done / (size or total):.1f}%)" if size or total else ""
                    log(f"downloaded {done:,} bytes{pct}")
                    last = time.monotonic()
    return total


def fetch(
    url: str,
    dest: str | os.PathLike,
    *,
    size: int | None = None,
    sha256: str | None = None,
    md5: str | None = None,
    manual_hint: str = "",
    log=print,
    timeout: float = 60.0,
    attempts: int = ATTEMPTS,
) -> Path:
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
    # A complete part (killed between the last byte and the rename): a Range request for nothing
    # would get HTTP 416, so verify it here.
    if size is not None and have == size:
        log(f"{part} is complete; verifying it")
        return _finish(part, dest, url, size, checksums, log)
    if size is not None and have > size:  # cannot be ours: start over
        part.unlink()
    hint = f" {manual_hint}" if manual_hint else ""
    total = None
    for _ in range(max(1, attempts)):
        before = part.stat().st_size if part.exists() else 0
        try:
            total = _get(url, part, size, log, timeout) or total
        except urllib.error.HTTPError as exc:
            if exc.code == 416 and part.exists() and size is None:  # the part already holds all there is
                return _finish(part, dest, url, size, checksums, log)
            raise DownloadError(f"could not download {url}: {exc}.{_kept(part, size)}{hint}") from exc
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            if part.exists() and part.stat().st_size > before:
                log(f"download of {url} interrupted ({exc}); resuming")
                continue
            raise DownloadError(f"could not download {url}: {exc}.{_kept(part, size)}{hint}") from exc
        now = part.stat().st_size
        expected = size if size is not None else total
        if expected is None or now >= expected:
            return _finish(part, dest, url, size, checksums, log)
        if now <= before:  # the server sends nothing more: stop asking
            break
        log(f"the server closed the connection at byte {now:,} of {expected:,}; resuming")
    got = part.stat().st_size if part.exists() else 0
    raise DownloadError(
        f"could not download {url}: the server stopped sending at byte {got:,} of "
        f"{size or total:,}.{_kept(part, size)}{hint}"
    )


def _kept(part: Path, size: int | None) -> str:
    """What the next run does with what is left, truthfully."""
    if not part.exists() or not part.stat().st_size:
        return " Nothing was kept; the next run starts the download over."
    have = part.stat().st_size
    of = f" of {size:,}" if size else ""
    return f" The partial file {part} ({have:,}{of} bytes) is kept and the next run resumes it."
