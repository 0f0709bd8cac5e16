# Shared by every rules file (functions here, rules elsewhere, as --lint asks): where the workflow lives,
# the config (defaults, merge, validation: hw2repro.config_load) and derived code inputs. Paths and
# target lists are pure functions in hw2repro.targets; which config keys change results is
# hw2repro.result_keys (rules' params, make compare and the report read both).

import os
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError

# Every path of the workflow's own files comes from where this file is, not from the working
# directory: the workflow then runs the same as a module of another workflow or with --directory.
WORKFLOW_DIR = Path(workflow.current_basedir).resolve().parent  # workflow/
REPO_DIR = WORKFLOW_DIR.parent
# The jobs import the package beside this file, whatever else is installed (a moved checkout, an
# editable install of another one): it goes first on the path, here and in every job's environment.
sys.path.insert(0, str(WORKFLOW_DIR))
from hw2repro import code_identity, config_load, labels, result_keys, targets  # noqa: E402
from hw2repro import resources as job_resources  # noqa: E402
from hw2repro.report.captions import rule_caption, rule_title  # noqa: E402

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


# config/config.yaml holds every key and its default; what the user gives (--configfile, --config,
# a host workflow's module config) is merged over it, after every file is read strictly, and checked
# (schema, then keys that must agree) before any job: hw2repro.config_load, one line on a refusal.
DEFAULT_CONFIG = workflow_file("config", "config.yaml")
REFERENCES = workflow_file("config", "references.yaml")
try:
    _resolved = config_load.resolve(
        config,
        [DEFAULT_CONFIG, *workflow.overwrite_configfiles],
        REFERENCES,
        schema=not workflow.modifier.skip_validation,
    )
except config_load.ConfigRefused as exc:
    raise WorkflowError(str(exc)) from None
config.clear()
config.update(_resolved)

# The output root of this run (config key `results`): every output, log and benchmark is under it,
# so runs of different configs (config/paper.yaml: results-paper) coexist and can be compared.
RESULTS = targets.root(config)
OCT, LJ = config["data"]["octmnist"], config["data"]["ljspeech"]
Q1, Q2, Q3, Q3_FEAT = config["q1"], config["q2"], config["q3"], config["q3"]["features"]
Q1_DIR, Q2_DIR, Q3_DIR, Q3_FIG = (f(config) for f in (targets.q1_dir, targets.q2_dir, targets.q3_dir, targets.q3_fig))


wildcard_constraints:
    pooling="max|none",
    lr=r"[0-9][0-9.e+-]*",
    seed=r"\d+",
    no_maxpool="True|False",
    decoder="lstm|transformer",


# mem_mb, runtime (minutes) and disk_mb of the heavy jobs: hw2repro.resources, from the config and
# the rates measured by `make bench` (bench/results), growing with the attempt.
RATES = job_resources.load_rates(REPO_DIR / "bench" / "results")


def estimated(job, key):
    return job_resources.resource(job, key, config, RATES)
