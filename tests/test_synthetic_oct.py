"""The synthetic OCT-like generator: real file format, class mix, determinism."""

import numpy as np

from hw2repro import defaults
from hw2repro.q2 import octmnist
from hw2repro.q2 import synthetic as synthetic_oct

# The image distribution the pipeline draws: config/config.yaml's faint_fraction and noise_looks.
SYNTHETIC = defaults.load()["data"]["octmnist"]["synthetic"]
DRAW = {k: SYNTHETIC[k] for k in ("faint_fraction", "noise_looks")}


def test_format_matches_the_real_file():
    arrays = synthetic_oct.generate(n_train=400, n_val=100, n_test=200, seed=3, **DRAW)
    octmnist.validate(arrays, "synthetic")  # raises on any mismatch
    assert arrays["train_images"].shape == (400, 28, 28)
    assert arrays["test_labels"].shape == (200, 1) and arrays["test_labels"].dtype == np.uint8


def test_class_frequencies_like_octmnist():
    arrays = synthetic_oct.generate(n_train=2000, n_val=100, n_test=400, seed=0, **DRAW)
    train = np.bincount(arrays["train_labels"].ravel(), minlength=4) / 2000
    np.testing.assert_allclose(train, synthetic_oct.TRAIN_FREQUENCIES, atol=1e-3)
    assert np.bincount(arrays["test_labels"].ravel()).tolist() == [100, 100, 100, 100]


def test_deterministic_by_seed_and_seed_matters():
    a = synthetic_oct.generate(n_train=50, n_val=20, n_test=20, seed=5, **DRAW)
    b = synthetic_oct.generate(n_train=50, n_val=20, n_test=20, seed=5, **DRAW)
    c = synthetic_oct.generate(n_train=50, n_val=20, n_test=20, seed=6, **DRAW)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert not np.array_equal(a["train_images"], c["train_images"])


def test_classes_differ_on_average():
    """Lesions must leave a class signal: mean images of the classes are not all alike."""
    arrays = synthetic_oct.generate(n_train=2000, n_val=10, n_test=10, seed=0, **DRAW)
    X, y = arrays["train_images"].astype(float), arrays["train_labels"].ravel()
    means = np.stack([X[y == c].mean(0) for c in range(4)])
    normal = means[synthetic_oct.NORMAL]
    for c in (synthetic_oct.CNV, synthetic_oct.DME, synthetic_oct.DRUSEN):
        assert np.abs(means[c] - normal).max() > 5  # grey levels out of 255
