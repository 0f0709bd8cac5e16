"""Compare two result roots: did run B reproduce run A, and if not, why?

``make compare A=<root> B=<root>`` (``workflow/scripts/compare_runs.py``) reads two output roots
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

from __future__ import annotations

import argparse
import hashlib
import html
import json
import math
import os
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

RUN_CONFIG = "config.yaml"  # the resolved config, written by rule run_config into every root
# Settings that never differ in a meaningful way: the output root is what tells the two runs apart.
IGNORED_SETTINGS = {"results"}

# Verdicts of a difference in settings or environment.
CHANGES = "changes results"
BITS = "expected to change bits"
NONE = "no effect on numbers"

# ---------------------------------------------------------------------------------------------
# What is compared
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """A CSV of reported numbers: one row per ``keys`` combination, every other column a quantity."""

    section: str
    pattern: str  # glob under the root
    keys: tuple
    skip: tuple = ()  # columns already in the run's name (pooling, lr, seed)
    counts: bool = True  # False: timings, listed but never failing the comparison


TABLES = (
    Table("Q1 checks", "q1/verification.csv", ("kind", "check", "construction", "D", "K", "L")),
    Table("Q1 checks", "q1/approximation_error.csv", ("construction", "K", "D", "L", "scale", "seed")),
    Table("Q1 timings", "q1/scaling_slopes.csv", ("method", "D"), counts=False),
    Table("Q1 timings", "q1/crossover.csv", ("method", "D"), counts=False),
    Table("Q1 timings", "q1/complexity.csv", ("claim", "method", "D", "quantity"), counts=False),
    Table("Q2 per run", "q2/runs/*/metrics.csv", ("epoch",), skip=("pooling", "lr", "seed")),
    Table("Q2 per config", "q2/summary_by_config.csv", ("pooling", "lr")),
    Table("Q2 per config", "q2/best_lr.csv", ("pooling",)),
    Table("Q3 per run", "q3/runs/*/metrics.csv", ("epoch",)),
)
# Per-run JSON files: every leaf is a number (or a string compared exactly), except the
# environment (compared as such, below) and timings.
JSONS = (("Q2 per run", "q2/runs/*/result.json"), ("Q3 per run", "q3/runs/*/test.json"))
RUN_DIRS = ("q2/runs/*", "q3/runs/*")
# Files compared byte for byte: weights, data, cached features, predictions.
FILES = ("data/*.npz", "data/*.json", "q3/features/*.pt", "q2/runs/*/model.pt", "q3/runs/*/model.pt",
         "q3/runs/*/predictions.txt")
# Where jobs record their environment: (label, glob, part of the JSON).
ENVS = (("q1", "q1/scaling_environment.json", None), ("q2", "q2/runs/*/result.json", "env"),
        ("q3", "q3/runs/*/test.json", "env"))
PROVENANCE = "report/tables/provenance.csv"
# Provenance rows that are not environment: build time, and copies of the settings.
PROVENANCE_SKIP = re.compile(r"^(report built|config SHA-256|config file |q\d threads per job)")


def is_timing(key: str) -> bool:
    """Wall/CPU times and how many segments a resumed job took: they differ on every run."""
    leaf = key.rsplit(".", 1)[-1]
    return "seconds" in leaf or leaf.endswith("_time_s") or leaf == "segments"


def setting_verdict(key: str) -> str:
    """Whether a config key changes the numbers (key: dotted path, e.g. q2.lrs)."""
    leaf = key.rsplit(".", 1)[-1]
    if leaf in ("threads", "allow_cuda", "gpu"):
        return BITS + " (threads/device)"
    if leaf in ("train_mem_mb", "train_runtime"):
        return NONE + " (cluster resources)"
    return CHANGES


ENV_VERDICTS = {
    "torch_threads": BITS + " (thread count: reduction order)",
    "torch": BITS + " (torch build)",
    "cuda": BITS + " (CUDA version)",
    "cuda_available": BITS + " (device)",
    "device": BITS + " (device: CPU vs GPU kernels)",
    "gpu": BITS + " (device)",
    "cpu": BITS + " (CPU model)",
    "cpu_isa": BITS + " (CPU vector ISA: kernel choice)",
    "cpu isa": BITS + " (CPU vector ISA: kernel choice)",
    "git commit": BITS + " if the jobs' code is unchanged; otherwise it changes results (see the numbers)",
    "working tree dirty": BITS + " if the jobs' code is unchanged; otherwise it changes results",
    "logical cpus": NONE + " (threads are pinned by the config)",
    "usable cpus": NONE + " (threads are pinned by the config)",
}
NO_EFFECT_PACKAGES = {"snakemake", "matplotlib", "seaborn", "jinja2", "jsonschema", "implementation"}


def env_verdict(key: str) -> str:
    if key in ENV_VERDICTS:
        return ENV_VERDICTS[key]
    if key in NO_EFFECT_PACKAGES:
        return NONE + " (plots, report, workflow engine)"
    return BITS + " (library version / platform)"


# ---------------------------------------------------------------------------------------------
# Reading one root
# ---------------------------------------------------------------------------------------------


def flatten(obj, prefix: str = "") -> dict:
    """{'a': {'b': 1}, 'c': [1, 2]} -> {'a.b': 1, 'c': [1, 2]} (lists are values)."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            out.update(flatten(v, f"{prefix}{k}."))
        return out
    return {prefix[:-1]: obj}


def glob(root: Path, pattern: str) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.glob(pattern) if p.is_file() or p.is_dir())


def key_label(row, keys) -> str:
    return " ".join(f"{k}={_fmt_key(row[k])}" for k in keys if k in row and not _is_nan(row[k]))


def _fmt_key(v) -> str:
    return format(v, "g") if isinstance(v, float) else str(v)


def _is_nan(v) -> bool:
    return isinstance(v, float) and math.isnan(v)


def _value(v):
    """A comparable value: numbers as float, booleans as 0/1, NaN kept, the rest as strings."""
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    if hasattr(v, "item"):  # numpy scalar
        return _value(v.item())
    if v is None:
        return None
    return str(v)


# Per-run JSON keys that describe where the job ran, not what it found (compared as environment).
ENV_KEYS = {"device", "threads", "torch_threads"}


def read_numbers(root: Path) -> dict:
    """{(section, file, item, quantity): (value, counts)} of every reported number under ``root``.
    A file that cannot be read is one row saying so (a truncated copy is a difference, not a crash)."""
    out = {}
    for t in TABLES:
        for rel in glob(root, t.pattern):
            try:
                frame = pd.read_csv(root / rel)
            except (ValueError, OSError) as exc:  # EmptyDataError and ParserError are ValueErrors
                out[(t.section, rel, "", "(unreadable)")] = (f"{type(exc).__name__}: {exc}", t.counts)
                continue
            keys = [k for k in t.keys if k in frame.columns]
            for _, row in frame.iterrows():
                item = key_label(row, keys)
                for col in frame.columns:
                    if col in keys or col in t.skip:
                        continue
                    counts = t.counts and not is_timing(col)
                    out[(t.section, rel, item, col)] = (_value(row[col]), counts)
    for section, pattern in JSONS:
        for rel in glob(root, pattern):
            data = read_json(root / rel)
            if not isinstance(data, dict):
                out[(section, rel, "", "(unreadable)")] = (str(data), True)
                continue
            data.pop("env", None)
            for key, v in flatten(data).items():
                if key in ENV_KEYS:
                    continue
                if isinstance(v, list) and all(isinstance(x, (int, float)) for x in v) and v:
                    for i, x in enumerate(v):
                        out[(section, rel, "", f"{key}[{i}]")] = (_value(x), not is_timing(key))
                else:
                    value = json.dumps(v) if isinstance(v, list) else _value(v)
                    out[(section, rel, "", key)] = (value, not is_timing(key))
    return out


def read_json(path: Path):
    """The parsed file, or a string saying why it could not be parsed."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:
        return f"unreadable: {type(exc).__name__}: {exc}"


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_settings(root: Path):
    """The run's resolved config as {dotted key: value}, or None when the run did not record it."""
    path = root / RUN_CONFIG
    if not path.is_file():
        return None
    return {k: json.dumps(v) if isinstance(v, (list, dict)) else v
            for k, v in flatten(yaml.safe_load(path.read_text(encoding="utf-8")) or {}).items()}


def read_environments(root: Path) -> dict:
    """{where: {key: value}} for every job that recorded its environment, and the report's provenance."""
    out = {}
    for label, pattern, part in ENVS:
        for rel in glob(root, pattern):
            data = read_json(root / rel)
            if not isinstance(data, dict):
                continue  # listed with the numbers as unreadable
            env = data.get(part, {}) if part else {k: v for k, v in data.items() if k != "settings"}
            where = str(Path(rel).parent) if part else rel
            out[where] = {k: str(v) for k, v in env.items()}
    try:
        prov = pd.read_csv(root / PROVENANCE, dtype=str, keep_default_na=False)
        out["report provenance"] = {r.key: r.value for r in prov.itertuples() if not PROVENANCE_SKIP.match(r.key)}
    except (ValueError, OSError, AttributeError):
        pass  # no report (a partial run): commit and library versions unknown, said in the comparison
    return out


# ---------------------------------------------------------------------------------------------
# Comparing
# ---------------------------------------------------------------------------------------------

STATUS_ORDER = {"only in A": 0, "only in B": 0, "differs": 1, "within tolerance": 2, "equal": 3}


def scaled_diff(a: float, b: float) -> float:
    """|a - b| / max(1, |a|, |b|): absolute near zero, relative for large numbers (what TOL bounds)."""
    if math.isnan(a) and math.isnan(b):
        return 0.0
    if math.isnan(a) or math.isnan(b) or math.isinf(a) or math.isinf(b):
        return 0.0 if a == b else math.inf
    return abs(a - b) / max(1.0, abs(a), abs(b))


def number_row(key, va, vb, counts, tol) -> dict:
    section, rel, item, quantity = key
    row = {"kind": "number", "section": section, "file": rel, "item": item, "quantity": quantity,
           "a": va, "b": vb, "abs_diff": None, "rel_diff": None, "scaled_diff": None, "counts": counts,
           "verdict": ""}
    if isinstance(va, float) and isinstance(vb, float):
        d = scaled_diff(va, vb)
        row["scaled_diff"] = d
        if not (math.isnan(va) or math.isnan(vb)):
            row["abs_diff"] = abs(va - vb)
            row["rel_diff"] = abs(va - vb) / max(abs(va), abs(vb)) if max(abs(va), abs(vb)) > 0 else 0.0
        same = va == vb or (math.isnan(va) and math.isnan(vb))
        row["status"] = "equal" if same else ("within tolerance" if d <= tol else "differs")
    else:
        row["status"] = "equal" if va == vb else "differs"
        row["scaled_diff"] = 0.0 if va == vb else math.inf
    return row


def one_side(kind, section, rel, item, quantity, side, counts=True, verdict="", a=None, b=None) -> dict:
    return {"kind": kind, "section": section, "file": rel, "item": item, "quantity": quantity, "a": a, "b": b,
            "abs_diff": None, "rel_diff": None, "scaled_diff": math.inf, "counts": counts,
            "status": f"only in {side}", "verdict": verdict}


def compare_numbers(root_a: Path, root_b: Path, tol: float) -> list[dict]:
    na, nb = read_numbers(root_a), read_numbers(root_b)
    files_a, files_b = {k[1] for k in na}, {k[1] for k in nb}
    rows = []
    for rel in sorted(files_a ^ files_b):  # a file on one side only: one row, not one per number
        side, numbers = ("A", na) if rel in files_a else ("B", nb)
        section = next(k[0] for k in numbers if k[1] == rel)
        counts = any(c for k, (_, c) in numbers.items() if k[1] == rel)
        rows.append(one_side("number", section, rel, "", "(whole file)", side, counts))
    # a file unreadable on one side: its "(unreadable)" row only, not one row per number of the other side
    unreadable = {k[1] for k in list(na) + list(nb) if k[3] == "(unreadable)"}
    for key in sorted(set(na) | set(nb), key=str):
        if key[1] not in files_a & files_b or (key[1] in unreadable and key[3] != "(unreadable)"):
            continue
        if key not in na or key not in nb:
            side = "A" if key in na else "B"
            value = (na if side == "A" else nb)[key]
            rows.append(one_side("number", *key, side, value[1], a=na.get(key, (None,))[0], b=nb.get(key, (None,))[0]))
            continue
        (va, ca), (vb, cb) = na[key], nb[key]
        rows.append(number_row(key, va, vb, ca and cb, tol))
    return rows


def compare_runs(root_a: Path, root_b: Path) -> list[dict]:
    rows = []
    for pattern in RUN_DIRS:
        ra, rb = set(glob(root_a, pattern)), set(glob(root_b, pattern))
        for rel in sorted(ra | rb):
            if rel in ra and rel in rb:
                continue
            rows.append(one_side("run", pattern.split("/")[0].upper() + " run", rel, "", "(run folder)",
                                 "A" if rel in ra else "B"))
    return rows


def compare_files(root_a: Path, root_b: Path, bitwise: bool = False) -> list[dict]:
    """SHA-256 of each weight/data file; counted (fails the comparison) only when ``bitwise``."""
    rows = []
    for pattern in FILES:
        fa, fb = set(glob(root_a, pattern)), set(glob(root_b, pattern))
        for rel in sorted(fa | fb):
            base = {"kind": "file", "section": "Files (bytes)", "file": rel, "item": "", "quantity": "sha256",
                    "abs_diff": None, "rel_diff": None, "counts": bitwise}
            if rel not in fa or rel not in fb:
                rows.append(one_side("file", "Files (bytes)", rel, "", "sha256", "A" if rel in fa else "B",
                                     counts=bitwise))
                continue
            ha, hb = sha256(root_a / rel), sha256(root_b / rel)
            verdict = ""
            if ha != hb and rel.endswith(".json"):
                verdict = "differs in: " + ", ".join(json_differences(root_a / rel, root_b / rel)[:8])
            rows.append({**base, "a": ha[:16], "b": hb[:16], "scaled_diff": 0.0 if ha == hb else math.inf,
                         "status": "identical" if ha == hb else "differs", "verdict": verdict})
    return rows


def json_differences(pa: Path, pb: Path) -> list[str]:
    """The keys whose values differ between two JSON files (e.g. only an absolute path)."""
    try:
        fa = flatten(json.loads(pa.read_text(encoding="utf-8")))
        fb = flatten(json.loads(pb.read_text(encoding="utf-8")))
    except (ValueError, OSError):
        return ["(not JSON)"]
    return sorted(k for k in set(fa) | set(fb) if fa.get(k) != fb.get(k)) or ["formatting only"]


def compare_settings(root_a: Path, root_b: Path) -> list[dict]:
    sa, sb = read_settings(root_a), read_settings(root_b)
    rows = []
    base = {"kind": "setting", "section": "Settings", "file": RUN_CONFIG, "item": "", "abs_diff": None,
            "rel_diff": None, "scaled_diff": None, "counts": False}
    if sa is None or sb is None:
        for side, s in (("A", sa), ("B", sb)):
            if s is None:
                rows.append({**base, "quantity": "(resolved config)", "a": None, "b": None,
                             "status": f"not recorded in {side}",
                             "verdict": f"{side} has no {RUN_CONFIG}: its settings are unknown"})
        return rows
    for key in sorted((set(sa) | set(sb)) - IGNORED_SETTINGS):
        va, vb = sa.get(key), sb.get(key)
        if va == vb:
            continue
        status = "differs" if key in sa and key in sb else f"only in {'A' if key in sa else 'B'}"
        rows.append({**base, "quantity": key, "a": va, "b": vb, "status": status, "verdict": setting_verdict(key)})
    return rows


def compare_environments(root_a: Path, root_b: Path) -> list[dict]:
    """Environment values that differ, grouped: (key, value in A, value in B) with where it was seen."""
    ea, eb = read_environments(root_a), read_environments(root_b)
    groups: dict = {}
    for where in sorted(set(ea) & set(eb)):
        for key in sorted(set(ea[where]) | set(eb[where])):
            va, vb = ea[where].get(key), eb[where].get(key)
            if va != vb:
                groups.setdefault((key, va, vb), []).append(where)
    rows = []
    for side, missing in (("A", ea), ("B", eb)):
        if "report provenance" not in missing and ("report provenance" in ea or "report provenance" in eb):
            rows.append({"kind": "environment", "section": "Environment", "file": PROVENANCE, "item": "",
                         "quantity": "(report provenance)", "a": None, "b": None, "abs_diff": None,
                         "rel_diff": None, "scaled_diff": None, "counts": False, "status": f"not recorded in {side}",
                         "verdict": f"{side} has no report: its commit and library versions are unknown"})
    for (key, va, vb), where in sorted(groups.items(), key=lambda kv: str(kv[0])):
        shown = ", ".join(where[:4]) + (f" and {len(where) - 4} more" if len(where) > 4 else "")
        rows.append({"kind": "environment", "section": "Environment", "file": "", "item": shown, "quantity": key,
                     "a": va, "b": vb, "abs_diff": None, "rel_diff": None, "scaled_diff": None, "counts": False,
                     "status": "differs", "verdict": env_verdict(key)})
    return rows


@dataclass
class Comparison:
    root_a: Path
    root_b: Path
    tol: float
    rows: list = field(default_factory=list)
    bitwise: bool = False

    @property
    def frame(self) -> pd.DataFrame:
        cols = ["kind", "section", "file", "item", "quantity", "a", "b", "abs_diff", "rel_diff", "scaled_diff",
                "status", "counts", "verdict"]
        return pd.DataFrame(self.rows, columns=cols)

    def failures(self) -> list[dict]:
        """Counted rows that break reproduction, worst first: missing, then by scaled difference."""
        bad = [r for r in self.rows if r["counts"] and r["status"] in ("differs", "only in A", "only in B")]
        return sorted(bad, key=lambda r: (STATUS_ORDER[r["status"]], -(r["scaled_diff"] or 0.0), r["file"]))

    @property
    def reproduced(self) -> bool:
        return not self.failures()


def compare(root_a, root_b, tol: float = 0.0, bitwise: bool = False) -> Comparison:
    """``bitwise``: a weight or data file that differs (or is on one side only) fails too."""
    root_a, root_b = Path(root_a), Path(root_b)
    for root in (root_a, root_b):
        if not root.is_dir():
            raise FileNotFoundError(f"result root {root} does not exist")
    rows = (compare_runs(root_a, root_b) + compare_numbers(root_a, root_b, tol)
            + compare_files(root_a, root_b, bitwise) + compare_settings(root_a, root_b)
            + compare_environments(root_a, root_b))
    return Comparison(root_a, root_b, tol, rows, bitwise)


# ---------------------------------------------------------------------------------------------
# Report: the same blocks rendered as Markdown and as HTML
# ---------------------------------------------------------------------------------------------


def fmt(v) -> str:
    """A value in full: the shortest repr that round-trips (a difference in the last bit shows)."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, float):
        if math.isinf(v):
            return "inf"
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    return str(v)


def fmt_diff(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return "0" if v == 0 else format(v, ".3g")


def _num_cells(r) -> list:
    return [r["section"], r["file"], r["item"], r["quantity"], fmt(r["a"]), fmt(r["b"]), fmt_diff(r["abs_diff"]),
            fmt_diff(r["rel_diff"]), r["status"]]


NUM_HEAD = ["section", "file", "item", "quantity", "A", "B", "abs diff", "rel diff", "status"]


def blocks(c: Comparison, max_rows: int = 200) -> list:
    rows = c.rows
    numbers = [r for r in rows if r["kind"] == "number"]
    counted = [r for r in numbers if r["counts"]]
    files = [r for r in rows if r["kind"] == "file"]
    fails = c.failures()
    n_diff = sum(r["status"] == "differs" for r in counted)
    n_missing = sum(r["status"].startswith("only in") for r in rows if r["kind"] in ("number", "run"))
    n_tol = sum(r["status"] == "within tolerance" for r in counted)
    verdict = "REPRODUCED" if c.reproduced else "NOT REPRODUCED"
    tol = "exact" if c.tol == 0 else f"|A−B| ≤ {c.tol:g} × max(1, |A|, |B|)"
    tol += "; weights and data byte for byte" if c.bitwise else ""
    n_files_diff = sum(r["status"] == "differs" for r in files)
    if c.reproduced and n_files_diff:  # the numbers agree, yet some bits moved: say so up front
        verdict += f" (every number agrees, but {n_files_diff} weight/data files differ in bits: see below)"
    out = [("h1", f"Reproduction diff: {c.root_a} (A) vs {c.root_b} (B)"),
           ("p", f"**{verdict}** (tolerance: {tol}). {len(counted)} numbers compared: "
                 f"{len(counted) - n_diff - n_tol - sum(r['status'].startswith('only') for r in counted)} equal, "
                 f"{n_tol} within tolerance, {n_diff} differ; {n_missing} runs, files or numbers on one side only. "
                 f"Files: {sum(r['status'] == 'identical' for r in files)} byte-identical, "
                 f"{n_files_diff} differ, "
                 f"{sum(r['status'].startswith('only') for r in files)} on one side only"
                 + ("." if c.bitwise else " (not counted; --bitwise counts them).")
                 + " Timings are listed, never counted. Exit status 0 only when REPRODUCED.")]
    out.append(("h2", "Differences, worst first"))
    if fails:
        out.append(("table", NUM_HEAD, [_num_cells(r) for r in fails[:max_rows]]))
        if len(fails) > max_rows:
            out.append(("p", f"… {len(fails) - max_rows} more in compare.csv."))
    else:
        out.append(("p", "None: every counted number agrees."))
    missing = [r for r in rows if r["kind"] in ("run", "file") and r["status"].startswith("only in")]
    out.append(("h2", "On one side only"))
    out.append(("table", ["what", "path", "where"], [[r["kind"], r["file"], r["status"]] for r in missing])
               if missing else ("p", "Nothing: both roots have the same runs and files."))
    settings = [r for r in rows if r["kind"] == "setting"]
    out.append(("h2", "Settings that differ"))
    out.append(("table", ["key", "A", "B", "verdict"], [[r["quantity"], fmt(r["a"]), fmt(r["b"]), r["verdict"]]
                                                         for r in settings])
               if settings else ("p", f"None: both resolved configs ({RUN_CONFIG}) are the same."))
    envs = [r for r in rows if r["kind"] == "environment"]
    out.append(("h2", "Environment that differs"))
    out.append(("table", ["key", "A", "B", "seen in", "verdict"],
                [[r["quantity"], fmt(r["a"]), fmt(r["b"]), r["item"], r["verdict"]] for r in envs])
               if envs else ("p", "None recorded: same commit, torch build, CPU, ISA, threads and device."))
    out.append(("h2", "Weights and data files (SHA-256)"))
    out.append(("table", ["file", "A", "B", "status", "note"],
                [[r["file"], fmt(r["a"]), fmt(r["b"]), r["status"], r["verdict"]] for r in files]))
    out.append(("h2", "Every number, side by side"))
    for section in dict.fromkeys(r["section"] for r in numbers):
        sub = [r for r in numbers if r["section"] == section]
        out.append(("h3", section + ("" if any(r["counts"] for r in sub) else " (timings: not counted)")))
        out.append(("table", NUM_HEAD[1:], [_num_cells(r)[1:] for r in sub]))
    return out


def _md_cell(s) -> str:
    return str(s).replace("|", "\\|").replace("\n", " ")


def render_markdown(bl) -> str:
    lines = []
    for b in bl:
        if b[0] in ("h1", "h2", "h3"):
            lines += ["#" * int(b[0][1]) + " " + b[1], ""]
        elif b[0] == "p":
            lines += [b[1], ""]
        else:
            _, head, body = b
            lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
            lines += ["| " + " | ".join(_md_cell(x) for x in row) + " |" for row in body]
            lines.append("")
    return "\n".join(lines)


CSS = ("body{font-family:sans-serif;max-width:1400px;margin:2em auto;padding:0 1em}table{border-collapse:collapse;"
       "font-size:13px;margin-bottom:1em}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}"
       "th{background:#eee}td.differs,td.only{background:#fdd}td.identical,td.equal{background:#dfd}")


def render_html(bl) -> str:
    e = html.escape
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{e(bl[0][1])}</title>"
             f"<style>{CSS}</style></head><body>"]
    for b in bl:
        if b[0] in ("h1", "h2", "h3"):
            parts.append(f"<{b[0]}>{e(b[1])}</{b[0]}>")
        elif b[0] == "p":
            parts.append("<p>" + re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", e(b[1])) + "</p>")
        else:
            _, head, body = b
            parts.append("<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in head) + "</tr>")
            for row in body:
                cells = []
                for x in row:
                    cls = {"differs": "differs", "identical": "identical", "equal": "equal"}.get(
                        str(x), "only" if str(x).startswith("only in") else "")
                    cells.append(f"<td class='{cls}'>{e(str(x))}</td>" if cls else f"<td>{e(str(x))}</td>")
                parts.append("<tr>" + "".join(cells) + "</tr>")
            parts.append("</table>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def write_text(path, text: str) -> None:
    """Crash-safe like hw2repro.io (temporary name, then rename), without importing torch: the
    comparison starts in a second and runs where only pandas and yaml are installed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # mkstemp makes 0600; results should be readable as usual
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_report(c: Comparison, out_dir) -> dict:
    out_dir = Path(out_dir)
    bl = blocks(c)
    paths = {"markdown": out_dir / "compare.md", "html": out_dir / "compare.html", "csv": out_dir / "compare.csv"}
    write_text(paths["markdown"], render_markdown(bl))
    write_text(paths["html"], render_html(bl))
    write_text(paths["csv"], c.frame.to_csv(index=False))
    return paths


# ---------------------------------------------------------------------------------------------
# The run's own record of its settings (rule run_config)
# ---------------------------------------------------------------------------------------------


def write_run_config(path, config: dict, configfiles=()) -> None:
    """``{results}/config.yaml``: the resolved config, so a comparison knows the run's settings
    (and the run can be repeated with ``--configfile`` this file)."""
    header = ("# The resolved config of this run (every key, defaults included), written by rule run_config.\n"
              f"# From: {', '.join(str(f) for f in configfiles) or 'config/config.yaml'}\n")
    write_text(path, header + yaml.safe_dump(json.loads(json.dumps(config, default=str)), sort_keys=False,
                                             default_flow_style=None, width=110))


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Compare two result roots (did B reproduce A?).")
    parser.add_argument("a", help="result root A (e.g. results)")
    parser.add_argument("b", help="result root B (e.g. results-paper, or a copy of someone else's)")
    parser.add_argument("--out", default="compare", help="output folder (default: compare)")
    parser.add_argument("--tol", type=float, default=0.0,
                        help="numbers agree when |A-B| <= TOL * max(1, |A|, |B|) (default 0: exact)")
    parser.add_argument("--bitwise", action="store_true",
                        help="also fail when a weight or data file is not byte-identical")
    args = parser.parse_args(argv)
    try:
        c = compare(args.a, args.b, args.tol, args.bitwise)
    except FileNotFoundError as exc:
        print(f"compare: {exc}", file=sys.stderr)
        return 2
    paths = write_report(c, args.out)
    fails = c.failures()
    print(f"{'REPRODUCED' if c.reproduced else 'NOT REPRODUCED'}: {args.a} vs {args.b} "
          f"({len(fails)} counted differences or missing); report: {paths['markdown']}, {paths['html']}, {paths['csv']}")
    for r in fails[:10]:
        print(f"  {r['status']:>9}  {r['file']} {r['item']} {r['quantity']}: {fmt(r['a'])} vs {fmt(r['b'])}")
    return 0 if c.reproduced else 1
