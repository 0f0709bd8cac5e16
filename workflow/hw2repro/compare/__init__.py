"""Compare two result roots: did run B reproduce run A, and if not, why?

``make compare A=<root> B=<root>`` (``python -m hw2repro.compare``) reads two output roots
(config key ``results``: ``results/``, ``results-paper/``, a copy of someone else's) and writes
``compare.md``, ``compare.html`` and one tidy ``compare.csv`` with:

- every reported number side by side (Q1 checks, Q2 and Q3 per run and per configuration), with
  the absolute and relative difference; timings are listed but never counted (they differ every run);
- which weights and data files are byte-identical and which differ;
- the settings (``{root}/config.yaml``, the resolved config each run records) and the environment
  (each job's ``env``, the report's provenance table) that differ, each with a verdict;
- runs and files present on one side only.

The exit status is 0 when every counted number agrees within ``tol`` (exact by default) and
nothing counted is missing on one side, 1 otherwise; 2 for a root that does not exist.

Self-contained on purpose (stdlib, pandas, yaml; no torch, no other hw2repro module): it reads
result roots made by other commits and machines, whose package may differ from this one, and
starts in a second.
"""

from .diff import Comparison, compare

__all__ = ["Comparison", "compare"]
