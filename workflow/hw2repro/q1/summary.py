"""Q1 analysis for the report: the verification checks summarised, and the measured observations."""

from __future__ import annotations

import numpy as np
import pandas as pd


def q1_verification_summary(verification: pd.DataFrame) -> pd.DataFrame:
    """Per check x construction: how many checks, how many passed, the largest error."""
    checks = verification[verification["kind"] == "check"]
    rows = []
    for (check, construction), group in checks.groupby(["check", "construction"], sort=False):
        passed = group["passed"].astype(str).str.lower().isin(["true", "1"])
        rows.append(
            {
                "check": check,
                "construction": construction,
                "n": len(group),
                "passed": int(passed.sum()),
                "all_passed": bool(passed.all()),
                "max_error": pd.to_numeric(group["error"], errors="coerce").max(),
                "max_error_in_eps": pd.to_numeric(group.get("error_in_eps"), errors="coerce").max()
                if "error_in_eps" in group
                else np.nan,
                "tolerance": pd.to_numeric(group["tolerance"], errors="coerce").max(),
            }
        )
    return pd.DataFrame(
        rows,
        columns=["check", "construction", "n", "passed", "all_passed", "max_error", "max_error_in_eps", "tolerance"],
    )


def q1_observations(verification: pd.DataFrame) -> pd.DataFrame:
    obs = verification[verification["kind"] == "observation"]
    keep = [c for c in ("check", "construction", "D", "K", "value", "expected") if c in obs]
    obs = obs[keep].reset_index(drop=True)
    for c in ("D", "K"):
        if c in obs and obs[c].notna().all():
            obs[c] = obs[c].astype(int)
    return obs


# A measured log-log slope within this of the claimed exponent counts as "as claimed": timings on a
# shared CPU vary by tens of percent, and 0.3 in a slope is a factor 2^0.3 = 1.23 per doubling of L.
EXPONENT_TOLERANCE = 0.3


def q1_complexity(complexity: pd.DataFrame, tolerance: float = EXPONENT_TOLERANCE) -> pd.DataFrame:
    """The complexity claims with a tolerance and a verdict per measured exponent (an O(·) claim is an
    upper bound: flatter than claimed is consistent with it, steeper is not)."""
    table = complexity.copy()
    verdicts, tolerances = [], []
    for r in table.itertuples():
        crossover = str(r.quantity).startswith("crossover")
        tolerances.append(np.nan if crossover else tolerance)
        if crossover:
            verdicts.append(
                "linear never faster in the measured range"
                if pd.isna(r.measured)
                else f"linear faster from L ≈ {int(r.measured):,}"
            )
        elif pd.isna(r.measured) or pd.isna(r.claimed):
            verdicts.append("not measured (one point)")
        elif abs(r.measured - r.claimed) <= tolerance:
            verdicts.append("as claimed")
        elif r.measured < r.claimed:
            verdicts.append("flatter than claimed (within the O bound)")
        else:
            verdicts.append("STEEPER than claimed")
    table["tolerance"] = tolerances
    table["verdict"] = verdicts
    return table
