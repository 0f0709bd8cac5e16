"""The report's provenance section: code, configuration, software, hardware, per-job compute
(laid out from render.collect_provenance's tables)."""

from __future__ import annotations

import re

import yaml

from .blocks import Table, heading, kv_rows, num, table_block, text


def provenance_section(data: dict, settings: dict) -> dict:
    """``data``: render.collect_provenance's benchmarks, totals, job environments, provenance pairs."""
    config = settings["config"]
    git = data["git"]
    bench, totals, job_envs, prov = data["benchmarks"], data["benchmark_totals"], data["job_envs"], data["prov"]

    total = totals[totals["question"] == "all"].iloc[0] if len(totals) else None
    brow = [
        [r.question, r.job, num(r.wall_s, 2), num(r.cpu_s, 2), num(r.max_rss_mb, 1), num(r.mean_load, 1)]
        for r in bench.itertuples()
    ]
    trow = [
        [r.question, str(r.jobs), num(r.wall_s, 1), num(r.cpu_s, 1), num(r.max_rss_mb, 1)] for r in totals.itertuples()
    ]
    blocks = [
        table_block(Table("prov-main", "Code, configuration, software, hardware", ["item", "value"], kv_rows(prov))),
    ]
    if len(job_envs):
        blocks.append(
            table_block(
                Table(
                    "prov-jobs",
                    "Environments the jobs recorded",
                    list(job_envs.columns),
                    [
                        ["–" if v in ("None", "nan") else str(v) for v in row]
                        for row in job_envs.itertuples(index=False)
                    ],
                )
            )
        )
    blocks += [
        heading("Compute"),
        text(
            "Per job, from Snakemake's benchmark files: wall-clock seconds, CPU seconds, peak resident memory "
            "(max RSS) and mean CPU load. "
            + (
                f"Total: {int(total['jobs'])} jobs, {total['wall_s']:.1f} s wall time "
                f"({total['wall_s'] / 3600:.2f} h summed over jobs, which may have run in parallel), "
                f"{total['cpu_s']:.1f} s CPU time; largest peak memory {total['max_rss_mb']:.0f} MB."
                if total is not None
                else "No benchmark files."
            )
        ),
        table_block(
            Table(
                "bench-totals",
                "Total compute per question",
                ["question", "jobs", "wall s", "CPU s", "largest max RSS MB"],
                trow,
            )
        ),
        table_block(
            Table("bench-jobs", "Every job", ["question", "job", "wall s", "CPU s", "max RSS MB", "mean load %"], brow)
        ),
        heading("Configuration as resolved"),
        {"type": "code", "text": yaml.safe_dump(config, sort_keys=False, default_flow_style=None, width=110)},
    ]
    commit = git["commit"]
    headline = (f"commit {commit[:12]}" if re.fullmatch(r"[0-9a-f]{40}", commit) else commit) + (
        " (dirty)" if git.get("dirty") else ""
    )
    if total is not None:
        headline += f"; {int(total['jobs'])} jobs, {total['cpu_s']:.0f} CPU-seconds, {total['wall_s']:.0f} job-seconds"
    return {
        "key": "provenance",
        "title": "Provenance",
        "ran": True,
        "synthetic": None,
        "blocks": blocks,
        "headline": headline,
    }
