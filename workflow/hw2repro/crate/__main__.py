"""python -m hw2repro.crate RESULTS_ROOT --out FILE.crate.zip [--no-weights] (make crate)."""

from __future__ import annotations

import argparse
import sys

from .pack import make_crate


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Package a finished result root as a Workflow Run RO-Crate (zip).")
    parser.add_argument("root", help="the result root of a finished run (e.g. results)")
    parser.add_argument("--out", required=True, help="the crate to write (e.g. results.crate.zip)")
    parser.add_argument("--no-weights", action="store_true", help="leave the model weights (model.pt) out")
    args = parser.parse_args(argv)
    try:
        path = make_crate(args.root, args.out, weights=not args.no_weights)
    except (FileNotFoundError, ValueError) as exc:
        print(f"crate: {exc}", file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
