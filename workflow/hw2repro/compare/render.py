"""The comparison as a report: the same blocks rendered as Markdown and as HTML, and the tidy CSV."""

from __future__ import annotations

import html
import math
import re
from pathlib import Path

from .diff import Comparison
from .read import RUN_CONFIG, write_text


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
    return [
        r["section"],
        r["file"],
        r["item"],
        r["quantity"],
        fmt(r["a"]),
        fmt(r["b"]),
        fmt_diff(r["abs_diff"]),
        fmt_diff(r["rel_diff"]),
        r["status"],
    ]


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
    out = [
        ("h1", f"Reproduction diff: {c.root_a} (A) vs {c.root_b} (B)"),
        (
            "p",
            f"**{verdict}** (tolerance: {tol}). {len(counted)} numbers compared: "
            f"{len(counted) - n_diff - n_tol - sum(r['status'].startswith('only') for r in counted)} equal, "
            f"{n_tol} within tolerance, {n_diff} differ; {n_missing} runs, files or numbers on one side only. "
            f"Files: {sum(r['status'] == 'identical' for r in files)} byte-identical, "
            f"{n_files_diff} differ, "
            f"{sum(r['status'].startswith('only') for r in files)} on one side only"
            + ("." if c.bitwise else " (not counted; --bitwise counts them).")
            + " Timings are listed, never counted. Exit status 0 only when REPRODUCED.",
        ),
    ]
    out.append(("h2", "Differences, worst first"))
    if fails:
        out.append(("table", NUM_HEAD, [_num_cells(r) for r in fails[:max_rows]]))
        if len(fails) > max_rows:
            out.append(("p", f"… {len(fails) - max_rows} more in compare.csv."))
    else:
        out.append(("p", "None: every counted number agrees."))
    missing = [r for r in rows if r["kind"] in ("run", "file") and r["status"].startswith("only in")]
    out.append(("h2", "On one side only"))
    out.append(
        ("table", ["what", "path", "where"], [[r["kind"], r["file"], r["status"]] for r in missing])
        if missing
        else ("p", "Nothing: both roots have the same runs and files.")
    )
    settings = [r for r in rows if r["kind"] == "setting"]
    out.append(("h2", "Settings that differ"))
    out.append(
        (
            "table",
            ["key", "A", "B", "verdict"],
            [[r["quantity"], fmt(r["a"]), fmt(r["b"]), r["verdict"]] for r in settings],
        )
        if settings
        else ("p", f"None: both resolved configs ({RUN_CONFIG}) are the same.")
    )
    envs = [r for r in rows if r["kind"] == "environment"]
    out.append(("h2", "Environment that differs"))
    out.append(
        (
            "table",
            ["key", "A", "B", "seen in", "verdict"],
            [[r["quantity"], fmt(r["a"]), fmt(r["b"]), r["item"], r["verdict"]] for r in envs],
        )
        if envs
        else ("p", "None recorded: same commit, torch build, CPU, ISA, threads and device.")
    )
    out.append(("h2", "Weights and data files (SHA-256)"))
    out.append(
        (
            "table",
            ["file", "A", "B", "status", "note"],
            [[r["file"], fmt(r["a"]), fmt(r["b"]), r["status"], r["verdict"]] for r in files],
        )
    )
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


CSS = (
    "body{font-family:sans-serif;max-width:1400px;margin:2em auto;padding:0 1em}table{border-collapse:collapse;"
    "font-size:13px;margin-bottom:1em}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}"
    "th{background:#eee}td.differs,td.only{background:#fdd}td.identical,td.equal{background:#dfd}"
)


def render_html(bl) -> str:
    e = html.escape
    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{e(bl[0][1])}</title>"
        f"<style>{CSS}</style></head><body>"
    ]
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
                        str(x), "only" if str(x).startswith("only in") else ""
                    )
                    cells.append(f"<td class='{cls}'>{e(str(x))}</td>" if cls else f"<td>{e(str(x))}</td>")
                parts.append("<tr>" + "".join(cells) + "</tr>")
            parts.append("</table>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def write_report(c: Comparison, out_dir) -> dict:
    out_dir = Path(out_dir)
    bl = blocks(c)
    paths = {"markdown": out_dir / "compare.md", "html": out_dir / "compare.html", "csv": out_dir / "compare.csv"}
    write_text(paths["markdown"], render_markdown(bl))
    write_text(paths["html"], render_html(bl))
    write_text(paths["csv"], c.frame.to_csv(index=False))
    return paths
