"""Every output path of the pipeline, and which jobs a config asks for: pure functions of the merged config.

The rules (workflow/rules/*.smk), the report rule and the tests all ask here, so a path is written once.
Nothing here imports Snakemake, torch or numpy: the workflow calls it while it plans the DAG.
"""

from __future__ import annotations

from .errors import InputError

# The homework's per-run Q3 plot names (its plot_metrics / cmp_phase_metrics).
Q3_ORIGINAL_PLOTS = (
    "loss__train",
    "loss__val",
    "loss__train_val",
    "jaccard_similarity__val",
    "cosine_similarity__val",
    "damerau-levenshtein_similarity__val",
)
Q3_SPLITS = ("train", "val", "test")
Q2_CONFIG_FIGURE_KINDS = ("training-loss", "validation-accuracy")
BOTH = ("pdf", "png")


def fmt_num(x) -> str:
    """How the homework prints numbers in file names (0.01, 0.7, 0), and exact: the name reads back
    as the same float (0.0123456789 stays 0.0123456789, not %g's 0.0123457)."""
    x = float(x)
    short = format(x, "g")
    return short if float(short) == x else repr(x)


def require_unique(key: str, values, name=str) -> None:
    """A grid value listed twice would be one job whose result is counted twice: refuse it."""
    names = [name(v) for v in values]
    if len(set(names)) != len(names):
        raise InputError(f"invalid config: {key}: {values} lists a value twice (each value is one job)")


def check_grids(config: dict) -> None:
    require_unique("q2.lrs", config["q2"]["lrs"], fmt_num)
    require_unique("q2.poolings", config["q2"]["poolings"])
    require_unique("q2.seeds", config["q2"]["seeds"])
    require_unique("q3.decoders", config["q3"]["decoders"])
    require_unique("q3.seeds", config["q3"]["seeds"])


def root(config: dict) -> str:
    """The output root of the run (config key ``results``): every output, log and benchmark is under it."""
    return config["results"].rstrip("/")


# ---- Q1: Taylor-feature linear attention


def q1_dir(config: dict) -> str:
    return f"{root(config)}/q1"


def q1_figure(config: dict, name: str, ext: str) -> str:
    return f"{q1_dir(config)}/figures/q1_{name}.{ext}"


Q1_TABLES = ("verification", "approximation_error", "scaling", "scaling_slopes", "crossover", "complexity")
Q1_FIGURES = ("scaling", "error_vs_scale", "feature_dim")


def q1_final_outputs(config: dict) -> list[str]:
    tables = [f"{q1_dir(config)}/{name}.csv" for name in Q1_TABLES]
    figures = [q1_figure(config, n, ext) for n in Q1_FIGURES for ext in BOTH]
    return tables + [f"{q1_dir(config)}/scaling_environment.json"] + figures


def q1_jobs(config: dict) -> list[tuple[str, dict]]:
    """(rule, wildcards) of every Q1 job."""
    return [("q1_verify", {}), ("q1_scaling", {}), ("q1_figures", {})]


# ---- Q2: CNN on OCTMNIST


def q2_dir(config: dict) -> str:
    return f"{root(config)}/q2"


def q2_configs(config: dict) -> list[tuple[str, str]]:
    """(pooling, lr as named in paths) of every configuration of the grid."""
    q2 = config["q2"]
    return [(p, fmt_num(lr)) for p in q2["poolings"] for lr in q2["lrs"]]


def q2_run(config: dict, pooling: str, lr: str, seed) -> str:
    return f"{q2_dir(config)}/runs/{pooling}_lr{lr}_seed{seed}"


def q2_run_points(config: dict) -> list[dict]:
    """Every training run, in the order of the run lists: pooling, lr (as in paths), seed."""
    return [{"pooling": p, "lr": lr, "seed": s} for p, lr in q2_configs(config) for s in config["q2"]["seeds"]]


def q2_runs(config: dict) -> list[str]:
    return [q2_run(config, **run) for run in q2_run_points(config)]


def q2_fig_suffix(config: dict) -> str:
    """The homework's figure names: CNN-{training-loss,validation-accuracy}-{lr}-{dropout}-{l2}-{opt}-{no_maxpool}."""
    q2 = config["q2"]
    return f"{fmt_num(q2['dropout'])}-{fmt_num(q2['l2_decay'])}-{q2['optimizer']}"


def q2_figure(config: dict, kind: str, pooling: str, lr: str, ext: str) -> str:
    no_maxpool = pooling == "none"
    return f"{q2_dir(config)}/figures/CNN-{kind}-{lr}-{q2_fig_suffix(config)}-{no_maxpool}.{ext}"


def q2_overview_figures(config: dict) -> list[str]:
    """Figures over the whole grid: every lr overlaid per pooling, per-class accuracy, confusion matrices."""
    return [f"lr_overlay_{p}" for p in config["q2"]["poolings"]] + [
        "per_class_accuracy",
        "confusion_matrix",
        "published_spread",
    ]


def q2_config_figures(config: dict) -> list[dict]:
    """The per-configuration figures (PNG), with what each one shows."""
    return [
        {"kind": kind, "pooling": p, "lr": lr, "path": q2_figure(config, kind, p, lr, "png")}
        for p, lr in q2_configs(config)
        for kind in Q2_CONFIG_FIGURE_KINDS
    ]


def q2_final_outputs(config: dict) -> list[str]:
    d = q2_dir(config)
    figures = [
        q2_figure(config, kind, p, lr, ext)
        for p, lr in q2_configs(config)
        for kind in Q2_CONFIG_FIGURE_KINDS
        for ext in BOTH
    ]
    tables = [f"{d}/{name}.csv" for name in ("summary", "summary_by_config", "epochs", "best_lr")]
    overview = [f"{d}/figures/test_accuracy_overview.{ext}" for ext in BOTH]
    overview += [f"{d}/figures/{name}.{ext}" for name in q2_overview_figures(config) for ext in BOTH]
    tables += [f"{d}/{name}.csv" for name in ("per_class", "confusion")]
    # every run's own files too: a deleted result.json or model.pt is rebuilt (the tables alone would
    # not ask for it once they exist)
    runs = [
        f"{r}/{n}" for r in q2_runs(config) for n in ("metrics.csv", "result.json", "model.pt", "test_predictions.csv")
    ]
    return runs + tables + figures + overview


def q2_jobs(config: dict) -> list[tuple[str, dict]]:
    """(rule, wildcards) of every Q2 job."""
    return (
        [("octmnist_data", {}), ("q2_aggregate", {}), ("q2_overview_figure", {}), ("q2_classes", {})]
        + [("q2_lr_overlay", {"pooling": p}) for p in config["q2"]["poolings"]]
        + [("q2_train", run) for run in q2_run_points(config)]
        + [("q2_config_figures", {"lr": lr, "no_maxpool": p == "none"}) for p, lr in q2_configs(config)]
    )


# ---- Q3: speech recognition on LJ Speech


def q3_dir(config: dict) -> str:
    return f"{root(config)}/q3"


def q3_fig(config: dict) -> str:
    return f"{q3_dir(config)}/figures"


def q3_runs(config: dict) -> list[tuple[str, int]]:
    """(decoder, seed) of every training run."""
    return [(d, s) for d in config["q3"]["decoders"] for s in config["q3"]["seeds"]]


def q3_run(config: dict, decoder: str, seed) -> str:
    return f"{q3_dir(config)}/runs/{decoder}_seed{seed}"


def q3_feature_file(config: dict, split: str, kind: str = "pt") -> str:
    """A split's cached features: ``{split}.pt`` (tokens, ids; names the array) or its ``{split}.features.npy``."""
    return f"{root(config)}/q3/features/{split}.{'pt' if kind == 'pt' else 'features.npy'}"


def q3_run_plots(config: dict) -> list[str]:
    return [
        f"{q3_fig(config)}/{d}_seed{s}/{name}.{ext}"
        for d, s in q3_runs(config)
        for name in Q3_ORIGINAL_PLOTS
        for ext in BOTH
    ]


def q3_final_outputs(config: dict) -> list[str]:
    runs = [
        f"{q3_run(config, d, s)}/{name}"
        for d, s in q3_runs(config)
        for name in ("metrics.csv", "test.json", "predictions.txt", "model.pt")
    ]
    d, fig = q3_dir(config), q3_fig(config)
    tables = [f"{d}/summary.csv", f"{d}/epochs.csv", f"{fig}/test_table.csv"]
    figures = [f"{fig}/{name}.{ext}" for name in ("loss_train_val", "val_similarities", "test_table") for ext in BOTH]
    return runs + tables + figures + q3_run_plots(config)


def q3_jobs(config: dict) -> list[tuple[str, dict]]:
    """(rule, wildcards) of every Q3 job."""
    return (
        [("ljspeech_data", {}), ("q3_aggregate", {}), ("q3_figures", {})]
        + [("q3_features", {"split": s}) for s in Q3_SPLITS]
        + [("q3_train", {"decoder": d, "seed": s}) for d, s in q3_runs(config)]
    )


def ljspeech_params(lj: dict) -> dict:
    """Only the keys the chosen LJ source uses: editing another source's keys re-runs nothing."""
    keys = {
        "synthetic": ("source", "synthetic"),
        "path": ("source", "path", "expected_rows"),
        "download": ("source", "url", "sha256", "size", "expected_rows"),
    }[lj["source"]]
    return {k: lj[k] for k in keys}
