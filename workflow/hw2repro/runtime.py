"""Run-time set-up shared by every job: seeds, thread counts, device choice, provenance.

Why one place: bitwise reproducibility depends on doing these the same way in every script.
"""

from __future__ import annotations

import os
import platform
import random
import sys

import numpy as np
import torch

THREAD_ENV_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch as the homework's ``utils.configure_seed`` does."""
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False


def configure_threads(threads: int) -> int:
    """Pin torch (and the BLAS/OpenMP libraries behind it) to ``threads`` threads."""
    threads = max(1, int(threads))
    for var in THREAD_ENV_VARS:
        os.environ[var] = str(threads)
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # only settable before the first parallel op; harmless if late
        pass
    return torch.get_num_threads()


def enable_determinism() -> None:
    """Ask torch for deterministic kernels (needed on CUDA; a no-op cost on CPU)."""
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True, warn_only=True)


def pick_device(allow_cuda: bool = True) -> torch.device:
    """CUDA when present and allowed (e.g. a SLURM job given a GPU), else CPU."""
    if allow_cuda and torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


def device_description(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda:{torch.cuda.get_device_name(device)}"
    return f"cpu:{cpu_model()}"


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


def setup_job(seed: int, threads: int, allow_cuda: bool = True) -> tuple[torch.device, dict]:
    """The standard preamble of a training/evaluation job: threads, determinism, device, seeds."""
    n = configure_threads(threads)
    enable_determinism()
    device = pick_device(allow_cuda)
    seed_everything(seed)
    return device, environment_info(device, n)
