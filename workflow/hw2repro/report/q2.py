"""The report's Q2 section: setup, best lr, every published number beside ours, pooling, parameters
and figures (laid out from render.collect_q2's tables)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..q2.summary import Q2_METRICS
from ..stats import fmt_mean_ci
from .blocks import (CAPTIONS, POOLING, QUESTION_TITLES, Table, figure, heading, kv_rows, load_caption, lr_text, num,
                     published_num, table_block, text)


def comparison_table(stats: pd.DataFrame, comparison: pd.DataFrame, comparable: bool) -> dict:
    """One row per pooling x lr for this pipeline (mean ± 95% CI), then one row per published source
    with its numbers and, on real data, where each falls in our seed distribution."""
    metrics = list(Q2_METRICS)
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
            row += [fmt_mean_ci(ours.loc[m].to_dict()) if m in ours.index else "not run"] + (
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


def q2_section(data: dict, figures: list[str], caption_files: dict, settings: dict) -> dict:
    """``data``: render.collect_q2's runs, tables and data metadata."""
    runs, meta, synthetic, comparable = data["runs"], data["meta"], data["synthetic"], data["comparable"]
    stats, comparison, pooling = data["q2_config_stats"], data["q2_comparison"], data["q2_pooling"]
    best_table, params = data["q2_best_lr"], data["q2_params"]
    cfg = settings["config"].get("q2", {})
    results = data["results"]

    splits = meta.get("splits", {})
    seeds = sorted(runs["seed"].unique())
    setup = [
        ("data", meta.get("label", meta.get("source", "–"))),
        ("synthetic", "YES — not comparable to published numbers" if synthetic else "no (real OCTMNIST)"),
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
    overview = [p for p in figures if Path(p).stem == "test_accuracy_overview"]
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
                  f"{num(data['published_n_params'])}")
    if len(best_max):
        headline += f"; test accuracy at the chosen lr with max-pooling {num(best_max['test_acc_mean'].iloc[0])}"
    return {"key": "q2", "title": QUESTION_TITLES["q2"], "ran": True, "synthetic": synthetic, "blocks": blocks,
            "setup": setup, "headline": headline, "data_label": meta.get("label", "")}
