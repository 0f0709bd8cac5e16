"""Rule ljspeech_data: make the configured LJ-Speech-format folder available (the synthetic corpus,
a local copy, or the download), validate it and describe it in ``results/data/ljspeech.json``."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..io import write_json
from ..labels import NOT_CANONICAL
from .corpus.grammar import CorpusConfig
from .corpus.writer import build as build_corpus
from .ljspeech import (
    FOLDER_NAME,
    SAMPLE_RATE,
    LJSpeechError,
    download,
    extract,
    folder_record,
    is_canonical,
    metadata_sha256,
    read_manifest,
    split_bounds,
    validate_folder,
)
from .text import CHAR_TO_ID, MAX_CHARS


def _frame_stats(counts: np.ndarray, hop: int = 160) -> dict:
    frames = 1 + counts // hop
    return {
        "min": int(frames.min()),
        "median": float(np.median(frames)),
        "p99": float(np.percentile(frames, 99)),
        "max": int(frames.max()),
    }


# The key that chose the folder, for messages about its content.
KEY_OF_SOURCE = {
    "synthetic": "data.ljspeech.synthetic.n_clips",
    "path": "data.ljspeech.path",
    "download": "data.ljspeech.url",
}


def prepare(
    cfg: dict,
    manifest: str | os.PathLike,
    data_dir: str | os.PathLike,
    download_dir: str | os.PathLike,
    log=print,
    *,
    keep_archive: bool,
) -> dict:
    """Make the configured LJ-Speech-format folder available, validate it, write ``manifest``.

    ``cfg`` is config ``data.ljspeech``. ``synthetic`` writes ``data_dir/ljspeech_synthetic``;
    ``path`` uses the user's folder as it is; ``download`` fetches the official archive into
    ``download_dir`` and extracts it to ``data_dir/LJSpeech-1.1``, then deletes the verified
    archive unless ``keep_archive``. The manifest says ``canonical`` / ``comparable``: true only
    for LJSpeech-1.1 itself (13,100 rows, the official metadata.csv).
    """
    source = cfg["source"]
    data_dir = Path(data_dir)
    info: dict = {"source": source, "synthetic": source == "synthetic"}
    if source == "synthetic":
        folder = data_dir / "ljspeech_synthetic"
        settings = CorpusConfig.from_dict(cfg["synthetic"])
        summary = build_corpus(folder, settings, log=log)
        rows, counts = validate_folder(
            folder, expected_rows=settings.n_clips, max_chars=MAX_CHARS, ascii_only=True, log=log
        )
        info.update(
            label=summary["label"], synthetic_settings=summary["settings"], vocabulary_size=len(summary["vocabulary"])
        )
    elif source == "path":
        if not cfg.get("path"):
            raise LJSpeechError("data.ljspeech.path: required with source: path (an LJSpeech-1.1 folder)")
        folder = Path(cfg["path"]).expanduser().resolve()
        log(f"validating the LJ-Speech-format folder {folder}")
        rows, counts = validate_folder(folder, expected_rows=cfg["expected_rows"], log=log)
        info["label"] = f"LJ Speech from a local folder ({folder})"
    elif source == "download":
        folder = data_dir / FOLDER_NAME
        expected = cfg["expected_rows"]
        rows = None
        if (folder / "metadata.csv").is_file():
            try:
                rows, counts = validate_folder(folder, expected_rows=expected, log=log)
                log(f"{folder} already extracted and valid")
            except LJSpeechError as exc:
                log(f"{folder} is incomplete ({exc}); extracting it again")
        if rows is None:
            archive = download(cfg["url"], download_dir, sha256=cfg["sha256"], size=cfg["size"], log=log)
            extract(archive, data_dir, FOLDER_NAME, log=log)
            rows, counts = validate_folder(folder, expected_rows=expected, log=log)
        _discard_archive(Path(download_dir) / Path(cfg["url"].split("?", 1)[0]).name, keep_archive, log)
        info["label"] = "LJ Speech 1.1 (public domain), downloaded and SHA-256-verified"
        info["archive_sha256"] = cfg["sha256"]
    else:
        raise LJSpeechError(f"data.ljspeech.source must be synthetic, path or download, got {source!r}")
    if source != "synthetic":  # real transcripts are not rejected for these, as in the homework: say so
        long = sum(len(r.normalized) > MAX_CHARS for r in rows)
        unknown = sum(any(c not in CHAR_TO_ID for c in r.normalized.lower()) for r in rows)
        log(
            f"{long:,} transcript(s) longer than {MAX_CHARS} characters are cut to {MAX_CHARS}, and {unknown:,} hold "
            "characters outside the tokenizer's 35 symbols, which become '#' (as in the homework)"
        )
    bounds = split_bounds(len(rows), where=f"{folder / 'metadata.csv'} ({KEY_OF_SOURCE[source]})")
    seconds = counts / SAMPLE_RATE
    digest = metadata_sha256(folder)
    canonical = source != "synthetic" and is_canonical(len(rows), digest)
    if source != "synthetic" and not canonical:
        info["label"] += f" - {NOT_CANONICAL}"
    info.update(
        canonical=canonical,
        comparable=canonical,
        folder=folder_record(folder, manifest, source),
        rows=len(rows),
        metadata_sha256=digest,
        sample_rate=SAMPLE_RATE,
        splits={k: list(v) for k, v in bounds.items()},
        seconds={
            "min": float(seconds.min()),
            "mean": float(seconds.mean()),
            "max": float(seconds.max()),
            "total": float(seconds.sum()),
        },
        frames_hop160=_frame_stats(counts),
        max_text_chars=max(len(r.normalized) for r in rows),
    )
    write_json(manifest, info)
    info = read_manifest(manifest)  # what readers see: the folder as an absolute path
    log(
        f"wrote {manifest}: {len(rows):,} clips ({seconds.sum() / 3600:.2f} h) in {info['folder']}; splits "
        + ", ".join(f"{k} {b - a:,}" for k, (a, b) in info["splits"].items())
        + f"; frames at hop 160: median {info['frames_hop160']['median']:.0f}, max {info['frames_hop160']['max']}"
    )
    return info


def _discard_archive(archive: Path, keep: bool, log) -> None:
    """The extracted, validated folder is what the pipeline reads: the 2.7 GB archive can go."""
    if keep or not archive.is_file():
        return
    size = archive.stat().st_size
    archive.unlink()
    log(
        f"deleted {archive} ({size / 1e9:.1f} GB; extracted and validated; "
        "set data.ljspeech.keep_archive: true to keep it)"
    )
