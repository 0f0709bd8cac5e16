"""The report's Q2 section: setup, runs stuck at one class, best lr, the published numbers' spread
beside ours, pooling, parameters, per-class accuracy and figures (laid out from render.collect_q2's tables)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..labels import NOT_CANONICAL
from ..q2 import summary as q2s
from ..q2.summary import Q2_METRICS
from ..stats import fmt_mean_ci
from .blocks import (
    CAPTIONS,
    POOLING,
    QUESTION_TITLES,
    Table,
    figure,
    heading,
    kv_rows,
    load_caption,
    lr_text,
    num,
    table_block,
    text,
)


def spread_table(spread: pd.DataFrame, comparable: bool) -> dict:
    """One row per pooling x lr: per metric, ours (mean ± 95% CI) and the published groups' median
    [min–max] (n); on real data, where our mean falls in their range. Four decimals throughout."""
    metrics = [m for m in Q2_METRICS if m in set(spread["metric"])]
    short = {"test_acc": "test acc.", "val_acc": "val. acc.", "train_loss": "train loss"}
    columns = ["pooling", "lr"]
    for m in metrics:
        columns += [f"{short[m]}: ours", f"{short[m]}: published median [range] (n)"] + (
            [f"{short[m]}: ours is"] if comparable else []
        )
    rows = []
    keys = spread[["pooling", "lr"]].drop_duplicates().sort_values(["pooling", "lr"], ascending=[True, False])
    for pooling, lr in keys.itertuples(index=False):
        at = spread[(spread["pooling"] == pooling) & np.isclose(spread["lr"], lr)].set_index("metric")
        row = [POOLING.get(pooling, pooling), lr_text(lr)]
        for m in metrics:
            if m not in at.index:
                row += ["–", "–"] + (["–"] if comparable else [])
                continue
            r = at.loc[m]
            ours = (
                fmt_mean_ci(
                    {
                        "n": r["ours_n"],
                        "mean": r["ours_mean"],
                        "ci95_low": r["ours_ci95_low"],
                        "ci95_high": r["ours_ci95_high"],
                    }
                )
                if r["ours_n"]
                else "not run"
            )
            pub = (
                f"{r['published_median']:.4f} [{r['published_min']:.4f}–{r['published_max']:.4f}] "
                f"({int(r['published_n'])})"
                if r["published_n"]
                else "–"
            )
            row += [ours, pub] + ([r["where"]] if comparable else [])
        rows.append(row)
    note = (
        "Ours: mean ± 95% confidence interval over seeds (t distribution; one seed: the value). Published: "
        "the median of the groups' numbers, their range and how many groups. "
        + ("" if comparable else "Synthetic data: the published numbers are for orientation only. ")
        + "tables/q2_comparison.csv has every published number beside ours, one row each."
    )
    return table_block(Table("q2-comparison", "Published numbers against this pipeline's", columns, rows, note=note))


def diverged_runs_text(diverged: pd.DataFrame) -> dict | None:
    """A warning naming every run whose training loss became NaN/inf, and from which epoch."""
    if diverged is None or diverged.empty:
        return None
    parts = [
        f"lr {lr_text(r.lr)} {POOLING.get(r.pooling, r.pooling)} (seed {r.seed}) from epoch {r.diverged_at_epoch}"
        for r in diverged.itertuples()
    ]
    return {
        "type": "warning",
        "text": "Diverged (training loss NaN or infinite): " + "; ".join(parts) + ". Their accuracies are those "
        "of a network whose weights are no longer numbers, not a result of training at that learning rate.",
    }


def flat_runs_text(flat: pd.DataFrame) -> dict | None:
    """A warning naming every run whose validation accuracy never moved (one class predicted)."""
    if flat is None or flat.empty:
        return None
    parts = []
    for r in flat.itertuples():
        same = (
            f" = the share of {r.only_class} in the validation set: it predicts {r.only_class} for every "
            f"image{' (the majority class)' if r.only_class == r.majority_class else ''}"
            if r.only_class
            else ""
        )
        parts.append(
            f"lr {lr_text(r.lr)} {POOLING.get(r.pooling, r.pooling)} (seed {r.seed}): validation accuracy "
            f"{r.val_acc:.4f} at each of its {r.epochs} epochs{same}"
        )
    return {
        "type": "warning",
        "text": "Stuck, not learning: " + "; ".join(parts) + ". Its numbers measure the "
        "class balance, not the network.",
    }


def per_class_table(per_class: pd.DataFrame | None) -> dict | None:
    if per_class is None or per_class.empty:
        return None
    rows = [
        [
            POOLING.get(r.pooling, r.pooling),
            lr_text(r.lr),
            r[2],
            f"{r.n_images:,}",
            fmt_mean_ci(
                {
                    "n": r.n_seeds,
                    "mean": r.accuracy_mean,
                    "ci95_low": r.accuracy_ci95_low,
                    "ci95_high": r.accuracy_ci95_high,
                }
            ),
        ]
        for r in per_class.itertuples(index=False)
    ]
    return table_block(
        Table(
            "q2-per-class",
            "Test accuracy per class at the chosen learning rate",
            ["pooling", "lr", "class", "test images", "accuracy"],
            rows,
            row_classes=["bad" if r.never_right else "" for r in per_class.itertuples()],
            note="Mean ± 95% CI over seeds. A class no seed ever got right is marked.",
        )
    )


def q2_section(data: dict, figures: list[str], caption_files: dict, settings: dict) -> dict:
    """``data``: render.collect_q2's runs, tables and data metadata."""
    runs, meta, synthetic, comparable = data["runs"], data["meta"], data["synthetic"], data["comparable"]
    pooling = data["q2_pooling"]
    best_table, params = data["q2_best_lr"], data["q2_params"]
    cfg = settings["config"].get("q2", {})
    results = data["results"]

    splits = meta.get("splits", {})
    seeds = sorted(runs["seed"].unique())
    setup = [
        ("data", meta.get("label", meta.get("source", "–"))),
        (
            "synthetic",
            "YES — not comparable to published numbers"
            if synthetic
            else "no (real OCTMNIST)"
            if comparable
            else f"no — {NOT_CANONICAL}",
        ),
        (
            "images train / validation / test (file)",
            " / ".join(f"{splits.get(s, {}).get('n', 0):,}" for s in ("train", "val", "test")),
        ),
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
    diverged = diverged_runs_text(q2s.diverged_runs(runs))
    if diverged:
        blocks.append(diverged)
    stuck = flat_runs_text(data["q2_flat_runs"])
    if stuck:
        blocks.append(stuck)

    # best lr
    blocks += [heading("Best learning rate on validation")]
    best_rows = []
    for r in best_table.itertuples():
        agree = (
            "–"
            if not comparable
            else ("yes" if r.agrees_with_published is True else "no" if r.agrees_with_published is False else "–")
        )
        best_rows.append(
            [
                POOLING.get(r.pooling, r.pooling),
                lr_text(r.best_lr),
                num(r.val_acc_mean),
                num(r.test_acc_mean),
                f"{r.seeds_picking_it} of {r.n_seeds}",
                f"{r.published_best_lrs} ({r.published_n_sources} sources)",
                agree,
            ]
        )
    blocks.append(
        table_block(
            Table(
                "q2-best-lr",
                "Learning rate with the best final validation accuracy (mean over seeds)",
                [
                    "pooling",
                    "best lr",
                    "validation acc.",
                    "test acc.",
                    "seeds picking it alone",
                    "published picks",
                    "agrees",
                ],
                best_rows,
                note="" if comparable else "Synthetic data: the published picks are listed for reference only.",
            )
        )
    )

    # comparisons
    blocks.append(heading("Beside every published number"))
    blocks.append(spread_table(data["q2_published_spread"], comparable))

    # pooling
    prow = []
    for r in pooling.itertuples():
        pub = (
            "–"
            if r.published_n_sources == 0
            else f"{r.published_difference_mean:+.4f} ({r.published_n_sources} sources)"
        )
        ci = "–" if pd.isna(r.difference_ci95_low) else f"[{r.difference_ci95_low:+.4f}, {r.difference_ci95_high:+.4f}]"
        prow.append(
            [
                lr_text(r.lr),
                "test" if r.metric == "test_acc" else "validation",
                str(r.n_seeds),
                num(r.mean_with_pooling),
                num(r.mean_without_pooling),
                f"{r.difference:+.4f}",
                ci,
                num(r.seed_sd),
                r.verdict,
                pub,
            ]
        )
    blocks += [
        heading("Pooling vs no pooling"),
        text(
            "Accuracy with max-pooling minus without, paired by seed; the difference counts as larger than the "
            "seed-to-seed spread when the 95% confidence interval of the paired differences excludes zero. "
            "The published column is the mean of the same difference over the sources that report both variants."
            + ("" if comparable else " (Synthetic data: not comparable.)")
        ),
        table_block(
            Table(
                "q2-pooling",
                "Max-pooling minus no pooling",
                [
                    "lr",
                    "accuracy",
                    "seeds",
                    "with pooling",
                    "without",
                    "difference",
                    "95% CI",
                    "seed sd",
                    "verdict",
                    "published difference",
                ],
                prow,
            )
        ),
    ]

    # parameters
    blocks += [
        heading("Parameter count"),
        table_block(
            Table(
                "q2-params",
                "Trainable parameters (independent of the data)",
                ["pooling", "this pipeline", "published", "matches"],
                [
                    [POOLING.get(r.pooling, r.pooling), num(r.n_params), num(r.published), "yes" if r.matches else "NO"]
                    for r in params.itertuples()
                ],
                row_classes=["" if r.matches else "bad" for r in params.itertuples()],
            )
        ),
    ]

    # figures: the grid as a whole first, then the homework's per-configuration plots
    by_stem = {Path(p).stem: p for p in figures}
    blocks += [heading("Figures")]
    overview = (
        [figure(by_stem["test_accuracy_overview"], "test_accuracy_overview", caption_files)]
        if "test_accuracy_overview" in by_stem
        else []
    )
    overview += [
        figure(by_stem[stem], stem, caption_files)
        for stem in ("published_spread", "lr_overlay_max", "lr_overlay_none")
        if stem in by_stem
    ]
    if overview:
        blocks.append({"type": "figures", "items": overview})
    blocks += [
        b
        for b in (heading("Per class, on the imbalanced test set"), per_class_table(data["q2_per_class"]))
        if b and data["q2_per_class"] is not None
    ]
    classes = [
        figure(by_stem[stem], stem, caption_files)
        for stem in ("per_class_accuracy", "confusion_matrix")
        if stem in by_stem
    ]
    if classes:
        blocks.append({"type": "figures", "items": classes})
    for kind, title in (("training-loss", "Training loss"), ("validation-accuracy", "Validation accuracy")):
        items = []
        for f in sorted(
            (f for f in settings.get("q2_figures", []) if f["kind"] == kind),
            key=lambda f: (-float(f["lr"]), f["pooling"]),
        ):
            items.append(
                figure(
                    f["path"], kind, caption_files, title=f"lr {f['lr']}, {POOLING[f['pooling']]}", with_caption=False
                )
            )
        if items:
            blocks.append(
                {
                    "type": "figures",
                    "title": f"{title} per configuration (the homework's figures)",
                    "caption": load_caption(caption_files, CAPTIONS[kind]),
                    "items": items,
                    "small": True,
                }
            )

    best_max = best_table[best_table["pooling"] == "max"]
    headline = (
        f"{len(runs)} runs; best lr on validation: "
        + ", ".join(f"{lr_text(r.best_lr)} ({POOLING[r.pooling]})" for r in best_table.itertuples())
        + f"; parameters {'match' if params['matches'].all() else 'DO NOT match'} the published "
        f"{num(data['published_n_params'])}"
    )
    if len(best_max):
        headline += f"; test accuracy at the chosen lr with max-pooling {num(best_max['test_acc_mean'].iloc[0])}"
    return {
        "key": "q2",
        "title": QUESTION_TITLES["q2"],
        "ran": True,
        "synthetic": synthetic,
        "blocks": blocks,
        "setup": setup,
        "headline": headline,
        "data_label": meta.get("label", ""),
        "comparable": comparable,
    }
