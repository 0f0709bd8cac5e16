"""The compiled reproduction report: collect every question's results, write the tidy tables, render
HTML and Markdown.

``build(inputs, outputs, settings)`` reads the pipeline's tables, figures and metadata, computes the
tidy tables (each question's ``summary`` module, ``report.benchmarks``), writes them as CSV, and
renders the same content twice from the Jinja2 templates in ``report/templates/``: ``index.html``
(self-contained: figures are embedded as data URIs, CSS and the self-check script inline, nothing
loaded from the network) and ``report.md`` (figures linked by relative path).

The content is a list of sections (one per question, then provenance), each a list of blocks
(paragraph, table, figure, figure grid) with every number already formatted (``report.blocks``),
so both templates only lay it out.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

import jinja2
import pandas as pd
import yaml

from .. import __version__
from ..io import file_digest, read_json, write_csv, write_text
from ..provenance import config_sha256, git_info, hardware_info, package_versions
from ..q1 import summary as q1s
from ..q2 import published as q2p
from ..q2 import summary as q2s
from ..q3 import summary as q3s
from . import benchmarks
from .blocks import TITLE, embed, kv_table, not_run_section, rst_inline_to_html, rst_inline_to_md
from .provenance import provenance_section
from .q1 import q1_section
from .q2 import q2_section
from .q3 import q3_section
from .tables import TIDY_TABLES

# Chromium refuses data URLs over 2 MiB, and Snakemake's .html report embeds a page as base64
# (4/3 larger): the page without figures must stay under 1.5 MiB.
FIGURELESS_MAX_BYTES = 3 * 2**20 // 2


# ---------------------------------------------------------------------------------------------
# Collect: read the pipeline's files and compute each question's analysis
# ---------------------------------------------------------------------------------------------


def collect_q1(inp: dict) -> dict:
    tables = {Path(p).stem: p for p in inp["q1_tables"]}
    verification = pd.read_csv(tables["verification"])
    return {
        "q1_verification": q1s.q1_verification_summary(verification),
        "q1_observations": q1s.q1_observations(verification),
        "q1_complexity": q1s.q1_complexity(pd.read_csv(tables["complexity"])),
        "q1_crossover": pd.read_csv(tables["crossover"]),
        "env": read_json(inp["q1_environment"][0]) if inp["q1_environment"] else {},
    }


def collect_q2(inp: dict, refs: dict) -> dict:
    tables = {Path(p).stem: p for p in inp["q2_tables"]}
    runs = pd.read_csv(tables["summary"]).astype({"lr": float})
    best = pd.read_csv(tables["best_lr"])
    meta = next((read_json(p) for p in inp["data_meta"] if Path(p).name == "octmnist.json"), {})
    synthetic = bool(meta.get("synthetic", runs["synthetic"].all() if "synthetic" in runs else True))
    comparable = bool(meta.get("comparable", False))  # the data rule's flag: the canonical data only
    published = pd.DataFrame(refs.get("q2", [])).astype({"lr": float})
    epochs = pd.read_csv(tables["epochs"]) if "epochs" in tables else pd.DataFrame(columns=["pooling", "lr", "seed"])
    val_counts = meta.get("splits", {}).get("val", {}).get("class_counts")
    per_class = pd.read_csv(tables["per_class"]) if "per_class" in tables else None
    return {
        "runs": runs,
        "meta": meta,
        "synthetic": synthetic,
        "comparable": comparable,
        "q2_published_spread": q2p.q2_published_spread(runs, published, comparable),
        "q2_flat_runs": q2s.flat_runs(epochs, val_counts),
        "q2_per_class": q2s.q2_per_class_at_best(per_class, best) if per_class is not None else None,
        "results": [read_json(p) for p in inp["q2_results"]],
        "published_n_params": refs.get("q2_n_params"),
        "q2_config_stats": q2s.q2_config_stats(runs),
        "q2_comparison": q2p.q2_comparison(runs, published, comparable),
        "q2_pooling": q2p.q2_pooling_effect(runs, published, comparable),
        "q2_best_lr": q2p.q2_best_lr(runs, best, published, comparable),
        "q2_params": q2s.q2_params(runs, refs.get("q2_n_params")),
    }


def collect_q3(inp: dict, refs: dict, settings: dict) -> dict:
    tables = {Path(p).stem: p for p in inp["q3_tables"]}
    summary = pd.read_csv(tables["summary"])
    epochs = pd.read_csv(tables["epochs"])
    meta = next((read_json(p) for p in inp["data_meta"] if Path(p).name == "ljspeech.json"), {})
    synthetic = bool(meta.get("synthetic", summary["synthetic"].all() if "synthetic" in summary else True))
    comparable = bool(meta.get("comparable", False))  # the data rule's flag: the canonical data only
    return {
        "summary": summary,
        "epochs": epochs,
        "meta": meta,
        "synthetic": synthetic,
        "comparable": comparable,
        "q3_stats": q3s.q3_stats(summary),
        "q3_comparison": q3s.q3_comparison(summary, epochs, refs, comparable),
        "q3_samples": q3s.transcription_samples(
            [{**run, "path": path} for run, path in zip(settings.get("q3_runs", []), inp.get("q3_predictions", []))]
        ),
    }


def collect_provenance(inp: dict, settings: dict) -> dict:
    config = settings["config"]
    git = git_info(settings["repo"])
    versions = package_versions()
    hardware = hardware_info()
    bench = benchmarks.benchmarks_table(inp["benchmarks"])
    totals = benchmarks.benchmarks_totals(bench)

    envs = []
    for p in inp.get("q2_results", []):
        envs.append(("q2", read_json(p).get("env", {})))
    for p in inp.get("q1_environment", []):
        envs.append(("q1", read_json(p)))
    for p in inp.get("q3_results", []):
        envs.append(("q3", read_json(p).get("env", {})))
    job_envs = benchmarks.job_environments(envs)

    dirty = {True: f"yes (uncommitted changes: {git.get('changed_files')} files)", False: "no", None: "–"}[
        git.get("dirty")
    ]
    threads = [
        (f"{q} threads per job (config)", config.get(q, {}).get("threads")) for q in ("q1", "q2", "q3") if q in config
    ]
    prov = [
        ("hw2repro version", __version__),
        ("git commit", git["commit"]),
        ("working tree dirty", dirty),
        ("config SHA-256 (resolved config, canonical JSON)", config_sha256(config)),
    ]
    for f in settings.get("configfiles", []):
        prov.append((f"config file {f}", f"sha256 {file_digest(f, 'sha256')}" if Path(f).is_file() else "not found"))
    prov += [("report built (UTC)", _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M:%S"))]
    prov += [(f"{k}", v) for k, v in versions.items()]
    prov += [(k.replace("_", " "), v) for k, v in hardware.items()]
    prov += threads

    return {
        "git": git,
        "benchmarks": bench,
        "benchmark_totals": totals,
        "job_envs": job_envs,
        "prov": prov,
        "provenance": kv_table(prov),
    }


# ---------------------------------------------------------------------------------------------
# Build
# ---------------------------------------------------------------------------------------------


def build(inp: dict, out: dict, settings: dict, log=print) -> dict:
    """``inp``: the rule's named inputs (lists of paths); ``out``: html, markdown, tables (list of
    CSV paths, named after the tables); ``settings``: config, questions, q2_figures, configfiles,
    repo. Returns the rendering context."""
    refs = yaml.safe_load(Path(inp["references"][0]).read_text(encoding="utf-8"))
    caption_files = {Path(p).stem: p for p in inp.get("captions", [])}
    questions = settings.get("questions", {})
    tidy: dict[str, pd.DataFrame] = {}
    sections = []
    builders = {
        "q1": lambda data: q1_section(data, inp["q1_figures"], caption_files),
        "q2": lambda data: q2_section(data, inp["q2_figures"], caption_files, settings),
        "q3": lambda data: q3_section(data, inp["q3_figures"], caption_files, settings),
    }
    collectors = {
        "q1": lambda: collect_q1(inp),
        "q2": lambda: collect_q2(inp, refs),
        "q3": lambda: collect_q3(inp, refs, settings),
    }
    needed = {"q1": "q1_tables", "q2": "q2_tables", "q3": "q3_tables"}
    setups = []
    for key in ("q1", "q2", "q3"):
        ran = questions.get(key, False) and len(inp.get(needed[key], []))
        if ran:
            data = collectors[key]()
            tidy.update({name: frame for name, frame in data.items() if name in TIDY_TABLES and frame is not None})
            section = builders[key](data)
            setups.append(kv_table(section["setup"], key))
        else:
            section = not_run_section(key)
        sections.append(section)
        log(f"{key}: {'reported' if ran else 'not run'}")
    prov_data = collect_provenance(inp, settings)
    tidy.update({name: frame for name, frame in prov_data.items() if name in TIDY_TABLES})
    provenance = provenance_section(prov_data, settings)
    if setups:
        tidy["setup"] = pd.concat(setups, ignore_index=True)

    md_dir = Path(out["markdown"]).parent
    for section in sections:
        for block in section["blocks"]:
            if block["type"] == "figures":
                block["items"] = [embed(f, md_dir) for f in block["items"]]

    synthetic = [s for s in sections if s["synthetic"]]
    # real data that is not the canonical set is not comparable either
    not_canonical = [s for s in sections if s["synthetic"] is False and s.get("comparable") is False]
    banner = ""
    if synthetic or not_canonical:
        banner = (
            ("SYNTHETIC DATA: " if synthetic else "NOT THE CANONICAL DATA: ")
            + "; ".join(
                f"{s['key'].upper()} ran on {s.get('data_label') or 'synthetic data'}"
                for s in synthetic + not_canonical
            )
            + ". Every number from these questions is NOT comparable to the published results; "
            "they are listed beside them for orientation only."
        )
    n_figures = sum(len(b["items"]) for s in sections for b in s["blocks"] if b["type"] == "figures")
    context = {
        "title": TITLE,
        "banner": banner,
        "sections": sections,
        "provenance": provenance,
        "n_figures": n_figures,
        "generated": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": provenance["headline"].split(";")[0],
        "config_sha256": config_sha256(settings["config"]),
    }

    # tidy tables: every declared CSV is written (headers only for a question that did not run)
    empty_columns = _empty_table_columns()
    for path in out["tables"]:
        name = Path(path).stem
        frame = tidy.get(name)
        if frame is None:
            frame = pd.DataFrame(columns=empty_columns.get(name, []))
        write_csv(path, frame)

    template_dir = Path(inp["templates"][0]).parent
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir)),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["rst_html"] = rst_inline_to_html
    env.filters["rst_md"] = rst_inline_to_md
    env.filters["md_cell"] = lambda s: str(s).replace("|", "\\|").replace("\n", " ")
    html = env.get_template("report.html.j2")
    write_text(out["html"], html.render(**context, embedded=True))
    if out.get("figureless"):
        page = html.render(**context, embedded=False)
        if len(page.encode("utf-8")) > FIGURELESS_MAX_BYTES:
            raise ValueError(
                f"{out['figureless']} would be {len(page.encode('utf-8')):,} bytes: over "
                f"{FIGURELESS_MAX_BYTES:,}, Snakemake's report could not show it in Chromium"
            )
        write_text(out["figureless"], page)
    write_text(out["markdown"], env.get_template("report.md.j2").render(**context))
    log(f"wrote {out['html']} ({n_figures} figures embedded), {out['markdown']}, {len(out['tables'])} tables")
    return context


def _empty_table_columns() -> dict:
    """Column names of each tidy table, for the header-only CSV of a question that did not run."""
    empty_runs = pd.DataFrame(
        columns=["pooling", "lr", "seed", "final_train_loss", "final_val_acc", "test_acc", "n_params"]
    ).astype({"lr": float})
    empty_pub = pd.DataFrame(columns=["source", "lr", "pooling", "train_loss", "val_acc", "test_acc"]).astype(
        {"lr": float}
    )
    empty_q3 = pd.DataFrame(columns=["decoder", "seed"])
    return {
        "q1_verification": [
            "check",
            "construction",
            "n",
            "passed",
            "all_passed",
            "max_error",
            "max_error_in_eps",
            "tolerance",
        ],
        "q1_observations": ["check", "construction", "D", "K", "value", "expected"],
        "q1_complexity": ["claim", "method", "D", "quantity", "claimed", "measured", "detail", "tolerance", "verdict"],
        "q1_crossover": [
            "method",
            "D",
            "M",
            "crossover_L_grid",
            "crossover_L_interp",
            "max_L",
            "speedup_at_max_L",
            "memory_ratio_at_max_L",
        ],
        "q2_config_stats": list(q2s.q2_config_stats(empty_runs).columns),
        "q2_comparison": list(q2p.q2_comparison(empty_runs, empty_pub.iloc[0:0], False).columns),
        "q2_published_spread": list(q2p.q2_published_spread(empty_runs, empty_pub, False).columns),
        "q2_flat_runs": list(q2s.flat_runs(pd.DataFrame(columns=["pooling", "lr", "seed", "val_acc"])).columns),
        "q2_per_class": q2s.Q2_PER_CLASS_COLUMNS,
        "q3_samples": q3s.Q3_SAMPLES_COLUMNS,
        "q2_pooling": list(q2p.q2_pooling_effect(empty_runs, empty_pub, False).columns),
        "q2_best_lr": q2p.Q2_BEST_LR_COLUMNS,
        "q2_params": ["pooling", "n_params", "published", "matches"],
        "q3_stats": list(q3s.q3_stats(empty_q3).columns),
        "q3_comparison": q3s.Q3_COMPARISON_COLUMNS,
        "benchmarks": ["question", "job", "wall_s", "cpu_s", "max_rss_mb", "mean_load", "repeats", "path"],
        "benchmark_totals": ["question", "jobs", "wall_s", "cpu_s", "max_rss_mb"],
        "provenance": ["key", "value"],
        "setup": ["section", "key", "value"],
    }
