"""The test harness: what a run of the workflow needs, how Snakemake is called, and the tiny
config. It lives in hw2repro.workspace, where the benchmark suite (bench/) imports it too."""

from hw2repro.workspace import REPO, WORKFLOW_FILES, copy_workflow, snakemake_cmd, tiny_config

__all__ = ["REPO", "WORKFLOW_FILES", "copy_workflow", "snakemake_cmd", "tiny_config"]
