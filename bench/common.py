"""What every benchmark section shares: the machine it ran on (from hw2repro.provenance), a
summary-table row, a best-of-n timer, the targets, and the paper run's sizes read from
config/paper.yaml (merged over config/config.yaml, as Snakemake merges them)."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import time
from collections.abc import Callable
from typing import Optional

import torch
import yaml

from hw2repro import defaults, provenance, resources
from hw2repro.workspace import REPO

# Targets of the issue (2-core machine).
TARGET_Q2_SPEEDUP = 2.0
TARGET_NOOP_S = 3.0
TARGET_PIPELINE_S = 600.0
TARGET_PARALLEL_SPEEDUP = 1.6

SECTIONS = ("q2-loop", "noop", "dag", "q3", "memory", "pipeline", "paper-scale")

LJ_MEAN_SECONDS = resources.LJ_MEAN_CLIP_S  # LJ Speech 1.1: 23 h 55 min over 13,100 clips
LJ_SAMPLE_RATE = resources.LJ_SAMPLE_RATE


def merged_config(*files: str) -> dict:
    """config/config.yaml with ``files`` (paths under config/) merged over it, as the workflow has it."""
    return defaults.load(*(yaml.safe_load((REPO / "config" / name).read_text()) for name in files))


def paper_sizes() -> dict:
    """The paper run's sizes (config/paper.yaml on the real data), for the cost estimate."""
    cfg = merged_config("paper.yaml")
    q2, q3 = cfg["q2"], cfg["q3"]
    n_train, _, _ = resources.oct_sizes(cfg)
    rows = resources.q3_split_rows(cfg)
    return {
        "q2_train": n_train,
        "q2_runs": len(q2["lrs"]) * len(q2["poolings"]) * len(q2["seeds"]),
        "q2_epochs": q2["epochs"],
        "q3_clips": resources.lj_rows(cfg),
        "q3_train": rows["train"],
        "q3_val": rows["val"],
        "q3_test": rows["test"],
        "q3_epochs": q3["epochs"],
        "q3_n_frames": q3["features"]["n_frames"],
        "q3_batch": q3["batch_size"],
        "q3_eval_batch": q3["eval_batch_size"],
    }


def machine_info(threads: Optional[int] = None) -> dict:
    """What a reader needs to compare a figure with one from another run or machine (the
    provenance of a run's report, plus threads, host, git state, time and load)."""
    hw = provenance.hardware_info()
    return {
        "cpu": hw["cpu"],
        "cpu_isa": hw["cpu_isa"],
        "logical_cores": hw["logical_cpus"],
        "usable_cores": hw["usable_cpus"],
        "torch_threads": threads if threads is not None else torch.get_num_threads(),
        "gpu": hw["gpu"],
        "cuda": torch.version.cuda if torch.cuda.is_available() else None,
        "platform": hw["platform"],
        "hostname": platform.node(),
        "versions": provenance.package_versions(),
        "git": provenance.git_info(REPO),
        "timestamp": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "loadavg_start": list(os.getloadavg()),
    }


def figure(
    name: str, value, unit: str = "", target: Optional[str] = None, met: Optional[bool] = None, note: str = ""
) -> dict:
    """One row of the summary table."""
    return {"figure": name, "value": value, "unit": unit, "target": target, "met": met, "note": note}


def best_time(fn: Callable, repeats: int, sync: Callable = lambda: None) -> list[float]:
    """Wall seconds of ``repeats`` calls of ``fn`` (``sync`` before and after: CUDA's queue)."""
    times = []
    for _ in range(repeats):
        sync()
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return times
