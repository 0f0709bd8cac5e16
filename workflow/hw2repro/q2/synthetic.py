"""A synthetic, OCT-like stand-in for OCTMNIST, drawn offline and deterministically.

The real OCTMNIST (retinal OCT B-scans, 28x28, 4 classes) cannot be fetched on every machine,
so the default pipeline draws its own: a curved, tilted retina of layered bands over a bright
RPE line, with class-specific lesions, speckle noise, shifts and tilt. The images and labels
have the real file's keys, dtypes and shapes and OCTMNIST-like class frequencies.

Lesions have a random severity, and a share of them is faint enough to be missed: that keeps
the task from saturating, so learning-rate and pooling choices still show (see the config).
Nothing produced here is comparable to published OCTMNIST numbers.
"""

from __future__ import annotations

import numpy as np

from .octmnist import CLASS_NAMES, KEYS

SIZE = 28
# OCTMNIST's class frequencies (train split: 33,484 / 10,213 / 7,754 / 46,026 of 97,477).
TRAIN_FREQUENCIES = np.array([33484, 10213, 7754, 46026], dtype=float) / 97477
# The real test split is balanced: 250 per class.
TEST_FREQUENCIES = np.full(4, 0.25)
CNV, DME, DRUSEN, NORMAL = range(4)


def class_counts(n: int, frequencies: np.ndarray) -> np.ndarray:
    """Split n into per-class counts with the given frequencies (largest remainders)."""
    raw = frequencies * n
    counts = np.floor(raw).astype(int)
    for i in np.argsort(raw - counts)[::-1][: n - counts.sum()]:
        counts[i] += 1
    return counts


def _gauss(z: np.ndarray, width) -> np.ndarray:
    return np.exp(-0.5 * (z / width) ** 2)


def draw_images(labels: np.ndarray, rng: np.random.Generator, faint_fraction: float, noise_looks: float) -> np.ndarray:
    """Draw one uint8 (28, 28) B-scan per label, all images at once (vectorised over N)."""
    n = labels.shape[0]
    y = np.arange(SIZE, dtype=float)[None, :, None]  # depth (rows)
    x = np.arange(SIZE, dtype=float)[None, None, :]  # lateral position (columns)
    col = lambda v: v[:, None, None]  # noqa: E731  (per-image scalar -> broadcastable)

    # Geometry shared by all classes: position, tilt, curvature, foveal pit, thickness.
    centre = rng.uniform(9.0, 13.0, n)
    tilt = rng.normal(0.0, 0.12, n)
    curve = rng.uniform(-0.004, 0.012, n)
    xs = x - col(rng.uniform(11.0, 17.0, n))
    top_smooth = col(centre) + col(tilt) * xs + col(curve) * xs**2
    thickness = rng.uniform(8.0, 10.5, n)

    # Severity: most lesions are clear, a fraction is faint (near-normal): no saturation.
    severity = rng.uniform(0.55, 1.0, n)
    faint = rng.random(n) < faint_fraction
    severity[faint] = rng.uniform(0.0, 0.35, faint.sum())
    sev = col(severity)

    pit_depth = rng.uniform(1.5, 3.0, n)
    pit_x = col(rng.uniform(10.0, 18.0, n))
    top = top_smooth + col(pit_depth) * _gauss(x - pit_x, 2.2)

    # DME thickens the retina; CNV and drusen raise the RPE from below.
    is_ = {c: col((labels == c).astype(float)) for c in range(4)}
    thickness = col(thickness) + is_[DME] * sev * col(rng.uniform(2.0, 4.0, n))
    rpe_base = top_smooth + thickness
    lift = np.zeros((n, 1, SIZE))
    cnv_x = col(rng.uniform(8.0, 20.0, n))
    lift += is_[CNV] * sev * col(rng.uniform(2.5, 4.5, n)) * _gauss(x - cnv_x, col(rng.uniform(2.0, 3.5, n)))
    for _ in range(4):  # a few small drusen bumps
        present = col((rng.random(n) < 0.75).astype(float))
        lift += (
            is_[DRUSEN]
            * present
            * sev
            * col(rng.uniform(1.0, 2.2, n))
            * _gauss(x - col(rng.uniform(4.0, 24.0, n)), 0.9)
        )
    rpe = rpe_base - lift

    # Layered reflectivity between the inner limiting membrane (top) and the RPE.
    r = (y - top) / np.maximum(rpe - top, 1.0)
    inside = (r > 0) & (r < 1)
    bands = 0.75 * _gauss(r - 0.06, 0.07) + 0.42 * _gauss(r - 0.5, 0.1) + 0.30 * _gauss(r - 0.78, 0.06) + 0.22
    img = np.where(inside, bands, 0.0)
    img += 1.0 * _gauss(y - rpe, 0.8)  # bright RPE line
    img += np.where(y > rpe, 0.35 * np.exp(-(y - rpe) / 4.0), 0.0)  # choroid below
    img += 0.05  # vitreous floor

    # Class-specific content.
    under_lift = (y > rpe) & (y < rpe_base) & (lift > 0.3)
    img += np.where(under_lift, 0.55 * is_[CNV] + 0.35 * is_[DRUSEN], 0.0)  # material under RPE
    for _ in range(3):  # DME: dark intraretinal cysts
        cy = top_smooth + col(rng.uniform(0.35, 0.75, n)) * (rpe_base - top_smooth)
        cx = col(rng.uniform(5.0, 23.0, n))
        rad = col(rng.uniform(1.0, 2.2, n))
        present = col((rng.random(n) < 0.8).astype(float))
        cyst = _gauss(np.hypot(x - cx, (y - cy) * 1.4) / rad, 0.6)
        img *= 1.0 - 0.9 * is_[DME] * present * sev * cyst

    # Speckle (multiplicative gamma, as in coherent imaging), blur-free, then gain and offset.
    img *= rng.gamma(noise_looks, 1.0 / noise_looks, size=img.shape)
    img *= col(rng.uniform(0.7, 1.1, n))
    img += rng.normal(0.0, 0.03, size=img.shape)
    return np.clip(img * 200.0, 0, 255).astype(np.uint8)


def generate(
    n_train: int, n_val: int, n_test: int, seed: int, faint_fraction: float, noise_looks: float
) -> dict[str, np.ndarray]:
    """Return arrays with the real octmnist.npz keys: uint8 (N, 28, 28) images, uint8 (N, 1) labels.

    The arguments are the keys of ``data.octmnist.synthetic`` (no defaults: config/config.yaml has them)."""
    rng = np.random.default_rng(seed)
    out = {}
    for split, n, freqs in (
        ("train", n_train, TRAIN_FREQUENCIES),
        ("val", n_val, TRAIN_FREQUENCIES),
        ("test", n_test, TEST_FREQUENCIES),
    ):
        labels = np.repeat(np.arange(4), class_counts(n, freqs))
        labels = labels[rng.permutation(n)]
        out[f"{split}_images"] = draw_images(labels, rng, faint_fraction, noise_looks)
        out[f"{split}_labels"] = labels.astype(np.uint8)[:, None]
    assert set(out) == set(KEYS)
    return out


__all__ = ["generate", "class_counts", "CLASS_NAMES"]
