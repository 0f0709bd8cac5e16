#!/usr/bin/env python
"""The benchmark suite (``make bench``): writes bench/results/<section>.json and bench/results/summary.md.

    python bench/run_benchmarks.py                         # every section at full size (pipeline: ~30 min)
    python bench/run_benchmarks.py --only q2-loop,noop,dag  # some sections
    python bench/run_benchmarks.py --quick                  # smaller sizes, reduced pipeline config (minutes)

The logic is in bench/benchmarks.py.
"""

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "workflow"), str(REPO / "tests")]  # the package and the test harness

import benchmarks  # noqa: E402 (bench/, beside this file)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--only",
        default=",".join(benchmarks.SECTIONS),
        help=f"comma-separated sections (default: all): {','.join(benchmarks.SECTIONS)}",
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes; the pipeline on a reduced config")
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
        help="keep the pipeline section's from-scratch runs here (cores1/, cores2/) instead of a temporary folder",
    )
    parser.add_argument("--summary-only", action="store_true", help="rebuild summary.md from the JSON files present")
    args = parser.parse_args(argv)
    if args.summary_only:
        print(benchmarks.write_summary(args.out))
        return 0
    sections = [s.strip() for s in args.only.split(",") if s.strip()]
    benchmarks.run(
        sections, args.quick, args.out, noop_dir=args.noop_dir, keep=args.keep, log=lambda m: print(m, flush=True)
    )
    print((args.out / "summary.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
