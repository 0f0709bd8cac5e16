#!/usr/bin/env python3
"""Command line, not a rule script: compare two result roots (``make compare A=... B=...``).

    python workflow/scripts/compare_runs.py results results-paper --out compare --tol 0

Writes compare.md, compare.html and compare.csv into --out; exit status 0 when every counted
number agrees within --tol, 1 otherwise, 2 when a root does not exist. Logic: hw2repro.compare.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # workflow/ holds the hw2repro package

from hw2repro.compare import main  # noqa: E402

sys.exit(main())
