"""Provenance, recorded the same way by every job, the report and the benchmarks: the git commit of
the checkout holding the workflow, package versions, CPU model and vector ISA, GPU, config hash."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import torch

PACKAGES = (
    "snakemake",
    "torch",
    "numpy",
    "pandas",
    "matplotlib",
    "seaborn",
    "jinja2",
    "pyyaml",
    "rapidfuzz",
    "jsonschema",
)


# What decides what a run computes: the code, its settings and its environment files. Anything
# else in the checkout (result roots such as results-c1/, a colleague's copied root, notes) does
# not make it dirty.
CODE_PATHS = ("Snakefile", "workflow", "config", "envs", "report", "bench", "requirements.txt", "pyproject.toml")


def git_info(repo, paths=CODE_PATHS) -> dict:
    """Commit and dirty flag of the checkout holding the workflow, or 'not a git checkout'.

    ``dirty``/``changed_files``: changed or untracked files under ``paths`` only."""

    def git(*args):
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=30)

    try:
        top = git("rev-parse", "--show-toplevel")
        if top.returncode != 0 or Path(top.stdout.strip()).resolve() != Path(repo).resolve():
            # not a checkout, or the workflow is a copy inside some other repository
            return {"commit": "not a git checkout", "dirty": None, "changed_files": None}
        head = git("rev-parse", "HEAD")
        if head.returncode != 0:
            return {"commit": "git checkout without commits", "dirty": None, "changed_files": None}
        status = git("status", "--porcelain", "--untracked-files=normal", "--", *paths)
        changed = [line for line in status.stdout.splitlines() if line.strip()]
        return {"commit": head.stdout.strip(), "dirty": bool(changed), "changed_files": len(changed)}
    except (OSError, subprocess.SubprocessError):
        return {"commit": "not a git checkout (git not available)", "dirty": None, "changed_files": None}


def config_sha256(config: dict) -> str:
    """SHA-256 of the resolved config (canonical JSON: sorted keys, no whitespace)."""
    blob = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def package_versions(packages=PACKAGES) -> dict:
    out = {"python": sys.version.split()[0], "implementation": platform.python_implementation()}
    for name in packages:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def hardware_info() -> dict:
    """CPU model and vector ISA, cores, GPU (if torch sees one) of the machine building the report."""
    info = {"platform": platform.platform(), "cpu": cpu_model(), "cpu_isa": cpu_isa(), "logical_cpus": os.cpu_count()}
    try:
        info["usable_cpus"] = len(os.sched_getaffinity(0))
    except AttributeError:
        info["usable_cpus"] = os.cpu_count()
    try:
        if torch.cuda.is_available():
            info["gpu"] = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
        else:
            info["gpu"] = "none visible to torch"
    except Exception as exc:  # pragma: no cover - torch missing or broken
        info["gpu"] = f"unknown ({exc.__class__.__name__})"
    return info


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_isa() -> str:
    """The widest vector ISA torch dispatches to on this CPU (affects bitwise results)."""
    try:
        return torch.backends.cpu.get_cpu_capability()
    except AttributeError:  # very old torch
        return "unknown"


def environment_info(device: torch.device | None = None, threads: int | None = None) -> dict:
    """What a reader needs to judge whether bitwise identity should hold elsewhere."""
    info = {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "numpy": np.__version__,
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cpu_isa": cpu_isa(),
        "torch_threads": threads if threads is not None else torch.get_num_threads(),
        "cuda_available": torch.cuda.is_available(),
    }
    if device is not None:
        info["device"] = device_description(device)
    if torch.cuda.is_available():
        info["cuda"] = torch.version.cuda
    return info


def device_description(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda:{torch.cuda.get_device_name(device)}"
    return f"cpu:{cpu_model()}"
