"""python -m hw2repro.compare A B [--out DIR] [--tol TOL] [--bitwise] (make compare A=... B=...)."""

from __future__ import annotations

import argparse
import sys
import tempfile

from .diff import compare
from .read import open_root
from .render import fmt, write_report
from .unpack import CrateError


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Compare two result roots (did B reproduce A?).")
    parser.add_argument("a", help="result root A (e.g. results), or a crate of one (theirs.crate.zip)")
    parser.add_argument("b", help="result root B (e.g. results-paper, a copy of someone else's, or a crate)")
    parser.add_argument("--out", default="compare", help="output folder (default: compare)")
    parser.add_argument(
        "--tol", type=float, default=0.0, help="numbers agree when |A-B| <= TOL * max(1, |A|, |B|) (default 0: exact)"
    )
    parser.add_argument(
        "--bitwise", action="store_true", help="also fail when a weight or data file is not byte-identical"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="compare-crate-") as tmp:
        try:  # a crate is verified (every checksum and size) before anything in it is read
            a = open_root(args.a, f"{tmp}/a")
            b = open_root(args.b, f"{tmp}/b")
            c = compare(a, b, args.tol, args.bitwise)
        except (FileNotFoundError, CrateError) as exc:
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
