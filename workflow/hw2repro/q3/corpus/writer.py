"""Write the synthetic corpus in LJ Speech's layout: plan the clips, speak them, and swap the
finished folder into place (a killed job never leaves half a corpus)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import wave
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..ljspeech import SAMPLE_RATE
from .espeak import ESpeak
from .grammar import CorpusConfig, CorpusError, generate_sentences, vocabulary


def clip_id(i: int) -> str:
    """LJ-style ids: ``SY001-0001`` ... (chapters of 500 clips)."""
    return f"SY{i // 500 + 1:03d}-{i % 500 + 1:04d}"


def plan(cfg: CorpusConfig) -> list[dict]:
    """Every clip's id, texts, voice, rate, pitch and silences, deterministic in ``cfg.seed``."""
    sentences = generate_sentences(cfg)
    rng = np.random.default_rng([cfg.seed, 1])
    n = len(sentences)
    voices = rng.integers(len(cfg.voices), size=n)
    rates = rng.integers(cfg.rate[0], cfg.rate[1] + 1, size=n)
    pitches = rng.integers(cfg.pitch[0], cfg.pitch[1] + 1, size=n)
    lead = rng.uniform(cfg.silence_s[0], cfg.silence_s[1], size=n)
    tail = rng.uniform(cfg.silence_s[0], cfg.silence_s[1], size=n)
    clips = [
        {
            "id": clip_id(i),
            "text": raw,
            "normalized": norm,
            "voice": cfg.voices[voices[i]],
            "rate": int(rates[i]),
            "pitch": int(pitches[i]),
            "lead_samples": int(round(lead[i] * SAMPLE_RATE)),
            "tail_samples": int(round(tail[i] * SAMPLE_RATE)),
        }
        for i, (raw, norm) in enumerate(sentences)
    ]
    if cfg.length_s is not None:  # its own stream: the draws above stay those of a corpus without it
        for clip, seconds in zip(clips, target_lengths(cfg.length_s, n, cfg.seed)):
            clip["target_samples"] = int(round(seconds * SAMPLE_RATE))
    return clips


def target_lengths(length_s: list[float], n: int, seed: int) -> np.ndarray:
    """``n`` clip lengths in seconds: a normal(mean, sd) truncated to [min, max] by redrawing."""
    lo, mean, sd, hi = length_s
    rng = np.random.default_rng([seed, 2])
    out = rng.normal(mean, sd, n)
    for _ in range(1000):
        bad = (out < lo) | (out > hi)
        if not bad.any():
            return out
        out[bad] = rng.normal(mean, sd, int(bad.sum()))
    return np.clip(out, lo, hi)


def write_wav(path: Path, samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(samples.astype("<i2").tobytes())


def synthesize(clips: list[dict], wav_dir: Path, log=print) -> tuple[list[int], str]:
    """Speak every planned clip into ``wav_dir/<id>.wav`` with a fresh engine.

    Returns the sample counts and the eSpeak NG data path. The clips are spoken in order by one
    engine: a clip's audio depends (by a few samples) on the clips before it, so the corpus is
    deterministic as a whole, for a given configuration.
    """
    engine = ESpeak()
    if engine.sample_rate != SAMPLE_RATE:
        raise CorpusError(f"eSpeak NG synthesises at {engine.sample_rate} Hz, LJ Speech needs {SAMPLE_RATE} Hz")
    for voice in sorted({c["voice"] for c in clips}):  # fail early on an unknown voice
        engine.set_voice(voice)
    counts, last, start = [], time.monotonic(), time.monotonic()
    for i, clip in enumerate(clips):
        speech = engine.synth(clip["normalized"], clip["voice"], clip["rate"], clip["pitch"], seed=i)
        tail = max(clip["tail_samples"], clip.get("target_samples", 0) - clip["lead_samples"] - speech.size)
        samples = np.concatenate([np.zeros(clip["lead_samples"], np.int16), speech, np.zeros(tail, np.int16)])
        write_wav(wav_dir / f"{clip['id']}.wav", samples)
        counts.append(int(samples.size))
        if time.monotonic() - last > 5:
            log(f"synthesised {i + 1:,} / {len(clips):,} clips")
            last = time.monotonic()
    elapsed = time.monotonic() - start
    log(f"synthesised {len(clips):,} clips in {elapsed:.1f} s ({len(clips) / max(elapsed, 1e-9):.0f} clips/s)")
    return counts, engine.data_path


def build(folder: str | os.PathLike, cfg: CorpusConfig | dict, log=print) -> dict:
    """Write the corpus as an LJ-Speech-format folder at ``folder``, replacing it whole.

    Everything is written into a temporary folder beside it, which replaces ``folder`` only
    when complete: a killed job never leaves a half-written corpus under the final name.
    Besides ``metadata.csv`` and ``wavs/`` the folder holds ``synthesis.json`` (the settings
    and every clip's voice, rate, pitch and length). Returns a summary.
    """
    if isinstance(cfg, dict):
        cfg = CorpusConfig.from_dict(cfg)
    folder = Path(folder)
    clips = plan(cfg)
    vocab = vocabulary(cfg)
    log(
        f"SYNTHETIC corpus: {len(clips):,} clips, {cfg.templates} templates, {cfg.words_per_class} words per class "
        f"({len(vocab)} distinct words), {cfg.min_chars}-{cfg.max_chars} characters, {len(cfg.voices)} voices"
    )
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
    try:
        (tmp / "wavs").mkdir()
        counts, data_path = synthesize(clips, tmp / "wavs", log)
        lines = "".join(f"{c['id']}|{c['text']}|{c['normalized']}\n" for c in clips)
        (tmp / "metadata.csv").write_text(lines, encoding="utf-8")
        for c, n in zip(clips, counts):
            c["samples"] = n
        summary = {
            "label": "SYNTHETIC speech (eSpeak NG) from a small grammar - not LJ Speech",
            # length_s only when set: a corpus without it keeps the bytes it always had
            "settings": {k: v for k, v in asdict(cfg).items() if k != "length_s" or v is not None},
            "vocabulary": vocab,
            "espeak_data": data_path,
        }
        (tmp / "synthesis.json").write_text(json.dumps({**summary, "clips": clips}, indent=1) + "\n", encoding="utf-8")
        old = None
        if folder.exists():
            old = folder.with_name(f".{folder.name}.old-{os.getpid()}")
            os.replace(folder, old)
        os.replace(tmp, folder)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    seconds = np.array(counts) / SAMPLE_RATE
    summary["seconds"] = {
        "min": float(seconds.min()),
        "mean": float(seconds.mean()),
        "max": float(seconds.max()),
        "total": float(seconds.sum()),
    }
    return summary
