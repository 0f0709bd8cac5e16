"""Which config keys change results: the one registry read by the rules' params (what re-runs a job),
``make compare``'s verdicts and the report.

A training job's numbers depend on its section's keys except: the grid (which jobs exist, not what one
computes), where it runs (threads and device: may change float bits, through reduction order and
kernels, never the method), cluster resources (change nothing), and keys another rule reads.
"""

from __future__ import annotations

DEVICE = ("threads", "allow_cuda", "gpu")
RESOURCES = ("train_mem_mb", "train_runtime")
GRIDS = {"q2": ("lrs", "poolings", "seeds"), "q3": ("decoders", "seeds")}
# Keys of a training section that reach the job by another way (a param or an input of their own).
ELSEWHERE = {"q2": ("eq_test_dist",), "q3": ("features",)}


def training_keys(config: dict, question: str) -> list[str]:
    """Keys of ``config[question]`` that determine one training run's numbers (in config order)."""
    skip = set(DEVICE) | set(RESOURCES) | set(GRIDS[question]) | set(ELSEWHERE[question])
    return [k for k in config[question] if k not in skip]


def training_settings(config: dict, question: str) -> dict:
    """Those keys with their values: a training rule's param, so a change re-runs the job."""
    return {k: config[question][k] for k in training_keys(config, question)}


def effect(key: str) -> tuple[str, str]:
    """("changes" | "bits" | "none", why) of a config key (dotted path, e.g. q2.lrs) on a run's numbers."""
    leaf = key.rsplit(".", 1)[-1]
    if leaf in DEVICE:
        return "bits", "threads/device"
    if leaf in RESOURCES:
        return "none", "cluster resources"
    return "changes", ""
