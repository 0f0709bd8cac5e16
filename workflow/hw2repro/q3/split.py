"""LJ Speech's train / validation / test split: the one place it is written.

The homework splits the 13,100 rows by row order, without shuffling: train [0, 9825), validation
[9825, 10480), test [10480, 13100). Other row counts get the same fractions (exactly 75 % / 5 % /
20 %, rounded down at each boundary). Pure Python: the config checks use it before any job runs.
"""

from __future__ import annotations

N_ROWS = 13_100  # LJSpeech-1.1
SPLIT_ENDS = (9_825, 10_480)  # train end, validation end (row order)
SPLITS = ("train", "val", "test")


def bounds(n_rows: int) -> dict[str, tuple[int, int]]:
    """Row ranges [start, end) of train / val / test (a range may be empty for very few rows)."""
    train_end, val_end = (n_rows * end // N_ROWS for end in SPLIT_ENDS)
    return {"train": (0, train_end), "val": (train_end, val_end), "test": (val_end, n_rows)}


def sizes(n_rows: int) -> dict[str, int]:
    """Rows per split."""
    return {name: max(0, b - a) for name, (a, b) in bounds(n_rows).items()}
