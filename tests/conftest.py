"""Shared fixtures: small real-format data made on the fly, and a copy of the workflow to run."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml

# one definition each, shared with the benchmark suite: what a run needs, how Snakemake is called,
# and the tiny config (config/tiny.yaml)
from harness import REPO, copy_workflow, snakemake_cmd, tiny_config

SNAKEMAKE = snakemake_cmd()


def make_octmnist_arrays(n_train=64, n_val=32, test_counts=(200, 60, 50, 250), seed=0) -> dict:
    """A small file in the real octmnist.npz format (random pixels, chosen class counts)."""
    rng = np.random.default_rng(seed)
    out = {}
    for split, labels in (
        ("train", rng.integers(0, 4, n_train)),
        ("val", rng.integers(0, 4, n_val)),
        ("test", rng.permutation(np.repeat(np.arange(4), test_counts))),
    ):
        out[f"{split}_images"] = rng.integers(0, 256, (len(labels), 28, 28), dtype=np.uint8)
        out[f"{split}_labels"] = labels.astype(np.uint8)[:, None]
    return out


@pytest.fixture
def octmnist_arrays():
    return make_octmnist_arrays()


def write_config(path: Path, config: dict) -> Path:
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def snakemake(workdir: Path, *args: str, check: bool = True, timeout: int = 900) -> subprocess.CompletedProcess:
    proc = subprocess.run([*SNAKEMAKE, *args], cwd=workdir, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def load_default_config() -> dict:
    return yaml.safe_load((REPO / "config" / "config.yaml").read_text())


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """One real pipeline run on ``tiny_config()`` in a copied workflow, shared by every test file
    that only reads its outputs (the default target includes the compiled report)."""
    work = copy_workflow(tmp_path_factory.mktemp("tiny_run"))
    write_config(work / "tiny.yaml", tiny_config())
    snakemake(work, "--cores", "2", "--configfile", "tiny.yaml")
    return work
