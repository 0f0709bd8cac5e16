"""Per-epoch checkpoints that let a killed training job resume bit-exactly.

A checkpoint holds model, optimizer, scheduler, every RNG state, the epoch reached and the
metrics so far, plus a *fingerprint* of the job's settings: a checkpoint left by a job with
other settings is ignored (and reported), never silently resumed.

A checkpoint lies in a results root, which users copy from colleagues: it is read with
``torch.load(weights_only=True)``, so it can hold only tensors and plain containers and loading it
runs no code. The RNG states and the history are stored in exactly those types.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import code_identity
from .io import remove_stale_temporaries, save_torch


def fingerprint(settings: dict) -> str:
    """A stable hash of a job's settings (JSON with sorted keys)."""
    blob = json.dumps(settings, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def plain(value: Any) -> Any:
    """``value`` in the types a weights-only load accepts: NumPy scalars become Python numbers and
    NumPy arrays tensors (the same values: float64 -> float is exact)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(plain(v) for v in value)
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value.copy())
    if isinstance(value, np.generic):
        return value.item()
    return value


def rng_state() -> dict:
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "python": random.getstate(),  # (version, tuple of ints, None)
        "numpy": (kind, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(cached)),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class EpochCheckpoint:
    """Save/restore the full training state at epoch boundaries under one path."""

    def __init__(self, path: str | Path, settings: dict, code: str):
        """``settings``: everything that determines the run's numbers; ``code``: the module that
        trains (its code identity, with all it imports from the package, joins the fingerprint)."""
        self.path = Path(path)
        self.code = code_identity.fingerprint(code)
        self.fingerprint = fingerprint({"settings": settings, "code": self.code})

    def save(self, epoch: int, history: Any, **objects) -> None:
        """``objects``: name -> object with ``state_dict()`` (model, optimizer, scheduler)."""
        save_torch(
            self.path,
            {
                "fingerprint": self.fingerprint,
                "code": self.code,
                "epoch": epoch,
                "history": plain(history),
                "rng": rng_state(),
                "states": {name: obj.state_dict() for name, obj in objects.items()},
            },
        )

    def restore(self, log=print, **objects) -> tuple[int, Any] | None:
        """Load state into ``objects``; return (epochs done, history) or None to start fresh."""
        if not self.path.exists():
            return None
        try:
            ckpt = torch.load(self.path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as exc:  # not ours: loading it fully could run its code
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            log(
                f"refusing checkpoint {self.path}: it holds Python objects other than tensors and plain "
                f"containers, which could run code when loaded ({first}); training starts over"
            )
            return None
        except Exception as exc:  # a torn file from an old crash: start over, say so
            log(f"ignoring unreadable checkpoint {self.path}: {exc}")
            return None
        if not isinstance(ckpt, dict):
            log(f"ignoring checkpoint {self.path}: not a checkpoint of this pipeline")
            return None
        if ckpt.get("fingerprint") != self.fingerprint:
            other = "code" if ckpt.get("code") not in (None, self.code) else "settings"
            log(f"ignoring checkpoint {self.path}: it was written with other {other}")
            return None
        for name, obj in objects.items():
            obj.load_state_dict(ckpt["states"][name])
        set_rng_state(ckpt["rng"])
        log(f"resuming from {self.path} after epoch {ckpt['epoch']}")
        return ckpt["epoch"], ckpt["history"]

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)
        remove_stale_temporaries(self.path)  # a kill during an earlier epoch's save
