"""Q2 beside the published numbers: every published number against our seeds, the pooling effect,
the best lr (chosen by ``summary.best_lr`` for ours and every group's alike), and the groups' spread."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..stats import NOT_COMPARABLE, describe, position
from .summary import Q2_METRICS, best_lr, by_config

# q2_best_lr's columns (also its table's header when Q2 did not run)
Q2_BEST_LR_COLUMNS = [
    "pooling",
    "best_lr",
    "val_acc_mean",
    "test_acc_mean",
    "seeds_picking_it",
    "n_seeds",
    "published_best_lrs",
    "published_n_sources",
    "agrees_with_published",
    "comparable",
]


def q2_comparison(runs: pd.DataFrame, published: pd.DataFrame, comparable: bool) -> pd.DataFrame:
    """Every published Q2 number beside ours (same lr, pooling and metric)."""
    rows = []
    for _, pub in published.iterrows():
        for metric, (column, label) in Q2_METRICS.items():
            value = pub.get(metric)
            if value is None or pd.isna(value):
                continue
            ours = runs[(runs["pooling"] == pub["pooling"]) & np.isclose(runs["lr"].astype(float), float(pub["lr"]))]
            stats = describe(ours[column])
            sigma, words = position(float(value), stats, comparable)
            rows.append(
                {
                    "metric": metric,
                    "label": label,
                    "pooling": pub["pooling"],
                    "lr": float(pub["lr"]),
                    "source": pub["source"],
                    "published": float(value),
                    "ours_n": stats["n"],
                    "ours_mean": stats["mean"],
                    "ours_sd": stats["sd"],
                    "ours_ci95_low": stats["ci95_low"],
                    "ours_ci95_high": stats["ci95_high"],
                    "sigma": sigma,
                    "position": words,
                    "comparable": comparable and stats["n"] > 0,
                }
            )
    cols = [
        "metric",
        "label",
        "pooling",
        "lr",
        "source",
        "published",
        "ours_n",
        "ours_mean",
        "ours_sd",
        "ours_ci95_low",
        "ours_ci95_high",
        "sigma",
        "position",
        "comparable",
    ]
    order = {m: i for i, m in enumerate(Q2_METRICS)}
    table = pd.DataFrame(rows, columns=cols)
    table["_m"] = table["metric"].map(order)
    return table.sort_values(
        ["_m", "pooling", "lr", "source"], ascending=[True, True, False, True], ignore_index=True
    ).drop(columns="_m")


def q2_pooling_effect(runs: pd.DataFrame, published: pd.DataFrame, comparable: bool) -> pd.DataFrame:
    """Max-pooling minus no pooling, per lr and metric, paired by seed, against seed-to-seed spread.

    The difference is "larger than the seed-to-seed spread" when the 95% CI of the paired
    differences excludes 0 (needs >= 2 seeds run with both variants).
    """
    rows = []
    for lr in sorted(runs["lr"].unique(), reverse=True):
        at_lr = runs[np.isclose(runs["lr"], lr)]
        with_pool = at_lr[at_lr["pooling"] == "max"].set_index("seed")
        without = at_lr[at_lr["pooling"] == "none"].set_index("seed")
        seeds = sorted(set(with_pool.index) & set(without.index))
        if not seeds:
            continue
        for metric in ("test_acc", "val_acc"):
            column = Q2_METRICS[metric][0]
            diffs = with_pool.loc[seeds, column].to_numpy(float) - without.loc[seeds, column].to_numpy(float)
            d = describe(diffs)
            spread = (
                np.sqrt((with_pool.loc[seeds, column].var(ddof=1) + without.loc[seeds, column].var(ddof=1)) / 2)
                if len(seeds) > 1
                else np.nan
            )
            if len(seeds) < 2:
                verdict = "one seed: seed-to-seed spread unknown"
            elif d["ci95_low"] > 0 or d["ci95_high"] < 0:
                verdict = "larger than seed-to-seed spread (95% CI of the paired difference excludes 0)"
            else:
                verdict = "within seed-to-seed spread (95% CI of the paired difference includes 0)"
            pub = published[np.isclose(published["lr"].astype(float), lr)].pivot_table(
                index="source", columns="pooling", values=metric, aggfunc="first"
            )
            pub_diff = (
                (pub["max"] - pub["none"]).dropna()
                if {"max", "none"} <= set(pub.columns)
                else pd.Series([], dtype=float)
            )
            rows.append(
                {
                    "lr": float(lr),
                    "metric": metric,
                    "n_seeds": len(seeds),
                    "mean_with_pooling": with_pool.loc[seeds, column].mean(),
                    "mean_without_pooling": without.loc[seeds, column].mean(),
                    "difference": d["mean"],
                    "difference_ci95_low": d["ci95_low"],
                    "difference_ci95_high": d["ci95_high"],
                    "seed_sd": spread,
                    "verdict": verdict,
                    "published_difference_mean": pub_diff.mean() if len(pub_diff) else np.nan,
                    "published_n_sources": len(pub_diff),
                    "comparable": comparable,
                }
            )
    cols = [
        "lr",
        "metric",
        "n_seeds",
        "mean_with_pooling",
        "mean_without_pooling",
        "difference",
        "difference_ci95_low",
        "difference_ci95_high",
        "seed_sd",
        "verdict",
        "published_difference_mean",
        "published_n_sources",
        "comparable",
    ]
    return pd.DataFrame(rows, columns=cols)


def q2_best_lr(runs: pd.DataFrame, best: pd.DataFrame, published: pd.DataFrame, comparable: bool) -> pd.DataFrame:
    """The lr chosen on validation (mean over seeds), how many single seeds pick it, published picks.

    Every pick (ours over seeds, each seed alone, each published source) is ``best_lr``'s rule."""
    rows = []
    for _, row in best.iterrows():
        pooling = row["pooling"]
        sub = runs[runs["pooling"] == pooling]
        per_seed = [best_lr(by_config(group))["best_lr"].iloc[0] for _, group in sub.groupby("seed")]
        agree = int(np.isclose(np.asarray(per_seed, dtype=float), float(row["best_lr"])).sum())
        pub = published[published["pooling"] == pooling].dropna(subset=["val_acc"])
        # only sources that report validation accuracy for more than one lr pick anything
        picks = [
            float(best_lr(_as_config_table(group))["best_lr"].iloc[0])
            for _, group in pub.groupby("source")
            if len(group) > 1
        ]
        pub_lrs = sorted(set(picks))
        rows.append(
            {
                "pooling": pooling,
                "best_lr": float(row["best_lr"]),
                "val_acc_mean": float(row["final_val_acc_mean"]),
                "test_acc_mean": float(row["test_acc_mean"]),
                "seeds_picking_it": agree,
                "n_seeds": int(sub["seed"].nunique()),
                "published_best_lrs": " ".join(format(x, "g") for x in pub_lrs) or "–",
                "published_n_sources": len(picks),
                "agrees_with_published": (pub_lrs == [float(row["best_lr"])]) if comparable and pub_lrs else np.nan,
                "comparable": comparable,
            }
        )
    cols = Q2_BEST_LR_COLUMNS
    return pd.DataFrame(rows, columns=cols)


def _as_config_table(published: pd.DataFrame) -> pd.DataFrame:
    """One published source's rows in ``by_config``'s column names, so ``best_lr`` can pick from them."""
    return published.assign(final_val_acc_mean=published["val_acc"], test_acc_mean=published.get("test_acc", np.nan))


def q2_published_spread(runs: pd.DataFrame, published: pd.DataFrame, comparable: bool) -> pd.DataFrame:
    """Per metric x pooling x lr: ours over seeds beside the published groups' spread (n, median,
    min, max) and where our mean falls in that range (only on real data)."""
    rows = []
    configs = pd.concat([runs[["pooling", "lr"]], published[["pooling", "lr"]]]).drop_duplicates()
    for metric, (column, label) in Q2_METRICS.items():
        for pooling, lr in configs.itertuples(index=False):
            ours = describe(runs.loc[(runs["pooling"] == pooling) & np.isclose(runs["lr"], lr), column])
            pub = published.loc[(published["pooling"] == pooling) & np.isclose(published["lr"], lr), metric].dropna()
            if ours["n"] == 0 and pub.empty:
                continue
            if ours["n"] == 0 or pub.empty:
                where = "not run here" if ours["n"] == 0 else "not published"
            elif not comparable:
                where = NOT_COMPARABLE
            elif ours["mean"] < pub.min():
                where = "below every published number"
            elif ours["mean"] > pub.max():
                where = "above every published number"
            else:
                where = "within the published range"
            rows.append(
                {
                    "metric": metric,
                    "label": label,
                    "pooling": pooling,
                    "lr": float(lr),
                    "ours_n": ours["n"],
                    "ours_mean": ours["mean"],
                    "ours_ci95_low": ours["ci95_low"],
                    "ours_ci95_high": ours["ci95_high"],
                    "published_n": len(pub),
                    "published_median": pub.median() if len(pub) else np.nan,
                    "published_min": pub.min() if len(pub) else np.nan,
                    "published_max": pub.max() if len(pub) else np.nan,
                    "where": where,
                    "comparable": comparable and ours["n"] > 0 and len(pub) > 0,
                }
            )
    cols = [
        "metric",
        "label",
        "pooling",
        "lr",
        "ours_n",
        "ours_mean",
        "ours_ci95_low",
        "ours_ci95_high",
        "published_n",
        "published_median",
        "published_min",
        "published_max",
        "where",
        "comparable",
    ]
    order = {m: i for i, m in enumerate(Q2_METRICS)}
    table = pd.DataFrame(rows, columns=cols)
    table["_m"] = table["metric"].map(order)
    return table.sort_values(["_m", "pooling", "lr"], ascending=[True, True, False], ignore_index=True).drop(
        columns="_m"
    )
