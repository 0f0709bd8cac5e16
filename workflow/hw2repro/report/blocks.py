"""The report's view primitives: tables, figures and text blocks with every number already
formatted, the number formats, the captions (report/*.rst, shared with ``snakemake --report``) and
figure embedding. The section modules (``report.q1`` ... ``report.provenance``) lay these out;
``report.render`` renders them with the Jinja2 templates."""

from __future__ import annotations

import base64
import html
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import labels
from .captions import CAPTIONS, TITLES

TITLE = "IST Deep Learning 2023/24 Homework 2, reproduced"
QUESTION_TITLES = {
    "q1": "Q1 · Taylor-feature linear attention",
    "q2": "Q2 · CNN on OCTMNIST",
    "q3": "Q3 · Speech recognition on LJ Speech",
}
POOLING = labels.POOLING
DECODER = labels.DECODER
# Multi-panel figures drawn across the whole page width (a third of a card would be illegible).
WIDE_FIGURES = {
    "q1_scaling",
    "q1_error_vs_scale",
    "val_similarities",
    "loss_train_val",
    "lr_overlay_max",
    "lr_overlay_none",
    "per_class_accuracy",
    "confusion_matrix",
    "published_spread",
}


@dataclass
class Table:
    id: str
    title: str
    columns: list[str]
    rows: list[list[str]]
    note: str = ""
    row_classes: list[str] = field(default_factory=list)
    numeric: list[bool] = field(default_factory=list)

    def __post_init__(self):
        if not self.row_classes:
            self.row_classes = [""] * len(self.rows)
        if not self.numeric:
            self.numeric = [
                all(_looks_numeric(r[i]) for r in self.rows) if self.rows else False for i in range(len(self.columns))
            ]


@dataclass
class Figure:
    id: str
    title: str
    caption: str
    path: str  # as given (relative to the working directory)
    md_path: str = ""  # relative to report.md
    data_uri: str = ""
    wide: bool = False


def _looks_numeric(text: str) -> bool:
    return bool(re.fullmatch(r"[–+\-−]?[\d.,]+(e[+-]?\d+)?( ± [\d.]+)?( \(n=\d+\))?( ?%| s| MB)?|–", str(text)))


def num(x, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and np.isnan(x)) or (not isinstance(x, str) and pd.isna(x)):
        return "–"
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "no"
    if isinstance(x, (int, np.integer)):
        return f"{int(x):,}"
    x = float(x)
    if x != 0 and (abs(x) < 10**-digits or abs(x) >= 1e6):
        return f"{x:.2e}"
    return f"{x:.{digits}f}"


def published_num(x) -> str:
    """A published number as the source printed it (up to 6 significant digits, no padding)."""
    if x is None or pd.isna(x):
        return "–"
    return format(float(x), ".6g")


def lr_text(lr) -> str:
    return format(float(lr), "g")


def text(s: str) -> dict:
    return {"type": "text", "text": s}


def heading(s: str) -> dict:
    return {"type": "heading", "text": s}


def table_block(t: Table) -> dict:
    return {"type": "table", "table": t}


def load_caption(caption_files: dict, name: str) -> str:
    path = caption_files.get(name)
    if not path:
        return ""
    body = Path(path).read_text(encoding="utf-8")
    body = re.sub(r"\{\{.*?\}\}", "…", body)  # Snakemake-report Jinja placeholders
    return " ".join(body.split())


def rst_inline_to_html(s: str) -> str:
    """Escape, then the two RST inline markups the captions use: ``code`` and **bold**."""
    out = html.escape(s)
    out = re.sub(r"``(.+?)``", r"<code>\1</code>", out)
    return re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", out)


def rst_inline_to_md(s: str) -> str:
    return re.sub(r"``(.+?)``", r"`\1`", s)


def kv_rows(pairs) -> list[list[str]]:
    return [[str(k), "–" if v is None or v == "" else str(v)] for k, v in pairs]


def not_run_section(key: str) -> dict:
    return {
        "key": key,
        "title": QUESTION_TITLES[key],
        "ran": False,
        "synthetic": None,
        "blocks": [
            {
                "type": "warning",
                "text": f"{key.upper()} was not run: its rules are not part of this workflow run "
                "(switched off in the Snakefile or config), so there is nothing to report.",
            }
        ],
        "headline": "not run",
    }


# ---------------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------------


def figure(path: str, kind: str, caption_files: dict, title: str | None = None, with_caption: bool = True) -> Figure:
    caption = load_caption(caption_files, CAPTIONS.get(kind, kind)) if with_caption else ""
    stem = Path(path).stem
    return Figure(
        id=re.sub(r"[^A-Za-z0-9_-]", "-", stem),
        title=title or TITLES.get(stem, stem),
        caption=caption,
        path=str(path),
        wide=stem in WIDE_FIGURES,
    )


def embed(fig: Figure, md_dir: Path) -> Figure:
    data = Path(fig.path).read_bytes()
    if not data.startswith(b"\x89PNG"):
        raise ValueError(f"{fig.path} is not a PNG file")
    fig.data_uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    fig.md_path = os.path.relpath(Path(fig.path).resolve(), md_dir.resolve())
    return fig


def kv_table(items: dict | list, section: str | None = None) -> pd.DataFrame:
    """A key/value table (setup and provenance): list of (key, value) or a dict."""
    pairs = list(items.items()) if isinstance(items, dict) else list(items)
    frame = pd.DataFrame([{"key": k, "value": "" if v is None else str(v)} for k, v in pairs], columns=["key", "value"])
    if section is not None:
        frame.insert(0, "section", section)
    return frame
