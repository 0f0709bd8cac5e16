"""The statistics of the report's comparison tables: summary over seeds, 95% t intervals, and where
a published number falls in our seed distribution.

Conventions used by every comparison table:

* ``mean``, ``sd`` (sample standard deviation, ddof=1), ``n`` over seeds; ``ci95_low``/``ci95_high``
  = mean ± t(0.975, n-1)·sd/√n. With one seed there is no spread: sd and the interval are NaN.
* ``sigma``: (published − our mean) / our seed-to-seed sd, i.e. where the published number falls
  in our distribution, in units of σ (not of the standard error).
* ``position``: the same in words ("inside the 95% CI", "2.1 σ above", ...).
* ``comparable``: False unless our data is the canonical set; then ``sigma`` is NaN and ``position`` says
  so, so no number is presented as comparable to a published one.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

CONFIDENCE = 0.95
NOT_COMPARABLE = "not comparable (synthetic or not the canonical data)"


def t_quantile(p: float, df: float) -> float:
    """The p-quantile of Student's t with ``df`` degrees of freedom."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be in (0, 1), got {p}")
    if df <= 0:
        raise ValueError(f"df must be positive, got {df}")
    from scipy import stats  # here: its import costs a job 1.4 s, and a one-seed run (the default) never calls this

    return float(stats.t.ppf(p, df))


def t_critical(n: int, confidence: float = CONFIDENCE) -> float:
    """Two-sided critical value for a mean of ``n`` values (df = n − 1); NaN when n < 2."""
    if n < 2:
        return float("nan")
    return t_quantile(0.5 + confidence / 2.0, n - 1)


def describe(values) -> dict:
    """n, mean, sd, 95% CI (t), min, max of the finite values."""
    x = pd.to_numeric(pd.Series(values, dtype="float64"), errors="coerce").dropna().to_numpy(float)
    n = len(x)
    out = {"n": n, "mean": np.nan, "sd": np.nan, "ci95_low": np.nan, "ci95_high": np.nan, "min": np.nan, "max": np.nan}
    if n == 0:
        return out
    mean = float(x.mean())
    out.update(mean=mean, min=float(x.min()), max=float(x.max()))
    if n >= 2:
        sd = float(x.std(ddof=1))
        half = t_critical(n) * sd / math.sqrt(n)
        out.update(sd=sd, ci95_low=mean - half, ci95_high=mean + half)
    return out


def position(published: float, stats: dict, comparable: bool = True, digits: int = 4) -> tuple[float, str]:
    """Where ``published`` falls in our seed distribution: (sigma, words)."""
    if published is None or pd.isna(published):
        return np.nan, "not published"
    n, mean, sd = stats.get("n", 0), stats.get("mean", np.nan), stats.get("sd", np.nan)
    if n == 0 or pd.isna(mean):
        return np.nan, "not run here"
    if not comparable:
        return np.nan, NOT_COMPARABLE
    diff = published - mean
    direction = "above" if diff > 0 else "below"
    if n == 1:
        return np.nan, f"one seed, no spread: published is {abs(diff):.{digits}f} {direction} ours"
    if pd.isna(sd) or sd == 0:
        if diff == 0:
            return 0.0, "equal to every seed"
        return np.nan, f"all {n} seeds equal; published is {abs(diff):.{digits}f} {direction}"
    sigma = diff / sd
    if stats["ci95_low"] <= published <= stats["ci95_high"]:
        return sigma, f"inside the 95% CI ({sigma:+.1f} σ)"
    within = " (within our seed range)" if stats["min"] <= published <= stats["max"] else ""
    return sigma, f"{abs(sigma):.1f} σ {direction}{within}"


def fmt_mean_ci(stats: dict, digits: int = 4) -> str:
    """'0.8242 ± 0.0123 (n=5)' with the 95% CI half-width, or '0.8242 (n=1)'."""
    if stats["n"] == 0 or pd.isna(stats["mean"]):
        return "–"
    if stats["n"] < 2 or pd.isna(stats["ci95_high"]):
        return f"{stats['mean']:.{digits}f} (n={stats['n']})"
    half = stats["ci95_high"] - stats["mean"]
    return f"{stats['mean']:.{digits}f} ± {half:.{digits}f} (n={stats['n']})"
