"""OCTMNIST loading: the homework's preprocessing quirks and clear errors on bad files."""

import json

import numpy as np
import pytest

from conftest import make_octmnist_arrays
from hw2repro import defaults, plotting
from hw2repro.q2 import data as octmnist_data
from hw2repro.q2 import octmnist
from hw2repro.q2.octmnist import TEST_SUBSET_COUNTS, DataError


def test_division_by_256_and_flattening(octmnist_arrays):
    octmnist_arrays["train_images"][0, 0, 0] = 255
    octmnist_arrays["train_images"][0, 27, 27] = 128
    data = octmnist.load_oct_data(octmnist_arrays)
    X, y = data["train"]
    assert X.shape == (64, 784) and X.dtype == np.float32
    assert X[0, 0] == pytest.approx(255 / 256)  # not 1.0: the skeleton divides by 256
    assert X[0, 783] == 0.5
    assert y.shape == (64,) and y.dtype == np.int64


def test_test_subset_takes_first_images_of_each_class(octmnist_arrays):
    data = octmnist.load_oct_data(octmnist_arrays)
    X, y = data["test"]
    assert len(y) == sum(TEST_SUBSET_COUNTS) == 529
    assert [int((y == c).sum()) for c in range(4)] == list(TEST_SUBSET_COUNTS)
    labels = octmnist_arrays["test_labels"].ravel()
    images = octmnist_arrays["test_images"].reshape(len(labels), -1) / 256
    for c, n in enumerate(TEST_SUBSET_COUNTS):  # the *first* n of class c, in file order
        expected = images[np.flatnonzero(labels == c)[:n]]
        np.testing.assert_array_equal(X[y == c], expected.astype(np.float32))


def test_eq_test_dist_keeps_whole_test_set(octmnist_arrays):
    _, y = octmnist.load_oct_data(octmnist_arrays, eq_test_dist=True)["test"]
    assert len(y) == 560
    _, y_dev = octmnist.load_oct_data(octmnist_arrays)["dev"]
    assert len(y_dev) == 32  # validation is used whole


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda a: a.pop("val_labels"), "missing keys ['val_labels']"),
        (lambda a: a.__setitem__("train_images", a["train_images"].astype(np.float32)), "train_images must be uint8"),
        (
            lambda a: a.__setitem__("test_images", a["test_images"][:, :14]),
            "test_images must be uint8 of shape (N, 28, 28)",
        ),
        (
            lambda a: a.__setitem__("train_labels", a["train_labels"].ravel()),
            "train_labels must be integers of shape (N, 1)",
        ),
        (lambda a: a.__setitem__("val_labels", a["val_labels"] + 3), "val_labels must lie in 0..3"),
        (lambda a: a.__setitem__("train_labels", a["train_labels"][:10]), "train has 64 images but 10 labels"),
    ],
)
def test_bad_npz_is_rejected_with_file_and_reason(tmp_path, mutate, message):
    arrays = make_octmnist_arrays()
    mutate(arrays)
    path = tmp_path / "octmnist.npz"
    np.savez(path, **arrays)
    with pytest.raises(DataError) as err:
        octmnist.load_npz(path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        octmnist.load_npz(tmp_path / "nope.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(DataError, match="not a readable .npz"):
        octmnist.load_npz(bad)


def test_prepare_from_file_round_trips(tmp_path, octmnist_arrays):
    src = tmp_path / "mine.npz"
    np.savez(src, **octmnist_arrays)
    out, meta = tmp_path / "out.npz", tmp_path / "out.json"
    octmnist_data.prepare({"source": "file", "path": str(src)}, out, meta, tmp_path / "dl", log=lambda m: None)
    loaded = octmnist.load_npz(out)
    for k in octmnist.KEYS:
        np.testing.assert_array_equal(loaded[k], octmnist_arrays[k])
    assert '"synthetic": false' in meta.read_text()


def test_fabricated_real_file_is_not_comparable(tmp_path, octmnist_arrays):
    """A real-format npz that is not the published file (MD5) is real data, but not comparable."""
    src = tmp_path / "mine.npz"
    np.savez(src, **octmnist_arrays)
    out, meta_path = tmp_path / "out.npz", tmp_path / "out.json"
    octmnist_data.prepare({"source": "file", "path": str(src)}, out, meta_path, tmp_path / "dl", log=lambda m: None)
    meta = json.loads(meta_path.read_text())
    assert meta["synthetic"] is False and meta["canonical"] is False and meta["comparable"] is False
    assert "real data, not the canonical set: not comparable" in meta["label"]
    assert meta["md5"] != octmnist.MD5
    # and its figures say so (not only synthetic data is marked)
    assert plotting.data_note(meta_path) == plotting.NOT_CANONICAL_NOTE
    assert plotting.data_note({**meta, "canonical": True}) is None
    fig, _ = plotting.new_figure()
    plotting.mark_data(fig, plotting.data_note(meta_path))
    assert [t.get_text() for t in fig.texts] == ["REAL DATA, NOT THE CANONICAL SET: NOT COMPARABLE"]
    with pytest.raises(TypeError, match="plotting.data_note"):
        plotting.mark_data(fig, True)  # the old boolean would draw "True"


def test_synthetic_is_not_comparable(tmp_path):
    out, meta_path = tmp_path / "out.npz", tmp_path / "out.json"
    octmnist_data.prepare(
        defaults.load({"data": {"octmnist": {"synthetic": {"n_train": 40, "n_val": 20, "n_test": 200}}}})["data"][
            "octmnist"
        ],
        out,
        meta_path,
        tmp_path / "dl",
        log=lambda m: None,
    )
    meta = json.loads(meta_path.read_text())
    assert meta["synthetic"] is True and meta["canonical"] is False and meta["comparable"] is False
    assert plotting.data_note(meta_path) == plotting.SYNTHETIC_NOTE


def test_file_source_needs_all_four_classes_in_every_split(tmp_path, octmnist_arrays):
    # a genuine 2-class MedMNIST subset: same keys, shapes and dtypes, labels 0..1 only
    two_class = {k: (v % 2 if k.endswith("_labels") else v) for k, v in octmnist_arrays.items()}
    np.savez_compressed(tmp_path / "pneumoniamnist.npz", **two_class)
    cfg = {"source": "file", "path": str(tmp_path / "pneumoniamnist.npz")}
    with pytest.raises(DataError) as err:
        octmnist_data.prepare(cfg, tmp_path / "o.npz", tmp_path / "o.json", tmp_path / "dl", log=lambda m: None)
    msg = str(err.value)
    assert "\n" not in msg and str(tmp_path / "pneumoniamnist.npz") in msg
    assert "train split has no images of class 2 (DRUSEN), 3 (NORMAL)" in msg
    assert not (tmp_path / "o.npz").exists()
    # one class missing from one split is named too
    arrays = dict(octmnist_arrays)
    arrays["val_labels"] = np.where(arrays["val_labels"] == 3, 0, arrays["val_labels"]).astype(np.uint8)
    np.savez_compressed(tmp_path / "no_normal.npz", **arrays)
    with pytest.raises(DataError, match=r"the val split has no images of class 3 \(NORMAL\)"):
        octmnist_data.prepare(
            {"source": "file", "path": str(tmp_path / "no_normal.npz")},
            tmp_path / "o.npz",
            tmp_path / "o.json",
            tmp_path / "dl",
            log=lambda m: None,
        )
