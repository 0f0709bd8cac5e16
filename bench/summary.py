"""bench/results/summary.md from every section record present, and the paper-run cost estimate
from the measured per-sample rates (training at a full-size paper-scale record's pace where slower)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

from hw2repro import resources

from .common import (
    SECTIONS,
    paper_sizes,
)

# ------------------------------------------------------------------------------ cost and summary


def full_size_rates(record: Optional[dict]) -> dict[str, float]:
    """Training throughputs a full-size paper-scale record measured (none for a reduced check):
    ``q2_train`` (images/s, one epoch with its evaluation), ``q3_train(<decoder>)`` (samples/s at
    the paper's batch)."""
    out = {}
    for job in resources.full_size_jobs(record):
        if job["rule"] == "q2_train":
            out["q2_train"] = job["throughput"]["value"]
        elif job["rule"] == "q3_train":
            out[f"q3_train({job['wildcards']['decoder']})"] = job["throughput"]["value"]
    return out


def paper_cost_estimate(results: dict) -> Optional[dict]:
    """CPU hours of the paper run from the measured per-sample rates (one thread per job; training at
    the full-size paper-scale record's pace where it is slower), and the GPU time either measured (a
    q3 run on CUDA) or estimated from FLOPs."""
    q2, q3 = results.get("q2-loop"), results.get("q3")
    if not q2 or not q3:
        return None
    p = paper_sizes()
    full = full_size_rates(results.get("paper-scale"))
    q2_sps = min(q2["samples_per_s_best"]["pipeline"], full.get("q2_train", float("inf")))
    q2_job_s = p["q2_epochs"] * p["q2_train"] / q2_sps
    cpu = {"q2_per_job_h": q2_job_s / 3600, "q2_all_jobs_core_h": p["q2_runs"] * q2_job_s / 3600}
    feats = {r["shape"]: r for r in q3["features"]}
    cpu["q3_features_core_h"] = p["q3_clips"] / feats["paper"]["clips_per_s"] / 3600
    gpu = {}
    for r in q3["models"]:
        if r["shape"] != "paper":
            continue
        decoded = p["q3_epochs"] * p["q3_val"] + 2 * p["q3_test"]  # validation each epoch; test + audio-blind
        train_sps = r["train_samples_per_s"]
        if r["device"].startswith("cpu"):  # the paper's batch 64 measured at full size, where slower
            train_sps = min(train_sps, full.get(f"q3_train({r['decoder']})", float("inf")))
        train_s = p["q3_epochs"] * p["q3_train"] / train_sps
        target = cpu if r["device"].startswith("cpu") else gpu
        target[f"q3_{r['decoder']}_train_h"] = train_s / 3600
        # the pipeline decodes with the KV cache; the original's uncached decoding for comparison
        target[f"q3_{r['decoder']}_eval_h"] = decoded / r["decode_cached_samples_per_s"] / 3600
        target[f"q3_{r['decoder']}_eval_uncached_h"] = decoded / r["decode_samples_per_s"] / 3600
    cores = q2["machine"].get("usable_cores") or 2
    cpu["total_core_h"] = (
        cpu["q2_all_jobs_core_h"]
        + cpu["q3_features_core_h"]
        + sum(v for k, v in cpu.items() if k.startswith("q3_") and (k.endswith("_train_h") or k.endswith("_eval_h")))
    )
    cpu["wall_h_on_this_machine"] = cpu["total_core_h"] / cores
    cpu["basis"] = f"measured per-sample rates at 1 thread on {q2['machine']['cpu']}, {cores} jobs side by side" + (
        "; training at the full-size paper-scale record's pace where it is slower" if full else ""
    )
    if not gpu:
        flops = q3["flops_per_sample"]
        # H100 SXM: 67 TFLOP/s FP32 (no tensor cores); these small layers (width 200) reach a
        # fraction of it: the range uses 10 %-40 % of that peak.
        peak = 67e12
        tot = sum(
            p["q3_epochs"] * p["q3_train"] * flops[f"{d}_paper"]["train_flops"]
            + (p["q3_epochs"] * p["q3_val"] + 2 * p["q3_test"]) * flops[f"{d}_paper"]["decode_cached_flops"]
            for d in ("lstm", "transformer")
        )
        gpu = {
            "q3_flops_total": tot,
            "q3_h_at_40pct_fp32_peak": tot / (0.4 * peak) / 3600,
            "q3_h_at_10pct_fp32_peak": tot / (0.1 * peak) / 3600,
            "basis": "ESTIMATED from FLOPs (torch FlopCounterMode), H100 FP32 peak 67 TFLOP/s at 10-40 %; not measured",
        }
    else:
        gpu["basis"] = "measured on " + next(r["device"] for r in q3["models"] if r["device"].startswith("cuda"))
    return {"cpu": cpu, "gpu": gpu, "paper": p}


def _fmt(v) -> str:
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, (int, float)) and abs(v) >= 1e9:
        return f"{v:.2e}"
    if isinstance(v, float):
        return f"{v:,.3g}" if abs(v) < 100 else f"{v:,.0f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def write_summary(bench_dir: Path) -> Path:
    """Rebuild bench/results/summary.md from every section JSON present."""
    results = {}
    for f in sorted(bench_dir.glob("*.json")):
        if f.stem in SECTIONS:
            results[f.stem] = json.loads(f.read_text())
    lines = [
        "# Benchmarks",
        "",
        "Every figure measured by `make bench` (python -m bench); ratios come from one run, "
        "side by side, on the same data and threads. Conditions per section below the table.",
        "",
        "| section | figure | value | target | met? | note |",
        "|---|---|---|---|---|---|",
    ]
    for name in SECTIONS:
        if name not in results:
            continue
        r = results[name]
        tag = name + (" (quick)" if r.get("quick") else "")
        for fgr in r["figures"]:
            met = "" if fgr["met"] is None else ("yes" if fgr["met"] else "**no**")
            value = _fmt(fgr["value"]) + (f" {fgr['unit']}" if fgr["unit"] else "")
            lines.append(f"| {tag} | {fgr['figure']} | {value} | {fgr['target'] or ''} | {met} | {fgr['note']} |")
    lines += [
        "",
        "## Conditions",
        "",
        "| section | when (UTC) | commit | CPU | cores | torch threads | torch | snakemake | load avg (start → end) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name in SECTIONS:
        if name not in results:
            continue
        m = results[name]["machine"]
        commit = (m["git"]["commit"] or "?")[:10] + ("+dirty" if m["git"].get("dirty") else "")
        load = f"{m['loadavg_start'][0]:.2f} → {m.get('loadavg_end', ['?'])[0]:.2f}" if "loadavg_end" in m else ""
        lines.append(
            f"| {name} | {m['timestamp']} | {commit} | {m['cpu']} ({m['cpu_isa']}) | {m['usable_cores']} | "
            f"{m['torch_threads']} | {m['versions']['torch']} | {m['versions']['snakemake']} | {load} |"
        )
    cost = paper_cost_estimate(results)
    if cost:
        c, g = cost["cpu"], cost["gpu"]
        lines += [
            "",
            "## What a paper run costs (config/paper.yaml)",
            "",
            f"CPU ({c['basis']}): Q2 {c['q2_per_job_h']:.2f} h per training job, "
            f"{c['q2_all_jobs_core_h']:.1f} core-hours for the 30 jobs; Q3 features "
            f"{c['q3_features_core_h']:.2f} core-hours; "
            + "; ".join(
                f"Q3 {d}: training {c.get(f'q3_{d}_train_h', float('nan')):.1f} h, evaluation "
                f"{c.get(f'q3_{d}_eval_h', float('nan')):.1f} h "
                f"with the KV cache ({c.get(f'q3_{d}_eval_uncached_h', float('nan')):.1f} h without)"
                for d in ("lstm", "transformer")
            )
            + f". Total {c['total_core_h']:.0f} core-hours, about {c['wall_h_on_this_machine']:.0f} h "
            f"wall on this machine.",
            "",
            "GPU: " + g["basis"] + ": " + ", ".join(f"{k} {_fmt(v)}" for k, v in g.items() if k != "basis") + ".",
        ]
    out = bench_dir / "summary.md"
    out.write_text("\n".join(lines) + "\n")
    return out
