"""Q3 summaries: per-run tables beside the published numbers, and the original plot names.

The published numbers come from ``config/references.yaml`` (independent reproductions of the same
homework, seed 42, full LJ Speech on a GPU; see ``hw2repro.references``). Every table shows the audio-blind baseline
beside the real scores: when the two are close, the model is not using the audio.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

SIMILARITIES = ("jaccard", "cosine", "damerau_levenshtein")
SCORES = ("loss", *SIMILARITIES)

# The homework's plot names (per run) and the column(s) each one draws.
ORIGINAL_PLOTS = {
    "loss__train": [("train_loss", "train")],
    "loss__val": [("val_loss", "validation")],
    "loss__train_val": [("train_loss", "train"), ("val_loss", "validation")],
    "jaccard_similarity__val": [("val_jaccard", None)],
    "cosine_similarity__val": [("val_cosine", None)],
    "damerau-levenshtein_similarity__val": [("val_damerau_levenshtein", None)],
}


# --- aggregation --------------------------------------------------------------------------------


def aggregate(runs: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``runs``: dicts with decoder, seed, test (test.json path), metrics (metrics.csv path).

    Returns (summary: one row per run, real and audio-blind scores; epochs: all per-epoch rows).
    """
    summary_rows, epoch_frames = [], []
    for run in runs:
        test = json.loads(Path(run["test"]).read_text())
        row = {"decoder": run["decoder"], "seed": int(run["seed"])}
        for k in SCORES:
            row[f"test_{k}"] = test.get(f"test_{k}")
        for k in SCORES:
            row[f"audio_blind_{k}"] = test.get(f"audio_blind_{k}")
        for k in SIMILARITIES:  # how much the audio adds
            real, blind = row[f"test_{k}"], row[f"audio_blind_{k}"]
            row[f"audio_gain_{k}"] = None if blind is None else real - blind
        row.update(
            {
                "n_test": test.get("n_test"),
                "epochs": test.get("epochs"),
                "n_params": test.get("n_params"),
                "n_frames": test.get("n_frames"),
                "synthetic": (test.get("data", {}).get("test", {}) or {}).get("synthetic"),
                "data_source": (test.get("data", {}).get("test", {}) or {}).get("source"),
                "wall_time_s": test.get("wall_time_s"),
                "device": test.get("device"),
                "threads": test.get("threads"),
            }
        )
        summary_rows.append(row)
        frame = pd.read_csv(run["metrics"])
        frame.insert(0, "seed", int(run["seed"]))
        frame.insert(0, "decoder", run["decoder"])
        epoch_frames.append(frame)
    summary = pd.DataFrame(summary_rows)
    epochs = pd.concat(epoch_frames, ignore_index=True) if epoch_frames else pd.DataFrame()
    return summary, epochs


# --- figures ------------------------------------------------------------------------------------


def results_table(summary: pd.DataFrame, published: pd.DataFrame) -> pd.DataFrame:
    """This reproduction (mean ± sd over seeds), its audio-blind baseline, the published rows."""
    rows = []
    for decoder in ("lstm", "transformer"):
        group = summary[summary["decoder"] == decoder]
        n = len(group)
        if n:
            for kind, prefix in (("this pipeline", "test_"), ("audio-blind baseline", "audio_blind_")):
                row = {"decoder": decoder, "source": f"{kind} ({n} seed{'s' if n > 1 else ''})"}
                for k in SCORES:
                    values = pd.to_numeric(group[f"{prefix}{k}"], errors="coerce")
                    row[k] = values.mean()
                    row[f"{k}_sd"] = values.std(ddof=1) if n > 1 else np.nan
                rows.append(row)
        for _, pub in published[published["decoder"] == decoder].iterrows():
            rows.append({"decoder": decoder, "source": pub["source"],
                         **{k: pub[k] for k in SCORES}, **{f"{k}_sd": np.nan for k in SCORES}})
    columns = ["decoder", "source", *SCORES, *(f"{k}_sd" for k in SCORES)]
    return pd.DataFrame(rows, columns=columns)


