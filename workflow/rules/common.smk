# Shared helpers (functions live here, rules in the per-question files, as --lint asks):
# config validation, package-code tracking, output paths and target lists.

from pathlib import Path

from snakemake.utils import validate

validate(config, schema="../schemas/config.schema.yaml", set_default=True)

PACKAGE_DIR = Path(workflow.basedir) / "workflow" / "hw2repro"
RESULTS = "results"


def pkg(*modules):
    """Package modules a script imports, declared as inputs so editing one re-runs its jobs."""
    return [str(PACKAGE_DIR / "__init__.py")] + [str(PACKAGE_DIR / f"{m}.py") for m in modules]


# ---- Q2: CNN on OCTMNIST ----

OCT = config["data"]["octmnist"]
Q2 = config["q2"]
Q2_DIR = f"{RESULTS}/q2"


wildcard_constraints:
    pooling="max|none",
    lr=r"[0-9][0-9.e+-]*",
    seed=r"\d+",
    no_maxpool="True|False",


def fmt_num(x):
    """How the homework prints numbers in file names: 0.01, 0.7, 0 (not 0.0)."""
    return format(float(x), "g")


def q2_run(pooling, lr, seed):
    return f"{Q2_DIR}/runs/{pooling}_lr{lr}_seed{seed}"


POOLING_LABEL = {"False": "with max-pooling", "True": "without max-pooling"}  # by no_maxpool
Q2_CONFIGS = [(p, fmt_num(lr)) for p in Q2["poolings"] for lr in Q2["lrs"]]
Q2_RUNS = [q2_run(p, lr, s) for p, lr in Q2_CONFIGS for s in Q2["seeds"]]
# The homework's figure names: CNN-{training-loss,validation-accuracy}-{lr}-{dropout}-{l2}-{opt}-{no_maxpool}
Q2_FIG_SUFFIX = f"{fmt_num(Q2['dropout'])}-{fmt_num(Q2['l2_decay'])}-{Q2['optimizer']}"


def q2_figure(kind, pooling, lr, ext):
    no_maxpool = pooling == "none"
    return f"{Q2_DIR}/figures/CNN-{kind}-{lr}-{Q2_FIG_SUFFIX}-{no_maxpool}.{ext}"


def q2_final_outputs():
    figures = [
        q2_figure(kind, p, lr, ext)
        for p, lr in Q2_CONFIGS
        for kind in ("training-loss", "validation-accuracy")
        for ext in ("pdf", "png")
    ]
    tables = [f"{Q2_DIR}/{name}.csv" for name in ("summary", "summary_by_config", "epochs", "best_lr")]
    overview = [f"{Q2_DIR}/figures/test_accuracy_overview.{ext}" for ext in ("pdf", "png")]
    return tables + figures + overview


# ---- Q1: Taylor-feature linear attention ----

Q1 = config["q1"]
Q1_DIR = f"{RESULTS}/q1"
Q1_CATEGORY = "Q1 linear attention"


def q1_figure(name, ext):
    return f"{Q1_DIR}/figures/q1_{name}.{ext}"


def q1_final_outputs():
    tables = [
        f"{Q1_DIR}/{name}.csv"
        for name in ("verification", "approximation_error", "scaling", "scaling_slopes", "crossover", "complexity")
    ]
    figures = [q1_figure(n, ext) for n in ("scaling", "error_vs_scale", "feature_dim") for ext in ("pdf", "png")]
    return tables + [f"{Q1_DIR}/scaling_environment.json"] + figures
