"""Damaged caches stop the job that reads them with one line naming the file and the fix; a
non-finite training loss stops training at once, naming the epoch and batch."""

import numpy as np
import pytest
import torch

from hw2repro.errors import InputError
from hw2repro.io import save_torch
from hw2repro.q3 import dataset
from hw2repro.q3 import train as AT
from hw2repro.runtime import setup_job


def features_blob(n=64, n_mels=80, n_frames=50, seed=0) -> dict:
    """A file in the format of results/q3/features/{split}.pt (log-mel-like values, valid tokens)."""
    rng = np.random.default_rng(seed)
    tokens = torch.full((n, 99), 2, dtype=torch.long)
    tokens[:, 0] = 0
    tokens[:, 1:20] = torch.from_numpy(rng.integers(4, 35, (n, 19)))
    tokens[:, 20] = 1
    return {"features": torch.from_numpy(rng.uniform(-1.5, 1.5, (n, n_mels, n_frames)).astype(np.float32)),
            "tokens": tokens, "ids": [f"C{i}" for i in range(n)], "texts": ["x"] * n, "n_frames": n_frames,
            "source": "test", "synthetic": True}


def one_line(excinfo, *needles):
    msg = str(excinfo.value)
    assert "\n" not in msg, msg
    for needle in needles:
        assert needle in msg, (needle, msg)


def test_truncated_features_file_names_the_file_and_the_fix(tmp_path):
    path = tmp_path / "train.pt"
    save_torch(path, features_blob())
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(InputError) as err:
        dataset.load_split(path)
    one_line(err, str(path), "not a readable features file", "delete it and rerun", "--forcerun q3_features")


def test_overwritten_features_bytes_are_found_on_load(tmp_path):
    path = tmp_path / "train.pt"
    save_torch(path, features_blob())
    raw = bytearray(path.read_bytes())
    middle = len(raw) // 2  # inside the features storage (it is most of the file)
    raw[middle:middle + 4096] = np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(raw))
    with pytest.raises(InputError) as err:
        dataset.load_split(path)
    one_line(err, str(path), "non-finite feature value", "--forcerun q3_features")


def test_out_of_vocabulary_tokens_are_found_on_load(tmp_path):
    blob = features_blob(n=4)
    blob["tokens"][2, 5] = 200
    save_torch(tmp_path / "val.pt", blob)
    with pytest.raises(InputError) as err:
        dataset.load_split(tmp_path / "val.pt")
    one_line(err, "val.pt", "token ids outside 0..34")


def test_an_intact_file_loads(tmp_path):
    save_torch(tmp_path / "test.pt", features_blob(n=300))  # more than one finiteness slice
    assert len(dataset.load_split(tmp_path / "test.pt")) == 300


def test_training_stops_at_the_first_non_finite_loss():
    setup_job(3, 1, allow_cuda=False)
    clean = {s: dataset.SplitData(b["features"], b["tokens"], b["ids"], b["texts"], b["n_frames"])
             for s, b in (("train", features_blob(16)), ("val", features_blob(4)), ("test", features_blob(4)))}
    clean["train"].features[9, 3, 7] = float("nan")  # in the second batch of the unshuffled order
    settings = AT.TrainSettings(decoder="lstm", epochs=2, batch_size=8, hidden_dim=16, n_heads=2,
                                feed_forward_dim=32)
    trainer = AT.Trainer(settings, clean, "cpu", log=lambda m: None)
    with pytest.raises(AT.NonFiniteLoss) as err:
        trainer.fit()
    one_line(err, "epoch 1, batch", "training loss is nan", "--forcerun q3_features")
    assert trainer.history["rows"] == []  # no epoch was recorded as if it had trained
