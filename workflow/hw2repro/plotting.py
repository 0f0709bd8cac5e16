"""The project's one plotting style, shared by every question's figures.

Every figure goes through ``new_figure`` / ``save``: same theme and fonts, PDF (the homework's
format) plus PNG (for the reports), and a visible banner when the data is synthetic or is real
data other than the canonical set (``data_note``, read from the data rule's manifest).
"""

from __future__ import annotations

import contextlib

import matplotlib

matplotlib.use("Agg")  # headless: jobs run on servers and cluster nodes

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from .io import read_json, savefig  # noqa: E402
from .labels import NOT_CANONICAL  # noqa: E402

SYNTHETIC_NOTE = "SYNTHETIC DATA: not comparable to published numbers"
NOT_CANONICAL_NOTE = NOT_CANONICAL.upper()


def apply_style() -> None:
    sns.set_theme(context="paper", style="whitegrid", palette="colorblind", font_scale=1.1)
    plt.rcParams.update(
        {"figure.dpi": 100, "savefig.dpi": 150, "savefig.bbox": "tight", "pdf.fonttype": 42}
    )  # embed TrueType: text stays selectable in PDFs


def new_figure(width: float = 5.5, height: float = 3.8, ncols: int = 1, **kwargs):
    apply_style()
    return plt.subplots(1, ncols, figsize=(width, height), **kwargs)


@contextlib.contextmanager
def seeded_numpy(seed: int = 0):
    """Seaborn's jitter draws from NumPy's global RNG: seed it for one plot, then put it back."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def data_note(manifest) -> str | None:
    """The banner a figure of this data carries (None for the canonical data): from the data rule's
    manifest (``octmnist.json`` / ``ljspeech.json``), a dict or its path."""
    meta = manifest if isinstance(manifest, dict) else read_json(manifest)
    if meta.get("synthetic"):
        return SYNTHETIC_NOTE
    return None if meta.get("canonical") else NOT_CANONICAL_NOTE


def mark_data(fig, note: str | None) -> None:
    """Writes ``note`` (from ``data_note``) above the figure; nothing for canonical data."""
    if note is not None and not isinstance(note, str):
        raise TypeError(f"note must be a string from plotting.data_note or None, got {note!r}")
    if note:
        fig.text(0.5, 1.0, note, ha="center", va="bottom", fontsize=9, color="firebrick", weight="bold")


def save(fig, *paths) -> None:
    for path in paths:
        savefig(fig, path)
    plt.close(fig)


def epoch_curves(ax, epochs: pd.DataFrame, column: str, ylabel: str) -> None:
    """One thin line per seed and, with several seeds, their mean in bold."""
    seeds = sorted(epochs["seed"].unique())
    for seed in seeds:
        run = epochs[epochs["seed"] == seed]
        ax.plot(
            run["epoch"],
            run[column],
            lw=1 if len(seeds) > 1 else 2,
            alpha=0.5 if len(seeds) > 1 else 1,
            label=f"seed {seed}",
        )
    if len(seeds) > 1:
        mean = epochs.groupby("epoch")[column].mean()
        ax.plot(mean.index, mean.values, lw=2.5, color="black", label="mean")
    ax.set_xlabel("Epoch")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
