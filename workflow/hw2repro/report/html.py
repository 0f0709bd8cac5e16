"""The compiled reproduction report: collect every question's results, render HTML and Markdown.

``build(inputs, outputs, settings)`` reads the pipeline's tables, figures and metadata, computes the
tidy tables (``hw2repro.report_tables``), writes them as CSV, and renders the same content twice
from the Jinja2 templates in ``report/templates/``: ``index.html`` (self-contained: figures are
embedded as data URIs, CSS and the self-check script inline, nothing loaded from the network) and
``report.md`` (figures linked by relative path).

The content is a list of sections (one per question, then provenance), each a list of blocks
(paragraph, table, figure, figure grid) with every number already formatted, so both templates
only lay it out.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from .. import labels
from ..provenance import config_sha256, git_info, hardware_info, package_versions
from ..io import file_digest
from . import tables as rt
from ..io import read_json, write_csv, write_text

TITLE = "IST Deep Learning 2023/24 Homework 2, reproduced"
QUESTION_TITLES = {
    "q1": "Q1 · Taylor-feature linear attention",
    "q2": "Q2 · CNN on OCTMNIST",
    "q3": "Q3 · Speech recognition on LJ Speech",
}
POOLING = labels.POOLING
DECODER = labels.DECODER
# Which caption (report/*.rst, shared with `snakemake --report`) describes which figure.
FIGURE_TITLES = {
    "q1_scaling": "Time and memory against sequence length",
    "q1_error_vs_scale": "Approximation error against the scale of qᵀk",
    "q1_feature_dim": "Feature dimension M against head dimension D",
    "loss_train_val": "Training vs validation loss",
    "val_similarities": "Validation similarities per epoch",
    "test_table": "Test table (figure)",
}
CAPTIONS = {
    "q1_scaling": "q1_scaling", "q1_error_vs_scale": "q1_error_vs_scale", "q1_feature_dim": "q1_feature_dim",
    "test_accuracy_overview": "q2_overview", "training-loss": "q2_training_loss",
    "validation-accuracy": "q2_validation_accuracy", "loss_train_val": "q3_loss",
    "val_similarities": "q3_similarities", "test_table": "q3_test_table",
}


# ---------------------------------------------------------------------------------------------
# Building blocks
# ---------------------------------------------------------------------------------------------


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
            self.numeric = [all(_looks_numeric(r[i]) for r in self.rows) if self.rows else False
                            for i in range(len(self.columns))]


@dataclass
class Figure:
    id: str
    title: str
    caption: str
    path: str  # as given (relative to the working directory)
    md_path: str = ""  # relative to report.md
    data_uri: str = ""


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
    if x != 0 and (abs(x) < 10 ** -digits or abs(x) >= 1e6):
        return f"{x:.2e}"
    return f"{x:.{digits}f}"


def published_num(x) -> str:
    """A published number as the source printed it (up to 6 significant digits, no padding)."""
    if x is None or pd.isna(x):
        return "–"
    return format(float(x), ".6g")


def lr_text(lr) -> str:
    return format(float(lr), "g")


def mean_ci_text(row, prefix: str = "", digits: int = 4) -> str:
    stats = {"n": int(row[f"{prefix}n"]), "mean": row[f"{prefix}mean"], "ci95_low": row[f"{prefix}ci95_low"],
             "ci95_high": row[f"{prefix}ci95_high"]}
    return rt.fmt_mean_ci(stats, digits)


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


# ---------------------------------------------------------------------------------------------
# Q1
# ---------------------------------------------------------------------------------------------


def q1_section(inp: dict, tidy: dict, caption_files: dict) -> dict:
    tables = {Path(p).stem: p for p in inp["q1_tables"]}
    verification = pd.read_csv(tables["verification"])
    complexity = pd.read_csv(tables["complexity"])
    crossover = pd.read_csv(tables["crossover"])
    env = read_json(inp["q1_environment"][0]) if inp["q1_environment"] else {}
    settings = env.get("settings", {})
    summary = rt.q1_verification_summary(verification)
    observations = rt.q1_observations(verification)
    tidy["q1_verification"] = summary
    tidy["q1_observations"] = observations
    tidy["q1_complexity"] = complexity
    tidy["q1_crossover"] = crossover
    n_checks, n_passed = int(summary["n"].sum()), int(summary["passed"].sum())
    setup = [
        ("data", "none: random q, k, v drawn by the pipeline (nothing to download, nothing synthetic to compare)"),
        ("torch threads", env.get("torch_threads")),
        ("dtype of the benchmark", settings.get("dtype")),
        ("sequence lengths L", ", ".join(str(x) for x in settings.get("lengths", []))),
        ("head dimensions D", ", ".join(str(x) for x in settings.get("dims", []))),
        ("feature maps", ", ".join(settings.get("constructions", []))),
        ("Taylor terms K (timed)", settings.get("terms")),
        ("CPU", f"{env.get('cpu', '–')} ({env.get('cpu_isa', '–')})"),
        ("torch / Python", f"{env.get('torch', '–')} / {env.get('python', '–')}"),
    ]
    tidy.setdefault("_setup", []).append(rt.kv_table(setup, "q1"))
    blocks = [
        text("Nothing is trained in Q1: the pipeline checks the maths of the Taylor feature map "
             "(kernel identity, feature dimension M, linear = quadratic order) and measures exact softmax "
             "attention against the linear form. The published results list no Q1 numbers; the homework's "
             "complexity claims are compared with what this machine measured."),
        table_block(Table("q1-setup", "Setup", ["setting", "value"], kv_rows(setup))),
        heading("Verification"),
        text(f"{n_passed} of {n_checks} checks passed"
             + (" — every check holds." if n_passed == n_checks else " — SOME CHECKS FAILED.")),
        table_block(Table(
            "q1-verification", "Verification checks (float64)",
            ["check", "feature map", "passed", "largest error", "in machine ε", "tolerance"],
            [[r.check, r.construction, f"{r.passed}/{r.n}", num(r.max_error, 2), num(r.max_error_in_eps, 1),
              num(r.tolerance, 2)] for r in summary.itertuples()],
            row_classes=["" if r.all_passed else "bad" for r in summary.itertuples()])),
    ]
    if len(observations):
        blocks.append(table_block(Table(
            "q1-observations", "Observations (measured facts, not pass/fail)",
            [c for c in observations.columns],
            [[num(v, 4) if isinstance(v, float) else str(v) for v in row]
             for row in observations.itertuples(index=False)])))
    blocks += [
        heading("Scaling"),
        table_block(Table(
            "q1-complexity", "Complexity claims vs measured exponents",
            ["claim", "method", "D", "quantity", "claimed", "measured", "detail"],
            [[r.claim, r.method, "–" if pd.isna(r.D) else str(int(r.D)), r.quantity, num(r.claimed, 2),
              num(r.measured, 2), str(r.detail)] for r in complexity.itertuples()])),
        table_block(Table(
            "q1-crossover", "Where the linear form becomes faster",
            ["method", "D", "M", "crossover L (interpolated)", "first grid L", "speed-up at max L",
             "memory ratio at max L"],
            [[r.method, str(int(r.D)), str(int(r.M)), num(r.crossover_L_interp, 0), num(r.crossover_L_grid, 0),
              f"{r.speedup_at_max_L:.1f}× (L={int(r.max_L):,})", f"{r.memory_ratio_at_max_L:.1f}×"]
             for r in crossover.itertuples()])),
        {"type": "figures", "items": [
            figure(p, Path(p).stem, caption_files) for p in inp["q1_figures"]]},
    ]
    return {"key": "q1", "title": QUESTION_TITLES["q1"], "ran": True, "synthetic": False, "blocks": blocks,
            "headline": f"{n_passed}/{n_checks} verification checks passed; "
                        f"{len(complexity)} complexity claims measured"}


# ---------------------------------------------------------------------------------------------
# Q2
# ---------------------------------------------------------------------------------------------


def comparison_table(stats: pd.DataFrame, comparison: pd.DataFrame, comparable: bool) -> dict:
    """One row per pooling x lr for this pipeline (mean ± 95% CI), then one row per published source
    with its numbers and, on real data, where each falls in our seed distribution."""
    metrics = list(rt.Q2_METRICS)
    short = {"test_acc": "test acc.", "val_acc": "val. acc.", "train_loss": "train loss"}
    columns = ["pooling", "lr", "source"]
    for m in metrics:
        columns += [short[m]] + (["where it falls"] if comparable else [])
    rows, classes = [], []
    keys = comparison[["pooling", "lr"]].drop_duplicates()
    ours_keys = stats[["pooling", "lr"]].drop_duplicates()
    keys = pd.concat([keys, ours_keys]).drop_duplicates().sort_values(["pooling", "lr"], ascending=[True, False])
    for pooling, lr in keys.itertuples(index=False):
        ours = stats[(stats["pooling"] == pooling) & np.isclose(stats["lr"], lr)].set_index("metric")
        row = [POOLING.get(pooling, pooling), lr_text(lr), "this pipeline"]
        for m in metrics:
            row += [rt.fmt_mean_ci(ours.loc[m].to_dict()) if m in ours.index else "not run"] + (
                [""] if comparable else [])
        rows.append(row)
        classes.append("ours")
        pub = comparison[(comparison["pooling"] == pooling) & np.isclose(comparison["lr"], lr)]
        for source, group in pub.groupby("source", sort=True):
            by_metric = group.set_index("metric")
            row = [POOLING.get(pooling, pooling), lr_text(lr), source]
            for m in metrics:
                if m in by_metric.index:
                    row += [published_num(by_metric.loc[m, "published"])] + (
                        [by_metric.loc[m, "position"]] if comparable else [])
                else:
                    row += ["–"] + (["–"] if comparable else [])
            rows.append(row)
            classes.append("published")
    note = ("This pipeline: mean ± 95% confidence interval over seeds (t distribution; one seed: the value). "
            "Where it falls: inside our 95% confidence interval, or how many seed-to-seed standard deviations "
            "(σ) above or below our mean the published number lies."
            if comparable else
            "This pipeline: mean ± 95% confidence interval over seeds (t distribution; one seed: the value). "
            "Synthetic data: the published numbers are listed for orientation only and are not compared "
            "(tables/q2_comparison.csv has every pair).")
    return table_block(Table("q2-comparison", "Published numbers beside this pipeline's (shaded)", columns, rows,
                             note=note, row_classes=classes))


def q2_section(inp: dict, tidy: dict, refs: dict, caption_files: dict, settings: dict) -> dict:
    tables = {Path(p).stem: p for p in inp["q2_tables"]}
    runs = pd.read_csv(tables["summary"]).astype({"lr": float})
    best = pd.read_csv(tables["best_lr"])
    meta = next((read_json(p) for p in inp["data_meta"] if Path(p).name == "octmnist.json"), {})
    synthetic = bool(meta.get("synthetic", runs["synthetic"].all() if "synthetic" in runs else True))
    comparable = bool(meta.get("comparable", False))  # the data rule's flag: the canonical data only
    published = pd.DataFrame(refs.get("q2", [])).astype({"lr": float})
    cfg = settings["config"].get("q2", {})
    results = [read_json(p) for p in inp["q2_results"]]

    stats = rt.q2_config_stats(runs)
    comparison = rt.q2_comparison(runs, published, comparable)
    pooling = rt.q2_pooling_effect(runs, published, comparable)
    best_table = rt.q2_best_lr(runs, best, published, comparable)
    params = rt.q2_params(runs, refs.get("q2_n_params"))
    tidy.update(q2_config_stats=stats, q2_comparison=comparison, q2_pooling=pooling, q2_best_lr=best_table,
                q2_params=params)

    splits = meta.get("splits", {})
    seeds = sorted(runs["seed"].unique())
    setup = [
        ("data", meta.get("label", meta.get("source", "–"))),
        ("synthetic", "YES — not comparable to published numbers" if synthetic else
         "no (real OCTMNIST)" if comparable else f"no — {labels.NOT_CANONICAL}"),
        ("images train / validation / test (file)",
         " / ".join(f"{splits.get(s, {}).get('n', 0):,}" for s in ("train", "val", "test"))),
        ("test images used (homework's subset)", ", ".join(f"{int(x):,}" for x in sorted(runs["n_test"].unique()))),
        ("learning rates", ", ".join(lr_text(x) for x in sorted(runs["lr"].unique(), reverse=True))),
        ("pooling variants", ", ".join(POOLING[p] for p in sorted(runs["pooling"].unique()))),
        ("seeds", f"{', '.join(str(s) for s in seeds)} ({len(seeds)} per configuration)"),
        ("epochs / batch size / optimizer", f"{cfg.get('epochs')} / {cfg.get('batch_size')} / {cfg.get('optimizer')}"),
        ("dropout / L2 decay", f"{cfg.get('dropout')} / {cfg.get('l2_decay')}"),
        ("device(s)", ", ".join(sorted({str(d) for d in runs["device"]}))),
        ("torch threads per job", ", ".join(str(t) for t in sorted(runs["threads"].unique()))),
        ("wall time per run (mean)", f"{runs['wall_seconds'].mean():.1f} s over {len(runs)} runs"),
    ]
    if results:
        env = results[0].get("env", {})
        setup.append(("torch / Python / CPU ISA", f"{env.get('torch')} / {env.get('python')} / {env.get('cpu_isa')}"))

    tidy.setdefault("_setup", []).append(rt.kv_table(setup, "q2"))
    blocks = [table_block(Table("q2-setup", "Setup", ["setting", "value"], kv_rows(setup)))]

    # best lr
    blocks += [heading("Best learning rate on validation")]
    best_rows = []
    for r in best_table.itertuples():
        agree = ("–" if not comparable else ("yes" if r.agrees_with_published is True else
                                             "no" if r.agrees_with_published is False else "–"))
        best_rows.append([POOLING.get(r.pooling, r.pooling), lr_text(r.best_lr), num(r.val_acc_mean),
                          num(r.test_acc_mean), f"{r.seeds_picking_it} of {r.n_seeds}",
                          f"{r.published_best_lrs} ({r.published_n_sources} sources)", agree])
    blocks.append(table_block(Table(
        "q2-best-lr", "Learning rate with the best final validation accuracy (mean over seeds)",
        ["pooling", "best lr", "validation acc.", "test acc.", "seeds picking it alone", "published picks",
         "agrees"], best_rows,
        note="" if comparable else "Synthetic data: the published picks are listed for reference only.")))

    # comparisons
    blocks.append(heading("Beside every published number"))
    blocks.append(comparison_table(stats, comparison, comparable))

    # pooling
    prow = []
    for r in pooling.itertuples():
        pub = ("–" if r.published_n_sources == 0 else f"{r.published_difference_mean:+.4f} ({r.published_n_sources} sources)")
        ci = ("–" if pd.isna(r.difference_ci95_low) else f"[{r.difference_ci95_low:+.4f}, {r.difference_ci95_high:+.4f}]")
        prow.append([lr_text(r.lr), "test" if r.metric == "test_acc" else "validation", str(r.n_seeds),
                     num(r.mean_with_pooling), num(r.mean_without_pooling), f"{r.difference:+.4f}", ci,
                     num(r.seed_sd), r.verdict, pub])
    blocks += [
        heading("Pooling vs no pooling"),
        text("Accuracy with max-pooling minus without, paired by seed; the difference counts as larger than the "
             "seed-to-seed spread when the 95% confidence interval of the paired differences excludes zero. "
             "The published column is the mean of the same difference over the sources that report both variants."
             + ("" if comparable else " (Synthetic data: not comparable.)")),
        table_block(Table("q2-pooling", "Max-pooling minus no pooling",
                          ["lr", "accuracy", "seeds", "with pooling", "without", "difference", "95% CI",
                           "seed sd", "verdict", "published difference"], prow)),
    ]

    # parameters
    blocks += [
        heading("Parameter count"),
        table_block(Table("q2-params", "Trainable parameters (independent of the data)",
                          ["pooling", "this pipeline", "published", "matches"],
                          [[POOLING.get(r.pooling, r.pooling), num(r.n_params), num(r.published),
                            "yes" if r.matches else "NO"] for r in params.itertuples()],
                          row_classes=["" if r.matches else "bad" for r in params.itertuples()])),
    ]

    # figures
    overview = [p for p in inp["q2_figures"] if Path(p).stem == "test_accuracy_overview"]
    blocks += [heading("Figures")]
    if overview:
        blocks.append({"type": "figures", "items": [figure(overview[0], "test_accuracy_overview", caption_files,
                                                           title="Test accuracy: this pipeline vs published")]})
    for kind, title in (("training-loss", "Training loss"), ("validation-accuracy", "Validation accuracy")):
        items = []
        for f in sorted((f for f in settings.get("q2_figures", []) if f["kind"] == kind),
                        key=lambda f: (-float(f["lr"]), f["pooling"])):
            items.append(figure(f["path"], kind, caption_files, title=f"lr {f['lr']}, {POOLING[f['pooling']]}",
                                with_caption=False))
        if items:
            blocks.append({"type": "figures", "title": title,
                           "caption": load_caption(caption_files, CAPTIONS[kind]), "items": items, "small": True})

    best_max = best_table[best_table["pooling"] == "max"]
    headline = (f"{len(runs)} runs; best lr on validation: "
                + ", ".join(f"{lr_text(r.best_lr)} ({POOLING[r.pooling]})" for r in best_table.itertuples())
                + f"; parameters {'match' if params['matches'].all() else 'DO NOT match'} the published "
                  f"{num(refs.get('q2_n_params'))}")
    if len(best_max):
        headline += f"; test accuracy at the chosen lr with max-pooling {num(best_max['test_acc_mean'].iloc[0])}"
    return {"key": "q2", "title": QUESTION_TITLES["q2"], "ran": True, "synthetic": synthetic, "blocks": blocks,
            "headline": headline, "data_label": meta.get("label", ""), "comparable": comparable}


# ---------------------------------------------------------------------------------------------
# Q3
# ---------------------------------------------------------------------------------------------


def q3_section(inp: dict, tidy: dict, refs: dict, caption_files: dict, settings: dict) -> dict:
    tables = {Path(p).stem: p for p in inp["q3_tables"]}
    summary = pd.read_csv(tables["summary"])
    epochs = pd.read_csv(tables["epochs"])
    meta = next((read_json(p) for p in inp["data_meta"] if Path(p).name == "ljspeech.json"), {})
    synthetic = bool(meta.get("synthetic", summary["synthetic"].all() if "synthetic" in summary else True))
    comparable = bool(meta.get("comparable", False))  # the data rule's flag: the canonical data only
    stats = rt.q3_stats(summary)
    comparison = rt.q3_comparison(summary, epochs, refs, comparable)
    tidy.update(q3_stats=stats, q3_comparison=comparison)
    cfg = settings["config"].get("q3", {})

    splits = meta.get("splits", {})
    seconds = meta.get("seconds", {})
    setup = [
        ("data", meta.get("label", meta.get("source", "–"))),
        ("synthetic", "YES — not comparable to published numbers" if synthetic else
         "no (real LJ Speech)" if comparable else f"no — {labels.NOT_CANONICAL}"),
        ("clips (train / validation / test)",
         f"{meta.get('rows', 0):,} ("
         + " / ".join(f"{b - a:,}" for a, b in (splits.get(s, (0, 0)) for s in ("train", "val", "test"))) + ")"),
        ("audio", f"{seconds.get('total', 0) / 3600:.2f} h, {seconds.get('mean', 0):.1f} s per clip on average"
         if seconds else "–"),
        ("decoders", ", ".join(DECODER.get(d, d) for d in sorted(summary["decoder"].unique()))),
        ("seeds", f"{', '.join(str(s) for s in sorted(summary['seed'].unique()))} "
                  f"({summary.groupby('decoder')['seed'].nunique().min()} per decoder)"),
        ("epochs", ", ".join(str(int(x)) for x in sorted(summary["epochs"].dropna().unique()))),
        ("test clips scored", ", ".join(f"{int(x):,}" for x in sorted(summary["n_test"].dropna().unique()))),
        ("feature frames per clip", ", ".join(str(int(x)) for x in sorted(summary["n_frames"].dropna().unique()))),
        ("parameters", "; ".join(f"{DECODER.get(d, d)} {int(g['n_params'].iloc[0]):,}"
                                 for d, g in summary.groupby("decoder") if g["n_params"].notna().any())),
        ("batch size / lr", f"{cfg.get('batch_size', '–')} / {cfg.get('lr', '–')}"),
        ("device(s)", ", ".join(sorted({str(d) for d in summary["device"]}))),
        ("torch threads per job", ", ".join(str(t) for t in sorted(summary["threads"].dropna().unique()))),
        ("wall time per run (mean)", f"{summary['wall_time_s'].mean():.1f} s over {len(summary)} runs"),
    ]
    tidy.setdefault("_setup", []).append(rt.kv_table(setup, "q3"))
    blocks = [table_block(Table("q3-setup", "Setup", ["setting", "value"], kv_rows(setup)))]

    blocks += [
        heading("Test set"),
        text("This pipeline: mean ± 95% confidence interval over seeds (t distribution; one seed: the value). "
             "The audio-blind baseline scores the same trained model on test clips whose audio is swapped for "
             "another clip's: when the two are close, the model has learnt the language of the transcripts "
             "rather than to listen."),
        q3_table("q3-test", "Test loss and similarities: this pipeline (shaded), its audio-blind baseline, "
                 "published", comparison[comparison["split"] == "test"], stats, comparable),
        text(audio_gain_text(summary)),
        heading("Validation and training curves at the published epochs"),
        q3_table("q3-epochs", "Validation at epochs 15 and 1, last logged training loss at epoch 15",
                 comparison[comparison["split"] != "test"], None, comparable),
    ]
    blocks += [heading("Figures"), {"type": "figures", "items": [
        figure(p, Path(p).stem, caption_files) for p in inp["q3_figures"]]}]

    test_means = stats[(stats["kind"] == "test") & (stats["score"] == "damerau_levenshtein")]
    headline = f"{len(summary)} runs; test Damerau–Levenshtein " + ", ".join(
        f"{DECODER.get(r.decoder, r.decoder)} {num(r.mean)}" for r in test_means.itertuples())
    return {"key": "q3", "title": QUESTION_TITLES["q3"], "ran": True, "synthetic": synthetic, "blocks": blocks,
            "headline": headline, "data_label": meta.get("label", ""), "comparable": comparable}


def audio_gain_text(summary: pd.DataFrame) -> str:
    """What the audio adds: real minus audio-blind Damerau–Levenshtein similarity, per decoder."""
    parts = []
    for decoder, group in summary.groupby("decoder", sort=True):
        gain = rt.describe(pd.to_numeric(group["test_damerau_levenshtein"], errors="coerce")
                           - pd.to_numeric(group["audio_blind_damerau_levenshtein"], errors="coerce"))
        if gain["n"] == 0:
            continue
        if gain["n"] >= 2 and not pd.isna(gain["ci95_low"]):
            uses = gain["ci95_low"] > 0
            spread = f" (95% CI [{gain['ci95_low']:+.4f}, {gain['ci95_high']:+.4f}])"
        else:
            uses = gain["mean"] > 0.02
            spread = " (one seed)"
        verdict = "it uses the audio" if uses else "no clear gain: it is not (yet) using the audio"
        parts.append(f"{DECODER.get(decoder, decoder)}: {gain['mean']:+.4f}{spread}, {verdict}")
    if not parts:
        return "No audio-blind baseline was scored."
    return "Audio gain, test Damerau–Levenshtein similarity minus its audio-blind baseline: " + "; ".join(parts) + "."


def q3_table(table_id: str, title: str, comparison: pd.DataFrame, stats: pd.DataFrame | None,
             comparable: bool) -> dict:
    """Per split x decoder: this pipeline's row (shaded), for the test split the audio-blind baseline,
    then one row per published source; on real data each published number's position beside it."""
    scores = [s for s in rt.Q3_SCORES if s in set(comparison["score"])] or list(rt.Q3_SCORES)
    columns = ["split", "decoder", "source"]
    for s in scores:
        columns += [rt.Q3_LABELS[s]] + (["where it falls"] if comparable else [])
    rows, classes = [], []

    def blank():
        return [""] if comparable else []

    for (split, decoder), group in comparison.groupby(["split", "decoder"], sort=False):
        first = group.drop_duplicates("score").set_index("score")
        epoch = first["our_epoch"].dropna()
        label = split + (f" (ours: epoch {int(epoch.iloc[0])})" if len(epoch) and f"epoch {int(epoch.iloc[0])}"
                         not in split else "")
        ours = [DECODER.get(decoder, decoder)]
        row = [label, *ours, "this pipeline"]
        for s in scores:
            cell = "–"
            if s in first.index:
                r = first.loc[s]
                cell = rt.fmt_mean_ci({"n": r["ours_n"], "mean": r["ours_mean"], "ci95_low": r["ours_ci95_low"],
                                       "ci95_high": r["ours_ci95_high"]})
            row += [cell] + blank()
        rows.append(row)
        classes.append("ours")
        if stats is not None:
            blind = stats[(stats["decoder"] == decoder) & (stats["kind"] == "audio_blind")].set_index("score")
            row = [label, *ours, "audio-blind baseline"]
            for s in scores:
                row += [rt.fmt_mean_ci(blind.loc[s].to_dict()) if s in blind.index else "–"] + blank()
            rows.append(row)
            classes.append("blind")
        for source, pub in group.groupby("source", sort=False):
            pub = pub.set_index("score")
            row = [label, *ours, source]
            for s in scores:
                if s in pub.index:
                    row += [published_num(pub.loc[s, "published"])] + ([pub.loc[s, "position"]] if comparable else [])
                else:
                    row += ["–"] + (["–"] if comparable else [])
            rows.append(row)
            classes.append("published")
    note = ("Where it falls: inside our 95% confidence interval, or how many seed-to-seed standard deviations (σ) "
            "above or below our mean the published number lies." if comparable else
            "Synthetic data: the published numbers (full LJ Speech, 15 epochs, GPU) are listed for orientation "
            "only and are not compared (tables/q3_comparison.csv has every pair).")
    return table_block(Table(table_id, title, columns, rows, note=note, row_classes=classes))


def not_run_section(key: str) -> dict:
    return {"key": key, "title": QUESTION_TITLES[key], "ran": False, "synthetic": None, "blocks": [
        {"type": "warning", "text": f"{key.upper()} was not run: its rules are not part of this workflow run "
                                    "(switched off in the Snakefile or config), so there is nothing to report."}],
        "headline": "not run"}


# ---------------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------------


def figure(path: str, kind: str, caption_files: dict, title: str | None = None, with_caption: bool = True) -> Figure:
    caption = load_caption(caption_files, CAPTIONS.get(kind, kind)) if with_caption else ""
    stem = Path(path).stem
    return Figure(id=re.sub(r"[^A-Za-z0-9_-]", "-", stem), title=title or FIGURE_TITLES.get(stem, stem),
                  caption=caption, path=str(path))


def embed(fig: Figure, md_dir: Path) -> Figure:
    data = Path(fig.path).read_bytes()
    if not data.startswith(b"\x89PNG"):
        raise ValueError(f"{fig.path} is not a PNG file")
    fig.data_uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    fig.md_path = os.path.relpath(Path(fig.path).resolve(), md_dir.resolve())
    return fig


# ---------------------------------------------------------------------------------------------
# Provenance
# ---------------------------------------------------------------------------------------------


def provenance_section(inp: dict, tidy: dict, settings: dict) -> dict:
    config = settings["config"]
    git = git_info(settings["repo"])
    versions = package_versions()
    hardware = hardware_info()
    bench = rt.benchmarks_table(inp["benchmarks"])
    totals = rt.benchmarks_totals(bench)
    tidy.update(benchmarks=bench, benchmark_totals=totals)

    envs = []
    for p in inp.get("q2_results", []):
        envs.append(("q2", read_json(p).get("env", {})))
    for p in inp.get("q1_environment", []):
        envs.append(("q1", read_json(p)))
    q3_summary = [p for p in inp.get("q3_tables", []) if Path(p).stem == "summary"]
    if q3_summary:
        for r in pd.read_csv(q3_summary[0]).itertuples():
            envs.append(("q3", {"device": r.device, "torch_threads": r.threads}))
    job_envs = rt.job_environments(envs)

    dirty = {True: "yes (uncommitted changes: %s files)" % git.get("changed_files"), False: "no",
             None: "–"}[git.get("dirty")]
    threads = [(f"{q} threads per job (config)", config.get(q, {}).get("threads")) for q in ("q1", "q2", "q3")
               if q in config]
    prov = [
        ("git commit", git["commit"]), ("working tree dirty", dirty),
        ("config SHA-256 (resolved config, canonical JSON)", config_sha256(config)),
    ]
    for f in settings.get("configfiles", []):
        prov.append((f"config file {f}", f"sha256 {file_digest(f, 'sha256')}" if Path(f).is_file() else "not found"))
    prov += [("report built (UTC)", _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S"))]
    prov += [(f"{k}", v) for k, v in versions.items()]
    prov += [(k.replace("_", " "), v) for k, v in hardware.items()]
    prov += threads
    tidy["provenance"] = rt.kv_table(prov)

    total = totals[totals["question"] == "all"].iloc[0] if len(totals) else None
    brow = [[r.question, r.job, num(r.wall_s, 2), num(r.cpu_s, 2), num(r.max_rss_mb, 1), num(r.mean_load, 1)]
            for r in bench.itertuples()]
    trow = [[r.question, str(r.jobs), num(r.wall_s, 1), num(r.cpu_s, 1), num(r.max_rss_mb, 1)]
            for r in totals.itertuples()]
    blocks = [
        table_block(Table("prov-main", "Code, configuration, software, hardware", ["item", "value"], kv_rows(prov))),
    ]
    if len(job_envs):
        blocks.append(table_block(Table(
            "prov-jobs", "Environments the jobs recorded", list(job_envs.columns),
            [["–" if v in ("None", "nan") else str(v) for v in row] for row in job_envs.itertuples(index=False)])))
    blocks += [
        heading("Compute"),
        text("Per job, from Snakemake's benchmark files: wall-clock seconds, CPU seconds, peak resident memory "
             "(max RSS) and mean CPU load. " + (
                 f"Total: {int(total['jobs'])} jobs, {total['wall_s']:.1f} s wall time "
                 f"({total['wall_s'] / 3600:.2f} h summed over jobs, which may have run in parallel), "
                 f"{total['cpu_s']:.1f} s CPU time; largest peak memory {total['max_rss_mb']:.0f} MB."
                 if total is not None else "No benchmark files.")),
        table_block(Table("bench-totals", "Total compute per question", ["question", "jobs", "wall s", "CPU s",
                                                                         "largest max RSS MB"], trow)),
        table_block(Table("bench-jobs", "Every job", ["question", "job", "wall s", "CPU s", "max RSS MB",
                                                      "mean load %"], brow)),
        heading("Configuration as resolved"),
        {"type": "code", "text": yaml.safe_dump(config, sort_keys=False, default_flow_style=None, width=110)},
    ]
    commit = git["commit"]
    headline = (f"commit {commit[:12]}" if re.fullmatch(r"[0-9a-f]{40}", commit) else commit) + (
        " (dirty)" if git.get("dirty") else "")
    if total is not None:
        headline += f"; {int(total['jobs'])} jobs, {total['cpu_s']:.0f} CPU-seconds, {total['wall_s']:.0f} job-seconds"
    return {"key": "provenance", "title": "Provenance", "ran": True, "synthetic": None, "blocks": blocks,
            "headline": headline}


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------


def build(inp: dict, out: dict, settings: dict, log=print) -> dict:
    """``inp``: the rule's named inputs (lists of paths); ``out``: html, markdown, tables (list of
    CSV paths, named after the tables); ``settings``: config, questions, q2_figures, configfiles,
    repo. Returns the rendering context."""
    import jinja2

    refs = yaml.safe_load(Path(inp["references"][0]).read_text(encoding="utf-8"))
    caption_files = {Path(p).stem: p for p in inp.get("captions", [])}
    questions = settings.get("questions", {})
    tidy: dict[str, pd.DataFrame] = {}
    sections = []
    builders = {"q1": lambda: q1_section(inp, tidy, caption_files),
                "q2": lambda: q2_section(inp, tidy, refs, caption_files, settings),
                "q3": lambda: q3_section(inp, tidy, refs, caption_files, settings)}
    needed = {"q1": "q1_tables", "q2": "q2_tables", "q3": "q3_tables"}
    for key in ("q1", "q2", "q3"):
        ran = questions.get(key, False) and len(inp.get(needed[key], []))
        sections.append(builders[key]() if ran else not_run_section(key))
        log(f"{key}: {'reported' if ran else 'not run'}")
    provenance = provenance_section(inp, tidy, settings)
    setups = tidy.pop("_setup", [])
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
        banner = (("SYNTHETIC DATA: " if synthetic else "NOT THE CANONICAL DATA: ")
                  + "; ".join(f"{s['key'].upper()} ran on {s.get('data_label') or 'synthetic data'}"
                              for s in synthetic + not_canonical)
                  + ". Every number from these questions is NOT comparable to the published results; "
                    "they are listed beside them for orientation only.")
    n_figures = sum(len(b["items"]) for s in sections for b in s["blocks"] if b["type"] == "figures")
    context = {
        "title": TITLE,
        "banner": banner,
        "sections": sections,
        "provenance": provenance,
        "n_figures": n_figures,
        "generated": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
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
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(template_dir)), autoescape=jinja2.select_autoescape(
        enabled_extensions=("html.j2",), default_for_string=False), undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["rst_html"] = rst_inline_to_html
    env.filters["rst_md"] = rst_inline_to_md
    env.filters["md_cell"] = lambda s: str(s).replace("|", "\\|").replace("\n", " ")
    write_text(out["html"], env.get_template("report.html.j2").render(**context))
    write_text(out["markdown"], env.get_template("report.md.j2").render(**context))
    log(f"wrote {out['html']} ({n_figures} figures embedded), {out['markdown']}, {len(out['tables'])} tables")
    return context


def _empty_table_columns() -> dict:
    """Column names of each tidy table, for the header-only CSV of a question that did not run."""
    empty_runs = pd.DataFrame(columns=["pooling", "lr", "seed", "final_train_loss", "final_val_acc", "test_acc",
                                       "n_params"]).astype({"lr": float})
    empty_pub = pd.DataFrame(columns=["source", "lr", "pooling", "train_loss", "val_acc", "test_acc"]).astype({"lr": float})
    empty_q3 = pd.DataFrame(columns=["decoder", "seed"])
    return {
        "q1_verification": ["check", "construction", "n", "passed", "all_passed", "max_error", "max_error_in_eps",
                            "tolerance"],
        "q1_observations": ["check", "construction", "D", "K", "value", "expected"],
        "q1_complexity": ["claim", "method", "D", "quantity", "claimed", "measured", "detail"],
        "q1_crossover": ["method", "D", "M", "crossover_L_grid", "crossover_L_interp", "max_L", "speedup_at_max_L",
                         "memory_ratio_at_max_L"],
        "q2_config_stats": list(rt.q2_config_stats(empty_runs).columns),
        "q2_comparison": list(rt.q2_comparison(empty_runs, empty_pub.iloc[0:0], False).columns),
        "q2_pooling": list(rt.q2_pooling_effect(empty_runs, empty_pub, False).columns),
        "q2_best_lr": ["pooling", "best_lr", "val_acc_mean", "test_acc_mean", "seeds_picking_it", "n_seeds",
                       "published_best_lrs", "published_n_sources", "agrees_with_published", "comparable"],
        "q2_params": ["pooling", "n_params", "published", "matches"],
        "q3_stats": list(rt.q3_stats(empty_q3).columns),
        "q3_comparison": ["split", "decoder", "score", "source", "published", "our_epoch", "ours_n", "ours_mean",
                          "ours_sd", "ours_ci95_low", "ours_ci95_high", "sigma", "position", "comparable"],
        "benchmarks": ["question", "job", "wall_s", "cpu_s", "max_rss_mb", "mean_load", "repeats", "path"],
        "benchmark_totals": ["question", "jobs", "wall_s", "cpu_s", "max_rss_mb"],
        "provenance": ["key", "value"],
        "setup": ["section", "key", "value"],
    }
