"""The report's Q3 section: setup, the test table with its audio-blind baseline, validation at the
published epochs, figures (laid out from render.collect_q3's tables)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..labels import NOT_CANONICAL
from ..q3.summary import Q3_LABELS, Q3_SCORES
from ..stats import describe, fmt_mean_ci
from .blocks import DECODER, QUESTION_TITLES, Table, figure, heading, kv_rows, num, table_block, text


def q3_section(data: dict, figures: list[str], caption_files: dict, settings: dict) -> dict:
    """``data``: render.collect_q3's runs, tables and data metadata."""
    summary, meta, synthetic, comparable = data["summary"], data["meta"], data["synthetic"], data["comparable"]
    stats, comparison = data["q3_stats"], data["q3_comparison"]
    cfg = settings["config"].get("q3", {})

    splits = meta.get("splits", {})
    seconds = meta.get("seconds", {})
    setup = [
        ("data", meta.get("label", meta.get("source", "–"))),
        (
            "synthetic",
            "YES — not comparable to published numbers"
            if synthetic
            else "no (real LJ Speech)"
            if comparable
            else f"no — {NOT_CANONICAL}",
        ),
        (
            "clips (train / validation / test)",
            f"{meta.get('rows', 0):,} ("
            + " / ".join(f"{b - a:,}" for a, b in (splits.get(s, (0, 0)) for s in ("train", "val", "test")))
            + ")",
        ),
        (
            "audio",
            f"{seconds.get('total', 0) / 3600:.2f} h, {seconds.get('mean', 0):.1f} s per clip on average"
            if seconds
            else "–",
        ),
        ("decoders", ", ".join(DECODER.get(d, d) for d in sorted(summary["decoder"].unique()))),
        (
            "seeds",
            f"{', '.join(str(s) for s in sorted(summary['seed'].unique()))} "
            f"({summary.groupby('decoder')['seed'].nunique().min()} per decoder)",
        ),
        ("epochs", ", ".join(str(int(x)) for x in sorted(summary["epochs"].dropna().unique()))),
        ("test clips scored", ", ".join(f"{int(x):,}" for x in sorted(summary["n_test"].dropna().unique()))),
        ("feature frames per clip", ", ".join(str(int(x)) for x in sorted(summary["n_frames"].dropna().unique()))),
        (
            "parameters",
            "; ".join(
                f"{DECODER.get(d, d)} {int(g['n_params'].iloc[0]):,}"
                for d, g in summary.groupby("decoder")
                if g["n_params"].notna().any()
            ),
        ),
        ("batch size / lr", f"{cfg['batch_size']} / {cfg['lr']}"),
        ("device(s)", ", ".join(sorted({str(d) for d in summary["device"]}))),
        ("torch threads per job", ", ".join(str(t) for t in sorted(summary["threads"].dropna().unique()))),
        ("wall time per run (mean)", f"{summary['wall_time_s'].mean():.1f} s over {len(summary)} runs"),
    ]
    blocks = [table_block(Table("q3-setup", "Setup", ["setting", "value"], kv_rows(setup)))]

    blocks += [
        heading("Test set"),
        text(
            "This pipeline: mean ± 95% confidence interval over seeds (t distribution; one seed: the value). "
            "The audio-blind baseline scores the same trained model on test clips whose audio is swapped for "
            "another clip's: when the two are close, the model has learnt the language of the transcripts "
            "rather than to listen."
        ),
        q3_table(
            "q3-test",
            "Test loss and similarities: this pipeline (shaded), its audio-blind baseline, published",
            comparison[comparison["split"] == "test"],
            stats,
            comparable,
        ),
        text(audio_gain_text(summary)),
        heading("Validation and training curves at the published epochs"),
        q3_table(
            "q3-epochs",
            "Validation at epochs 15 and 1, last logged training loss at epoch 15",
            comparison[comparison["split"] != "test"],
            None,
            comparable,
        ),
    ]
    samples = data["q3_samples"]
    if len(samples):
        blocks += [
            heading("Sample transcriptions"),
            table_block(
                Table(
                    "q3-samples",
                    "Test clips: the best, the worst and three drawn at random per run",
                    ["decoder", "seed", "clip", "target", "prediction", "DL", "audio-blind prediction", "DL (blind)"],
                    [
                        [
                            DECODER.get(r.decoder, r.decoder),
                            str(r.seed),
                            f"{r.kind} ({r.id})",
                            r.target,
                            r.prediction,
                            f"{r.damerau_levenshtein:.4f}",
                            r.audio_blind or "–",
                            num(r.audio_blind_damerau_levenshtein),
                        ]
                        for r in samples.itertuples()
                    ],
                    note="DL: Damerau–Levenshtein similarity to the target (1 = identical). “@” is the padding token: "
                    "a prediction of only “@” means the decoder has not learnt to stop padding. The audio-blind "
                    "prediction is the same model given another clip's audio.",
                )
            ),
        ]
    blocks += [
        heading("Figures"),
        {"type": "figures", "items": [figure(p, Path(p).stem, caption_files) for p in figures]},
    ]

    test_means = stats[(stats["kind"] == "test") & (stats["score"] == "damerau_levenshtein")]
    headline = f"{len(summary)} runs; test Damerau–Levenshtein " + ", ".join(
        f"{DECODER.get(r.decoder, r.decoder)} {num(r.mean)}" for r in test_means.itertuples()
    )
    return {
        "key": "q3",
        "title": QUESTION_TITLES["q3"],
        "ran": True,
        "synthetic": synthetic,
        "blocks": blocks,
        "setup": setup,
        "headline": headline,
        "data_label": meta.get("label", ""),
        "comparable": comparable,
    }


def audio_gain_text(summary: pd.DataFrame) -> str:
    """What the audio adds: real minus audio-blind Damerau–Levenshtein similarity, per decoder."""
    parts = []
    for decoder, group in summary.groupby("decoder", sort=True):
        gain = describe(
            pd.to_numeric(group["test_damerau_levenshtein"], errors="coerce")
            - pd.to_numeric(group["audio_blind_damerau_levenshtein"], errors="coerce")
        )
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


def q3_table(table_id: str, title: str, comparison: pd.DataFrame, stats: pd.DataFrame | None, comparable: bool) -> dict:
    """Per split x decoder: this pipeline's row (shaded), for the test split the audio-blind baseline,
    then one row per published source; on real data each published number's position beside it."""
    scores = [s for s in Q3_SCORES if s in set(comparison["score"])] or list(Q3_SCORES)
    columns = ["split", "decoder", "source"]
    for s in scores:
        columns += [Q3_LABELS[s]] + (["where it falls"] if comparable else [])
    rows, classes = [], []

    def blank():
        return [""] if comparable else []

    for (split, decoder), group in comparison.groupby(["split", "decoder"], sort=False):
        first = group.drop_duplicates("score").set_index("score")
        epoch = first["our_epoch"].dropna()
        label = split + (
            f" (ours: epoch {int(epoch.iloc[0])})" if len(epoch) and f"epoch {int(epoch.iloc[0])}" not in split else ""
        )
        ours = [DECODER.get(decoder, decoder)]
        row = [label, *ours, "this pipeline"]
        for s in scores:
            cell = "–"
            if s in first.index:
                r = first.loc[s]
                cell = fmt_mean_ci(
                    {
                        "n": r["ours_n"],
                        "mean": r["ours_mean"],
                        "ci95_low": r["ours_ci95_low"],
                        "ci95_high": r["ours_ci95_high"],
                    }
                )
            row += [cell] + blank()
        rows.append(row)
        classes.append("ours")
        if stats is not None:
            blind = stats[(stats["decoder"] == decoder) & (stats["kind"] == "audio_blind")].set_index("score")
            row = [label, *ours, "audio-blind baseline"]
            for s in scores:
                row += [fmt_mean_ci(blind.loc[s].to_dict()) if s in blind.index else "–"] + blank()
            rows.append(row)
            classes.append("blind")
        for source, pub in group.groupby("source", sort=False):
            pub = pub.set_index("score")
            row = [label, *ours, source]
            for s in scores:
                if s in pub.index:
                    row += [num(pub.loc[s, "published"])] + ([pub.loc[s, "position"]] if comparable else [])
                else:
                    row += ["–"] + (["–"] if comparable else [])
            rows.append(row)
            classes.append("published")
    note = (
        "Where it falls: inside our 95% confidence interval, or how many seed-to-seed standard deviations (σ) "
        "above or below our mean the published number lies."
        if comparable
        else "Synthetic data: the published numbers (full LJ Speech, 15 epochs, GPU) are listed for orientation "
        "only and are not compared (tables/q3_comparison.csv has every pair)."
    )
    return table_block(Table(table_id, title, columns, rows, note=note, row_classes=classes))
