"""Per-job compute from Snakemake's benchmark files (``benchmark:`` of every rule), and the
environments the jobs recorded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def read_benchmark(path) -> dict:
    """One benchmark TSV: wall seconds, CPU seconds, max RSS (MB), mean load (mean over repeats)."""
    frame = pd.read_csv(path, sep="\t")
    num = {c: pd.to_numeric(frame[c], errors="coerce") for c in frame.columns if c != "h:m:s"}

    def col(name):
        return float(num[name].mean()) if name in num and num[name].notna().any() else np.nan

    return {
        "wall_s": col("s"),
        "cpu_s": col("cpu_time"),
        "max_rss_mb": col("max_rss"),
        "mean_load": col("mean_load"),
        "repeats": len(frame),
    }


def benchmarks_table(paths) -> pd.DataFrame:
    """One row per job: question (first folder under .../benchmarks/), job (path below it, no
    suffix), wall time, CPU time, peak memory."""
    rows = []
    for path in paths:
        p = Path(path)
        parts = p.with_suffix("").parts
        below = parts[len(parts) - parts[::-1].index("benchmarks") :] if "benchmarks" in parts else parts[-2:]
        question = below[0] if len(below) > 1 else ""
        rows.append({"question": question, "job": "/".join(below), **read_benchmark(p), "path": str(p)})
    cols = ["question", "job", "wall_s", "cpu_s", "max_rss_mb", "mean_load", "repeats", "path"]
    return pd.DataFrame(rows, columns=cols).sort_values(["question", "job"], ignore_index=True)


def benchmarks_totals(bench: pd.DataFrame) -> pd.DataFrame:
    """Per question and overall: jobs, summed wall time and CPU time, the largest peak memory."""

    def agg(frame, name):
        return {
            "question": name,
            "jobs": len(frame),
            "wall_s": frame["wall_s"].sum(min_count=1),
            "cpu_s": frame["cpu_s"].sum(min_count=1),
            "max_rss_mb": frame["max_rss_mb"].max(),
        }

    rows = [agg(group, q) for q, group in bench.groupby("question", sort=True)]
    rows.append(agg(bench, "all"))
    return pd.DataFrame(rows, columns=["question", "jobs", "wall_s", "cpu_s", "max_rss_mb"])


def job_environments(envs: list[tuple[str, dict]]) -> pd.DataFrame:
    """Distinct software/hardware environments the jobs recorded: (question, env dict) pairs."""
    keys = ["python", "torch", "numpy", "cpu", "cpu_isa", "device", "torch_threads", "platform"]
    rows = [{"question": q, **{k: env.get(k) for k in keys}} for q, env in envs if env]
    if not rows:
        return pd.DataFrame(columns=["question", *keys, "jobs"])
    frame = pd.DataFrame(rows).astype(str)
    return frame.groupby(["question", *keys], sort=True).size().rename("jobs").reset_index()
