# Shared helpers (functions live here, rules in the per-question files, as --lint asks):
# where the workflow lives, config defaults and validation, derived code inputs, output paths and
# target lists.

import os
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import update_config, validate

# Every path of the workflow's own files comes from where this file is, not from the working
# directory: the workflow then runs the same as a module of another workflow or with --directory.
WORKFLOW_DIR = Path(workflow.current_basedir).resolve().parent  # workflow/
REPO_DIR = WORKFLOW_DIR.parent
# The jobs import the package beside this file, whatever else is installed (a moved checkout, an
# editable install of another one): it goes first on the path, here and in every job's environment.
sys.path.insert(0, str(WORKFLOW_DIR))
from hw2repro import code_identity, config_checks, config_files, labels  # noqa: E402 (needs the path above)
from hw2repro import resources as job_resources  # noqa: E402

code_identity.put_first_on_job_path()


def workflow_file(*parts):
    """A file of the workflow as Snakemake should record it: relative to the working directory, so a
    copied or moved checkout (results and .snakemake included) is up to date where it lands."""
    return os.path.relpath(REPO_DIR.joinpath(*parts))


def code_of(script):
    """A rule's code inputs: the package modules its script imports, directly or not (read from the
    source by hw2repro.code_identity, never listed by hand)."""
    return [
        workflow_file(p.relative_to(REPO_DIR)) for p in code_identity.script_modules(WORKFLOW_DIR / "scripts" / script)
    ]


def require_unique(key, values, name=str):
    """A grid value listed twice would be one job whose result is counted twice: refuse it."""
    names = [name(v) for v in values]
    if len(set(names)) != len(names):
        raise WorkflowError(f"invalid config: {key}: {values} lists a value twice (each value is one job)")


def config_error_line(error):
    """One line naming the config key and what was expected, from a jsonschema ValidationError."""
    key = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".")
    return f"invalid config: {key or '(top level)'}: {error.message}"


# config/config.yaml holds every key and its default; what the user gives (--configfile, --config,
# a host workflow's module config) is merged over it.
DEFAULT_CONFIG = workflow_file("config", "config.yaml")
try:  # read strictly (a key given twice, a tab), each --configfile too: one line naming file and line
    config_files.check(workflow.overwrite_configfiles)
    _merged = config_files.load(DEFAULT_CONFIG)
    config_files.check_references(workflow_file("config", "references.yaml"))
except config_files.ConfigFileError as exc:
    raise WorkflowError(str(exc)) from None
update_config(_merged, config)
config.clear()
config.update(_merged)
try:
    validate(config, schema="../schemas/config.schema.yaml")
except WorkflowError as exc:  # Snakemake's own message dumps the whole schema: say it in one line
    detail = exc.__context__  # the jsonschema ValidationError it was raised from
    if not hasattr(detail, "absolute_path"):
        raise
    raise WorkflowError(config_error_line(detail)) from None
# What the schema cannot say (keys that must agree with each other), before any job runs either.
try:
    config_checks.check(config)
except config_checks.ConfigError as exc:
    raise WorkflowError(str(exc)) from None

# The output root of this run (config key `results`): every output, log and benchmark is under it,
# so runs of different configs (config/paper.yaml: results-paper) coexist and can be compared.
RESULTS = config["results"].rstrip("/")
REFERENCES = workflow_file("config", "references.yaml")


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
    """How the homework prints numbers in file names (0.01, 0.7, 0), and exact: the name reads back
    as the same float (0.0123456789 stays 0.0123456789, not %g's 0.0123457)."""
    x = float(x)
    short = format(x, "g")
    return short if float(short) == x else repr(x)


def q2_run(pooling, lr, seed):
    return f"{Q2_DIR}/runs/{pooling}_lr{lr}_seed{seed}"


POOLING_LABEL = {str(p == "none"): label for p, label in labels.POOLING.items()}  # by no_maxpool
require_unique("q2.lrs", Q2["lrs"], fmt_num)
require_unique("q2.poolings", Q2["poolings"])
require_unique("q2.seeds", Q2["seeds"])
Q2_CONFIGS = [(p, fmt_num(lr)) for p in Q2["poolings"] for lr in Q2["lrs"]]
Q2_RUNS = [q2_run(p, lr, s) for p, lr in Q2_CONFIGS for s in Q2["seeds"]]
# The homework's figure names: CNN-{training-loss,validation-accuracy}-{lr}-{dropout}-{l2}-{opt}-{no_maxpool}
Q2_FIG_SUFFIX = f"{fmt_num(Q2['dropout'])}-{fmt_num(Q2['l2_decay'])}-{Q2['optimizer']}"


# Figures over the whole grid: every lr overlaid per pooling, per-class accuracy, confusion matrices.
Q2_OVERVIEW_FIGURES = [f"lr_overlay_{p}" for p in Q2["poolings"]] + [
    "per_class_accuracy",
    "confusion_matrix",
    "published_spread",
]


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
    overview += [f"{Q2_DIR}/figures/{name}.{ext}" for name in Q2_OVERVIEW_FIGURES for ext in ("pdf", "png")]
    tables += [f"{Q2_DIR}/{name}.csv" for name in ("per_class", "confusion")]
    # every run's own files too: a deleted result.json or model.pt is rebuilt (the tables alone would
    # not ask for it once they exist)
    runs = [f"{r}/{n}" for r in Q2_RUNS for n in ("metrics.csv", "result.json", "model.pt", "test_predictions.csv")]
    return runs + tables + figures + overview


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


# ---- Q3: speech recognition on LJ Speech ----

LJ = config["data"]["ljspeech"]
Q3_FEAT = config["q3"]["features"]
Q3_SPLITS = ("train", "val", "test")
# What the training rules read: {"train": ".../train.pt", "val": ..., "test": ...} (each names its
# features array, {split}.features.npy beside it)
Q3_FEATURE_FILES = {s: f"{RESULTS}/q3/features/{s}.pt" for s in Q3_SPLITS}
LJ_FULL_ROWS = 13100
LJ_SPLIT_ENDS = (9825, 10480)  # the homework's row-order split of the 13,100 rows


def ljspeech_params():
    """Only the keys the chosen source uses: editing another source's keys re-runs nothing."""
    keys = {
        "synthetic": ("source", "synthetic"),
        "path": ("source", "path", "expected_rows"),
        "download": ("source", "url", "sha256", "size", "expected_rows"),
    }[LJ["source"]]
    return {k: LJ[k] for k in keys}


def ljspeech_rows():
    if LJ["source"] == "synthetic":
        return LJ["synthetic"]["n_clips"]
    return LJ["expected_rows"] or LJ_FULL_ROWS


def q3_split_rows(split):
    n = ljspeech_rows()
    train_end, val_end = (n * e // LJ_FULL_ROWS for e in LJ_SPLIT_ENDS)
    return {"train": train_end, "val": val_end - train_end, "test": n - val_end}[split]


Q3 = config["q3"]
Q3_DIR = f"{RESULTS}/q3"
Q3_RUN = f"{Q3_DIR}/runs/{{decoder}}_seed{{seed}}"
Q3_FIG = f"{Q3_DIR}/figures"
require_unique("q3.decoders", Q3["decoders"])
require_unique("q3.seeds", Q3["seeds"])
Q3_RUNS = [(d, s) for d in Q3["decoders"] for s in Q3["seeds"]]
# The homework's per-run plot names (its plot_metrics / cmp_phase_metrics).
Q3_ORIGINAL_PLOTS = [
    "loss__train",
    "loss__val",
    "loss__train_val",
    "jaccard_similarity__val",
    "cosine_similarity__val",
    "damerau-levenshtein_similarity__val",
]
# config["q3"] keys that do not change a run's numbers: editing them re-runs no training.
Q3_NOT_TRAINING = {"decoders", "seeds", "threads", "gpu", "allow_cuda", "features", "train_mem_mb", "train_runtime"}


wildcard_constraints:
    decoder="lstm|transformer",
    seed=r"\d+",


def q3_run(decoder, seed):
    return f"{Q3_DIR}/runs/{decoder}_seed{seed}"


def q3_train_settings(wildcards):
    """Everything that changes a run's result: a param, so Snakemake re-runs the job when it changes."""
    return {k: v for k, v in Q3.items() if k not in Q3_NOT_TRAINING}


def q3_final_outputs():
    runs = [
        f"{q3_run(d, s)}/{name}"
        for d, s in Q3_RUNS
        for name in ("metrics.csv", "test.json", "predictions.txt", "model.pt")
    ]
    tables = [f"{Q3_DIR}/summary.csv", f"{Q3_DIR}/epochs.csv", f"{Q3_FIG}/test_table.csv"]
    figures = [
        f"{Q3_FIG}/{name}.{ext}"
        for name in ("loss_train_val", "val_similarities", "test_table")
        for ext in ("pdf", "png")
    ]
    return runs + tables + figures + q3_run_plots()


def q3_run_plots():
    return [
        f"{Q3_FIG}/{d}_seed{s}/{name}.{ext}" for d, s in Q3_RUNS for name in Q3_ORIGINAL_PLOTS for ext in ("pdf", "png")
    ]


# mem_mb, runtime (minutes) and disk_mb of the heavy jobs: hw2repro.resources, from the config and
# the rates measured by `make bench` (bench/results), growing with the attempt.
RATES = job_resources.load_rates(REPO_DIR / "bench" / "results")


def estimated(job, key):
    return job_resources.resource(job, key, config, RATES)
