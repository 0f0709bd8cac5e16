"""Q3 summaries and figures: per-run tables, the published numbers, the original plot names.

The published numbers come from ``config/references.yaml`` (independent reproductions of the same
homework, seed 42, full LJ Speech on a GPU; see ``hw2repro.references``). Every table shows the audio-blind baseline
beside the real scores: when the two are close, the model is not using the audio.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

SIMILARITIES = ("jaccard", "cosine", "damerau_levenshtein")
SCORES = ("loss", *SIMILARITIES)
DECODER_LABEL = {"lstm": "LSTM", "transformer": "Transformer"}

# The homework's plot names (per run) and the column(s) each one draws.
ORIGINAL_PLOTS = {
    "loss__train": [("train_loss", "train")],
    "loss__val": [("val_loss", "validation")],
    "loss__train_val": [("train_loss", "train"), ("val_loss", "validation")],
    "jaccard_similarity__val": [("val_jaccard", None)],
    "cosine_similarity__val": [("val_cosine", None)],
    "damerau-levenshtein_similarity__val": [("val_damerau_levenshtein", None)],
}


# --- aggregation --------------------------------------------------------------------------------


def aggregate(runs: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``runs``: dicts with decoder, seed, test (test.json path), metrics (metrics.csv path).

    Returns (summary: one row per run, real and audio-blind scores; epochs: all per-epoch rows).
    """
    summary_rows, epoch_frames = [], []
    for run in runs:
        test = json.loads(Path(run["test"]).read_text())
        row = {"decoder": run["decoder"], "seed": int(run["seed"])}
        for k in SCORES:
            row[f"test_{k}"] = test.get(f"test_{k}")
        for k in SCORES:
            row[f"audio_blind_{k}"] = test.get(f"audio_blind_{k}")
        for k in SIMILARITIES:  # how much the audio adds
            real, blind = row[f"test_{k}"], row[f"audio_blind_{k}"]
            row[f"audio_gain_{k}"] = None if blind is None else real - blind
        row.update(
            {
                "n_test": test.get("n_test"),
                "epochs": test.get("epochs"),
                "n_params": test.get("n_params"),
                "n_frames": test.get("n_frames"),
                "synthetic": (test.get("data", {}).get("test", {}) or {}).get("synthetic"),
                "data_source": (test.get("data", {}).get("test", {}) or {}).get("source"),
                "wall_time_s": test.get("wall_time_s"),
                "device": test.get("device"),
                "threads": test.get("threads"),
            }
        )
        summary_rows.append(row)
        frame = pd.read_csv(run["metrics"])
        frame.insert(0, "seed", int(run["seed"]))
        frame.insert(0, "decoder", run["decoder"])
        epoch_frames.append(frame)
    summary = pd.DataFrame(summary_rows)
    epochs = pd.concat(epoch_frames, ignore_index=True) if epoch_frames else pd.DataFrame()
    return summary, epochs


# --- figures ------------------------------------------------------------------------------------


def _integer_epochs(ax) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def original_run_plots(run: pd.DataFrame, synthetic: bool = False) -> dict:
    """The homework's per-run plots, keyed by their original names (one run's epoch rows)."""
    from . import plotting

    figures = {}
    for name, series in ORIGINAL_PLOTS.items():
        fig, ax = plotting.new_figure()
        for column, label in series:
            ax.plot(run["epoch"], run[column], label=label, marker="o", ms=3)
        ax.set_xlabel("Epoch")
        _integer_epochs(ax)
        ax.set_ylabel(name.split("__")[0].replace("_", " ").replace("-", "–").capitalize())
        if any(label for _, label in series):
            ax.legend(fontsize=8)
        plotting.mark_synthetic(fig, synthetic)
        figures[name] = fig
    return figures


def loss_figure(epochs: pd.DataFrame, refs: dict, synthetic: bool = False):
    """Training vs validation loss per decoder (one panel each; one colour per seed).

    Crosses: the published validation losses at epochs 1 and 15.
    """
    from . import plotting

    decoders = [d for d in ("lstm", "transformer") if d in set(epochs["decoder"])]
    fig, axes = plotting.new_figure(width=4.6 * len(decoders), height=3.8, ncols=len(decoders),
                                    sharey=True, squeeze=False)
    val15 = {r["decoder"]: r["loss"] for r in refs.get("q3_validation_epoch15", [])}
    val1 = refs.get("q3_other", {}).get("val_loss_epoch1", {})
    for ax, decoder in zip(axes[0], decoders):
        sub = epochs[epochs["decoder"] == decoder]
        for i, (seed, run) in enumerate(sub.groupby("seed")):
            colour = f"C{i}"
            ax.plot(run["epoch"], run["train_loss"], "--", color=colour, label=f"train (seed {seed})")
            ax.plot(run["epoch"], run["val_loss"], "-", color=colour, label=f"validation (seed {seed})")
        pub = [(e, v) for e, v in ((1, val1.get(decoder)), (15, val15.get(decoder))) if v is not None]
        if pub:
            ax.scatter(*zip(*pub), marker="x", color="black", zorder=3, label="published validation")
        ax.set_title(DECODER_LABEL.get(decoder, decoder))
        ax.set_xlabel("Epoch")
        _integer_epochs(ax)
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel("Loss (cross-entropy, label smoothing 0.1)")
    plotting.mark_synthetic(fig, synthetic)
    return fig


def similarity_figure(epochs: pd.DataFrame, refs: dict, synthetic: bool = False):
    """The three validation similarities per epoch (one panel each; one line per run)."""
    from . import plotting

    titles = {"jaccard": "Jaccard", "cosine": "cosine", "damerau_levenshtein": "Damerau–Levenshtein"}
    fig, axes = plotting.new_figure(width=13.5, height=3.8, ncols=3, sharey=True)
    runs = list(epochs.groupby(["decoder", "seed"], sort=False))
    val15 = {r["decoder"]: r for r in refs.get("q3_validation_epoch15", [])}
    for ax, k in zip(axes, SIMILARITIES):
        for i, ((decoder, seed), run) in enumerate(runs):
            ax.plot(run["epoch"], run[f"val_{k}"], color=f"C{i}",
                    label=f"{DECODER_LABEL.get(decoder, decoder)} (seed {seed})")
        for j, decoder in enumerate(d for d in val15 if d in set(epochs["decoder"])):
            ax.scatter([15], [val15[decoder][k]], marker="x", color="black", zorder=3,
                       label="published, epoch 15" if j == 0 else None)
        ax.set_title(f"validation {titles[k]} similarity")
        ax.set_xlabel("Epoch")
        _integer_epochs(ax)
        ax.set_ylim(0, 1)
    axes[0].set_ylabel("Similarity (mean per clip)")
    axes[-1].legend(fontsize=7)
    plotting.mark_synthetic(fig, synthetic)
    return fig


def results_table(summary: pd.DataFrame, published: pd.DataFrame) -> pd.DataFrame:
    """This reproduction (mean ± sd over seeds), its audio-blind baseline, the published rows."""
    rows = []
    for decoder in ("lstm", "transformer"):
        group = summary[summary["decoder"] == decoder]
        n = len(group)
        if n:
            for kind, prefix in (("this pipeline", "test_"), ("audio-blind baseline", "audio_blind_")):
                row = {"decoder": decoder, "source": f"{kind} ({n} seed{'s' if n > 1 else ''})"}
                for k in SCORES:
                    values = pd.to_numeric(group[f"{prefix}{k}"], errors="coerce")
                    row[k] = values.mean()
                    row[f"{k}_sd"] = values.std(ddof=1) if n > 1 else np.nan
                rows.append(row)
        for _, pub in published[published["decoder"] == decoder].iterrows():
            rows.append({"decoder": decoder, "source": pub["source"],
                         **{k: pub[k] for k in SCORES}, **{f"{k}_sd": np.nan for k in SCORES}})
    columns = ["decoder", "source", *SCORES, *(f"{k}_sd" for k in SCORES)]
    return pd.DataFrame(rows, columns=columns)


def results_table_figure(table: pd.DataFrame, synthetic: bool = False):
    """The test table (audio-blind rows shaded) beside the published numbers, as a figure."""
    from . import plotting

    def cell(row, k):
        value, sd = row[k], row[f"{k}_sd"]
        if pd.isna(value):
            return "–"
        return f"{value:.4f}" + ("" if pd.isna(sd) else f" ± {sd:.4f}")

    body = [[DECODER_LABEL.get(r["decoder"], r["decoder"]), r["source"], *(cell(r, k) for k in SCORES)]
            for _, r in table.iterrows()]
    header = ["decoder", "source", "loss", "Jaccard", "cosine", "Damerau–Levenshtein"]
    fig, ax = plotting.new_figure(width=11, height=0.3 * (len(body) + 1))
    ax.axis("off")
    tab = ax.table(cellText=body, colLabels=header, cellLoc="left", bbox=[0, 0, 1, 1])
    tab.auto_set_font_size(False)
    tab.set_fontsize(8)
    tab.auto_set_column_width(list(range(len(header))))
    for (r, _), c in tab.get_celld().items():
        if r == 0:
            c.set_text_props(weight="bold")
        elif "audio-blind" in body[r - 1][1]:
            c.set_facecolor("#eeeeee")
        elif "this pipeline" in body[r - 1][1]:
            c.set_facecolor("#ddeeff")
    ax.set_title("Q3 test set: this pipeline, its audio-blind baseline, published numbers", fontsize=10)
    plotting.mark_synthetic(fig, synthetic)
    return fig
