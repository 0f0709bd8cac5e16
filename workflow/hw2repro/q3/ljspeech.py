"""The LJ-Speech-format folder: metadata, wavs, splits, download and extraction of the archive.

Layout (LJSpeech-1.1 and the synthetic corpus alike): ``metadata.csv`` with one row per clip,
``id|raw text|normalized text`` (``|``-separated, no header, no quoting: quotes are ordinary
characters), and ``wavs/<id>.wav``, 22,050 Hz mono 16-bit PCM. The homework uses the
normalized text and splits by row order, without shuffling (hw2repro.q3.split).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tarfile
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import download as dl
from ..errors import InputError
from ..io import read_json
from .split import N_ROWS, bounds

SAMPLE_RATE = 22_050
FOLDER_NAME = "LJSpeech-1.1"
URL = "https://data.keithito.com/data/speech/LJSpeech-1.1.tar.bz2"
SHA256 = "be1a30453f28eb8dd26af4101ae40cbf2c50413b1bb21936cbcdc6fae3de8aa5"
SIZE = 2_748_572_632
# LJSpeech-1.1/metadata.csv: with all 13,100 rows, it identifies the canonical transcripts
METADATA_SHA256 = "852bce5c79e5184ba5bf2ea98aad4bcf49a5d787def5fd1f04fa2ab8aa6dc535"
MAX_ID_BYTES = 250  # a file name holds 255 bytes, and the wav adds ".wav"
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def manual_hint(url: str = URL, sha256: str = SHA256) -> str:
    return (
        f"Alternatively download {url} by hand (SHA-256 {sha256}), extract it, and set "
        "data.ljspeech.source: path with data.ljspeech.path: /where/it/is/LJSpeech-1.1"
    )


class LJSpeechError(InputError, ValueError):
    """An LJ-Speech-format folder or archive that is not what the homework expects."""


@dataclass(frozen=True)
class Row:
    id: str
    text: str  # raw transcript
    normalized: str  # what the homework trains on


# ---------------------------------------------------------------------------- metadata


def read_metadata(folder: str | os.PathLike, *, max_chars: int | None = None, ascii_only: bool = False) -> list[Row]:
    """Parse and check ``folder/metadata.csv``; one-line errors name the file, line and problem.

    ``max_chars`` bounds the normalized transcript (the synthetic corpus keeps within the
    tokenizer's 97); ``ascii_only`` rejects non-ASCII transcripts (the real corpus has a few
    non-ASCII characters, which the tokenizer maps to the unknown symbol, so it is off for it).
    """
    path = Path(folder) / "metadata.csv"
    if not Path(folder).is_dir():
        raise LJSpeechError(
            f"{folder}: no such folder (expected an LJ-Speech-format folder with metadata.csv and wavs/)"
        )
    if not path.is_file():
        raise LJSpeechError(f"{path}: missing (expected metadata.csv with rows id|text|normalized text)")
    raw = path.read_bytes()
    rows: list[Row] = []
    seen: dict[str, int] = {}
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()  # the final newline
    for number, line in enumerate(lines, start=1):
        where = f"{path} line {number}"
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise LJSpeechError(f"{where}: not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
        text = text.removesuffix("\r")
        fields = text.split("|")
        if len(fields) != 3:
            raise LJSpeechError(
                f"{where}: expected 3 '|'-separated fields (id|text|normalized text), got {len(fields)}: {text[:60]!r}"
            )
        clip_id, raw_text, normalized = fields
        if len(clip_id.encode()) > MAX_ID_BYTES:
            raise LJSpeechError(
                f"{where}: clip id {clip_id[:20]!r}... has {len(clip_id.encode())} bytes, too long for its wav's "
                f"file name (at most {MAX_ID_BYTES}): shorten it in metadata.csv and rename the wav"
            )
        if not ID_PATTERN.match(clip_id):
            raise LJSpeechError(
                f"{where}: clip id {clip_id!r} is not a plain file name (letters, digits, '-', '_', '.')"
            )
        if clip_id in seen:
            raise LJSpeechError(f"{where}: clip id {clip_id} repeats line {seen[clip_id]}")
        seen[clip_id] = number
        if not normalized.strip():
            raise LJSpeechError(f"{where}: empty normalized transcript for {clip_id}")
        if max_chars is not None and len(normalized) > max_chars:
            raise LJSpeechError(
                f"{where}: normalized transcript of {clip_id} has {len(normalized)} "
                f"characters, more than the {max_chars} allowed"
            )
        if ascii_only and not normalized.isascii():
            bad = next(c for c in normalized if not c.isascii())
            raise LJSpeechError(f"{where}: non-ASCII character {bad!r} in the transcript of {clip_id}")
        rows.append(Row(clip_id, raw_text, normalized))
    if not rows:
        raise LJSpeechError(f"{path}: no rows (expected id|text|normalized text lines)")
    return rows


def metadata_sha256(folder: str | os.PathLike) -> str:
    return hashlib.sha256((Path(folder) / "metadata.csv").read_bytes()).hexdigest()


def is_canonical(n_rows: int, metadata_digest: str) -> bool:
    """LJSpeech-1.1 itself: all 13,100 rows and the official metadata.csv (published SHA-256)."""
    return n_rows == N_ROWS and metadata_digest == METADATA_SHA256


# ---------------------------------------------------------------------------- wavs


def folder_record(folder: str | os.PathLike, manifest: str | os.PathLike, source: str) -> str:
    """How a manifest records its folder: a user's folder (``source: path``) as an absolute path; one
    the pipeline made relative to the manifest, so a moved or copied result root stays valid (absolute
    if it lies elsewhere)."""
    folder, here = Path(folder).resolve(), Path(manifest).parent.resolve()
    if source != "path" and folder.is_relative_to(here):
        return folder.relative_to(here).as_posix()
    return str(folder)


def read_manifest(manifest: str | os.PathLike) -> dict:
    """The data rule's manifest (``ljspeech.json``), its ``folder`` made absolute again."""
    info = read_json(manifest)
    info["folder"] = str((Path(manifest).parent / info["folder"]).resolve())
    return info


def wav_path(folder: str | os.PathLike, clip_id: str) -> Path:
    return Path(folder) / "wavs" / f"{clip_id}.wav"


# The features' STFT (n_fft 400, centre/reflect) pads 200 samples each side, which needs more
# samples than the pad: a shorter clip would pass here and crash the features job.
MIN_SAMPLES = 400 // 2 + 1


def wav_info(path: Path, sample_rate: int = SAMPLE_RATE, min_samples: int = MIN_SAMPLES) -> int:
    """Check a wav's header (mono, 16-bit PCM, ``sample_rate``), that the file holds every frame
    the header declares, and at least ``min_samples``; return its number of samples."""
    if not path.is_file():
        raise LJSpeechError(f"{path}: missing (metadata.csv lists it; expected wavs/<id>.wav)")
    if path.stat().st_size == 0:
        raise LJSpeechError(f"{path}: empty file (0 bytes): copy or extract the wav again")
    try:
        with wave.open(str(path), "rb") as w:
            channels, width, rate, n = w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()
            # The header's frame count comes from the data chunk's declared size, not from the bytes
            # there: a truncated copy keeps its header. Reading the last declared frame is one seek.
            complete = True
            if n:
                w.setpos(n - 1)
                complete = len(w.readframes(1)) == channels * width
            if not complete:
                w.rewind()
                present = len(w.readframes(n)) // (channels * width)
    except (wave.Error, EOFError, OSError) as exc:
        raise LJSpeechError(f"{path}: not a readable PCM wav file ({exc or type(exc).__name__})") from None
    if channels != 1 or width != 2:
        raise LJSpeechError(f"{path}: expected mono 16-bit PCM, got {channels} channel(s) of {8 * width} bits")
    if rate != sample_rate:
        raise LJSpeechError(f"{path}: expected a sample rate of {sample_rate} Hz, got {rate} Hz")
    if n == 0:
        raise LJSpeechError(f"{path}: no audio samples")
    if not complete:
        raise LJSpeechError(
            f"{path}: truncated: the header declares {n:,} samples, the file holds {present:,} "
            "(copy or extract the wav again)"
        )
    if n < min_samples:
        raise LJSpeechError(
            f"{path}: {n} samples ({1000 * n / rate:.1f} ms) is too short for the features, "
            f"which need at least {min_samples} (remove the clip's row from metadata.csv or "
            "replace the wav)"
        )
    return n


def read_wav(path: str | os.PathLike, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Samples of a mono 16-bit wav as float32 in [-1, 1) (int16 / 32768, as torchaudio.load)."""
    path = Path(path)
    n = wav_info(path, sample_rate)
    with wave.open(str(path), "rb") as w:
        data = w.readframes(n)
    if len(data) != 2 * n:  # changed since it was checked
        raise LJSpeechError(
            f"{path}: truncated: the header declares {n:,} samples, the file holds "
            f"{len(data) // 2:,} (copy or extract the wav again)"
        )
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0


def check_wavs(folder: str | os.PathLike, rows: list[Row], sample_rate: int = SAMPLE_RATE, log=None) -> np.ndarray:
    """Check that every listed wav exists with the right format; return their sample counts."""
    counts = np.empty(len(rows), dtype=np.int64)
    for i, row in enumerate(rows):
        counts[i] = wav_info(wav_path(folder, row.id), sample_rate)
        if log is not None and (i + 1) % 2000 == 0:
            log(f"checked {i + 1:,} / {len(rows):,} wav headers")
    return counts


def validate_folder(
    folder: str | os.PathLike,
    *,
    expected_rows: int | None = None,
    max_chars: int | None = None,
    ascii_only: bool = False,
    sample_rate: int = SAMPLE_RATE,
    log=None,
) -> tuple[list[Row], np.ndarray]:
    """Metadata and every wav header of an LJ-Speech-format folder; returns (rows, sample counts)."""
    rows = read_metadata(folder, max_chars=max_chars, ascii_only=ascii_only)
    if expected_rows is not None and len(rows) != expected_rows:
        raise LJSpeechError(
            f"{Path(folder) / 'metadata.csv'}: expected {expected_rows:,} rows "
            f"(LJSpeech-1.1 has {N_ROWS:,}), found {len(rows):,}; to run on a subset, "
            "set data.ljspeech.expected_rows: null (its numbers are not comparable)"
        )
    return rows, check_wavs(folder, rows, sample_rate, log)


# ---------------------------------------------------------------------------- splits


def split_bounds(n_rows: int, where: str = "") -> dict[str, tuple[int, int]]:
    """Row ranges [start, end) of train / val / test, by row order (hw2repro.q3.split); refuses an
    empty split, naming ``where`` (the file and key) when given."""
    ranges = bounds(n_rows)
    empty = [s for s, (a, b) in ranges.items() if b <= a]
    if empty:
        raise LJSpeechError(
            f"{where + ': ' if where else ''}{n_rows} rows are too few to split 75/5/20: empty "
            f"{', '.join(empty)} split (every count from 17 rows up splits)"
        )
    return ranges


# ---------------------------------------------------------------------------- download


def download(
    url: str,
    downloads: str | os.PathLike,
    *,
    sha256: str = SHA256,
    size: int | None = SIZE,
    log=print,
    timeout: float = 60.0,
) -> Path:
    """Fetch the archive into ``downloads`` (resumable, size- and SHA-256-verified); return its path."""
    downloads = Path(downloads)
    dest = downloads / Path(url.split("?", 1)[0]).name
    return dl.fetch(url, dest, size=size, sha256=sha256, manual_hint=manual_hint(url, sha256), log=log, timeout=timeout)


def extract(archive: str | os.PathLike, dest_dir: str | os.PathLike, folder_name: str = FOLDER_NAME, log=print) -> Path:
    """Extract ``archive`` (tar, any compression) so that ``dest_dir/folder_name`` appears whole.

    Members go to a temporary folder beside the target with tarfile's ``data`` filter (no
    absolute paths, links out of the tree or device files); the folder is renamed into place
    only when extraction finished, so a killed job never leaves a half-extracted corpus.
    """
    archive, dest_dir = Path(archive), Path(dest_dir)
    target = dest_dir / folder_name
    dest_dir.mkdir(parents=True, exist_ok=True)
    for stale in dest_dir.glob(f".{folder_name}.*.extracting"):  # from a killed extraction
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder_name}.", suffix=".extracting", dir=dest_dir))
    try:
        log(f"extracting {archive} into {target}")
        try:
            with tarfile.open(archive, "r:*") as tar:
                tar.extractall(tmp, filter="data")
        except (tarfile.TarError, EOFError, OSError) as exc:
            detail = " ".join(str(exc).split())  # tarfile's messages can span lines
            raise LJSpeechError(f"{archive}: cannot be extracted ({detail})") from None
        inner = tmp / folder_name
        if not (inner / "metadata.csv").is_file():
            raise LJSpeechError(
                f"{archive}: expected a top-level folder {folder_name}/ with metadata.csv and wavs/ inside the archive"
            )
        if target.exists():
            shutil.rmtree(target)
        os.replace(inner, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


# ---------------------------------------------------------------------------- the data rule
