"""The project's one plotting style, and the figures built on it.

Every figure goes through ``new_figure`` / ``save``: same theme and fonts, PDF (the homework's
format) plus PNG (for the reports), and a visible SYNTHETIC banner when the data is not real.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # headless: jobs run on servers and cluster nodes

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from .io import savefig  # noqa: E402

SYNTHETIC_NOTE = "SYNTHETIC DATA: not comparable to published numbers"
POOLING_LABELS = {"max": "with max-pooling", "none": "without max-pooling"}


def apply_style() -> None:
    sns.set_theme(context="paper", style="whitegrid", palette="colorblind", font_scale=1.1)
    plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 150, "savefig.bbox": "tight",
                         "pdf.fonttype": 42})  # embed TrueType: text stays selectable in PDFs


def new_figure(width: float = 5.5, height: float = 3.8, ncols: int = 1, **kwargs):
    apply_style()
    return plt.subplots(1, ncols, figsize=(width, height), **kwargs)


def mark_synthetic(fig, synthetic: bool) -> None:
    if synthetic:
        fig.text(0.5, 1.0, SYNTHETIC_NOTE, ha="center", va="bottom", fontsize=9, color="firebrick",
                 weight="bold")


def save(fig, *paths) -> None:
    for path in paths:
        savefig(fig, path)
    plt.close(fig)


def epoch_curves(ax, epochs: pd.DataFrame, column: str, ylabel: str) -> None:
    """One thin line per seed and, with several seeds, their mean in bold."""
    seeds = sorted(epochs["seed"].unique())
    for seed in seeds:
        run = epochs[epochs["seed"] == seed]
        ax.plot(run["epoch"], run[column], lw=1 if len(seeds) > 1 else 2, alpha=0.5 if len(seeds) > 1 else 1,
                label=f"seed {seed}")
    if len(seeds) > 1:
        mean = epochs.groupby("epoch")[column].mean()
        ax.plot(mean.index, mean.values, lw=2.5, color="black", label="mean")
    ax.set_xlabel("Epoch")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)


def q2_overview(runs: pd.DataFrame, refs: pd.DataFrame, synthetic: bool):
    """Test accuracy per lr x pooling: our runs (dots, one per seed, and mean) beside published numbers."""
    poolings = [p for p in ("max", "none") if p in set(runs["pooling"])]
    fig, axes = new_figure(width=4.2 * len(poolings), height=3.8, ncols=len(poolings), sharey=True,
                           squeeze=False)
    order = sorted(runs["lr"].unique(), reverse=True)
    for ax, pooling in zip(axes[0], poolings):
        ours = runs[runs["pooling"] == pooling].assign(who="this pipeline")
        theirs = refs[(refs["pooling"] == pooling) & refs["lr"].isin(order)].dropna(subset=["test_acc"])
        theirs = theirs.assign(who="published")
        both = pd.concat([ours[["lr", "test_acc", "who"]], theirs[["lr", "test_acc", "who"]]])
        sns.stripplot(data=both, x="lr", y="test_acc", hue="who", order=order, dodge=True, jitter=0.08,
                      hue_order=["this pipeline", "published"], ax=ax, size=6, alpha=0.8)
        sns.pointplot(data=both, x="lr", y="test_acc", hue="who", order=order, dodge=0.4,
                      hue_order=["this pipeline", "published"], ax=ax, errorbar=None, markers="_",
                      linestyles="none", palette=["black", "black"], legend=False)
        ax.set_title(POOLING_LABELS[pooling])
        ax.set_xlabel("learning rate")
        ax.set_ylabel("test accuracy (529-image subset)")
        handles, labels = ax.get_legend_handles_labels()
        ax.get_legend().remove()
    # One legend under the panels: inside, it would hide points at low accuracy.
    fig.legend(handles[:2], labels[:2], loc="upper center", bbox_to_anchor=(0.5, 0.0), ncols=2, fontsize=9)
    mark_synthetic(fig, synthetic)
    return fig
