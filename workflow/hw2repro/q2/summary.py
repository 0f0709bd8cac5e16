"""Q2 tables: one row per run, one per configuration (over seeds), the best lr per pooling."""

from __future__ import annotations

import pandas as pd

from ..io import read_json

RUN_COLUMNS = ["pooling", "lr", "seed", "final_train_loss", "final_val_acc", "test_acc", "n_test",
               "n_params", "epochs", "batch_size", "optimizer", "dropout", "wall_seconds", "device",
               "threads"]
METRICS = ["final_train_loss", "final_val_acc", "test_acc"]


def runs_table(result_paths, data_meta: dict) -> pd.DataFrame:
    rows = []
    for path in result_paths:
        r = read_json(path)
        rows.append({**{k: r.get(k) for k in RUN_COLUMNS},
                     "device": r["env"]["device"], "threads": r["env"]["torch_threads"]})
    runs = pd.DataFrame(rows, columns=RUN_COLUMNS)
    runs["data_source"] = data_meta["source"]
    runs["synthetic"] = data_meta["synthetic"]
    return runs.sort_values(["pooling", "lr", "seed"], ascending=[True, False, True], ignore_index=True)


def epochs_table(metrics_paths) -> pd.DataFrame:
    frames = [pd.read_csv(p) for p in metrics_paths]
    return pd.concat(frames, ignore_index=True).sort_values(
        ["pooling", "lr", "seed", "epoch"], ascending=[True, False, True, True], ignore_index=True)


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
