"""The tidy tables behind the compiled reproduction report, and the statistics they use.

Everything here is plain pandas on the pipeline's own tables (``results/q*/...csv``), the data
metadata (``results/data/*.json``), the published numbers (``config/references.yaml``) and
Snakemake's benchmark files. No SciPy: the t quantile for the 95% confidence intervals is computed
here (regularized incomplete beta function + bisection) and checked against tabulated values.

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
from pathlib import Path

import numpy as np
import pandas as pd

CONFIDENCE = 0.95
NOT_COMPARABLE = "not comparable (synthetic or not the canonical data)"

# ---------------------------------------------------------------------------------------------
# Student t quantile (no SciPy)
# ---------------------------------------------------------------------------------------------


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 400):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with ``df`` degrees of freedom."""
    tail = 0.5 * betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


def t_quantile(p: float, df: float) -> float:
    """The p-quantile of Student's t (bisection on ``t_cdf``; accurate to ~1e-10)."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be in (0, 1), got {p}")
    if df <= 0:
        raise ValueError(f"df must be positive, got {df}")
    if p == 0.5:
        return 0.0
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:
        lo, hi = hi, hi * 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-12 * max(1.0, hi):
            break
    return 0.5 * (lo + hi)


def t_critical(n: int, confidence: float = CONFIDENCE) -> float:
    """Two-sided critical value for a mean of ``n`` values (df = n − 1); NaN when n < 2."""
    if n < 2:
        return float("nan")
    return t_quantile(0.5 + confidence / 2.0, n - 1)


def describe(values) -> dict:
    """n, mean, sd, 95% CI (t), min, max of the finite values."""
    x = pd.to_numeric(pd.Series(values, dtype="float64"), errors="coerce").dropna().to_numpy(float)
    n = len(x)
    out = {"n": n, "mean": np.nan, "sd": np.nan, "ci95_low": np.nan, "ci95_high": np.nan,
           "min": np.nan, "max": np.nan}
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


# ---------------------------------------------------------------------------------------------
# Formatting helpers shared by the renderers
# ---------------------------------------------------------------------------------------------


def fmt_mean_ci(stats: dict, digits: int = 4) -> str:
    """'0.8242 ± 0.0123 (n=5)' with the 95% CI half-width, or '0.8242 (n=1)'."""
    if stats["n"] == 0 or pd.isna(stats["mean"]):
        return "–"
    if stats["n"] < 2 or pd.isna(stats["ci95_high"]):
        return f"{stats['mean']:.{digits}f} (n={stats['n']})"
    half = stats["ci95_high"] - stats["mean"]
    return f"{stats['mean']:.{digits}f} ± {half:.{digits}f} (n={stats['n']})"


# ---------------------------------------------------------------------------------------------
# Q2: CNN on OCTMNIST
# ---------------------------------------------------------------------------------------------

Q2_METRICS = {  # published column -> (our summary.csv column, label)
    "test_acc": ("test_acc", "test accuracy"),
    "val_acc": ("final_val_acc", "validation accuracy (final epoch)"),
    "train_loss": ("final_train_loss", "training loss (running mean, final epoch)"),
}


def q2_config_stats(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean, sd, 95% CI, min, max over seeds: one row per pooling x lr x metric."""
    rows = []
    for (pooling, lr), group in runs.groupby(["pooling", "lr"], sort=False):
        for metric, (column, label) in Q2_METRICS.items():
            rows.append({"pooling": pooling, "lr": float(lr), "metric": metric, "label": label,
                         **describe(group[column]), "seeds": " ".join(str(s) for s in sorted(group["seed"]))})
    cols = ["pooling", "lr", "metric", "label", "n", "mean", "sd", "ci95_low", "ci95_high", "min", "max", "seeds"]
    return pd.DataFrame(rows, columns=cols).sort_values(["metric", "pooling", "lr"], ascending=[True, True, False],
                                                        ignore_index=True)


def q2_comparison(runs: pd.DataFrame, published: pd.DataFrame, comparable: bool) -> pd.DataFrame:
    """Every published Q2 number beside ours (same lr, pooling and metric)."""
    rows = []
    for _, pub in published.iterrows():
        for metric, (column, label) in Q2_METRICS.items():
            value = pub.get(metric)
            if value is None or pd.isna(value):
                continue
            ours = runs[(runs["pooling"] == pub["pooling"]) & np.isclose(runs["lr"].astype(float), float(pub["lr"]))]
            stats = describe(ours[column])
            sigma, words = position(float(value), stats, comparable)
            rows.append({"metric": metric, "label": label, "pooling": pub["pooling"], "lr": float(pub["lr"]),
                         "source": pub["source"], "published": float(value), "ours_n": stats["n"],
                         "ours_mean": stats["mean"], "ours_sd": stats["sd"], "ours_ci95_low": stats["ci95_low"],
                         "ours_ci95_high": stats["ci95_high"], "sigma": sigma, "position": words,
                         "comparable": comparable and stats["n"] > 0})
    cols = ["metric", "label", "pooling", "lr", "source", "published", "ours_n", "ours_mean", "ours_sd",
            "ours_ci95_low", "ours_ci95_high", "sigma", "position", "comparable"]
    order = {m: i for i, m in enumerate(Q2_METRICS)}
    table = pd.DataFrame(rows, columns=cols)
    table["_m"] = table["metric"].map(order)
    return table.sort_values(["_m", "pooling", "lr", "source"], ascending=[True, True, False, True],
                             ignore_index=True).drop(columns="_m")


def q2_pooling_effect(runs: pd.DataFrame, published: pd.DataFrame, comparable: bool) -> pd.DataFrame:
    """Max-pooling minus no pooling, per lr and metric, paired by seed, against seed-to-seed spread.

    The difference is "larger than the seed-to-seed spread" when the 95% CI of the paired
    differences excludes 0 (needs >= 2 seeds run with both variants).
    """
    rows = []
    for lr in sorted(runs["lr"].unique(), reverse=True):
        at_lr = runs[np.isclose(runs["lr"], lr)]
        with_pool = at_lr[at_lr["pooling"] == "max"].set_index("seed")
        without = at_lr[at_lr["pooling"] == "none"].set_index("seed")
        seeds = sorted(set(with_pool.index) & set(without.index))
        if not seeds:
            continue
        for metric in ("test_acc", "val_acc"):
            column = Q2_METRICS[metric][0]
            diffs = with_pool.loc[seeds, column].to_numpy(float) - without.loc[seeds, column].to_numpy(float)
            d = describe(diffs)
            spread = np.sqrt((with_pool.loc[seeds, column].var(ddof=1) + without.loc[seeds, column].var(ddof=1)) / 2) \
                if len(seeds) > 1 else np.nan
            if len(seeds) < 2:
                verdict = "one seed: seed-to-seed spread unknown"
            elif d["ci95_low"] > 0 or d["ci95_high"] < 0:
                verdict = "larger than seed-to-seed spread (95% CI of the paired difference excludes 0)"
            else:
                verdict = "within seed-to-seed spread (95% CI of the paired difference includes 0)"
            pub = published[np.isclose(published["lr"].astype(float), lr)].pivot_table(
                index="source", columns="pooling", values=metric, aggfunc="first")
            pub_diff = (pub["max"] - pub["none"]).dropna() if {"max", "none"} <= set(pub.columns) else pd.Series([], dtype=float)
            rows.append({"lr": float(lr), "metric": metric, "n_seeds": len(seeds),
                         "mean_with_pooling": with_pool.loc[seeds, column].mean(),
                         "mean_without_pooling": without.loc[seeds, column].mean(),
                         "difference": d["mean"], "difference_ci95_low": d["ci95_low"],
                         "difference_ci95_high": d["ci95_high"], "seed_sd": spread, "verdict": verdict,
                         "published_difference_mean": pub_diff.mean() if len(pub_diff) else np.nan,
                         "published_n_sources": len(pub_diff), "comparable": comparable})
    cols = ["lr", "metric", "n_seeds", "mean_with_pooling", "mean_without_pooling", "difference",
            "difference_ci95_low", "difference_ci95_high", "seed_sd", "verdict", "published_difference_mean",
            "published_n_sources", "comparable"]
    return pd.DataFrame(rows, columns=cols)


def q2_best_lr(runs: pd.DataFrame, best: pd.DataFrame, published: pd.DataFrame, comparable: bool) -> pd.DataFrame:
    """The lr chosen on validation (mean over seeds), how many single seeds pick it, published picks."""
    rows = []
    for _, row in best.iterrows():
        pooling = row["pooling"]
        sub = runs[runs["pooling"] == pooling]
        per_seed = sub.loc[sub.groupby("seed")["final_val_acc"].idxmax(), "lr"] if len(sub) else pd.Series([], dtype=float)
        agree = int(np.isclose(per_seed.astype(float), float(row["best_lr"])).sum())
        pub = published[published["pooling"] == pooling].dropna(subset=["val_acc"])
        pub_best = pub.loc[pub.groupby("source")["val_acc"].idxmax()] if len(pub) else pub
        # only sources that report validation accuracy for more than one lr pick anything
        pub_best = pub_best[pub_best["source"].map(pub.groupby("source").size()) > 1]
        pub_lrs = sorted({float(x) for x in pub_best["lr"]}) if len(pub_best) else []
        rows.append({"pooling": pooling, "best_lr": float(row["best_lr"]),
                     "val_acc_mean": float(row["final_val_acc_mean"]), "test_acc_mean": float(row["test_acc_mean"]),
                     "seeds_picking_it": agree, "n_seeds": int(sub["seed"].nunique()),
                     "published_best_lrs": " ".join(format(x, "g") for x in pub_lrs) or "–",
                     "published_n_sources": len(pub_best),
                     "agrees_with_published": (pub_lrs == [float(row["best_lr"])]) if comparable and pub_lrs else np.nan,
                     "comparable": comparable})
    cols = ["pooling", "best_lr", "val_acc_mean", "test_acc_mean", "seeds_picking_it", "n_seeds",
            "published_best_lrs", "published_n_sources", "agrees_with_published", "comparable"]
    return pd.DataFrame(rows, columns=cols)


def q2_params(runs: pd.DataFrame, published_n_params: int | None) -> pd.DataFrame:
    """Trainable parameters per variant against the published count (independent of the data)."""
    rows = []
    for pooling, group in runs.groupby("pooling", sort=True):
        counts = sorted({int(x) for x in group["n_params"].dropna()})
        ours = counts[0] if len(counts) == 1 else np.nan
        rows.append({"pooling": pooling, "n_params": ours, "published": published_n_params,
                     "matches": bool(published_n_params is not None and ours == published_n_params)})
    return pd.DataFrame(rows, columns=["pooling", "n_params", "published", "matches"])


# ---------------------------------------------------------------------------------------------
# Q3: speech recognition
# ---------------------------------------------------------------------------------------------

Q3_SCORES = ("loss", "jaccard", "cosine", "damerau_levenshtein")
Q3_LABELS = {"loss": "loss", "jaccard": "Jaccard", "cosine": "cosine", "damerau_levenshtein": "Damerau–Levenshtein"}


def q3_stats(summary: pd.DataFrame) -> pd.DataFrame:
    """Test and audio-blind scores over seeds: one row per decoder x kind x score."""
    rows = []
    for decoder, group in summary.groupby("decoder", sort=True):
        for kind, prefix in (("test", "test_"), ("audio_blind", "audio_blind_")):
            for score in Q3_SCORES:
                column = f"{prefix}{score}"
                values = group[column] if column in group else []
                rows.append({"decoder": decoder, "kind": kind, "score": score, **describe(values),
                             "seeds": " ".join(str(s) for s in sorted(group["seed"]))})
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
        rows.append({"split": split, "decoder": decoder, "score": score, "source": source, "published": float(value),
                     "our_epoch": our_epoch, "ours_n": stats["n"], "ours_mean": stats["mean"], "ours_sd": stats["sd"],
                     "ours_ci95_low": stats["ci95_low"], "ours_ci95_high": stats["ci95_high"], "sigma": sigma,
                     "position": words, "comparable": comparable and stats["n"] > 0})

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
    cols = ["split", "decoder", "score", "source", "published", "our_epoch", "ours_n", "ours_mean", "ours_sd",
            "ours_ci95_low", "ours_ci95_high", "sigma", "position", "comparable"]
    return pd.DataFrame(rows, columns=cols)


# ---------------------------------------------------------------------------------------------
# Q1: linear attention
# ---------------------------------------------------------------------------------------------


def q1_verification_summary(verification: pd.DataFrame) -> pd.DataFrame:
    """Per check x construction: how many checks, how many passed, the largest error."""
    checks = verification[verification["kind"] == "check"]
    rows = []
    for (check, construction), group in checks.groupby(["check", "construction"], sort=False):
        passed = group["passed"].astype(str).str.lower().isin(["true", "1"])
        rows.append({"check": check, "construction": construction, "n": len(group), "passed": int(passed.sum()),
                     "all_passed": bool(passed.all()),
                     "max_error": pd.to_numeric(group["error"], errors="coerce").max(),
                     "max_error_in_eps": pd.to_numeric(group.get("error_in_eps"), errors="coerce").max()
                     if "error_in_eps" in group else np.nan,
                     "tolerance": pd.to_numeric(group["tolerance"], errors="coerce").max()})
    return pd.DataFrame(rows, columns=["check", "construction", "n", "passed", "all_passed", "max_error",
                                       "max_error_in_eps", "tolerance"])


def q1_observations(verification: pd.DataFrame) -> pd.DataFrame:
    obs = verification[verification["kind"] == "observation"]
    keep = [c for c in ("check", "construction", "D", "K", "value", "expected") if c in obs]
    obs = obs[keep].reset_index(drop=True)
    for c in ("D", "K"):
        if c in obs and obs[c].notna().all():
            obs[c] = obs[c].astype(int)
    return obs


# ---------------------------------------------------------------------------------------------
# Benchmarks (Snakemake's benchmark: files)
# ---------------------------------------------------------------------------------------------


def read_benchmark(path) -> dict:
    """One benchmark TSV: wall seconds, CPU seconds, max RSS (MB), mean load (mean over repeats)."""
    frame = pd.read_csv(path, sep="\t")
    num = {c: pd.to_numeric(frame[c], errors="coerce") for c in frame.columns if c != "h:m:s"}

    def col(name):
        return float(num[name].mean()) if name in num and num[name].notna().any() else np.nan

    return {"wall_s": col("s"), "cpu_s": col("cpu_time"), "max_rss_mb": col("max_rss"), "mean_load": col("mean_load"),
            "repeats": len(frame)}


def benchmarks_table(paths) -> pd.DataFrame:
    """One row per job: question (first folder under .../benchmarks/), job (path below it, no
    suffix), wall time, CPU time, peak memory."""
    rows = []
    for path in paths:
        p = Path(path)
        parts = p.with_suffix("").parts
        below = parts[len(parts) - parts[::-1].index("benchmarks"):] if "benchmarks" in parts else parts[-2:]
        question = below[0] if len(below) > 1 else ""
        rows.append({"question": question, "job": "/".join(below), **read_benchmark(p), "path": str(p)})
    cols = ["question", "job", "wall_s", "cpu_s", "max_rss_mb", "mean_load", "repeats", "path"]
    return pd.DataFrame(rows, columns=cols).sort_values(["question", "job"], ignore_index=True)


def benchmarks_totals(bench: pd.DataFrame) -> pd.DataFrame:
    """Per question and overall: jobs, summed wall time and CPU time, the largest peak memory."""
    def agg(frame, name):
        return {"question": name, "jobs": len(frame), "wall_s": frame["wall_s"].sum(min_count=1),
                "cpu_s": frame["cpu_s"].sum(min_count=1), "max_rss_mb": frame["max_rss_mb"].max()}

    rows = [agg(group, q) for q, group in bench.groupby("question", sort=True)]
    rows.append(agg(bench, "all"))
    return pd.DataFrame(rows, columns=["question", "jobs", "wall_s", "cpu_s", "max_rss_mb"])


def kv_table(items: dict | list, section: str | None = None) -> pd.DataFrame:
    """A key/value table (setup and provenance): list of (key, value) or a dict."""
    pairs = list(items.items()) if isinstance(items, dict) else list(items)
    frame = pd.DataFrame([{"key": k, "value": "" if v is None else str(v)} for k, v in pairs], columns=["key", "value"])
    if section is not None:
        frame.insert(0, "section", section)
    return frame


# ---------------------------------------------------------------------------------------------
# Provenance
# ---------------------------------------------------------------------------------------------


def job_environments(envs: list[tuple[str, dict]]) -> pd.DataFrame:
    """Distinct software/hardware environments the jobs recorded: (question, env dict) pairs."""
    keys = ["python", "torch", "numpy", "cpu", "cpu_isa", "device", "torch_threads", "platform"]
    rows = [{"question": q, **{k: env.get(k) for k in keys}} for q, env in envs if env]
    if not rows:
        return pd.DataFrame(columns=["question", *keys, "jobs"])
    frame = pd.DataFrame(rows).astype(str)
    return frame.groupby(["question", *keys], sort=True).size().rename("jobs").reset_index()
