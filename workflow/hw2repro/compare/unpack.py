"""Opening a received crate (a zip from ``python -m hw2repro.crate``) as a result root, verified before
anything reads it: no absolute paths, ``..``, links or odd entries (zip-slip), sizes within bounds in
total and per entry's compression ratio (zip bombs), every file listed in ro-crate-metadata.json with
a SHA-256 and size that the extracted bytes match, and nothing unlisted. Only stdlib; nothing in it
is unpickled or executed."""

from __future__ import annotations

import hashlib
import json
import stat
import zipfile
from pathlib import Path, PurePosixPath

METADATA = "ro-crate-metadata.json"
# Bounds of what a crate may expand to. Safety limits of this reader, not settings of a run: a paper
# scale crate with weights is a few hundred MB, so 20 GB and a ratio of 1000 refuse only bombs.
MAX_TOTAL_BYTES = 20 * 1024**3
MAX_RATIO = 1000
MAX_METADATA_BYTES = 256 * 1024**2


class CrateError(ValueError):
    """A crate that is refused; the message names the entry and why."""


def is_crate(path) -> bool:
    return Path(path).is_file() and zipfile.is_zipfile(path)


def check_entry(info: zipfile.ZipInfo, crate: Path) -> None:
    """Refuse an entry that could write outside the folder or is not a plain file or folder."""
    name = info.filename
    parts = PurePosixPath(name).parts
    if name.startswith(("/", "\\")) or "\\" in name or (parts and ":" in parts[0]):
        raise CrateError(f"{crate}: entry {name!r} has an absolute path: refused (not a crate this tool wrote)")
    if ".." in parts or "." in name.split("/")[:-1] or "\x00" in name:
        raise CrateError(f"{crate}: entry {name!r} climbs out of the crate ('..'): refused")
    kind = stat.S_IFMT(info.external_attr >> 16)  # 0: no Unix type recorded (a plain file)
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise CrateError(f"{crate}: entry {name!r} is a link or special file: refused")
    if info.flag_bits & 0x1:
        raise CrateError(f"{crate}: entry {name!r} is encrypted: refused")
    if info.compress_size and info.file_size / info.compress_size > MAX_RATIO and info.file_size > 1024**2:
        raise CrateError(
            f"{crate}: entry {name!r} expands {info.file_size / info.compress_size:.0f}-fold "
            f"(bound {MAX_RATIO}): refused as a zip bomb"
        )


def listed_files(zf: zipfile.ZipFile, crate: Path) -> dict[str, tuple[str, int]]:
    """path -> (sha256, size) of every File entity the metadata lists."""
    info = zf.getinfo(METADATA) if METADATA in zf.namelist() else None
    if info is None:
        raise CrateError(f"{crate}: no {METADATA}: not an RO-Crate")
    if info.file_size > MAX_METADATA_BYTES:
        raise CrateError(f"{crate}: {METADATA} is {info.file_size} bytes (bound {MAX_METADATA_BYTES}): refused")
    try:
        graph = json.loads(zf.read(METADATA).decode("utf-8"))["@graph"]
    except (ValueError, KeyError, TypeError) as exc:
        raise CrateError(f"{crate}: {METADATA} is not RO-Crate JSON-LD ({exc})") from None
    out = {}
    for e in graph:
        types = e.get("@type", [])
        types = [types] if isinstance(types, str) else types
        if "File" in types:
            try:
                out[e["@id"]] = (str(e["sha256"]), int(e["contentSize"]))
            except (KeyError, ValueError):
                raise CrateError(f"{crate}: {METADATA} lists {e.get('@id')!r} without sha256 and contentSize") from None
    return out


def unpack(crate, dest) -> Path:
    """Extract ``crate`` into the empty folder ``dest`` after every check; returns ``dest``."""
    crate, dest = Path(crate), Path(dest)
    with zipfile.ZipFile(crate) as zf:
        infos = zf.infolist()
        for info in infos:
            check_entry(info, crate)
        total = sum(i.file_size for i in infos)
        if total > MAX_TOTAL_BYTES:
            raise CrateError(f"{crate}: expands to {total} bytes (bound {MAX_TOTAL_BYTES}): refused as a zip bomb")
        listed = listed_files(zf, crate)
        names = {i.filename for i in infos if not i.is_dir()} - {METADATA}
        if names - listed.keys():
            raise CrateError(f"{crate}: {sorted(names - listed.keys())[0]} is not listed in {METADATA}: refused")
        if listed.keys() - names:
            raise CrateError(f"{crate}: {sorted(listed.keys() - names)[0]} is listed but missing from the crate")
        for info in infos:
            if info.is_dir():
                continue
            target = dest.joinpath(*PurePosixPath(info.filename).parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            h, size = hashlib.sha256(), 0
            with zf.open(info) as src, open(target, "wb") as out:
                for block in iter(lambda: src.read(1 << 20), b""):
                    size += len(block)
                    h.update(block)
                    out.write(block)
            if info.filename == METADATA:
                continue
            sha, expected = listed[info.filename]
            if size != expected or h.hexdigest() != sha:
                raise CrateError(
                    f"{crate}: {info.filename} does not match its checksum or size in {METADATA} "
                    f"({size} bytes, listed {expected}): the crate was changed or damaged; refused"
                )
    return dest
