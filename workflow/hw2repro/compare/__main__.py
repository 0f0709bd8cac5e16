"""python -m hw2repro.compare A B [--out DIR] [--tol TOL] [--bitwise] (make compare A=... B=...)."""

from __future__ import annotations

import argparse
import sys

from .diff import compare
from .render import fmt, write_report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Compare two result roots (did B reproduce A?).")
    parser.add_argument("a", help="result root A (e.g. results)")
    parser.add_argument("b", help="result root B (e.g. results-paper, or a copy of someone else's)")
    parser.add_argument("--out", default="compare", help="output folder (default: compare)")
    parser.add_argument(
        "--tol", type=float, default=0.0, help="numbers agree when |A-B| <= TOL * max(1, |A|, |B|) (default 0: exact)"
    )
    parser.add_argument(
        "--bitwise", action="store_true", help="also fail when a weight or data file is not byte-identical"
    )
    args = parser.parse_args(argv)
    try:
        c = compare(args.a, args.b, args.tol, args.bitwise)
    except FileNotFoundError as exc:
        print(f"compare: {exc}", file=sys.stderr)
        return 2
    paths = write_report(c, args.out)
    fails = c.failures()
    print(
        f"{'REPRODUCED' if c.reproduced else 'NOT REPRODUCED'}: {args.a} vs {args.b} "
        f"({len(fails)} counted differences or missing); report: {paths['markdown']}, {paths['html']}, {paths['csv']}"
    )
    for r in fails[:10]:
        print(f"  {r['status']:>9}  {r['file']} {r['item']} {r['quantity']}: {fmt(r['a'])} vs {fmt(r['b'])}")
    return 0 if c.reproduced else 1


if __name__ == "__main__":
    sys.exit(main())
