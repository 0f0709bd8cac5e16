"""Per-epoch checkpoints that let a killed training job resume bit-exactly.

A checkpoint holds model, optimizer, scheduler, every RNG state, the epoch reached and the
metrics so far, plus a *fingerprint* of the job's settings: a checkpoint left by a job with
other settings is ignored (and reported), never silently resumed.
"""

from __future__ import annotations

import hashlib
import json
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


def rng_state() -> dict:
    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
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
                "history": history,
                "rng": rng_state(),
                "states": {name: obj.state_dict() for name, obj in objects.items()},
            },
        )

    def restore(self, log=print, **objects) -> tuple[int, Any] | None:
        """Load state into ``objects``; return (epochs done, history) or None to start fresh."""
        if not self.path.exists():
            return None
        try:
            ckpt = torch.load(self.path, map_location="cpu", weights_only=False)
        except Exception as exc:  # a torn file from an old crash: start over, say so
            log(f"ignoring unreadable checkpoint {self.path}: {exc}")
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
