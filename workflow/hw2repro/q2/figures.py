"""Q2 figures: the homework's two per-configuration plots, and beyond them test accuracy of every run
beside the published numbers, every learning rate overlaid per pooling, per-class accuracy and
confusion matrices on the (imbalanced) test set."""

from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import MaxNLocator

from .. import plotting
from ..labels import POOLING

# The homework's per-configuration figures: (column of epochs.csv, y label), in output order.
CONFIG_FIGURES = (("train_loss", "Training loss (running mean)"), ("val_acc", "Validation accuracy"))


def config_figure(epochs: pd.DataFrame, pooling: str, lr: float, column: str, ylabel: str, note: str | None):
    """One of the homework's figures for one lr x pooling configuration: ``column`` per epoch."""
    run = epochs[(epochs["pooling"] == pooling) & (epochs["lr"] == lr)]
    if run.empty:
        raise ValueError(f"no epochs for pooling={pooling} lr={lr}")
    fig, ax = plotting.new_figure()
    plotting.epoch_curves(ax, run, column, ylabel)
    diverged = diverged_note(run)
    if diverged:
        ax.text(0.5, 0.5, diverged, transform=ax.transAxes, ha="center", va="center", color="red")
    ax.set_title(f"lr={lr:g}, {POOLING[pooling]}")
    plotting.mark_data(fig, note)
    return fig


def q2_overview(runs: pd.DataFrame, refs: pd.DataFrame, note: str | None):
    """Test accuracy per lr x pooling: our runs (dots, one per seed, and mean) beside published numbers."""
    poolings = [p for p in ("max", "none") if p in set(runs["pooling"])]
    fig, axes = plotting.new_figure(
        width=4.2 * len(poolings), height=3.8, ncols=len(poolings), sharey=True, squeeze=False
    )
    order = sorted(runs["lr"].unique(), reverse=True)
    for ax, pooling in zip(axes[0], poolings):
        ours = runs[runs["pooling"] == pooling].assign(who="this pipeline")
        theirs = refs[(refs["pooling"] == pooling) & refs["lr"].isin(order)].dropna(subset=["test_acc"])
        theirs = theirs.assign(who="published")
        both = pd.concat([ours[["lr", "test_acc", "who"]], theirs[["lr", "test_acc", "who"]]])
        with plotting.seeded_numpy(0):  # the same jitter every run: byte-identical figures
            sns.stripplot(
                data=both,
                x="lr",
                y="test_acc",
                hue="who",
                order=order,
                dodge=True,
                jitter=0.08,
                hue_order=["this pipeline", "published"],
                ax=ax,
                size=6,
                alpha=0.8,
            )
        sns.pointplot(
            data=both,
            x="lr",
            y="test_acc",
            hue="who",
            order=order,
            dodge=0.4,
            hue_order=["this pipeline", "published"],
            ax=ax,
            errorbar=None,
            markers="_",
            linestyles="none",
            palette=["black", "black"],
            legend=False,
        )
        ax.set_title(POOLING[pooling])
        ax.set_xlabel("learning rate")
        ax.set_ylabel("test accuracy (529-image subset)")
        handles, labels = ax.get_legend_handles_labels()
        ax.get_legend().remove()
    # One legend under the panels: inside, it would hide points at low accuracy.
    fig.legend(handles[:2], labels[:2], loc="upper center", bbox_to_anchor=(0.5, 0.0), ncols=2, fontsize=9)
    plotting.mark_data(fig, note)
    return fig


def diverged_note(run: pd.DataFrame) -> str | None:
    """A figure's note for a configuration whose training loss became NaN/inf (its curves stop there)."""
    bad = run[~np.isfinite(run["train_loss"])]
    if bad.empty:
        return None
    return f"DIVERGED at epoch {int(bad['epoch'].min())}: training loss not finite (lr too large)"


def lr_overlay(epochs: pd.DataFrame, pooling: str, note: str | None, majority_share: float | None = None):
    """One pooling, every learning rate overlaid: training loss (running mean, the homework's) and
    validation accuracy per epoch, one colour per lr (mean over seeds, seeds thin). The axes' limits
    come from every pooling's runs, so the two poolings' figures can be compared by eye."""
    fig, (ax_loss, ax_acc) = plotting.new_figure(width=10, height=3.8, ncols=2)
    lrs = sorted(epochs["lr"].unique(), reverse=True)
    colours = dict(zip(lrs, sns.color_palette("colorblind", len(lrs))))
    mine = epochs[epochs["pooling"] == pooling]
    diverged = set(mine.loc[~np.isfinite(mine["train_loss"]), "lr"])
    for ax, column in ((ax_loss, "train_loss"), (ax_acc, "val_acc")):
        for lr in lrs:
            runs = mine[mine["lr"] == lr]
            if runs.empty:
                continue
            for _, run in runs.groupby("seed"):
                ax.plot(run["epoch"], run[column], color=colours[lr], lw=0.8, alpha=0.35)
            mean = runs.groupby("epoch")[column].mean()
            label = f"lr {lr:g}" + (" (diverged)" if lr in diverged else "")
            ax.plot(mean.index, mean.values, color=colours[lr], lw=2.2, marker="o", ms=3, label=label)
        finite = epochs[column][np.isfinite(epochs[column])]  # a diverged run's NaN has no place on an axis
        if not finite.empty:
            low, high = finite.min(), finite.max()
            pad = 0.05 * (high - low or 1)
            ax.set_ylim(low - pad, high + pad)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if diverged:  # their loss curves stop where the loss stopped being a number: say so on the panel
        lrs_text = ", ".join(f"{lr:g}" for lr in sorted(diverged, reverse=True))
        ax_loss.text(
            0.5,
            0.9,
            f"lr {lrs_text} diverged: loss not finite, not drawn",
            transform=ax_loss.transAxes,
            ha="center",
            color="red",
            fontsize=9,
        )
    if majority_share is not None and np.isfinite(majority_share):
        ax_acc.axhline(majority_share, color="grey", ls="--", lw=1, label="majority class only")
    ax_loss.set_ylabel("training loss (running mean)")
    ax_acc.set_ylabel("validation accuracy")
    ax_loss.set_title(f"Training loss, {POOLING[pooling]}")
    ax_acc.set_title(f"Validation accuracy, {POOLING[pooling]}")
    ax_acc.legend(fontsize=9, loc="best")
    plotting.mark_data(fig, note)
    return fig


def per_class_accuracy(per_class: pd.DataFrame, note: str | None):
    """Test accuracy per class, per pooling (panels) and lr (bars: mean over seeds), with each class's
    size: on an imbalanced test set a high overall accuracy can hide a class that is never right."""
    poolings = [p for p in ("max", "none") if p in set(per_class["pooling"])]
    fig, axes = plotting.new_figure(
        width=5.2 * len(poolings), height=3.8, ncols=len(poolings), sharey=True, squeeze=False
    )
    sizes = per_class.groupby("class", sort=False)["n"].first()
    order = list(sizes.index)
    for ax, pooling in zip(axes[0], poolings):
        data = per_class[per_class["pooling"] == pooling].assign(lr=lambda d: d["lr"].map(lambda x: f"{x:g}"))
        hue_order = [f"{x:g}" for x in sorted(per_class["lr"].unique(), reverse=True)]
        sns.barplot(
            data=data,
            x="class",
            y="accuracy",
            hue="lr",
            order=order,
            hue_order=hue_order,
            ax=ax,
            errorbar=None,
            palette="colorblind",
        )
        ax.set_xticks(range(len(order)), [f"{c}\n(n={sizes[c]})" for c in order])
        ax.set_ylim(0, 1.05)
        ax.set_xlabel("true class (test images)")
        ax.set_ylabel("test accuracy of the class")
        ax.set_title(POOLING[pooling])
        handles, labels = ax.get_legend_handles_labels()
        ax.get_legend().remove()
    # under the panels: inside, the legend would hide bars near 1
    fig.legend(
        handles,
        [f"lr {x}" for x in labels],
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        ncols=len(labels),
        fontsize=9,
    )
    plotting.mark_data(fig, note)
    return fig


def confusion_matrices(confusion: pd.DataFrame, best: pd.DataFrame, note: str | None):
    """Per pooling, at the lr chosen on validation: test images by true (rows) and predicted class,
    summed over seeds; cells shaded by the share of their row, annotated with counts."""
    rows = [r for r in best.itertuples() if r.pooling in set(confusion["pooling"])]
    fig, axes = plotting.new_figure(width=4.6 * len(rows), height=4.0, ncols=len(rows), squeeze=False)
    for ax, r in zip(axes[0], rows):
        sub = confusion[(confusion["pooling"] == r.pooling) & np.isclose(confusion["lr"], r.best_lr)]
        order = list(dict.fromkeys(sub["true"]))
        counts = sub.pivot_table(index="true", columns="predicted", values="count", aggfunc="sum").loc[order, order]
        share = counts.div(counts.sum(axis=1).replace(0, np.nan), axis=0)
        sns.heatmap(share, annot=counts, fmt="d", cmap="Blues", vmin=0, vmax=1, cbar=False, ax=ax, square=True)
        ax.set_xlabel("predicted class")
        ax.set_ylabel("true class")
        ax.set_title(f"{POOLING[r.pooling]}, lr {r.best_lr:g}")
    plotting.mark_data(fig, note)
    return fig


PUBLISHED_METRICS = (
    ("test_acc", "test_acc", "test accuracy"),
    ("val_acc", "final_val_acc", "validation accuracy"),
    ("train_loss", "final_train_loss", "training loss (running mean)"),
)


def published_spread(runs: pd.DataFrame, refs: pd.DataFrame, note: str | None):
    """Every published number (grey dots, the groups' range as a bar) and ours (mean over seeds with
    each seed), one row per pooling x lr, one panel per metric."""
    configs = sorted(
        {(p, float(lr)) for p, lr in zip(refs["pooling"], refs["lr"])}
        | {(p, float(lr)) for p, lr in zip(runs["pooling"], runs["lr"])},
        key=lambda k: (k[0], -k[1]),
    )
    fig, axes = plotting.new_figure(
        width=13, height=0.55 * len(configs) + 1.6, ncols=len(PUBLISHED_METRICS), sharey=True
    )
    ours_colour, theirs_colour = sns.color_palette("colorblind")[0], "0.45"
    for ax, (published, column, label) in zip(axes, PUBLISHED_METRICS):
        for y, (pooling, lr) in enumerate(configs):
            pub = refs[(refs["pooling"] == pooling) & np.isclose(refs["lr"], lr)][published].dropna()
            if len(pub):
                ax.plot([pub.min(), pub.max()], [y, y], color=theirs_colour, lw=6, alpha=0.25, solid_capstyle="round")
                ax.scatter(
                    pub,
                    [y] * len(pub),
                    color=theirs_colour,
                    s=14,
                    zorder=3,
                    label="published (one dot per group)" if y == 0 else None,
                )
            ours = runs[(runs["pooling"] == pooling) & np.isclose(runs["lr"], lr)][column].dropna()
            if len(ours):
                ax.scatter(ours, [y + 0.22] * len(ours), color=ours_colour, s=10, alpha=0.6, zorder=4)
                ax.scatter(
                    [ours.mean()],
                    [y + 0.22],
                    color=ours_colour,
                    marker="D",
                    s=40,
                    zorder=5,
                    label="this pipeline (mean, seeds small)",
                )
        ax.set_xlabel(label)
        ax.set_yticks(range(len(configs)), [f"lr {lr:g}, {POOLING[p]}" for p, lr in configs])
        ax.invert_yaxis()
    handles, labels = [], []
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncols=2, fontsize=9)
    plotting.mark_data(fig, note)
    return fig
