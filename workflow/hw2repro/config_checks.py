"""Rules across config keys that the JSON schema cannot state, checked before any job runs.

The Snakefile calls :func:`check` right after schema validation: a setting that would only fail
hours later (after the corpus and features are built) stops the run at once, with one line naming
the keys. Pure Python on the merged config dict: it runs where Snakemake runs, before any job.
"""

from __future__ import annotations

from . import config_values
from .errors import InputError
from .q3 import split


class ConfigError(InputError, ValueError):
    """Settings that contradict each other; the message names the keys and the fix."""


def _q3_rows(lj: dict) -> int | None:
    if lj["source"] == "synthetic":
        return lj["synthetic"]["n_clips"]
    return lj["expected_rows"]  # null: any count, known only once the data rule reads the folder


def problems(config: dict) -> list[str]:
    """Every contradiction in the merged ``config`` (every key present), one line each (empty when the
    settings fit together); first every value that is wrong on its own (NaN, a seed out of range, an
    unusable output root)."""
    out = config_values.problems(config)
    if out:  # a NaN would make the comparisons below meaningless
        return out
    q3 = config["q3"]
    if q3["hidden_dim"] % q3["n_heads"]:
        out.append(
            f"invalid config: q3.hidden_dim ({q3['hidden_dim']}) must be divisible by q3.n_heads "
            f"({q3['n_heads']}): attention splits the width into equal heads"
        )
    scaling = config["q1"]["scaling"]
    fitted = [n for n in scaling["lengths"] if n >= scaling["fit_min_length"]]
    if len(fitted) < 2:
        out.append(
            f"invalid config: q1.scaling.fit_min_length ({scaling['fit_min_length']}) leaves "
            f"{len(fitted)} of q1.scaling.lengths {sorted(scaling['lengths'])} to fit a slope on "
            "(needs 2): lower it or add longer lengths"
        )
    if scaling["min_repeats"] > scaling["max_repeats"]:
        out.append(
            f"invalid config: q1.scaling.min_repeats ({scaling['min_repeats']}) is above "
            f"q1.scaling.max_repeats ({scaling['max_repeats']})"
        )
    approx = config["q1"]["approx"]
    if approx["scale_min"] >= approx["scale_max"]:
        out.append(
            f"invalid config: q1.approx.scale_min ({approx['scale_min']}) must be below "
            f"q1.approx.scale_max ({approx['scale_max']})"
        )
    lj = config["data"]["ljspeech"]
    synth = lj["synthetic"]
    if synth["min_chars"] > synth["max_chars"]:
        out.append(
            f"invalid config: data.ljspeech.synthetic.min_chars ({synth['min_chars']}) is above "
            f"data.ljspeech.synthetic.max_chars ({synth['max_chars']})"
        )
    for key in ("rate", "pitch", "silence_s"):
        pair = synth[key]
        if len(pair) == 2 and pair[0] > pair[1]:
            out.append(f"invalid config: data.ljspeech.synthetic.{key} {pair} must be [min, max]")
    rows = _q3_rows(lj)
    if rows is not None:
        empty = [s for s, n in split.sizes(rows).items() if n < 1]
        if empty:
            key = "data.ljspeech.synthetic.n_clips" if lj["source"] == "synthetic" else "data.ljspeech.expected_rows"
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
