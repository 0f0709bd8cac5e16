"""The OCTMNIST file format (``octmnist.npz``): validation and the homework's preprocessing.

Reproduces ``utils.load_oct_data`` of the homework skeleton exactly, quirks included:
images are flattened and divided by **256** (not 255); labels are squeezed; and unless
``eq_test_dist`` is set, the test split is cut to the first 182 / 55 / 42 / 250 images of
classes 0 / 1 / 2 / 3 (529 images). Validation and training sets are used whole.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError
from ..io import atomic_path

if TYPE_CHECKING:  # imported in as_tensors: the data job itself needs no torch
    import torch

SPLITS = ("train", "val", "test")
KEYS = tuple(f"{s}_{k}" for s in SPLITS for k in ("images", "labels"))
CLASS_NAMES = ("CNV", "DME", "DRUSEN", "NORMAL")
TEST_SUBSET_COUNTS = (182, 55, 42, 250)
IMAGE_SHAPE = (28, 28)

URL = "https://zenodo.org/records/10519652/files/octmnist.npz?download=1"
MD5 = "c68d92d5b585d8d81f7112f81e2d0842"
SIZE = 54_938_180
MANUAL_HINT = (
    f"Download it by hand from {URL} (MD5 {MD5}), then set data.octmnist.source: file "
    "and data.octmnist.path to its location."
)


class DataError(InputError, ValueError):
    """Input data that is not what the homework expects; the message names the file and the problem."""


def validate(arrays: dict, source: str) -> None:
    """Check keys, dtypes, shapes and label range, with a one-line error naming ``source``."""
    missing = [k for k in KEYS if k not in arrays]
    if missing:
        raise DataError(f"{source}: missing keys {missing}; an OCTMNIST file has {list(KEYS)}")
    for split in SPLITS:
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE:
            raise DataError(
                f"{source}: {split}_images must be uint8 of shape (N, 28, 28), got {images.dtype} {images.shape}"
            )
        if labels.ndim != 2 or labels.shape[1] != 1 or not np.issubdtype(labels.dtype, np.integer):
            raise DataError(
                f"{source}: {split}_labels must be integers of shape (N, 1), got {labels.dtype} {labels.shape}"
            )
        if labels.shape[0] != images.shape[0]:
            raise DataError(f"{source}: {split} has {images.shape[0]} images but {labels.shape[0]} labels")
        if labels.size == 0:
            raise DataError(f"{source}: {split} split is empty")
        lo, hi = int(labels.min()), int(labels.max())
        if lo < 0 or hi >= len(CLASS_NAMES):
            raise DataError(f"{source}: {split}_labels must lie in 0..3, found {lo}..{hi}")


def require_all_classes(arrays: dict, source: str) -> None:
    """A real OCTMNIST file has every class in every split: another MedMNIST subset (same keys and
    shapes, fewer classes) would otherwise train and be reported as OCTMNIST."""
    for split in SPLITS:
        present = set(np.unique(arrays[f"{split}_labels"]).tolist())
        missing = [f"{c} ({name})" for c, name in enumerate(CLASS_NAMES) if c not in present]
        if missing:
            raise DataError(
                f"{source}: the {split} split has no images of class {', '.join(missing)}; OCTMNIST "
                f"has all 4 in every split (another MedMNIST subset? data.octmnist.path must be "
                "octmnist.npz)"
            )


def load_npz(path: str | Path) -> dict[str, np.ndarray]:
    """Read and validate an ``octmnist.npz``-format file."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file (data.octmnist.path must point to an octmnist.npz)")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except Exception as exc:  # zip/npy errors deep inside numpy: say which file
        raise DataError(f"{path}: not a readable .npz file ({exc})") from None
    # a zip whose members are not .npy arrays reads as raw bytes: say so, not an AttributeError later
    not_arrays = sorted(k for k, v in arrays.items() if not isinstance(v, np.ndarray))
    if not_arrays:
        raise DataError(
            f"{path}: member(s) {', '.join(not_arrays)} of the zip are not .npy arrays; an octmnist.npz holds "
            "train_images, train_labels, val_images, ... as .npy (data.octmnist.path must point to one)"
        )
    validate(arrays, str(path))
    return arrays


def test_subset_indices(labels: np.ndarray, counts=TEST_SUBSET_COUNTS) -> np.ndarray:
    """Indices of the first ``counts[c]`` images of each class c, class by class."""
    return np.concatenate([np.flatnonzero(labels == c)[:n] for c, n in enumerate(counts)])


def load_oct_data(arrays: dict[str, np.ndarray], eq_test_dist: bool = False) -> dict[str, tuple]:
    """The homework's preprocessing: {"train"|"dev"|"test": (X float32 (N, 784), y int64 (N,))}."""
    out = {}
    for split, name in (("train", "train"), ("val", "dev"), ("test", "test")):
        images = arrays[f"{split}_images"]
        X = images.reshape(images.shape[0], -1) / 256  # the skeleton divides by 256
        y = arrays[f"{split}_labels"].squeeze(1).astype(np.int64)
        if split == "test" and not eq_test_dist:
            keep = test_subset_indices(y)
            X, y = X[keep], y[keep]
        out[name] = (X.astype(np.float32), y)
    return out


def as_tensors(data: dict[str, tuple], device: torch.device) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Keep whole splits as tensors on the device: batches are then index lookups, not copies per item."""
    import torch

    return {k: (torch.from_numpy(X).to(device), torch.from_numpy(y).to(device)) for k, (X, y) in data.items()}


def save_npz(arrays: dict[str, np.ndarray], path: str | Path) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:  # a file object: savez adds no suffix
        np.savez_compressed(fh, **arrays)


def describe(arrays: dict[str, np.ndarray]) -> dict:
    """Sizes and class counts per split, for the metadata file and the report."""
    out = {}
    for split in SPLITS:
        labels = arrays[f"{split}_labels"].ravel()
        out[split] = {
            "n": int(labels.size),
            "class_counts": {CLASS_NAMES[c]: int((labels == c).sum()) for c in range(4)},
        }
    return out
