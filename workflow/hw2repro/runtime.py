"""Run-time set-up shared by every job: seeds, thread counts, device choice.

Why one place: bitwise reproducibility depends on doing these the same way in every script.
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch

from .provenance import environment_info

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
    # The flag torch.use_deterministic_algorithms sets, without its other step: importing
    # torch._inductor (and sympy) to set a torch.compile option, ~1 s per job, for a compiler no
    # job uses. The public call stays the fallback should torch rename its private setter.
    setter = getattr(torch._C, "_set_deterministic_algorithms", None)
    if setter is None:  # pragma: no cover - depends on the torch build
        torch.use_deterministic_algorithms(True, warn_only=True)
    else:
        setter(True, warn_only=True)


def pick_device(allow_cuda: bool) -> torch.device:
    """CUDA when present and allowed (e.g. a SLURM job given a GPU), else CPU."""
    if allow_cuda and torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


def setup_job(seed: int, threads: int, allow_cuda: bool) -> tuple[torch.device, dict]:
    """The standard preamble of a training/evaluation job: threads, determinism, device, seeds."""
    n = configure_threads(threads)
    enable_determinism()
    device = pick_device(allow_cuda)
    seed_everything(seed)
    return device, environment_info(device, n)
