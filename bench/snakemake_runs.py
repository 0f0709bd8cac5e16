"""The ``noop``, ``dag`` and ``pipeline`` sections: Snakemake's own overhead, DAG build time, and
the default pipeline from scratch at 1 and 2 cores."""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Optional

from hw2repro.workspace import REPO, copy_workflow, snakemake_cmd
from hw2repro.workspace import tiny_config as quick_pipeline_config

from .common import (
    TARGET_NOOP_S,
    TARGET_PARALLEL_SPEEDUP,
    TARGET_PIPELINE_S,
    figure,
    machine_info,
)

# ------------------------------------------------------------------------------ Snakemake timing


def run_timed(cmd: list[str], cwd: Path, timeout: float = 7200) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    dt = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd)} failed in {cwd} ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
        )
    return dt, proc


def parse_job_count(text: str) -> Optional[int]:
    """Total jobs of a Snakemake job-stats table (``total   N``), or 0 when nothing is to be done."""
    if re.search(r"Nothing to be done", text):
        return 0
    m = re.findall(r"^total\s+(\d+)", text, flags=re.M)
    return int(m[-1]) if m else None


def time_dry_run(workdir: Path, extra: tuple[str, ...] = (), repeats: int = 3) -> dict:
    """``snakemake -n`` wall times (first call and the rest), and the jobs it would run."""
    times, jobs = [], None
    for _ in range(repeats):
        dt, proc = run_timed(snakemake_cmd("-n", *extra), workdir, timeout=600)
        times.append(dt)
        jobs = parse_job_count(proc.stdout + proc.stderr)
    return {
        "workdir": str(workdir),
        "args": ["-n", *extra],
        "seconds": times,
        "median_s": statistics.median(times),
        "min_s": min(times),
        "jobs_pending": jobs,
        "up_to_date": jobs == 0,
    }


def noop_figures(noop: dict, label: str) -> list[dict]:
    ok = noop["up_to_date"] and noop["median_s"] < TARGET_NOOP_S
    note = f"{label}; median of {len(noop['seconds'])}, first {noop['seconds'][0]:.2f} s" + (
        "" if noop["up_to_date"] else f"; NOT up to date: {noop['jobs_pending']} jobs pending"
    )
    return [
        figure(f"no-op snakemake -n ({label})", round(noop["median_s"], 2), "s", f"< {TARGET_NOOP_S:g} s", ok, note)
    ]


def bench_noop(workdir: Optional[Path] = None, quick: bool = False, log=print) -> dict:
    """``snakemake -n`` where the results are complete (default: this repository's own results)."""
    workdir = Path(workdir or REPO)
    info = machine_info()
    log(f"noop: snakemake -n in {workdir}")
    noop = time_dry_run(workdir, repeats=3)
    log(f"  {noop['seconds']} s, jobs pending {noop['jobs_pending']}")
    out = {
        "section": "noop",
        "quick": quick,
        "machine": info,
        "dry_run": noop,
        "figures": noop_figures(noop, "repository results" if workdir == REPO else str(workdir)),
    }
    out["machine"]["loadavg_end"] = list(os.getloadavg())
    return out


def bench_dag(quick: bool = False, log=print) -> dict:
    """DAG build on an empty results folder: the paper grid and the default grid."""
    info = machine_info()
    rows = {}
    with tempfile.TemporaryDirectory(prefix="hw2bench_dag_") as tmp:
        work = copy_workflow(Path(tmp) / "wf")
        for name, extra in (("paper", ("--configfile", "config/paper.yaml")), ("default", ())):
            rows[name] = time_dry_run(work, extra, repeats=2 if quick else 3)
            log(f"dag {name}: {rows[name]['seconds']} s, {rows[name]['jobs_pending']} jobs")
    out = {
        "section": "dag",
        "quick": quick,
        "machine": info,
        "dry_runs": rows,
        "figures": [
            figure(
                f"DAG build, {n} grid (snakemake -n, empty results)",
                round(r["median_s"], 2),
                "s",
                note=f"{r['jobs_pending']} jobs; median of {len(r['seconds'])}",
            )
            for n, r in rows.items()
        ],
    }
    out["machine"]["loadavg_end"] = list(os.getloadavg())
    return out


def bench_pipeline(quick: bool = False, cores=(1, 2), keep: Optional[Path] = None, log=print) -> dict:
    """The default pipeline from scratch with --cores 1 and --cores 2 (fresh copies), then the no-op."""
    info = machine_info()
    runs = {}
    base = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="hw2bench_pipeline_"))
    try:
        for n in cores:
            work = copy_workflow(base / f"cores{n}")
            extra: tuple[str, ...] = ()
            if quick:
                (work / "bench.yaml").write_text(json.dumps(quick_pipeline_config()))  # JSON is YAML
                extra = ("--configfile", "bench.yaml")
            load0 = list(os.getloadavg())
            log(f"pipeline: snakemake --cores {n} {' '.join(extra)} in {work} (load {load0})")
            dt, proc = run_timed(snakemake_cmd("--cores", str(n), *extra), work)
            m = re.findall(r"(\d+) of (\d+) steps \(100%\) done", proc.stdout + proc.stderr)
            runs[n] = {
                "seconds": dt,
                "jobs": int(m[-1][1]) if m else None,
                "loadavg_before": load0,
                "loadavg_after": list(os.getloadavg()),
                "args": ["--cores", str(n), *extra],
            }
            log(f"  {dt:.1f} s, {runs[n]['jobs']} jobs")
        last = base / f"cores{cores[-1]}"
        extra = ("--configfile", "bench.yaml") if quick else ()
        noop = time_dry_run(last, extra, repeats=3)
        log(f"  no-op snakemake -n: {noop['seconds']} s (jobs pending {noop['jobs_pending']})")
    finally:
        if not keep:
            shutil.rmtree(base, ignore_errors=True)
    t1, t2 = runs[cores[0]]["seconds"], runs[cores[-1]]["seconds"]
    speedup = t1 / t2
    label = "reduced config (--quick)" if quick else "default config"
    figs = [
        figure(
            f"pipeline wall time --cores {n}, {label}",
            round(r["seconds"], 1),
            "s",
            f"< {TARGET_PIPELINE_S:g} s" if not quick and n == cores[-1] else None,
            (r["seconds"] < TARGET_PIPELINE_S) if not quick and n == cores[-1] else None,
            f"{r['jobs']} jobs, from scratch",
        )
        for n, r in runs.items()
    ]
    figs.append(
        figure(
            f"parallel speed-up --cores {cores[-1]} / --cores {cores[0]}, {label}",
            round(speedup, 2),
            "x",
            f">= {TARGET_PARALLEL_SPEEDUP}",
            (speedup >= TARGET_PARALLEL_SPEEDUP) if not quick else None,
            "not judged on the reduced config" if quick else "",
        )
    )
    figs += noop_figures(noop, f"finished run, {label}")
    out = {
        "section": "pipeline",
        "quick": quick,
        "machine": info,
        "runs": {str(k): v for k, v in runs.items()},
        "speedup": speedup,
        "noop_after_run": noop,
        "figures": figs,
    }
    out["machine"]["loadavg_end"] = list(os.getloadavg())
    return out
