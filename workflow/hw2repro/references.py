"""The published numbers (config/references.yaml) as tidy tables."""

from __future__ import annotations

import pandas as pd

from . import config_files


def load(path) -> dict:
    with open(path, encoding="utf-8") as fh:
        return config_files.safe_load(fh.read())


def q2_table(path) -> pd.DataFrame:
    """One row per source x lr x pooling: train_loss, val_acc, test_acc (NaN where unreported)."""
    return pd.DataFrame(load(path)["q2"]).astype({"lr": float})


def q3_test_table(path) -> pd.DataFrame:
    return pd.DataFrame(load(path)["q3_test"])
