"""One split's cached features files (``results/q3/features/{split}.pt`` with tokens and text, the
features memory-mapped from ``{split}.features.npy`` beside it), and the (features, tokens) pairs a
DataLoader draws from them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from ..errors import InputError
from .text import VOCAB_SIZE


@dataclass
class SplitData:
    """One split's features file: features stay in their stored dtype (cast per batch)."""

    features: torch.Tensor  # (N, n_mels, n_frames), float32 or float16
    tokens: torch.Tensor  # (N, text_len) int64
    ids: list
    texts: list
    n_frames: int
    source: str = ""
    synthetic: bool = False
    path: str = ""
    file_bytes: int = 0
    extra: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.tokens.shape[0])

    def head(self, n: Optional[int]) -> SplitData:
        if n is None or n >= len(self):
            return self
        return SplitData(
            self.features[:n],
            self.tokens[:n],
            list(self.ids[:n]),
            list(self.texts[:n]),
            self.n_frames,
            self.source,
            self.synthetic,
            self.path,
            self.file_bytes,
            self.extra,
        )

    def fingerprint(self) -> dict:
        """Cheap identity of the data (hashing GBs of features would not be cheap)."""
        tok = hashlib.sha256(self.tokens.contiguous().numpy().tobytes()).hexdigest()[:16]
        ids = hashlib.sha256("\n".join(map(str, self.ids)).encode()).hexdigest()[:16]
        return {
            "n": len(self),
            "shape": list(self.features.shape),
            "dtype": str(self.features.dtype),
            "file_bytes": self.file_bytes,
            "tokens_sha": tok,
            "ids_sha": ids,
            "source": self.source,
            "synthetic": self.synthetic,
        }


# What a user does about a damaged features file (said in every load error below).
REBUILD = "delete it and rerun, or add --forcerun q3_features"
CHECK_ROWS = 256  # clips per finiteness check: a memory-mapped file is read in slices, never whole


def _read_blob(path: Path):
    try:
        try:
            return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError:  # legacy (non-zip) serialisation cannot be memory-mapped
            return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as exc:  # a torn or overwritten zip: torch names neither the file nor the fix
        detail = " ".join(str(exc).split()).split(". ")[0][:160]  # torch's first sentence says it
        raise InputError(f"{path}: not a readable features file ({type(exc).__name__}: {detail}); {REBUILD}") from None


def check_values(path: Path, features: torch.Tensor, tokens: torch.Tensor) -> None:
    """Bytes overwritten inside a features file load without error: find them before training on them."""
    for start in range(0, features.shape[0], CHECK_ROWS):
        chunk = features[start : start + CHECK_ROWS]
        bad = ~torch.isfinite(chunk)
        if bad.any():
            clip = start + int(bad.flatten(1).any(1).nonzero()[0])
            raise InputError(f"{path}: clip {clip} holds non-finite feature values (a damaged file); {REBUILD}")
    if tokens.numel() and (int(tokens.min()) < 0 or int(tokens.max()) >= VOCAB_SIZE):
        raise InputError(f"{path}: token ids outside 0..{VOCAB_SIZE - 1} (a damaged file); {REBUILD}")


def features_array_path(path: str | Path) -> Path:
    """Where q3_features writes a split's features array: ``{split}.features.npy`` beside its .pt."""
    path = Path(path)
    return path.with_name(f"{path.stem}.features.npy")


def map_features(npy: Path, pt: Path) -> torch.Tensor:
    """The features array, memory-mapped copy-on-write: its pages are the file's page cache, which
    the kernel can drop (RssFile), not the job's own memory (RssAnon)."""
    try:
        return torch.from_numpy(np.load(npy, mmap_mode="c", allow_pickle=False))
    except FileNotFoundError:
        raise InputError(f"{npy}: missing (the features array {pt} names); {REBUILD}") from None
    except ValueError as exc:
        raise InputError(f"{npy}: not a readable .npy array ({exc}); {REBUILD}") from None


def load_split(path: str | Path, limit: Optional[int] = None, text_len: int = 99) -> SplitData:
    """Read ``results/q3/features/{split}.pt``, checked: the features memory-mapped from the .npy it
    names (or, in a file with the features inside, from the .pt itself)."""
    path = Path(path)
    blob = _read_blob(path)
    if not isinstance(blob, dict):
        raise InputError(f"{path}: expected the q3_features dict, got {type(blob).__name__}; {REBUILD}")
    if "features_file" in blob:
        blob["features"] = map_features(path.parent / blob["features_file"], path)
    missing = {"features", "tokens"} - set(blob)
    if missing:
        raise InputError(f"{path}: missing key(s) {sorted(missing)} (expected the q3_features format); {REBUILD}")
    features, tokens = blob["features"], blob["tokens"].long()
    if features.dim() != 3:
        raise InputError(f"{path}: features must be (N, n_mels, n_frames), got {tuple(features.shape)}; {REBUILD}")
    if features.dtype not in (torch.float32, torch.float16, torch.bfloat16):
        raise InputError(f"{path}: features dtype {features.dtype} not supported; {REBUILD}")
    if tokens.shape != (features.shape[0], text_len):
        raise InputError(f"{path}: tokens must be (N, {text_len}), got {tuple(tokens.shape)}; {REBUILD}")
    n_frames = int(blob.get("n_frames", features.shape[-1]))
    if n_frames != features.shape[-1]:
        raise InputError(f"{path}: n_frames {n_frames} != features' last dim {features.shape[-1]}; {REBUILD}")
    check_values(path, features, tokens)
    data = SplitData(
        features=features,
        tokens=tokens,
        ids=list(blob.get("ids", [str(i) for i in range(len(tokens))])),
        texts=list(blob.get("texts", [""] * len(tokens))),
        n_frames=n_frames,
        source=str(blob.get("source", "")),
        synthetic=bool(blob.get("synthetic", False)),
        path=str(path),
        file_bytes=path.stat().st_size
        + ((path.parent / blob["features_file"]).stat().st_size if "features_file" in blob else 0),
    )
    return data.head(limit)


class PairDataset(torch.utils.data.Dataset):
    """(features[audio_index[i]], tokens[i]); audio_index=None is the identity."""

    def __init__(self, data: SplitData, audio_index: Optional[np.ndarray] = None):
        self.features, self.tokens = data.features, data.tokens
        self.audio_index = None if audio_index is None else [int(j) for j in audio_index]

    def __len__(self) -> int:
        return int(self.tokens.shape[0])

    def __getitem__(self, i):
        j = i if self.audio_index is None else self.audio_index[i]
        return self.features[j], self.tokens[i]


def to_device(audio: torch.Tensor, text: torch.Tensor, device: torch.device):
    """A batch on the model's device; features are cast to float32 there (stored float16 stays small)."""
    return (
        audio.to(device, dtype=torch.float32, non_blocking=True),
        text.to(device, non_blocking=True),
    )
