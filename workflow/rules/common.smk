# Shared helpers for every rule file: config validation, package-code tracking, paths.

import sys
from pathlib import Path

from snakemake.utils import validate

validate(config, schema="../schemas/config.schema.yaml", set_default=True)

PACKAGE_DIR = Path(workflow.basedir) / "workflow" / "hw2repro"
RESULTS = "results"


def pkg(*modules):
    """Package modules a script imports, declared as inputs so editing one re-runs its jobs."""
    return [str(PACKAGE_DIR / "__init__.py")] + [str(PACKAGE_DIR / f"{m}.py") for m in modules]
