"""Q1: wall time and peak memory of exact vs. linear attention as L grows.

Time: ``time.perf_counter`` around the call, best of several repeats (the minimum is the
least noisy estimate on a machine shared with other jobs; noise only ever adds time), plus the
call's CPU time from getrusage. Optionally (``keep_freed_memory``) in the allocator's steady
state, where big buffers are reused rather than page-faulted in afresh on every call.

Peak memory: tracemalloc cannot see torch (its buffers come from c10's allocator, not Python's)
and process RSS is blurred by glibc keeping freed pages and by other allocations in the process.
torch's profiler with ``profile_memory=True`` instead records every c10 CPU allocation and free
with its size and time stamp, so replaying them in time order gives the exact peak of tensor
bytes the call itself held (its inputs, allocated beforehand, are not counted) and the largest
single allocation — the quantity that shows whether an L×L matrix was ever created.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import os
import resource
import sys
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
import torch
from torch.profiler import ProfilerActivity, profile

from . import attention as la
from .dims import CONSTRUCTIONS, feature_dim

METHOD_EXACT = "exact"


def time_call(fn: Callable[[], object], min_time_s: float, min_repeats: int, max_repeats: int) -> dict:
    """Best-of-n wall time, the CPU time (user + system) of the fastest-CPU call, and n.

    Repeats at least ``min_repeats`` times (so a first call's one-off costs are not the only
    sample), then until ``min_time_s`` is spent or ``max_repeats`` is reached. CPU time is kept
    beside wall time: on a machine shared with other jobs it is not inflated by waiting for a
    core; its system part is mostly page faults on freshly mapped buffers.
    """
    best = {"time_s": math.inf, "cpu_time_s": math.inf, "sys_time_s": math.nan}
    spent, n = 0.0, 0
    min_repeats, max_repeats = max(1, min_repeats), max(1, min_repeats, max_repeats)
    while n < max_repeats and (n < min_repeats or spent < min_time_s):
        r0, wall0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        fn()
        wall, r1 = time.perf_counter() - wall0, resource.getrusage(resource.RUSAGE_SELF)
        user, system = r1.ru_utime - r0.ru_utime, r1.ru_stime - r0.ru_stime
        best["time_s"] = min(best["time_s"], wall)
        if user + system < best["cpu_time_s"]:
            best["cpu_time_s"], best["sys_time_s"] = user + system, system
        spent, n = spent + wall, n + 1
    return {**best, "repeats": n}


def keep_freed_memory() -> bool:
    """Ask glibc to keep freed memory for reuse instead of returning it to the OS.

    By default glibc serves blocks above a (dynamic, at most 32 MiB) threshold with a fresh
    mmap and unmaps them on free, so every call that needs a big buffer page-faults all of it
    in again. That kernel time grows with the size class, not with the arithmetic, and bends
    the measured exponents upwards (e.g. 1.5 instead of 1 for the linear form at D = 32). A
    long-running model reuses its buffers, so timings are taken in that steady state. Returns
    False where this is not glibc (then timings include the page faults; see sys_time_s).
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        big = 2**31 - 1
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, big)) and bool(libc.mallopt(_M_TRIM_THRESHOLD, big))
    except (OSError, AttributeError):
        return False


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc <malloc.h>


def allocation_trace(fn: Callable[[], object]) -> list[tuple[int, int]]:
    """(time_ns, bytes) for every CPU allocation (+) and free (-) made while ``fn`` runs."""
    prof = profile(activities=[ProfilerActivity.CPU], profile_memory=True)
    with _quiet_stderr():
        prof.__enter__()
    try:
        fn()
    finally:
        with _quiet_stderr():
            prof.__exit__(None, None, None)
    events = []
    stack = list(prof.profiler.kineto_results.experimental_event_tree())
    while stack:  # allocations sit at any depth of the op tree
        node = stack.pop()
        fields = getattr(node, "extra_fields", None)
        if type(fields).__name__ == "_ExtraFields_Allocation" and fields.device.type == "cpu":
            events.append((node.start_time_ns, int(fields.alloc_size)))
        stack.extend(node.children)
    return sorted(events)


@contextlib.contextmanager
def _quiet_stderr():
    """Silence file descriptor 2 while kineto starts/stops: it prints two 'USDT' lines per
    profiling session from C++ (no setting turns them off), hundreds per benchmark run."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def peak_memory(fn: Callable[[], object]) -> tuple[int, int]:
    """(peak bytes held at once, largest single allocation) by ``fn``'s own tensors."""
    current = peak = largest = 0
    for _, size in allocation_trace(fn):
        current += size
        peak, largest = max(peak, current), max(largest, size)
    return peak, largest


def method_name(construction: str) -> str:
    return f"linear_{construction}"


def _attention_fn(method: str, k_terms: int) -> Callable:
    if method == METHOD_EXACT:
        return la.exact_attention
    phi = la.feature_map(method.removeprefix("linear_"), k_terms)
    return lambda q, k, v: la.linear_attention(q, k, v, phi)


def run_scaling(
    lengths,
    dims,
    constructions,
    k_terms: int,
    dtype: str,
    min_time_s: float,
    min_repeats: int,
    max_repeats: int,
    seed: int,
    threads: int,
    reuse_freed_memory: bool,
    log: Callable[[str], None] = lambda msg: None,
) -> pd.DataFrame:
    """One row per (method, D, L): best time, repeats, peak bytes, largest allocation."""
    torch_dtype = getattr(torch, dtype)
    methods = [METHOD_EXACT] + [method_name(c) for c in constructions]
    rows = []
    for d in dims:
        for method in methods:
            fn = _attention_fn(method, k_terms)
            m = d if method == METHOD_EXACT else feature_dim(method.removeprefix("linear_"), d, k_terms)
            gen = torch.Generator().manual_seed(seed)
            warm = [t.to(torch_dtype) for t in la.scaled_inputs(min(lengths), d, 1.0, gen)]
            with torch.inference_mode():
                fn(*warm)  # first call pays one-off dispatch/kernel set-up, not O(L) work
            for length in sorted(lengths):
                q, k, v = (t.to(torch_dtype) for t in la.scaled_inputs(length, d, 1.0, gen))
                with torch.inference_mode():
                    timing = time_call(lambda: fn(q, k, v), min_time_s, min_repeats, max_repeats)
                    peak, largest = peak_memory(lambda: fn(q, k, v))
                rows.append(
                    {
                        "method": method,
                        "D": d,
                        "L": length,
                        "K": k_terms,
                        "M": m,
                        **timing,
                        "peak_bytes": peak,
                        "largest_alloc_bytes": largest,
                        "LxL_bytes": length * length * torch.tensor([], dtype=torch_dtype).element_size(),
                        "dtype": dtype,
                        "threads": threads,
                        "reuse_freed_memory": reuse_freed_memory,
                    }
                )
                log(
                    f"{method:>16s} D={d:<3d} L={length:<6d} {timing['time_s'] * 1e3:9.3f} ms "
                    f"(cpu {timing['cpu_time_s'] * 1e3:9.3f}, sys {timing['sys_time_s'] * 1e3:8.3f}) "
                    f"x{timing['repeats']}  peak {peak / 2**20:9.2f} MiB"
                )
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- analysis
def loglog_slope(x, y) -> float:
    """Least-squares slope of log y on log x (the exponent p in y ∝ x^p)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = (x > 0) & (y > 0)
    if ok.sum() < 2:
        return float("nan")
    return float(np.polyfit(np.log(x[ok]), np.log(y[ok]), 1)[0])


def fit_slopes(df: pd.DataFrame, fit_min_length: int) -> pd.DataFrame:
    """Exponents in L of wall time, CPU time and peak memory, fitted on L ≥ fit_min_length.

    Small L is dominated by fixed per-call overhead (flat in L) and would bias the exponent down.
    """
    rows = []
    for (method, d), g in df[df["L"] >= fit_min_length].groupby(["method", "D"], sort=False):
        rows.append(
            {
                "method": method,
                "D": d,
                "M": int(g["M"].iloc[0]),
                "fit_min_L": int(g["L"].min()),
                "fit_max_L": int(g["L"].max()),
                "n_points": len(g),
                "time_slope": loglog_slope(g["L"], g["time_s"]),
                "cpu_time_slope": loglog_slope(g["L"], g["cpu_time_s"]),
                "memory_slope": loglog_slope(g["L"], g["peak_bytes"]),
            }
        )
    return pd.DataFrame(rows)


def crossover_length(lengths, t_exact, t_linear) -> tuple[float, float]:
    """(first grid L from which linear stays faster, log-log interpolated crossing) or NaNs.

    The interpolation solves log(t_exact/t_linear) = 0 linearly in log L between the last grid
    length where exact was still faster and the first one from which linear always wins.
    """
    lengths = np.asarray(lengths, float)
    ratio = np.log(np.asarray(t_exact, float) / np.asarray(t_linear, float))
    wins = ratio > 0
    start = next((i for i in range(len(wins)) if wins[i:].all()), None)
    if start is None:
        return float("nan"), float("nan")
    if start == 0:  # linear already faster at the shortest length measured
        return float(lengths[0]), float("nan")
    x0, x1 = np.log(lengths[start - 1]), np.log(lengths[start])
    r0, r1 = ratio[start - 1], ratio[start]
    return float(lengths[start]), float(np.exp(x0 - r0 * (x1 - x0) / (r1 - r0)))


def crossover(df: pd.DataFrame) -> pd.DataFrame:
    """Per (linear method, D): where linear attention starts to beat exact (wall and CPU time)."""
    rows = []
    exact = df[df["method"] == METHOD_EXACT].set_index(["D", "L"])
    for (method, d), g in df[df["method"] != METHOD_EXACT].groupby(["method", "D"], sort=False):
        g = g.sort_values("L")
        lengths = g["L"].to_numpy()
        ex = exact.loc[d].reindex(lengths)
        grid, interp = crossover_length(lengths, ex["time_s"], g["time_s"])
        grid_cpu, interp_cpu = crossover_length(lengths, ex["cpu_time_s"], g["cpu_time_s"])
        rows.append(
            {
                "method": method,
                "D": d,
                "M": int(g["M"].iloc[0]),
                "crossover_L_grid": grid,
                "crossover_L_interp": interp,
                "crossover_L_grid_cpu": grid_cpu,
                "crossover_L_interp_cpu": interp_cpu,
                "max_L": int(lengths[-1]),
                "speedup_at_max_L": float(ex["time_s"].iloc[-1] / g["time_s"].iloc[-1]),
                "memory_ratio_at_max_L": float(ex["peak_bytes"].iloc[-1] / g["peak_bytes"].iloc[-1]),
            }
        )
    return pd.DataFrame(rows)


CLAIMS = {
    ("exact", "time_slope"): ("O(L²·D) time", 2.0),
    ("exact", "cpu_time_slope"): ("O(L²·D) time", 2.0),
    ("exact", "memory_slope"): ("O(L²) memory", 2.0),
    ("linear", "time_slope"): ("O(L·M·D) time", 1.0),
    ("linear", "cpu_time_slope"): ("O(L·M·D) time", 1.0),
    ("linear", "memory_slope"): ("O(L·M) memory", 1.0),
}
QUANTITY = {"time_slope": "wall time vs L", "cpu_time_slope": "CPU time vs L", "memory_slope": "peak memory vs L"}


def complexity_table(slopes: pd.DataFrame, cross: pd.DataFrame, k_terms: int, dims) -> pd.DataFrame:
    """The homework's complexity claims next to what was measured, one row per claim and D."""
    rows = []
    for _, s in slopes.iterrows():
        kind = "exact" if s["method"] == METHOD_EXACT else "linear"
        for col in ("time_slope", "cpu_time_slope", "memory_slope"):
            claim, expected = CLAIMS[(kind, col)]
            rows.append(
                {
                    "claim": claim,
                    "method": s["method"],
                    "D": s["D"],
                    "quantity": QUANTITY[col],
                    "claimed": expected,
                    "measured": round(s[col], 2),
                    "detail": f"log-log slope, L={s['fit_min_L']}..{s['fit_max_L']}",
                }
            )
    for c in CONSTRUCTIONS:
        ms = [feature_dim(c, d, k_terms) for d in dims]
        rows.append(
            {
                "claim": f"M = O(D^{k_terms - 1}) for K={k_terms}",
                "method": method_name(c),
                "D": None,
                "quantity": "M vs D",
                "claimed": float(k_terms - 1),
                "measured": round(loglog_slope(dims, ms), 2),
                "detail": f"slope over D={min(dims)}..{max(dims)}, M=" + "/".join(map(str, ms)),
            }
        )
    for _, x in cross.iterrows():
        rows.append(
            {
                "claim": "linear form wins for long sequences",
                "method": x["method"],
                "D": x["D"],
                "quantity": "crossover L (wall)",
                "claimed": None,
                "measured": None if np.isnan(x["crossover_L_interp"]) else round(x["crossover_L_interp"]),
                "detail": f"first grid L {x['crossover_L_grid']:.0f}; {x['speedup_at_max_L']:.1f}x faster, "
                f"{x['memory_ratio_at_max_L']:.1f}x less memory at L={x['max_L']}",
            }
        )
    return pd.DataFrame(rows)


def scaling_tables(s: dict, seed: int, threads: int, log: Callable[[str], None] = lambda msg: None) -> dict:
    """Measurements and their analysis for config ``q1.scaling`` settings ``s`` (rule q1_scaling)."""
    reuse = keep_freed_memory() if s["reuse_freed_memory"] else False
    log(f"freed memory kept for reuse (no fresh page faults per call): {reuse}")
    df = run_scaling(
        s["lengths"],
        s["dims"],
        s["constructions"],
        s["terms"],
        s["dtype"],
        s["min_time_s"],
        s["min_repeats"],
        s["max_repeats"],
        seed,
        threads,
        reuse,
        log,
    )
    slopes = fit_slopes(df, s["fit_min_length"])
    cross = crossover(df)
    return {
        "scaling": df,
        "slopes": slopes,
        "crossover": cross,
        "complexity": complexity_table(slopes, cross, s["terms"], sorted(s["dims"])),
    }
