"""The catalog's way of using the workflow: `snakedeploy deploy-workflow` from a local copy of the
repository, then Snakemake run from the deployed folder (a dry run of the tiny config, and one cheap
real target)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import copy_workflow, snakemake, tiny_config, write_config

SNAKEDEPLOY = [str(Path(sys.executable).with_name("snakedeploy"))]


@pytest.mark.slow
def test_snakedeploy_deployment_runs_the_tiny_config(tmp_path):
    source = copy_workflow(tmp_path / "hw2repro")  # a local clone: snakedeploy copies it, no network
    deployed = tmp_path / "deployed"
    proc = subprocess.run(
        [*SNAKEDEPLOY, "deploy-workflow", str(source), str(deployed), "--branch", "main"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (deployed / "config" / "config.yaml").read_text() == (source / "config" / "config.yaml").read_text()
    snakefile = deployed / "workflow" / "Snakefile"
    text = snakefile.read_text()
    assert re.search(r"module \w+:\s+snakefile:", text) and "use rule * from" in text
    # For a local path snakedeploy 0.17 writes the module's snakefile relative to the *source*
    # ("workflow/Snakefile"), which Snakemake resolves beside the deployed Snakefile. For a GitHub
    # source it writes github("owner/repo", path="workflow/Snakefile", ...); the equivalent for a
    # local clone is the absolute path of its workflow/Snakefile:
    text = re.sub(r'snakefile:\s*\n\s*"workflow/Snakefile"', f'snakefile:\n        "{source}/workflow/Snakefile"', text)
    assert str(source) in text
    snakefile.write_text(text)
    write_config(deployed / "tiny.yaml", tiny_config())
    dry = snakemake(deployed, "-n", "--configfile", "tiny.yaml")
    for rule in ("q1_verify", "q2_train", "q3_train", "report", "run_config"):
        assert re.search(rf"\b{rule}\b", dry.stdout), rule
    snakemake(deployed, "results/config.yaml", "--cores", "1", "--configfile", "tiny.yaml")
    assert (deployed / "results" / "config.yaml").read_text().count("results: results") == 1
    assert not (source / "results").exists()  # the outputs land in the deployment, not in the source
