"""The homework's log-mel features, with torch.stft and a mel filterbank written here.

The original used ``torchaudio.transforms.MelSpectrogram``; torchaudio has no CPU wheel here,
and these few lines compute the same thing:

* power spectrogram: n_fft 400, hop 160, periodic Hann window of 400, ``center=True`` with
  reflect padding, |STFT|^2;
* 80 mel bands, Slaney mel scale and Slaney (area) normalisation, 201 STFT bins, for a sample
  rate **assumed to be 16,000 Hz** although LJ Speech is 22,050 Hz (a quirk of the homework
  skeleton, kept and visible in the config as ``q3.features.sample_rate_assumed``);
* Whisper-style log: ``log10(clamp(x, 1e-10))``, then ``max(x, x.max() - 8)`` (max over the
  whole clip), then ``(x + 4) / 4``;
* pad (with 0, ``torch.nn.functional.pad``'s default) or crop on the right to ``n_frames``.

The batched version gives each clip exactly what the single-clip version gives it (each clip
gets its own reflect padding and its own maximum).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..io import atomic_path, save_torch
from . import ljspeech, text
from .dataset import features_array_path

N_FFT = 400
HOP_LENGTH = 160
N_MELS = 80
N_FREQS = N_FFT // 2 + 1  # 201
SAMPLE_RATE_ASSUMED = 16_000  # the skeleton's MelSpectrogram default, not LJ Speech's 22,050 Hz
LOG_FLOOR = 1e-10
DYNAMIC_RANGE = 8.0  # log10 units kept below each clip's maximum
PAD_VALUE = 0.0  # value of padded frames (F.pad's default), after the log scaling

# Slaney mel scale: linear below 1 kHz (200/3 Hz per mel), logarithmic above.
_F_SP = 200.0 / 3
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP  # 15
_LOGSTEP = math.log(6.4) / 27.0


def hz_to_mel(freq: float) -> float:
    """Slaney mel of a frequency in Hz."""
    if freq >= _MIN_LOG_HZ:
        return _MIN_LOG_MEL + math.log(freq / _MIN_LOG_HZ) / _LOGSTEP
    return freq / _F_SP


def mel_to_hz(mels: torch.Tensor) -> torch.Tensor:
    """Frequencies in Hz of Slaney mels (tensor, elementwise)."""
    freqs = _F_SP * mels
    log_t = mels >= _MIN_LOG_MEL
    freqs[log_t] = _MIN_LOG_HZ * torch.exp(_LOGSTEP * (mels[log_t] - _MIN_LOG_MEL))
    return freqs


def mel_filterbank(
    n_freqs: int = N_FREQS,
    n_mels: int = N_MELS,
    sample_rate: int = SAMPLE_RATE_ASSUMED,
    f_min: float = 0.0,
    f_max: float | None = None,
) -> torch.Tensor:
    """Triangular Slaney-scale, Slaney-normalised mel filters, float32 of shape (n_freqs, n_mels).

    Same layout, arithmetic and dtype as ``torchaudio.functional.melscale_fbanks(n_freqs, f_min,
    f_max or sample_rate / 2, n_mels, sample_rate, norm="slaney", mel_scale="slaney")``:
    ``mel = spec.T @ fb`` maps a (freq, time) power spectrogram to mel bands.
    """
    f_max = float(sample_rate // 2) if f_max is None else float(f_max)
    all_freqs = torch.linspace(0, sample_rate // 2, n_freqs)
    m_pts = torch.linspace(hz_to_mel(f_min), hz_to_mel(f_max), n_mels + 2)
    f_pts = mel_to_hz(m_pts)
    f_diff = f_pts[1:] - f_pts[:-1]  # (n_mels + 1,)
    slopes = f_pts.unsqueeze(0) - all_freqs.unsqueeze(1)  # (n_freqs, n_mels + 2)
    down_slopes = (-1.0 * slopes[:, :-2]) / f_diff[:-1]
    up_slopes = slopes[:, 2:] / f_diff[1:]
    fb = torch.max(torch.zeros(1), torch.min(down_slopes, up_slopes))
    enorm = 2.0 / (f_pts[2 : n_mels + 2] - f_pts[:n_mels])  # Slaney: constant area per band
    return fb * enorm.unsqueeze(0)


_FB_CACHE: dict[int, torch.Tensor] = {}
_WINDOW = None


def _filterbank(sample_rate: int) -> torch.Tensor:
    if sample_rate not in _FB_CACHE:
        _FB_CACHE[sample_rate] = mel_filterbank(N_FREQS, N_MELS, sample_rate)
    return _FB_CACHE[sample_rate]


def _window() -> torch.Tensor:
    global _WINDOW
    if _WINDOW is None:
        _WINDOW = torch.hann_window(N_FFT)  # periodic, as torchaudio's default window_fn
    return _WINDOW


def n_frames_of(n_samples: int) -> int:
    """Frames the centred STFT gives a clip of ``n_samples`` samples (before pad/crop)."""
    return 1 + n_samples // HOP_LENGTH


def _pad_or_crop(x: torch.Tensor, n_frames: int) -> torch.Tensor:
    t = x.shape[-1]
    if t >= n_frames:
        return x[..., :n_frames]
    return F.pad(x, (0, n_frames - t), value=PAD_VALUE)


def _log_scale(mel: torch.Tensor) -> torch.Tensor:
    """Whisper-style log scaling of one clip's mel spectrogram (n_mels, T)."""
    log_spec = torch.clamp(mel, min=LOG_FLOOR).log10()
    log_spec = torch.maximum(log_spec, log_spec.max() - DYNAMIC_RANGE)
    return (log_spec + 4.0) / 4.0


def _check_waveform(w: torch.Tensor) -> torch.Tensor:
    if w.ndim != 1:
        raise ValueError(f"expected a mono waveform of shape (samples,), got {tuple(w.shape)}")
    if w.shape[0] <= N_FFT // 2:
        raise ValueError(
            f"waveform of {w.shape[0]} samples is too short for reflect padding (needs more than {N_FFT // 2})"
        )
    return w.to(torch.float32)


def log_mel(waveform: torch.Tensor, n_frames: int, sample_rate_assumed: int = SAMPLE_RATE_ASSUMED) -> torch.Tensor:
    """Log-mel features (80, n_frames) of one mono float waveform in [-1, 1)."""
    w = _check_waveform(torch.as_tensor(waveform))
    spec = torch.stft(
        w,
        N_FFT,
        hop_length=HOP_LENGTH,
        win_length=N_FFT,
        window=_window(),
        center=True,
        pad_mode="reflect",
        normalized=False,
        onesided=True,
        return_complex=True,
    )
    power = spec.abs().pow(2.0)  # (201, T)
    mel = torch.matmul(power.transpose(-1, -2), _filterbank(sample_rate_assumed)).transpose(-1, -2)
    return _pad_or_crop(_log_scale(mel), n_frames)


def log_mel_batch(
    waveforms: Sequence[torch.Tensor | np.ndarray],
    n_frames: int,
    sample_rate_assumed: int = SAMPLE_RATE_ASSUMED,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """``log_mel`` of clips of different lengths: (B, 80, n_frames), float32 unless ``out`` is given.

    Clip by clip on purpose: measured on CPU, one (201 x T) STFT at a time stays in cache and is
    about 3x faster than one padded batched STFT, and each clip trivially keeps its own reflect
    padding and its own maximum. ``out`` (e.g. a slice of a preallocated float16 tensor) is
    filled in place, so a whole split never needs a second float32 copy.
    """
    if out is None:
        out = torch.empty((len(waveforms), N_MELS, n_frames), dtype=torch.float32)
    elif out.shape != (len(waveforms), N_MELS, n_frames):
        raise ValueError(f"out has shape {tuple(out.shape)}, expected {(len(waveforms), N_MELS, n_frames)}")
    for i, w in enumerate(waveforms):
        out[i] = log_mel(torch.as_tensor(w), n_frames, sample_rate_assumed)
    return out


# ---------------------------------------------------------------------------- the cached split

DTYPES = {"float32": torch.float32, "float16": torch.float16}


CHUNK_CLIPS = 64  # clips computed between two writes: 56 MB of float32 at 2,754 frames


def _release_written(fh) -> None:
    """Write the chunk out and drop it from the page cache: on a cluster, a job's dirty page cache
    counts against its memory limit although the job itself never holds the split."""
    fh.flush()
    if hasattr(os, "posix_fadvise"):
        os.fdatasync(fh.fileno())
        os.posix_fadvise(fh.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)


def build_split(
    manifest: dict,
    split: str,
    n_frames: int,
    out_path,
    *,
    sample_rate_assumed: int = SAMPLE_RATE_ASSUMED,
    dtype: str = "float32",
    log=print,
    features_out=None,
) -> dict:
    """Compute one split's features and tokens, streamed to disk chunk by chunk (atomic files).

    ``manifest`` is the data rule's ``ljspeech.json``. The features (N, 80, n_frames) in ``dtype``
    (float32 by default; float16 halves disk and memory and must be cast back with ``.float()``)
    go to ``features_out`` (default ``{split}.features.npy`` beside ``out_path``), a plain .npy
    written ``CHUNK_CLIPS`` clips at a time, so memory stays flat in the number of clips; training
    memory-maps it. ``out_path`` (torch.save) holds a dict: ``features_file`` (that file's name),
    ``tokens`` int64 (N, 99), ``ids``, ``texts`` (normalized), ``n_frames``, ``source``,
    ``synthetic``, and ``lengths`` int64 (N,): each clip's frame count before padding or cropping.
    """
    if split not in manifest["splits"]:
        raise ljspeech.LJSpeechError(f"split must be one of {list(manifest['splits'])}, got {split!r}")
    if dtype not in DTYPES:
        raise ljspeech.LJSpeechError(f"q3.features.dtype must be one of {list(DTYPES)}, got {dtype!r}")
    folder = Path(manifest["folder"])
    sha = ljspeech.metadata_sha256(folder) if (folder / "metadata.csv").is_file() else None
    if sha != manifest["metadata_sha256"]:
        raise ljspeech.LJSpeechError(
            f"{folder / 'metadata.csv'}: missing or changed since the data rule wrote its "
            "manifest; re-run the data rule (snakemake -R ljspeech_data)"
        )
    rows = ljspeech.read_metadata(folder)
    start, end = manifest["splits"][split]
    rows = rows[start:end]
    n = len(rows)
    features_out = Path(features_out) if features_out is not None else features_array_path(out_path)
    log(
        f"{split}: {n:,} clips (rows {start:,}..{end - 1:,}) of {folder}, {n_frames} frames, {dtype}, "
        f"mel filterbank for an assumed {sample_rate_assumed} Hz -> {features_out}"
    )
    chunk = torch.empty((max(1, min(CHUNK_CLIPS, n)), N_MELS, n_frames), dtype=DTYPES[dtype])
    lengths = torch.empty(n, dtype=torch.int64)
    header = {
        "descr": np.lib.format.dtype_to_descr(np.dtype(dtype)),
        "fortran_order": False,
        "shape": (n, N_MELS, n_frames),
    }
    t0 = last = time.monotonic()
    with atomic_path(features_out) as tmp, open(tmp, "wb") as fh:
        np.lib.format.write_array_header_1_0(fh, header)
        for i, row in enumerate(rows):
            w = torch.from_numpy(
                ljspeech.read_wav(ljspeech.wav_path(folder, row.id), manifest.get("sample_rate", 22050))
            )
            lengths[i] = n_frames_of(w.shape[0])
            chunk[i % len(chunk)] = log_mel(w, n_frames, sample_rate_assumed)
            if i % len(chunk) == len(chunk) - 1 or i == n - 1:
                fh.write(chunk[: i % len(chunk) + 1].numpy().data)
                _release_written(fh)
            if time.monotonic() - last > 10:
                rate = (i + 1) / (time.monotonic() - t0)
                log(f"{split}: {i + 1:,} / {n:,} clips ({rate:.0f} clips/s, about {(n - i - 1) / rate:.0f} s left)")
                last = time.monotonic()
    elapsed = time.monotonic() - t0
    cropped = int((lengths > n_frames).sum())
    log(
        f"{split}: {n:,} clips in {elapsed:.1f} s ({n / max(elapsed, 1e-9):.0f} clips/s); frames before pad/crop "
        f"{int(lengths.min())}..{int(lengths.max())}"
    )
    if cropped:
        log(
            f"WARNING: {split}: {cropped:,} of {n:,} clips are longer than {n_frames} frames and lose their end "
            + (
                "(raise q3.features.n_frames or lower data.ljspeech.synthetic.max_chars)"
                if manifest.get("synthetic")
                else "(the homework crops them too; raise q3.features.n_frames to keep more)"
            )
        )
    result = {
        "features_file": os.path.relpath(features_out, Path(out_path).parent),
        "tokens": text.encode_batch(r.normalized for r in rows),
        "ids": [r.id for r in rows],
        "texts": [r.normalized for r in rows],
        "n_frames": int(n_frames),
        "source": manifest["source"],
        "synthetic": bool(manifest["synthetic"]),
        "lengths": lengths,
        "split": split,
        "sample_rate_assumed": int(sample_rate_assumed),
        "metadata_sha256": manifest["metadata_sha256"],
    }
    save_torch(out_path, result)
    return {
        "split": split,
        "clips": n,
        "seconds": elapsed,
        "cropped": cropped,
        "frames_max": int(lengths.max()) if n else 0,
    }
