"""A copy of the workflow to run Snakemake in, and how Snakemake is called: shared by the test
suite (tests/harness.py) and the benchmarks (bench/)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]

# bench/results: the measured rates the rules derive their resources from (hw2repro/resources.py)
WORKFLOW_FILES = ("Snakefile", "workflow", "config", "report", "envs", "profiles/default", "bench/results")


def copy_workflow(dest: Path, src: Path = REPO) -> Path:
    """The parts of the repository a run needs (not results/, .snakemake/ or .venv)."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in WORKFLOW_FILES:
        s = src / name
        if s.is_dir():
            shutil.copytree(s, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(s, dest / name)
    return dest


def snakemake_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "snakemake", *args]


def tiny_config() -> dict:
    """The reduced config of the test suite (config/tiny.yaml): every rule runs, in a minute or two."""
    return yaml.safe_load((REPO / "config" / "tiny.yaml").read_text())
