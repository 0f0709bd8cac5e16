"""What each heavy job asks a scheduler for (``mem_mb``, ``runtime`` in minutes, ``disk_mb``),
derived from the config (sizes, epochs, batch, frames) and the rates measured by ``make bench``
(``bench/results/*.json``), never guessed per rule.

Every estimate is ``margin x (measured or stated cost)``, floored, and memory and time grow with
the attempt (``--retries``): a job killed for either gets more of both next time.

- ``TIME_MARGIN`` 2: the rates come from a shared 2-core machine at one torch thread; a cluster
  core may be slower, and a loaded one is.
- ``MEM_MARGIN`` 1.5: peaks were sampled (RssAnon every 0.05 s, Snakemake's max_rss), not bounded.
- ``DISK_MARGIN`` 1.2: sizes are computed from shapes; file system blocks and logs add a little.

The rates are per job on one core: threads are not credited (conservative), and a GPU job is
asked the CPU's time (a GPU partition with a shorter limit: set ``q3.train_runtime``).
Pure functions of plain dicts; ``load_rates`` is the only one that reads files.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

from .q2 import octmnist
from .q3 import ljspeech

TIME_MARGIN = 2.0
MEM_MARGIN = 1.5
DISK_MARGIN = 1.2
MIN_RUNTIME = 10  # minutes: scheduling, Python and torch start-up
MIN_MEM_MB = 1000
MIN_DISK_MB = 100

# Stated, not measured here:
TORCH_JOB_MB = 400  # a Python + torch job's own RSS (360-390 MB max_rss in the tiny run's jobs)
# torch's shared libraries: resident, but not in RssAnon (the kernel's peak of q3_train at batch 64
# was 6,339 MB where its RssAnon is ~5,940 MB: paper-scale at 2 %). Data files a job maps (q3_train's
# features) are page cache on top, which the kernel reclaims: not counted (held_mb)
FILE_PAGES_MB = 500
# The synthetic data jobs, until a full-size paper-scale record replaces them (with_paper_scale):
OCT_IMAGES_PER_S = 200  # synthetic OCT generation (floor of what the tiny runs show)
# the OCT job's peak per pixel of all splits (its float64 drawing buffers; a measured value includes
# the interpreter, counted again in TORCH_JOB_MB: on the safe side)
OCT_DRAW_BYTES_PER_PIXEL = 16
SPEECH_CLIPS_PER_S = 2  # eSpeak synthesis plus WAV writing, per clip of up to ~10 s
OCT_READ_BYTES_PER_PIXEL = 16  # a real octmnist.npz read and checked (stated: no record measures it)
DOWNLOAD_MB_PER_S = 0.5  # the slowest link the download estimate allows for
# LJ Speech: 13,100 clips, 23 h 55 min at 22,050 Hz, 16-bit mono: 3.8 GB extracted.
LJ_SAMPLE_RATE = 22050
LJ_MEAN_CLIP_S = 86117 / 13100
FILE_OVERHEAD_BYTES = 44 + 4096  # a WAV header and, at most, a file system block's slack
SPEECH_S_PER_CHAR = 0.075  # eSpeak at its slowest configured 160 wpm: about 13 characters/s
MEL_BINS = 80
OCT_PIXELS = 28 * 28
MB = 1e6  # Snakemake's mem_mb and disk_mb are megabytes
MIB = 2**20 / MB  # the records' peaks are MiB (max_rss, RssAnon): x 1.048576 in MB


@dataclasses.dataclass(frozen=True)
class Rates:
    """Throughputs and peaks of ``make bench`` (bench/results), one core, one torch thread."""

    q2_train_samples_per_s: float  # one epoch incl. validation and test (q2-loop, pipeline loop)
    q3_features_clips_per_s: dict[int, float]  # n_frames -> clips/s (q3)
    q3_train_samples_per_s: dict[tuple[str, int], float]  # (decoder, n_frames) -> samples/s (q3)
    q3_decode_samples_per_s: dict[tuple[str, int], float]  # greedy decode with the KV cache (q3)
    q3_train_peaks_mb: list[tuple[int, int, float]]  # (batch, n_frames, peak RssAnon in MB) (memory)
    q3_features_peak_mb: float  # largest q3_features peak RSS in MB (memory; held_mb of a full-size record)
    # the synthetic data jobs: stated until the full-size paper-scale record measures them
    oct_images_per_s: float = OCT_IMAGES_PER_S
    oct_draw_bytes_per_pixel: float = OCT_DRAW_BYTES_PER_PIXEL
    speech_clips_per_s: float = SPEECH_CLIPS_PER_S


def load_rates(bench_results: Path) -> Rates:
    """The rates from ``bench/results/{q2-loop,q3,memory}.json``, and ``paper-scale.json`` when
    it holds a full-size measurement (``with_paper_scale``)."""
    records = {}
    for section in ("q2-loop", "q3", "memory"):
        path = Path(bench_results) / f"{section}.json"
        try:
            records[section] = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ValueError(f"{path}: cannot read the measured rates ({exc}); restore it from git") from exc
    q3, mem = records["q3"], records["memory"]
    runs = [*mem["runs"], mem["paper_batch"]]
    rates = Rates(
        q2_train_samples_per_s=records["q2-loop"]["samples_per_s_best"]["pipeline"],
        q3_features_clips_per_s={f["n_frames"]: f["clips_per_s"] for f in q3["features"]},
        q3_train_samples_per_s={(m["decoder"], m["n_frames"]): m["train_samples_per_s"] for m in q3["models"]},
        q3_decode_samples_per_s={(m["decoder"], m["n_frames"]): m["decode_cached_samples_per_s"] for m in q3["models"]},
        q3_train_peaks_mb=[(r["batch"], r["n_frames"], MIB * r["q3_train_rss_anon_peak_mb"]) for r in runs],
        q3_features_peak_mb=MIB * max(v for r in runs for v in r["q3_features_max_rss_mb"].values()),
    )
    paper_scale = Path(bench_results) / "paper-scale.json"
    return with_paper_scale(rates, json.loads(paper_scale.read_text())) if paper_scale.is_file() else rates


def full_size_jobs(record: dict | None) -> list[dict]:
    """The jobs of a paper-scale record measured at full size (``scale`` 1); none for a reduced-scale
    check run or no record."""
    return list(record["jobs"]) if record and record.get("scale") == 1.0 else []


def with_paper_scale(rates: Rates, record: dict) -> Rates:
    """The rates with what the full-size paper-scale record measured: its jobs ran at the paper's batch
    and sizes, where per-sample rates may differ from the small benchmarks', so each training and
    features rate is lowered (each peak raised) to the measurement; the synthetic data jobs' stated
    pace and memory are replaced by theirs. A reduced-scale check run changes nothing."""
    jobs = full_size_jobs(record)
    if not jobs:
        return rates
    n_frames, batch = record["sizes"]["n_frames"], record["sizes"]["q3_batch"]
    train, feats = dict(rates.q3_train_samples_per_s), dict(rates.q3_features_clips_per_s)
    q2, peaks, feature_peak = rates.q2_train_samples_per_s, list(rates.q3_train_peaks_mb), rates.q3_features_peak_mb
    synthetic = {}
    for job in jobs:
        rate = job["throughput"]["value"]
        if job["rule"] == "q3_train":
            key = (job["wildcards"]["decoder"], n_frames)
            train[key] = min(train.get(key, rate), rate)
            peaks.append((batch, n_frames, max(0.0, held_mb(job) - FILE_PAGES_MB)))  # the fit's peaks: anonymous
        elif job["rule"] == "q3_features":
            feats[n_frames] = min(feats.get(n_frames, rate), rate)
            feature_peak = max(feature_peak, held_mb(job))
        elif job["rule"] == "q2_train":
            q2 = min(q2, rate)
        elif job["rule"] == "octmnist_data":
            synthetic["oct_images_per_s"] = rate
            pixels = sum(record["sizes"]["octmnist"]) * OCT_PIXELS
            synthetic["oct_draw_bytes_per_pixel"] = held_mb(job) * MB / pixels
        elif job["rule"] == "ljspeech_data":
            synthetic["speech_clips_per_s"] = rate
    return dataclasses.replace(
        rates,
        q2_train_samples_per_s=q2,
        q3_features_clips_per_s=feats,
        q3_train_samples_per_s=train,
        q3_train_peaks_mb=peaks,
        q3_features_peak_mb=feature_peak,
        **synthetic,
    )


def held_mb(job: dict) -> float:
    """The memory a measured job held that a scheduler must grant: its peak RSS without the pages of
    data files it maps (reclaimable page cache: q3_train reads its features memory-mapped), i.e. at
    most its anonymous peak plus the libraries' file pages. Older records have no anonymous peak."""
    anon = job.get("peak_rss_anon_mb")
    return job["peak_rss_mb"] if anon is None else min(job["peak_rss_mb"], anon + FILE_PAGES_MB)


def rate_at(points: dict[int, float], n_frames: int) -> float:
    """A per-clip rate at ``n_frames``: a power law through the smallest and largest measured
    frame counts; below the smallest, its rate (shorter clips are never slower)."""
    (f1, r1), (f2, r2) = min(points.items()), max(points.items())
    if n_frames <= f1 or f1 == f2:
        return r1 if n_frames <= f1 else r2 * f2 / n_frames
    return r1 * (n_frames / f1) ** (math.log(r2 / r1) / math.log(f2 / f1))


def download_mb(size: int | None, canonical: int) -> float:
    """A download's size in MB: the configured size, or (other content given without its size) the
    canonical file's as the estimate."""
    return (size or canonical) / MB


def minutes(seconds: float, attempt: int) -> int:
    return max(MIN_RUNTIME, math.ceil(TIME_MARGIN * seconds / 60)) * attempt


def memory(mb: float, attempt: int) -> int:
    return max(MIN_MEM_MB, math.ceil(MEM_MARGIN * mb)) * attempt


def disk(mb: float) -> int:
    return max(MIN_DISK_MB, math.ceil(DISK_MARGIN * mb))


# ---- sizes from the config ----------------------------------------------------------------------


def oct_sizes(config: dict) -> tuple[int, int, int]:
    """(train, val, test) images: the synthetic sizes, or OCTMNIST's for a real file."""
    oct_ = config["data"]["octmnist"]
    if oct_["source"] == "synthetic":
        s = oct_["synthetic"]
        return s["n_train"], s["n_val"], s["n_test"]
    return 97477, 10832, 1000


def lj_rows(config: dict) -> int:
    lj = config["data"]["ljspeech"]
    return lj["synthetic"]["n_clips"] if lj["source"] == "synthetic" else lj["expected_rows"] or 13100


def q3_split_rows(config: dict) -> dict[str, int]:
    """The homework's 75/5/20 row-order split (9,825 / 655 / 2,620 of 13,100)."""
    n = lj_rows(config)
    train_end, val_end = n * 9825 // 13100, n * 10480 // 13100
    return {"train": train_end, "val": val_end - train_end, "test": n - val_end}


def clip_seconds(config: dict) -> float:
    """Mean seconds per clip: LJ Speech's, or the longest a synthetic transcript can speak."""
    lj = config["data"]["ljspeech"]
    if lj["source"] != "synthetic":
        return LJ_MEAN_CLIP_S
    s = lj["synthetic"]
    spoken = s["max_chars"] * SPEECH_S_PER_CHAR + 2 * max(s["silence_s"])
    return max(spoken, s["length_s"][3]) if s.get("length_s") else spoken


def oct_data_mb(config: dict) -> float:
    """The OCT images as uint8, all splits."""
    return sum(oct_sizes(config)) * OCT_PIXELS / MB


def lj_audio_mb(config: dict) -> float:
    """The corpus's wav files: 16-bit mono at 22,050 Hz, a header and a block's slack each."""
    return lj_rows(config) * (clip_seconds(config) * LJ_SAMPLE_RATE * 2 + FILE_OVERHEAD_BYTES) / MB


def spectrogram_bytes(config: dict) -> int:
    """One clip's mel spectrogram as stored (q3.features: frames x mel bins x dtype)."""
    feat = config["q3"]["features"]
    return MEL_BINS * feat["n_frames"] * (2 if feat["dtype"] == "float16" else 4)


def features_mb(config: dict, rows: int) -> float:
    """A features file of ``rows`` clips: the array, and the tokens and texts beside it (~1 kB a clip)."""
    return rows * (spectrogram_bytes(config) + 2000) / MB


def q3_rates(rates: Rates, decoder: str, n_frames: int) -> tuple[float, float]:
    """(training, greedy decoding) samples/s of ``decoder`` at ``n_frames``."""
    train = rate_at({f: r for (d, f), r in rates.q3_train_samples_per_s.items() if d == decoder}, n_frames)
    decode = rate_at({f: r for (d, f), r in rates.q3_decode_samples_per_s.items() if d == decoder}, n_frames)
    return train, decode


def q3_train_seconds(config: dict, train_rate: float, decode_rate: float) -> float:
    """Every epoch trains on the train split and greedy-decodes validation; the end decodes the test
    split twice (the model and its audio-blind baseline)."""
    rows = q3_split_rows(config)
    per_epoch = rows["train"] / train_rate + rows["val"] / decode_rate
    return config["q3"]["epochs"] * per_epoch + 2 * rows["test"] / decode_rate


# ---- per job: {"mem_mb", "runtime", "disk_mb"} --------------------------------------------------


def octmnist_data(config: dict, rates: Rates, attempt: int = 1, **wildcards) -> dict[str, int]:
    images = sum(oct_sizes(config))
    source = config["data"]["octmnist"]["source"]
    seconds = images / rates.oct_images_per_s if source == "synthetic" else 0
    if source == "download":
        seconds += download_mb(config["data"]["octmnist"]["size"], octmnist.SIZE) / DOWNLOAD_MB_PER_S
    data_mb = oct_data_mb(config)
    # drawing synthetic images takes float64 buffers; a real file is read and checked
    per_pixel = rates.oct_draw_bytes_per_pixel if source == "synthetic" else OCT_READ_BYTES_PER_PIXEL
    return {
        "mem_mb": memory(TORCH_JOB_MB + per_pixel * data_mb, attempt),
        "runtime": minutes(seconds, attempt),
        "disk_mb": disk(2 * data_mb),  # the npz (and the download beside it)
    }


def q2_train(config: dict, rates: Rates, attempt: int = 1, **wildcards) -> dict[str, int]:
    """One epoch costs its training images at the measured rate (validation and test included)."""
    n_train, n_val, n_test = oct_sizes(config)
    seconds = config["q2"]["epochs"] * n_train / rates.q2_train_samples_per_s
    float_mb = (n_train + n_val + n_test) * OCT_PIXELS * 4 / MB
    return {
        "mem_mb": memory(TORCH_JOB_MB + 3 * float_mb, attempt),  # uint8 arrays, float32 tensors, a batch copy
        "runtime": minutes(seconds, attempt),
        "disk_mb": disk(10),  # weights, metrics, predictions: kilobytes to a megabyte
    }


def ljspeech_data(config: dict, rates: Rates, attempt: int = 1, **wildcards) -> dict[str, int]:
    lj = config["data"]["ljspeech"]
    rows = lj_rows(config)
    wav_mb = lj_audio_mb(config) + 10  # + metadata
    if lj["source"] == "synthetic":
        seconds, disk_mb = rows / rates.speech_clips_per_s, wav_mb
    elif lj["source"] == "download":
        archive_mb = download_mb(lj["size"], ljspeech.SIZE)
        # the archive and its extraction are on disk together until it is validated
        seconds, disk_mb = archive_mb / DOWNLOAD_MB_PER_S + rows / 50, archive_mb + wav_mb
    else:  # a local folder: read and checked, nothing copied
        seconds, disk_mb = rows / 50, 1
    return {"mem_mb": memory(TORCH_JOB_MB, attempt), "runtime": minutes(seconds, attempt), "disk_mb": disk(disk_mb)}


def q3_features(config: dict, rates: Rates, attempt: int = 1, *, split: str, **wildcards) -> dict[str, int]:
    """Streamed 64 clips at a time: memory is flat in the split's size; time and disk are not."""
    feat = config["q3"]["features"]
    rows = q3_split_rows(config)[split]
    chunk_mb = 64 * spectrogram_bytes(config) / MB
    seconds = rows / rate_at(rates.q3_features_clips_per_s, feat["n_frames"])
    return {
        "mem_mb": memory(max(TORCH_JOB_MB + 2 * chunk_mb, rates.q3_features_peak_mb), attempt),
        "runtime": minutes(seconds, attempt),
        "disk_mb": disk(features_mb(config, rows)),
    }


def attention_mb(batch: int, n_frames: int, n_heads: int) -> float:
    """One float32 encoder self-attention map over the batch: batch x heads x (frames/2)^2."""
    t = (n_frames + 1) // 2
    return batch * n_heads * t * t * 4 / MB


def q3_train_peak_mb(rates: Rates, batch: int, n_frames: int, n_heads: int) -> float:
    """A line through the measured peaks against the attention map's size (they grow with batch x
    frames^2: activations, not the corpus, which is memory-mapped); never below any measured peak;
    plus the file pages RssAnon leaves out."""
    pts = sorted((attention_mb(b, f, n_heads), mb) for b, f, mb in rates.q3_train_peaks_mb)
    (x1, y1), (x2, y2) = pts[0], pts[-1]
    slope = (y2 - y1) / (x2 - x1) if x2 > x1 else 0.0
    return max(y1 + slope * (attention_mb(batch, n_frames, n_heads) - x1), y1) + FILE_PAGES_MB


def q3_train(config: dict, rates: Rates, attempt: int = 1, *, decoder: str, **wildcards) -> dict[str, int]:
    """The time of :func:`q3_train_seconds` at the measured rates; config values override."""
    q3 = config["q3"]
    n_frames = q3["features"]["n_frames"]
    seconds = q3_train_seconds(config, *q3_rates(rates, decoder, n_frames))
    peak = q3_train_peak_mb(rates, q3["batch_size"], n_frames, q3["n_heads"])
    return {
        "mem_mb": q3["train_mem_mb"] * attempt if q3["train_mem_mb"] else memory(peak, attempt),
        "runtime": q3["train_runtime"] * attempt if q3["train_runtime"] else minutes(seconds, attempt),
        "disk_mb": disk(100),  # two checkpoints of a ~1.5 M-parameter model with AdamW state
    }


JOBS = {f.__name__: f for f in (octmnist_data, q2_train, ljspeech_data, q3_features, q3_train)}


def resource(job: str, key: str, config: dict, rates: Rates):
    """A rule's resource function: ``JOBS[job](config, rates, attempt, **wildcards)[key]``
    (Snakemake passes the wildcards and the attempt by these names)."""
    estimate = JOBS[job]

    def value(wildcards, attempt):
        return estimate(config, rates, attempt, **dict(wildcards.items()))[key]

    return value
