"""``python -m bench``: run benchmark sections, write bench/results/<section>.json and summary.md.

PYTHONPATH=workflow python -m bench                          # every section at full size
PYTHONPATH=workflow python -m bench --only q2-loop,noop,dag  # some sections
PYTHONPATH=workflow python -m bench --quick                  # smaller sizes (minutes)
PYTHONPATH=workflow python -m bench --only paper-scale --scale 0.02   # a reduced check
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Optional

from hw2repro.workspace import REPO

from . import memory, paper_scale
from .common import SECTIONS
from .q2_loop import bench_q2_loop
from .q3 import bench_q3
from .snakemake_runs import bench_dag, bench_noop, bench_pipeline
from .summary import write_summary


def run(
    sections,
    quick: bool,
    out_dir: Path,
    noop_dir: Optional[Path] = None,
    keep: Optional[Path] = None,
    scale: float = 1.0,
    log=print,
) -> dict:
    """Run the chosen sections in a fixed order, write each JSON as it finishes, then the summary."""
    out_dir.mkdir(parents=True, exist_ok=True)
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        raise ValueError(f"unknown section(s) {sorted(unknown)}; choose from {SECTIONS}")
    done = {}
    for name in SECTIONS:
        if name not in sections:
            continue
        t0 = time.perf_counter()
        if name == "q2-loop":
            res = bench_q2_loop(quick=quick, log=log)
        elif name == "noop":
            res = bench_noop(noop_dir, quick=quick, log=log)
        elif name == "dag":
            res = bench_dag(quick=quick, log=log)
        elif name == "q3":
            res = bench_q3(quick=quick, log=log)
        elif name == "memory":
            res = memory.bench_memory(quick=quick, keep=keep, log=log)
        elif name == "paper-scale":
            res = paper_scale.bench_paper_scale(scale=scale, keep=keep, log=log)
        else:
            res = bench_pipeline(quick=quick, keep=keep, log=log)
        res["section_seconds"] = time.perf_counter() - t0
        if scale != 1.0 and name == "paper-scale":
            name = f"paper-scale-x{scale:g}"  # a reduced check never replaces the full-size record
        (out_dir / f"{name}.json").write_text(json.dumps(res, indent=2, default=str) + "\n")
        log(f"{name}: done in {res['section_seconds']:.0f} s -> {out_dir / (name + '.json')}")
        done[name] = res
    write_summary(out_dir)
    return done


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--only", default=",".join(SECTIONS), help=f"comma-separated sections (default: all): {','.join(SECTIONS)}"
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes; the pipeline on a reduced config")
    parser.add_argument(
        "--scale", type=float, default=1.0, help="paper-scale: fraction of the full sizes (a check; default 1)"
    )
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results", help="output folder")
    parser.add_argument(
        "--noop-dir",
        type=Path,
        default=None,
        help="workflow folder with complete results for the noop section (default: this repository)",
    )
    parser.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="keep the runs of the pipeline, memory and paper-scale sections here instead of a temporary folder",
    )
    parser.add_argument("--summary-only", action="store_true", help="rebuild summary.md from the JSON files present")
    args = parser.parse_args(argv)
    if args.summary_only:
        print(write_summary(args.out))
        return 0
    if not 0 < args.scale <= 1:
        parser.error(f"--scale must be in (0, 1], got {args.scale}")
    sections = [s.strip() for s in args.only.split(",") if s.strip()]
    run(
        sections,
        args.quick,
        args.out,
        noop_dir=args.noop_dir,
        keep=args.keep,
        scale=args.scale,
        log=lambda m: print(m, flush=True),
    )
    print((args.out / "summary.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
