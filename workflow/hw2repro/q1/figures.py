"""Q1 figures: time/memory vs L, approximation error vs scale, feature dimension M vs D.

Each ``plot_*`` draws onto a given Axes (so the figures can be recomposed); ``*_figure`` builds
the standard figure. Style comes from one local ``_style()`` call that defers to ``plotting``.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # headless: jobs run without a display

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .. import plotting
from .dims import CONSTRUCTIONS, feature_dim

METHOD_STYLE = {"exact": "-", "linear_symmetric": "--", "linear_full": ":"}
METHOD_MARKER = {"exact": "o", "linear_symmetric": "s", "linear_full": "^"}


def _style() -> None:
    """The project's shared style (one place to change it), with room for long legends."""
    plotting.apply_style()
    plt.rcParams.update({"legend.fontsize": 7, "legend.frameon": False})


def _colors(values) -> dict:
    cmap = plt.get_cmap("viridis")
    values = sorted(values)
    return {v: cmap(0.15 + 0.7 * i / max(1, len(values) - 1)) for i, v in enumerate(values)}


# ----------------------------------------------------------------------------- scaling
def plot_vs_length(
    ax,
    df: pd.DataFrame,
    column: str,
    slopes: pd.DataFrame | None = None,
    slope_column: str | None = None,
    ylabel: str = "",
) -> None:
    """One line per (method, D): colour = D, line style = method; slope in the legend."""
    colors = _colors(df["D"].unique())
    for (method, d), g in df.groupby(["method", "D"], sort=False):
        g = g.sort_values("L")
        label = f"{method}, D={d}"
        if slopes is not None and slope_column is not None:
            s = slopes[(slopes["method"] == method) & (slopes["D"] == d)]
            if len(s):
                label += f" (slope {s[slope_column].iloc[0]:.2f})"
        ax.plot(
            g["L"],
            g[column],
            METHOD_STYLE.get(method, "-"),
            marker=METHOD_MARKER.get(method, "o"),
            ms=3,
            color=colors[d],
            label=label,
        )
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("sequence length L")
    ax.set_ylabel(ylabel)


def mark_crossovers(ax, cross: pd.DataFrame, df: pd.DataFrame) -> None:
    """A star at each interpolated crossover length, on the exact-attention curve."""
    colors = _colors(df["D"].unique())
    exact = df[df["method"] == "exact"]
    for _, x in cross.iterrows():
        length = x["crossover_L_interp"]
        if not np.isfinite(length):
            continue
        g = exact[exact["D"] == x["D"]].sort_values("L")
        t = np.exp(np.interp(np.log(length), np.log(g["L"]), np.log(g["time_s"])))
        ax.plot([length], [t], "*", ms=9, color=colors[x["D"]], mec="k", mew=0.5, zorder=5)


def shade_fit_range(ax, slopes: pd.DataFrame) -> None:
    """Grey band over the lengths the slopes were fitted on."""
    if len(slopes):
        ax.axvspan(slopes["fit_min_L"].min(), slopes["fit_max_L"].max(), color="0.85", alpha=0.5, lw=0, zorder=0)


def scaling_figure(df: pd.DataFrame, slopes: pd.DataFrame, cross: pd.DataFrame, threads: int):
    """Wall time (with crossovers), CPU time and peak memory against L; slopes in the legends."""
    _style()
    fig, (ax_t, ax_c, ax_m) = plt.subplots(1, 3, figsize=(15, 4.6), constrained_layout=True)
    plot_vs_length(ax_t, df, "time_s", slopes, "time_slope", "wall time per call [s] (best of n)")
    mark_crossovers(ax_t, cross, df)
    ax_t.set_title(f"wall time (★ = crossover); {threads} thread(s), {df['dtype'].iloc[0]}")
    plot_vs_length(ax_c, df, "cpu_time_s", slopes, "cpu_time_slope", "CPU time per call [s] (user + sys)")
    ax_c.set_title("CPU time (insensitive to waiting for a shared core)")
    mem = df.assign(peak_mib=df["peak_bytes"] / 2**20)
    plot_vs_length(ax_m, mem, "peak_mib", slopes, "memory_slope", "peak tensor memory of the call [MiB]")
    ax_m.set_title("peak memory (profiler allocation trace)")
    for ax in (ax_t, ax_c, ax_m):
        shade_fit_range(ax, slopes)
        ax.legend(loc="upper left")
    return fig


# ----------------------------------------------------------------------------- error vs scale
def plot_error_vs_scale(ax, sweep: pd.DataFrame) -> None:
    """Median relative error over seeds (band: min..max); ✕ where some normalizer was ≤ 0."""
    colors = _colors(sweep["K"].unique())
    for k, g in sweep.groupby("K"):
        agg = (
            g.groupby("scale")
            .agg(
                med=("rel_error", "median"),
                lo=("rel_error", "min"),
                hi=("rel_error", "max"),
                bad=("frac_rows_nonpositive_normalizer", "max"),
            )
            .reset_index()
        )
        ax.plot(agg["scale"], agg["med"], "-o", ms=3, color=colors[k], label=f"K={k} (degree {k - 1})")
        ax.fill_between(agg["scale"], agg["lo"], agg["hi"], color=colors[k], alpha=0.2, lw=0)
        bad = agg[agg["bad"] > 0]
        ax.plot(bad["scale"], bad["med"], "x", ms=8, mew=1.5, color="crimson")
    ax.plot([], [], "x", color="crimson", label="some normalizer ≤ 0")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("scale = std of qᵀk")
    ax.set_ylabel("‖Z_linear − Z_softmax‖ / ‖Z_softmax‖")
    ax.legend(loc="upper left")


def plot_sign_failures(ax, sweep: pd.DataFrame) -> None:
    """How often the Taylor kernel is negative and how often a row normalizer is ≤ 0."""
    colors = _colors(sweep["K"].unique())
    for k, g in sweep.groupby("K"):
        agg = g.groupby("scale")[["frac_negative_kernel", "frac_rows_nonpositive_normalizer"]].mean()
        ax.plot(agg.index, agg["frac_negative_kernel"], "--", color=colors[k], label=f"K={k}: κ(qᵀk) < 0")
        ax.plot(
            agg.index,
            agg["frac_rows_nonpositive_normalizer"],
            "-o",
            ms=3,
            color=colors[k],
            label=f"K={k}: row normalizer ≤ 0",
        )
    ax.set_xscale("log")
    ax.set_xlabel("scale = std of qᵀk")
    ax.set_ylabel("fraction (mean over seeds)")
    ax.legend(loc="upper left")


def error_figure(sweep: pd.DataFrame):
    _style()
    fig, (ax_e, ax_s) = plt.subplots(1, 2, figsize=(10, 4.0), constrained_layout=True)
    plot_error_vs_scale(ax_e, sweep)
    first = sweep.iloc[0]
    ax_e.set_title(f"Taylor linear attention vs softmax (L={first['L']}, D={first['D']})")
    plot_sign_failures(ax_s, sweep)
    ax_s.set_title("negative kernel values and non-positive normalizers")
    return fig


# ----------------------------------------------------------------------------- M vs D
def plot_feature_dims(ax, dims, ks) -> None:
    colors = _colors(ks)
    styles = {"full": "-", "symmetric": "--"}
    for k in ks:
        for c in CONSTRUCTIONS:
            ax.plot(
                dims,
                [feature_dim(c, d, k) for d in dims],
                styles[c],
                marker=".",
                color=colors[k],
                label=f"{c}, K={k}",
            )
    ax.set_yscale("log")
    ax.set_xlabel("head dimension D")
    ax.set_ylabel("feature dimension M")
    ax.legend(loc="upper left", ncol=2)


def feature_dim_figure(dims, ks):
    _style()
    fig, ax = plt.subplots(figsize=(5.5, 4.0), constrained_layout=True)
    plot_feature_dims(ax, list(dims), list(ks))
    ax.set_title("M = Σ Dⁿ (full) vs C(D+K−1, K−1) (symmetric)")
    return fig
