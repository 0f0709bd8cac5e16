"""Q2 tables: one row per run, one per configuration (over seeds), the best lr per pooling, and the
report's statistics over seeds, parameter counts, stuck runs and per-class accuracy (beside the
published numbers: ``published``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..io import read_json
from ..stats import describe

RUN_COLUMNS = [
    "pooling",
    "lr",
    "seed",
    "final_train_loss",
    "final_val_acc",
    "test_acc",
    "n_test",
    "n_params",
    "epochs",
    "batch_size",
    "optimizer",
    "dropout",
    "wall_seconds",
    "device",
    "threads",
    "diverged_at_epoch",  # empty: the run's training loss stayed finite
]
METRICS = ["final_train_loss", "final_val_acc", "test_acc"]


# q2_per_class_at_best's columns (also its table's header when Q2 did not run)
Q2_PER_CLASS_COLUMNS = [
    "pooling",
    "lr",
    "class",
    "n_images",
    "accuracy_mean",
    "accuracy_ci95_low",
    "accuracy_ci95_high",
    "n_seeds",
    "never_right",
]


def runs_table(result_paths, data_meta: dict) -> pd.DataFrame:
    rows = []
    for path in result_paths:
        r = read_json(path)
        rows.append(
            {**{k: r.get(k) for k in RUN_COLUMNS}, "device": r["env"]["device"], "threads": r["env"]["torch_threads"]}
        )
    runs = pd.DataFrame(rows, columns=RUN_COLUMNS)
    runs["diverged_at_epoch"] = runs["diverged_at_epoch"].astype("Int64")
    runs["data_source"] = data_meta["source"]
    runs["synthetic"] = data_meta["synthetic"]
    return runs.sort_values(["pooling", "lr", "seed"], ascending=[True, False, True], ignore_index=True)


def epochs_table(metrics_paths) -> pd.DataFrame:
    frames = [pd.read_csv(p) for p in metrics_paths]
    return pd.concat(frames, ignore_index=True).sort_values(
        ["pooling", "lr", "seed", "epoch"], ascending=[True, False, True, True], ignore_index=True
    )


def by_config(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean, sample standard deviation and n over seeds for each pooling x lr."""
    grouped = runs.groupby(["pooling", "lr"], sort=False)[METRICS]
    table = grouped.agg(["mean", "std", "count"])
    table.columns = [f"{metric}_{stat}".replace("_count", "_n") for metric, stat in table.columns]
    return table.reset_index()


def best_lr(config_table: pd.DataFrame) -> pd.DataFrame:
    """The homework picks the learning rate on validation accuracy (final epoch), per pooling."""
    idx = config_table.groupby("pooling", sort=False)["final_val_acc_mean"].idxmax()
    best = config_table.loc[idx, ["pooling", "lr", "final_val_acc_mean", "test_acc_mean"]]
    return best.rename(columns={"lr": "best_lr"}).reset_index(drop=True)


# --- the report's analysis -----------------------------------------------------------------------

Q2_METRICS = {  # published column -> (our summary.csv column, label)
    "test_acc": ("test_acc", "test accuracy"),
    "val_acc": ("final_val_acc", "validation accuracy (final epoch)"),
    "train_loss": ("final_train_loss", "training loss (running mean, final epoch)"),
}


def q2_config_stats(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean, sd, 95% CI, min, max over seeds: one row per pooling x lr x metric."""
    rows = []
    for (pooling, lr), group in runs.groupby(["pooling", "lr"], sort=False):
        for metric, (column, label) in Q2_METRICS.items():
            rows.append(
                {
                    "pooling": pooling,
                    "lr": float(lr),
                    "metric": metric,
                    "label": label,
                    **describe(group[column]),
                    "seeds": " ".join(str(s) for s in sorted(group["seed"])),
                }
            )
    cols = ["pooling", "lr", "metric", "label", "n", "mean", "sd", "ci95_low", "ci95_high", "min", "max", "seeds"]
    return pd.DataFrame(rows, columns=cols).sort_values(
        ["metric", "pooling", "lr"], ascending=[True, True, False], ignore_index=True
    )


def q2_params(runs: pd.DataFrame, published_n_params: int | None) -> pd.DataFrame:
    """Trainable parameters per variant against the published count (independent of the data)."""
    rows = []
    for pooling, group in runs.groupby("pooling", sort=True):
        counts = sorted({int(x) for x in group["n_params"].dropna()})
        ours = counts[0] if len(counts) == 1 else np.nan
        rows.append(
            {
                "pooling": pooling,
                "n_params": ours,
                "published": published_n_params,
                "matches": bool(published_n_params is not None and ours == published_n_params),
            }
        )
    return pd.DataFrame(rows, columns=["pooling", "n_params", "published", "matches"])


def diverged_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs whose training loss became NaN/inf, with the epoch it happened (summary.csv's rows)."""
    if "diverged_at_epoch" not in runs:
        return runs.iloc[0:0]
    return runs[runs["diverged_at_epoch"].notna()].reset_index(drop=True)


def flat_runs(epochs: pd.DataFrame, val_counts: dict | None = None) -> pd.DataFrame:
    """Runs whose validation accuracy never moved over >= 2 epochs. When it equals one class's share
    of the validation set (``val_counts``: class -> images), the network predicts that class only."""
    total = sum(val_counts.values()) if val_counts else 0
    majority_class = max(val_counts, key=val_counts.get) if val_counts else ""
    rows = []
    for (pooling, lr, seed), run in epochs.groupby(["pooling", "lr", "seed"], sort=False):
        acc = run["val_acc"].to_numpy(float)
        if len(acc) >= 2 and np.ptp(acc) == 0:
            only = [c for c, n in (val_counts or {}).items() if np.isclose(acc[0], n / total)]
            rows.append(
                {
                    "pooling": pooling,
                    "lr": float(lr),
                    "seed": int(seed),
                    "epochs": len(acc),
                    "val_acc": acc[0],
                    "only_class": only[0] if len(only) == 1 else "",
                    "majority_class": majority_class,
                    "majority_share": val_counts[majority_class] / total if val_counts else np.nan,
                }
            )
    return pd.DataFrame(
        rows, columns=["pooling", "lr", "seed", "epochs", "val_acc", "only_class", "majority_class", "majority_share"]
    )


def class_tables(runs: list[dict], class_names) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``runs``: dicts with pooling, lr, seed and the path of its test_predictions.csv.

    Returns (per class: n, correct, accuracy per run and class; confusion: counts per run, true x
    predicted class, every cell present)."""
    per_class, confusion = [], []
    for run in runs:
        pred = pd.read_csv(run["path"])
        key = {"pooling": run["pooling"], "lr": float(run["lr"]), "seed": int(run["seed"])}
        for c, name in enumerate(class_names):
            mine = pred[pred["label"] == c]
            correct = int((mine["predicted"] == c).sum())
            per_class.append(
                {
                    **key,
                    "class": name,
                    "n": len(mine),
                    "correct": correct,
                    "accuracy": correct / len(mine) if len(mine) else np.nan,
                    "predicted_as_this": int((pred["predicted"] == c).sum()),
                }
            )
            for p, other in enumerate(class_names):
                confusion.append(
                    {**key, "true": name, "predicted": other, "count": int((mine["predicted"] == p).sum())}
                )
    return pd.DataFrame(per_class), pd.DataFrame(confusion)


def q2_per_class_at_best(per_class: pd.DataFrame, best: pd.DataFrame) -> pd.DataFrame:
    """Per pooling, at the lr chosen on validation: each class's test accuracy over seeds."""
    rows = []
    for r in best.itertuples():
        sub = per_class[(per_class["pooling"] == r.pooling) & np.isclose(per_class["lr"], r.best_lr)]
        for name, group in sub.groupby("class", sort=False):
            stats = describe(group["accuracy"])
            rows.append(
                {
                    "pooling": r.pooling,
                    "lr": float(r.best_lr),
                    "class": name,
                    "n_images": int(group["n"].iloc[0]),
                    "accuracy_mean": stats["mean"],
                    "accuracy_ci95_low": stats["ci95_low"],
                    "accuracy_ci95_high": stats["ci95_high"],
                    "n_seeds": stats["n"],
                    "never_right": bool((group["correct"] == 0).all()),
                }
            )
    return pd.DataFrame(
        rows,
        columns=Q2_PER_CLASS_COLUMNS,
    )
