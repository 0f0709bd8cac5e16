"""Comparing two roots: numbers side by side (within a tolerance), runs and files on one side only,
byte identity of weights and data, and the settings and environments that differ, with verdicts."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .read import (
    FILES,
    IGNORED_SETTINGS,
    PROVENANCE,
    RUN_CONFIG,
    RUN_DIRS,
    env_verdict,
    flatten,
    glob,
    read_environments,
    read_numbers,
    read_settings,
    setting_verdict,
    sha256,
)

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
    row = {
        "kind": "number",
        "section": section,
        "file": rel,
        "item": item,
        "quantity": quantity,
        "a": va,
        "b": vb,
        "abs_diff": None,
        "rel_diff": None,
        "scaled_diff": None,
        "counts": counts,
        "verdict": "",
    }
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
    return {
        "kind": kind,
        "section": section,
        "file": rel,
        "item": item,
        "quantity": quantity,
        "a": a,
        "b": b,
        "abs_diff": None,
        "rel_diff": None,
        "scaled_diff": math.inf,
        "counts": counts,
        "status": f"only in {side}",
        "verdict": verdict,
    }


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
            rows.append(
                one_side(
                    "run", pattern.split("/")[0].upper() + " run", rel, "", "(run folder)", "A" if rel in ra else "B"
                )
            )
    return rows


def compare_files(root_a: Path, root_b: Path, bitwise: bool = False) -> list[dict]:
    """SHA-256 of each weight/data file; counted (fails the comparison) only when ``bitwise``."""
    rows = []
    for pattern in FILES:
        fa, fb = set(glob(root_a, pattern)), set(glob(root_b, pattern))
        for rel in sorted(fa | fb):
            base = {
                "kind": "file",
                "section": "Files (bytes)",
                "file": rel,
                "item": "",
                "quantity": "sha256",
                "abs_diff": None,
                "rel_diff": None,
                "counts": bitwise,
            }
            if rel not in fa or rel not in fb:
                rows.append(
                    one_side("file", "Files (bytes)", rel, "", "sha256", "A" if rel in fa else "B", counts=bitwise)
                )
                continue
            ha, hb = sha256(root_a / rel), sha256(root_b / rel)
            verdict = ""
            if ha != hb and rel.endswith(".json"):
                verdict = "differs in: " + ", ".join(json_differences(root_a / rel, root_b / rel)[:8])
            rows.append(
                {
                    **base,
                    "a": ha[:16],
                    "b": hb[:16],
                    "scaled_diff": 0.0 if ha == hb else math.inf,
                    "status": "identical" if ha == hb else "differs",
                    "verdict": verdict,
                }
            )
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
    base = {
        "kind": "setting",
        "section": "Settings",
        "file": RUN_CONFIG,
        "item": "",
        "abs_diff": None,
        "rel_diff": None,
        "scaled_diff": None,
        "counts": False,
    }
    if sa is None or sb is None:
        for side, s in (("A", sa), ("B", sb)):
            if s is None:
                rows.append(
                    {
                        **base,
                        "quantity": "(resolved config)",
                        "a": None,
                        "b": None,
                        "status": f"not recorded in {side}",
                        "verdict": f"{side} has no {RUN_CONFIG}: its settings are unknown",
                    }
                )
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
            rows.append(
                {
                    "kind": "environment",
                    "section": "Environment",
                    "file": PROVENANCE,
                    "item": "",
                    "quantity": "(report provenance)",
                    "a": None,
                    "b": None,
                    "abs_diff": None,
                    "rel_diff": None,
                    "scaled_diff": None,
                    "counts": False,
                    "status": f"not recorded in {side}",
                    "verdict": f"{side} has no report: its commit and library versions are unknown",
                }
            )
    for (key, va, vb), where in sorted(groups.items(), key=lambda kv: str(kv[0])):
        shown = ", ".join(where[:4]) + (f" and {len(where) - 4} more" if len(where) > 4 else "")
        rows.append(
            {
                "kind": "environment",
                "section": "Environment",
                "file": "",
                "item": shown,
                "quantity": key,
                "a": va,
                "b": vb,
                "abs_diff": None,
                "rel_diff": None,
                "scaled_diff": None,
                "counts": False,
                "status": "differs",
                "verdict": env_verdict(key),
            }
        )
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
        cols = [
            "kind",
            "section",
            "file",
            "item",
            "quantity",
            "a",
            "b",
            "abs_diff",
            "rel_diff",
            "scaled_diff",
            "status",
            "counts",
            "verdict",
        ]
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
    rows = (
        compare_runs(root_a, root_b)
        + compare_numbers(root_a, root_b, tol)
        + compare_files(root_a, root_b, bitwise)
        + compare_settings(root_a, root_b)
        + compare_environments(root_a, root_b)
    )
    return Comparison(root_a, root_b, tol, rows, bitwise)
