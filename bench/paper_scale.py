"""The ``paper-scale`` section: the paper config's real jobs on full-size stand-ins of its data.

The real data cannot be downloaded here, but their shapes are known: OCTMNIST is 97,477 / 10,832 /
1,000 images of 28x28 uint8; LJ Speech is 13,100 clips at 22,050 Hz, 1.1-10.1 s, mean 6.57 s. The
pipeline's own generators make data of those formats at those sizes (the speech corpus padded to
LJ Speech's clip-length distribution, ``data.ljspeech.synthetic.length_s``), and the paper
config's jobs run on them one at a time (``--cores 1``), each in its own Snakemake call:

* ``octmnist_data`` and ``ljspeech_data`` (synthetic, full size);
* the three ``q3_features`` jobs in full (2,754 frames, float32);
* one ``q2_train`` job, one epoch at the paper's settings (batch 8, SGD, dropout 0.7);
* ``q3_train`` for both decoders at the paper's batch 64 for ``Q3_STEPS`` steps (one epoch over
  the first ``64 x Q3_STEPS`` training clips), with the greedy decode of ``Q3_DECODE_CLIPS``
  validation and test clips.

Per job: wall seconds (the job, from Snakemake's benchmark file, and the whole call), CPU seconds
and peak RSS of the call's process tree from the kernel (``getrusage(RUSAGE_CHILDREN)`` of a
wrapper process; it counts memory-mapped file pages, which q3_train's features are), the peak
anonymous memory (``RssAnon``, sampled every 0.05 s: what cannot be reclaimed), Snakemake's
``max_rss``, disk written (the growth of the results folder), the
throughput in the job's unit, and what ``hw2repro.resources`` declares for it. ``--scale``
shrinks every size (a check of the code, not a measurement of the paper run).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

import yaml

from hw2repro import resources
from hw2repro.workspace import REPO, copy_workflow, snakemake_cmd

from .common import figure, machine_info, merged_config
from .memory import run_sampling_anon

OCTMNIST_SIZES = (97_477, 10_832, 1_000)
LJ_CLIPS = 13_100
# [min, mean, sd, max] of a truncated normal: clips of 1.11-10.1 s, mean 6.56 s, sd 2.13 s, as
# LJ Speech 1.1's 1.11-10.10 s, mean 6.57 s (its lengths lean left: the untruncated mean is higher)
LJ_LENGTH_S = [1.11, 7.3, 2.95, 10.1]
Q3_STEPS = 10  # training steps at batch 64 per decoder
Q3_DECODE_CLIPS = 64  # validation and test clips greedy-decoded per decoder
RESULTS = "results-paper-scale"

# Runs a command and prints the kernel's account of its whole process tree as JSON.
RUSAGE_WRAPPER = """
import json, resource, subprocess, sys
rc = subprocess.call(sys.argv[1:])
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": rc, "maxrss_kb": r.ru_maxrss, "user_s": r.ru_utime, "sys_s": r.ru_stime}))
"""


def scaled(n: int, scale: float, least: int) -> int:
    return max(least, round(n * scale))


def paper_scale_config(scale: float = 1.0) -> dict:
    """config/paper.yaml with synthetic full-size data, one Q2 job of one epoch, bounded Q3 jobs."""
    cfg = merged_config("paper.yaml")
    n_train, n_val, n_test = OCTMNIST_SIZES
    cfg["results"] = RESULTS
    cfg["data"]["octmnist"]["source"] = "synthetic"
    cfg["data"]["octmnist"]["synthetic"].update(
        n_train=scaled(n_train, scale, 400), n_val=scaled(n_val, scale, 100), n_test=n_test
    )
    lj = cfg["data"]["ljspeech"]
    lj["source"] = "synthetic"
    # the widest grammar and transcripts up to the tokenizer's 97 characters: 13,100 unique ones
    lj["synthetic"].update(
        n_clips=scaled(LJ_CLIPS, scale, 120), max_chars=97, words_per_class=12, templates=14, length_s=LJ_LENGTH_S
    )
    cfg["q2"].update(lrs=[0.01], poolings=["max"], seeds=[42], epochs=1, threads=1)
    batch = cfg["q3"]["batch_size"]
    cfg["q3"].update(
        seeds=[42],
        epochs=1,
        threads=1,
        train_clips=batch * max(1, round(Q3_STEPS * min(1.0, scale * 10))),
        val_clips=scaled(Q3_DECODE_CLIPS, min(1.0, scale * 10), 8),
        test_clips=scaled(Q3_DECODE_CLIPS, min(1.0, scale * 10), 8),
    )
    return cfg


def jobs(cfg: dict) -> list[dict]:
    """Each job: rule, wildcards, the target that makes only it, its benchmark file, its items."""
    r = cfg["results"]
    rows = resources.q3_split_rows(cfg)
    oct_total = sum(resources.oct_sizes(cfg))

    def job(rule, target, tsv, items, unit, **wc):
        return {"rule": rule, "wc": wc, "target": f"{r}/{target}", "tsv": tsv, "items": items, "unit": unit}

    out = [
        job("octmnist_data", "data/octmnist.npz", "data/octmnist", oct_total, "images/s"),
        job("ljspeech_data", "data/ljspeech.json", "q3/ljspeech_data", resources.lj_rows(cfg), "clips/s"),
    ]
    for split in ("train", "val", "test"):
        out.append(
            job("q3_features", f"q3/features/{split}.pt", f"q3/features_{split}", rows[split], "clips/s", split=split)
        )
    q2 = cfg["q2"]
    run = f"{q2['poolings'][0]}_lr{q2['lrs'][0]}_seed{q2['seeds'][0]}"
    images = resources.oct_sizes(cfg)[0] * q2["epochs"]
    out.append(
        job("q2_train", f"q2/runs/{run}/result.json", f"q2/train_{run}", images, "training images/s (with eval)")
    )
    steps = cfg["q3"]["train_clips"] * cfg["q3"]["epochs"]
    for d in cfg["q3"]["decoders"]:
        out.append(
            job("q3_train", f"q3/runs/{d}_seed42/test.json", f"q3/train_{d}_seed42", steps, "samples/s", decoder=d)
        )
    return out


def du_mb(path: Path) -> float:
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except OSError:
                pass
    return total / 1e6


def benchmark_row(tsv: Path) -> dict:
    """Snakemake's benchmark file: s, max_rss (MiB), io_out (MB), cpu_time (s), ..."""
    with tsv.open() as fh:
        row = list(csv.DictReader(fh, delimiter="\t"))[-1]
    return {k: (float(v) if v not in ("", "NA", "-") and k != "h:m:s" else v) for k, v in row.items()}


def run_job(work: Path, cfg_file: str, job: dict, timeout: float) -> dict:
    """One Snakemake call that makes ``job`` alone (its inputs exist), measured from outside."""
    results = work / RESULTS
    before = du_mb(results) if results.exists() else 0.0
    cmd = [
        sys.executable,
        "-c",
        RUSAGE_WRAPPER,
        *snakemake_cmd(job["target"], "--cores", "1", "--configfile", cfg_file),  # --configfile takes many
    ]
    t0 = time.perf_counter()
    # RssAnon of every process of the call, sampled: the kernel's peak RSS counts the pages of files
    # a job maps too (q3_train reads its features memory-mapped: reclaimable page cache)
    proc, anon_kb = run_sampling_anon(cmd, work, "", timeout)
    call_s = time.perf_counter() - t0
    try:  # the wrapper's account, printed last
        kernel = json.loads(proc.stdout.strip().splitlines()[-1])
        ok = proc.returncode == 0 and kernel["rc"] == 0
    except (IndexError, ValueError, KeyError, TypeError):
        ok = False
    if not ok:
        raise RuntimeError(f"paper-scale: {job['rule']} {job['wc']} failed:\n{proc.stdout[-3000:]}")
    bench = benchmark_row(results / "benchmarks" / f"{job['tsv']}.tsv")
    return {
        "rule": job["rule"],
        "wildcards": job["wc"],
        "wall_s": bench["s"],
        "call_wall_s": call_s,
        "cpu_s": kernel["user_s"] + kernel["sys_s"],
        "benchmark_cpu_s": bench.get("cpu_time"),
        "peak_rss_mb": kernel["maxrss_kb"] * 1024 / 1e6,
        "peak_rss_anon_mb": anon_kb * 1024 / 1e6,
        "benchmark_max_rss_mb": bench["max_rss"] * 2**20 / 1e6,
        "disk_written_mb": du_mb(results) - before,
        "benchmark_io_out_mb": bench.get("io_out"),
        "items": job["items"],
        "throughput": {"value": job["items"] / bench["s"], "unit": job["unit"]},
    }


def bench_paper_scale(scale: float = 1.0, keep: Optional[Path] = None, log=print, timeout: float = 5400) -> dict:
    """Every job in one fresh copy of the workflow, in dependency order, one at a time."""
    cfg = paper_scale_config(scale)
    info = machine_info(threads=1)
    base = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="hw2bench_paper_scale_"))
    work = copy_workflow(base / "wf")
    (work / "paper-scale.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    rates = resources.load_rates(REPO / "bench" / "results")
    records = []
    t0 = time.perf_counter()
    try:
        for job in jobs(cfg):
            log(f"  paper-scale: {job['rule']} {job['wc'] or ''} ...")
            rec = run_job(work, "paper-scale.yaml", job, timeout)
            rec["declared"] = resources.JOBS[job["rule"]](cfg, rates, 1, **job["wc"])
            if job["rule"] == "q3_train":  # the job's own split of its time: training, test decoding
                test = json.loads((work / job["target"]).read_text())
                rec["throughput"] = {"value": job["items"] / test["train_seconds"], "unit": "training samples/s"}
                rec["test_decode_clips_per_s"] = 2 * test["n_test"] / test["eval_seconds"]  # model + audio-blind
            log(
                f"    {rec['wall_s']:.1f} s, peak {rec['peak_rss_mb']:.0f} MB "
                f"({rec['peak_rss_anon_mb']:.0f} MB anonymous), wrote {rec['disk_written_mb']:.0f} MB, "
                f"{rec['throughput']['value']:.1f} {rec['throughput']['unit']}"
            )
            records.append({"scale": scale, **rec})
    finally:
        if not keep:
            shutil.rmtree(base, ignore_errors=True)
    info["loadavg_end"] = list(os.getloadavg())
    figures = [
        figure(
            f"paper-scale {r['rule']}{' ' + ','.join(r['wildcards'].values()) if r['wildcards'] else ''}",
            round(r["wall_s"], 1),
            "s",
            note=f"peak RSS {r['peak_rss_mb']:.0f} MB ({r['peak_rss_anon_mb']:.0f} MB anonymous), "
            f"disk {r['disk_written_mb']:.0f} MB, "
            f"{r['throughput']['value']:.3g} {r['throughput']['unit']}; scale {scale:g}",
        )
        for r in records
    ]
    return {
        "section": "paper-scale",
        "scale": scale,
        "machine": info,
        "sizes": {
            "n_frames": cfg["q3"]["features"]["n_frames"],
            "q3_batch": cfg["q3"]["batch_size"],
            "octmnist": resources.oct_sizes(cfg),
            "ljspeech_clips": resources.lj_rows(cfg),
            "q3_splits": resources.q3_split_rows(cfg),
            "q3_train_clips": cfg["q3"]["train_clips"],
            "q3_decode_clips": [cfg["q3"]["val_clips"], cfg["q3"]["test_clips"]],
        },
        "jobs": records,
        "total_wall_s": time.perf_counter() - t0,
        "figures": figures,
    }
