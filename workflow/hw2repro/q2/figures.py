"""Q2 figures beyond the homework's per-configuration plots: test accuracy of every run beside the
published numbers."""

from __future__ import annotations

import pandas as pd
import seaborn as sns

from .. import plotting
from ..labels import POOLING


def q2_overview(runs: pd.DataFrame, refs: pd.DataFrame, synthetic: bool):
    """Test accuracy per lr x pooling: our runs (dots, one per seed, and mean) beside published numbers."""
    poolings = [p for p in ("max", "none") if p in set(runs["pooling"])]
    fig, axes = plotting.new_figure(width=4.2 * len(poolings), height=3.8, ncols=len(poolings), sharey=True,
                           squeeze=False)
    order = sorted(runs["lr"].unique(), reverse=True)
    for ax, pooling in zip(axes[0], poolings):
        ours = runs[runs["pooling"] == pooling].assign(who="this pipeline")
        theirs = refs[(refs["pooling"] == pooling) & refs["lr"].isin(order)].dropna(subset=["test_acc"])
        theirs = theirs.assign(who="published")
        both = pd.concat([ours[["lr", "test_acc", "who"]], theirs[["lr", "test_acc", "who"]]])
        with plotting.seeded_numpy(0):  # the same jitter every run: byte-identical figures
            sns.stripplot(data=both, x="lr", y="test_acc", hue="who", order=order, dodge=True, jitter=0.08,
                          hue_order=["this pipeline", "published"], ax=ax, size=6, alpha=0.8)
        sns.pointplot(data=both, x="lr", y="test_acc", hue="who", order=order, dodge=0.4,
                      hue_order=["this pipeline", "published"], ax=ax, errorbar=None, markers="_",
                      linestyles="none", palette=["black", "black"], legend=False)
        ax.set_title(POOLING[pooling])
        ax.set_xlabel("learning rate")
        ax.set_ylabel("test accuracy (529-image subset)")
        handles, labels = ax.get_legend_handles_labels()
        ax.get_legend().remove()
    # One legend under the panels: inside, it would hide points at low accuracy.
    fig.legend(handles[:2], labels[:2], loc="upper center", bbox_to_anchor=(0.5, 0.0), ncols=2, fontsize=9)
    plotting.mark_synthetic(fig, synthetic)
    return fig
