"""Q3 figures: the homework's per-run plots under their original names, training vs validation loss,
validation similarities per epoch, and the test table, with the published numbers marked."""

from __future__ import annotations

import pandas as pd
from matplotlib.ticker import MaxNLocator

from .. import plotting
from ..labels import DECODER as DECODER_LABEL
from .summary import ORIGINAL_PLOTS, SCORES, SIMILARITIES


def _integer_epochs(ax) -> None:
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def original_run_plots(run: pd.DataFrame, note: str | None = None) -> dict:
    """The homework's per-run plots, keyed by their original names (one run's epoch rows)."""
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
        plotting.mark_data(fig, note)
        figures[name] = fig
    return figures


def loss_figure(epochs: pd.DataFrame, refs: dict, note: str | None = None):
    """Training vs validation loss per decoder (one panel each; one colour per seed).

    Crosses: the published validation losses at epochs 1 and 15.
    """
    decoders = [d for d in ("lstm", "transformer") if d in set(epochs["decoder"])]
    fig, axes = plotting.new_figure(
        width=4.6 * len(decoders), height=3.8, ncols=len(decoders), sharey=True, squeeze=False
    )
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
    plotting.mark_data(fig, note)
    return fig


def similarity_figure(epochs: pd.DataFrame, refs: dict, note: str | None = None):
    """The three validation similarities per epoch (one panel each; one line per run)."""
    titles = {"jaccard": "Jaccard", "cosine": "cosine", "damerau_levenshtein": "Damerau–Levenshtein"}
    fig, axes = plotting.new_figure(width=13.5, height=3.8, ncols=3, sharey=True)
    runs = list(epochs.groupby(["decoder", "seed"], sort=False))
    val15 = {r["decoder"]: r for r in refs.get("q3_validation_epoch15", [])}
    # each published marker in its decoder's colour and shape, named in the legend and beside it
    colour = {}
    for i, ((decoder, _), _) in enumerate(runs):
        colour.setdefault(decoder, f"C{i}")
    shape = {"lstm": "X", "transformer": "P"}
    for ax, k in zip(axes, SIMILARITIES):
        for i, ((decoder, seed), run) in enumerate(runs):
            ax.plot(
                run["epoch"],
                run[f"val_{k}"],
                color=f"C{i}",
                label=f"{DECODER_LABEL.get(decoder, decoder)} (seed {seed})",
            )
        for decoder in (d for d in val15 if d in set(epochs["decoder"])):
            name = DECODER_LABEL.get(decoder, decoder)
            ax.scatter(
                [15],
                [val15[decoder][k]],
                marker=shape.get(decoder, "x"),
                s=60,
                color=colour[decoder],
                edgecolor="black",
                zorder=3,
                label=f"published {name}, epoch 15",
            )
            ax.annotate(
                name,
                (15, val15[decoder][k]),
                xytext=(-6, 0),
                textcoords="offset points",
                ha="right",
                va="center",
                fontsize=7,
            )
        ax.set_title(f"validation {titles[k]} similarity")
        ax.set_xlabel("Epoch")
        _integer_epochs(ax)
        ax.set_ylim(0, 1)
    axes[0].set_ylabel("Similarity (mean per clip)")
    axes[-1].legend(fontsize=7)
    plotting.mark_data(fig, note)
    return fig


def results_table_figure(table: pd.DataFrame, note: str | None = None):
    """The test table (audio-blind rows shaded) beside the published numbers, as a figure."""

    def cell(row, k):
        value, sd = row[k], row[f"{k}_sd"]
        if pd.isna(value):
            return "–"
        return f"{value:.4f}" + ("" if pd.isna(sd) else f" ± {sd:.4f}")

    body = [
        [DECODER_LABEL.get(r["decoder"], r["decoder"]), r["source"], *(cell(r, k) for k in SCORES)]
        for _, r in table.iterrows()
    ]
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
    plotting.mark_data(fig, note)
    return fig
