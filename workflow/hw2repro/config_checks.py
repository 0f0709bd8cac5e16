"""Rules across config keys that the JSON schema cannot state, checked before any job runs.

The Snakefile calls :func:`check` right after schema validation: a setting that would only fail
hours later (after the corpus and features are built) stops the run at once, with one line naming
the keys. Pure Python on the merged config dict: it runs where Snakemake runs, before any job.
"""

from __future__ import annotations

from . import config_values
from .errors import InputError

# LJ Speech's row-order split (as hw2repro.q3.ljspeech.split_bounds, which the data rule applies)
LJ_ROWS, LJ_SPLIT_ENDS = 13_100, (9_825, 10_480)


class ConfigError(InputError, ValueError):
    """Settings that contradict each other; the message names the keys and the fix."""


def q3_split_sizes(n_rows: int) -> dict[str, int]:
    train_end, val_end = (n_rows * e // LJ_ROWS for e in LJ_SPLIT_ENDS)
    return {"train": train_end, "val": val_end - train_end, "test": n_rows - val_end}


def _q3_rows(lj: dict) -> int | None:
    if lj.get("source", "synthetic") == "synthetic":
        return lj.get("synthetic", {}).get("n_clips")
    return lj.get("expected_rows")  # null: any count, known only once the data rule reads the folder


def problems(config: dict) -> list[str]:
    """Every contradiction in ``config``, one line each (empty when the settings fit together); first
    every value that is wrong on its own (NaN, a seed out of range, an unusable output root)."""
    out = config_values.problems(config)
    if out:  # a NaN would make the comparisons below meaningless
        return out
    q3 = config.get("q3", {})
    if "hidden_dim" in q3 and "n_heads" in q3 and q3["hidden_dim"] % q3["n_heads"]:
        out.append(
            f"invalid config: q3.hidden_dim ({q3['hidden_dim']}) must be divisible by q3.n_heads "
            f"({q3['n_heads']}): attention splits the width into equal heads"
        )
    scaling = config.get("q1", {}).get("scaling", {})
    if "lengths" in scaling and "fit_min_length" in scaling:
        fitted = [n for n in scaling["lengths"] if n >= scaling["fit_min_length"]]
        if len(fitted) < 2:
            out.append(
                f"invalid config: q1.scaling.fit_min_length ({scaling['fit_min_length']}) leaves "
                f"{len(fitted)} of q1.scaling.lengths {sorted(scaling['lengths'])} to fit a slope on "
                "(needs 2): lower it or add longer lengths"
            )
    if scaling.get("min_repeats", 0) > scaling.get("max_repeats", float("inf")):
        out.append(
            f"invalid config: q1.scaling.min_repeats ({scaling['min_repeats']}) is above "
            f"q1.scaling.max_repeats ({scaling['max_repeats']})"
        )
    approx = config.get("q1", {}).get("approx", {})
    if approx.get("scale_min", 0) >= approx.get("scale_max", float("inf")):
        out.append(
            f"invalid config: q1.approx.scale_min ({approx['scale_min']}) must be below "
            f"q1.approx.scale_max ({approx['scale_max']})"
        )
    lj = config.get("data", {}).get("ljspeech", {})
    synth = lj.get("synthetic", {})
    if synth.get("min_chars", 0) > synth.get("max_chars", float("inf")):
        out.append(
            f"invalid config: data.ljspeech.synthetic.min_chars ({synth['min_chars']}) is above "
            f"data.ljspeech.synthetic.max_chars ({synth['max_chars']})"
        )
    for key in ("rate", "pitch", "silence_s"):
        pair = synth.get(key)
        if pair is not None and len(pair) == 2 and pair[0] > pair[1]:
            out.append(f"invalid config: data.ljspeech.synthetic.{key} {pair} must be [min, max]")
    rows = _q3_rows(lj)
    if rows is not None:
        empty = [s for s, n in q3_split_sizes(rows).items() if n < 1]
        if empty:
            key = (
                "data.ljspeech.synthetic.n_clips"
                if lj.get("source", "synthetic") == "synthetic"
                else "data.ljspeech.expected_rows"
            )
            out.append(
                f"invalid config: {key} ({rows}) leaves the {', '.join(empty)} split(s) empty "
                "(75/5/20 by row order): raise it"
            )
    return out


def check(config: dict) -> None:
    """Raise ConfigError with the first contradiction (all of them, one per line, are in ``problems``)."""
    found = problems(config)
    if found:
        raise ConfigError(found[0])
