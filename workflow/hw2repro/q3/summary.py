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

from ..stats import describe, position
from .metrics import damerau_levenshtein_similarity
from .text import VOCAB

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


# q3_comparison's and transcription_samples' columns (also their headers when Q3 did not run)
Q3_COMPARISON_COLUMNS = [
    "split",
    "decoder",
    "score",
    "source",
    "published",
    "our_epoch",
    "ours_n",
    "ours_mean",
    "ours_sd",
    "ours_ci95_low",
    "ours_ci95_high",
    "sigma",
    "position",
    "comparable",
]
Q3_SAMPLES_COLUMNS = [
    "decoder",
    "seed",
    "kind",
    "id",
    "target",
    "prediction",
    "audio_blind",
    "damerau_levenshtein",
    "audio_blind_damerau_levenshtein",
]


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
            rows.append(
                {
                    "decoder": decoder,
                    "source": pub["source"],
                    **{k: pub[k] for k in SCORES},
                    **{f"{k}_sd": np.nan for k in SCORES},
                }
            )
    columns = ["decoder", "source", *SCORES, *(f"{k}_sd" for k in SCORES)]
    return pd.DataFrame(rows, columns=columns)


# --- the report's analysis -----------------------------------------------------------------------

Q3_SCORES = SCORES  # the report's order
Q3_LABELS = {"loss": "loss", "jaccard": "Jaccard", "cosine": "cosine", "damerau_levenshtein": "Damerau–Levenshtein"}


def q3_stats(summary: pd.DataFrame) -> pd.DataFrame:
    """Test and audio-blind scores over seeds: one row per decoder x kind x score."""
    rows = []
    for decoder, group in summary.groupby("decoder", sort=True):
        for kind, prefix in (("test", "test_"), ("audio_blind", "audio_blind_")):
            for score in Q3_SCORES:
                column = f"{prefix}{score}"
                values = group[column] if column in group else []
                rows.append(
                    {
                        "decoder": decoder,
                        "kind": kind,
                        "score": score,
                        **describe(values),
                        "seeds": " ".join(str(s) for s in sorted(group["seed"])),
                    }
                )
    cols = ["decoder", "kind", "score", "n", "mean", "sd", "ci95_low", "ci95_high", "min", "max", "seeds"]
    return pd.DataFrame(rows, columns=cols)


def _last_epoch_values(epochs: pd.DataFrame, decoder: str, epoch: int, column: str) -> tuple[pd.Series, int | None]:
    """Per seed, ``column`` at ``epoch`` (or at each run's last epoch if it ran fewer)."""
    sub = epochs[epochs["decoder"] == decoder]
    if sub.empty or column not in sub:
        return pd.Series([], dtype=float), None
    at = sub[sub["epoch"] == epoch]
    if at.empty:
        last = sub.loc[sub.groupby("seed")["epoch"].idxmax()]
        return last[column], int(last["epoch"].max())
    return at[column], epoch


def q3_comparison(summary: pd.DataFrame, epochs: pd.DataFrame, refs: dict, comparable: bool) -> pd.DataFrame:
    """Every published Q3 number (test table, validation at epochs 15 and 1, last logged training
    loss) beside ours over seeds."""
    rows = []

    def add(split, decoder, score, source, value, values, our_epoch=None):
        stats = describe(values)
        sigma, words = position(float(value), stats, comparable)
        rows.append(
            {
                "split": split,
                "decoder": decoder,
                "score": score,
                "source": source,
                "published": float(value),
                "our_epoch": our_epoch,
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

    for pub in refs.get("q3_test", []):
        decoder = pub["decoder"]
        group = summary[summary["decoder"] == decoder]
        for score in Q3_SCORES:
            if pub.get(score) is not None:
                add("test", decoder, score, pub["source"], pub[score], group.get(f"test_{score}", []))
    for pub in refs.get("q3_validation_epoch15", []):
        decoder = pub["decoder"]
        for score in Q3_SCORES:
            column = "val_loss" if score == "loss" else f"val_{score}"
            values, ep = _last_epoch_values(epochs, decoder, 15, column)
            if pub.get(score) is not None:
                add("validation, epoch 15", decoder, score, "published (epoch 15)", pub[score], values, ep)
    other = refs.get("q3_other", {})
    for decoder, value in (other.get("val_loss_epoch1") or {}).items():
        values, ep = _last_epoch_values(epochs, decoder, 1, "val_loss")
        add("validation, epoch 1", decoder, "loss", "published (epoch 1)", value, values, ep)
    for decoder, value in (other.get("train_loss_epoch15") or {}).items():
        column = "train_loss_last_logged" if "train_loss_last_logged" in epochs else "train_loss"
        values, ep = _last_epoch_values(epochs, decoder, 15, column)
        add("training (last logged), epoch 15", decoder, "loss", "published (epoch 15)", value, values, ep)
    cols = Q3_COMPARISON_COLUMNS
    return pd.DataFrame(rows, columns=cols)


# --- sample transcriptions --------------------------------------------------------------------


def read_predictions(path) -> list[dict]:
    """The blocks of a run's predictions.txt (id, target, pred and, when scored, blind)."""
    clips, clip = [], {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            if clip:
                clips.append(clip)
            clip = {}
            continue
        key, _, value = line.partition(":")
        clip[key.strip()] = value.strip()
    if clip:
        clips.append(clip)
    return clips


def _ids(shown: str) -> list[int]:
    # predictions.txt shows every token as its symbol (text.decode), so the ids come back one to one
    return [VOCAB.index(c) for c in shown]


def transcription_samples(runs: list[dict], n_random: int = 3, seed: int = 0) -> pd.DataFrame:
    """Per run (dicts with decoder, seed, path of predictions.txt): the best and worst test clip by
    Damerau–Levenshtein similarity and ``n_random`` others drawn with a fixed seed, each with its
    target, prediction and audio-blind prediction."""
    rows = []
    for run in runs:
        clips = read_predictions(run["path"])
        scored = []
        for c in clips:
            target = _ids(c["target"])
            dl = damerau_levenshtein_similarity(target, _ids(c["pred"]))
            blind = damerau_levenshtein_similarity(target, _ids(c["blind"])) if "blind" in c else np.nan
            scored.append((dl, blind, c))
        if not scored:
            continue
        order = sorted(range(len(scored)), key=lambda i: (-scored[i][0], i))
        picks = [("best", order[0]), ("worst", order[-1])]
        rest = [i for i in range(len(scored)) if i not in (order[0], order[-1])]
        rng = np.random.default_rng(seed)
        picks += [("random", int(i)) for i in sorted(rng.choice(rest, size=min(n_random, len(rest)), replace=False))]
        for kind, i in picks:
            dl, blind, c = scored[i]
            rows.append(
                {
                    "decoder": run["decoder"],
                    "seed": int(run["seed"]),
                    "kind": kind,
                    "id": c.get("id", ""),
                    "target": strip_markers(c["target"]),
                    "prediction": strip_markers(c["pred"]),
                    "audio_blind": strip_markers(c["blind"]) if "blind" in c else "",
                    "damerau_levenshtein": dl,
                    "audio_blind_damerau_levenshtein": blind,
                }
            )
    return pd.DataFrame(
        rows,
        columns=Q3_SAMPLES_COLUMNS,
    )


def strip_markers(shown: str) -> str:
    """The text between the leading ``<`` and the closing ``>`` (what was said or heard)."""
    if shown.startswith("<"):
        shown = shown[1:]
    return shown[:-1] if shown.endswith(">") else shown
