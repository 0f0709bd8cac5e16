"""Damaged caches stop the job that reads them with one line naming the file and the fix; a
non-finite training loss stops training at once, naming the epoch and batch; a killed writer leaves
no hidden file behind; identical inputs give byte-identical figures."""

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import REPO
from hw2repro import defaults, io, plotting
from hw2repro.checkpoint import EpochCheckpoint
from hw2repro.errors import InputError
from hw2repro.io import save_torch
from hw2repro.q2 import figures as q2_figures
from hw2repro.q3 import dataset
from hw2repro.q3 import train as AT
from hw2repro.q3.models import ModelConfig
from hw2repro.runtime import setup_job


def features_blob(n=64, n_mels=80, n_frames=50, seed=0) -> dict:
    """A file in the format of results/q3/features/{split}.pt (log-mel-like values, valid tokens)."""
    rng = np.random.default_rng(seed)
    tokens = torch.full((n, 99), 2, dtype=torch.long)
    tokens[:, 0] = 0
    tokens[:, 1:20] = torch.from_numpy(rng.integers(4, 35, (n, 19)))
    tokens[:, 20] = 1
    return {
        "features": torch.from_numpy(rng.uniform(-1.5, 1.5, (n, n_mels, n_frames)).astype(np.float32)),
        "tokens": tokens,
        "ids": [f"C{i}" for i in range(n)],
        "texts": ["x"] * n,
        "n_frames": n_frames,
        "source": "test",
        "synthetic": True,
    }


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
    raw[middle : middle + 4096] = np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(raw))
    with pytest.raises(InputError) as err:
        dataset.load_split(path)
    one_line(err, str(path), "holds non-finite feature values", "--forcerun q3_features")


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
    clean = {
        s: dataset.SplitData(b["features"], b["tokens"], b["ids"], b["texts"], b["n_frames"])
        for s, b in (("train", features_blob(16)), ("val", features_blob(4)), ("test", features_blob(4)))
    }
    clean["train"].features[9, 3, 7] = float("nan")  # in the second batch of the unshuffled order
    model = ModelConfig(decoder="lstm", hidden_dim=16, n_heads=2, feed_forward_dim=32)
    settings = replace(
        AT.TrainSettings.from_config(defaults.load()["q3"], "lstm", 42), model=model, epochs=2, batch_size=8
    )
    trainer = AT.Trainer(settings, clean, "cpu", log=lambda m: None)
    with pytest.raises(AT.NonFiniteLoss) as err:
        trainer.fit()
    one_line(err, "epoch 1, batch", "training loss is nan", "--forcerun q3_features")
    assert trainer.history["rows"] == []  # no epoch was recorded as if it had trained


# ---------------------------------------------------------------------------- leftovers after a kill

KILLED_WRITER = """
import sys
sys.path.insert(0, sys.argv[2])
from hw2repro.io import atomic_path
with atomic_path(sys.argv[1]) as tmp:
    tmp.write_bytes(b"half a checkpoint")
    print(tmp, flush=True)  # the parent kills only after this line: no timing guess
    sys.stdin.read()
"""


def killed_mid_write(path):
    """SIGKILL a real process inside ``atomic_path(path)``; return the temporary it left."""
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(path), str(REPO / "workflow")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    tmp = Path(proc.stdout.readline().strip())
    proc.kill()
    proc.wait(timeout=30)
    proc.stdout.close()
    proc.stdin.close()
    assert tmp.exists() and io.stale_temporaries(path) == [tmp]
    return tmp


def test_a_kill_during_a_checkpoint_write_leaves_no_hidden_file(tmp_path):
    path = tmp_path / "run" / "resume.pt"
    path.parent.mkdir()
    model = torch.nn.Linear(2, 2)
    ckpt = EpochCheckpoint(path, {"a": 1}, code="hw2repro.q3.train")
    killed_mid_write(path)
    ckpt.save(1, [], model=model)  # the resumed job's next save clears the stale temporary
    assert sorted(p.name for p in path.parent.iterdir()) == ["resume.pt"]
    killed_mid_write(path)
    ckpt.remove()  # and so does the end of the job
    assert list(path.parent.iterdir()) == []


# ---------------------------------------------------------------------------- identical figures


def test_overview_figure_is_byte_identical_and_leaves_the_global_rng_alone(tmp_path):
    runs = pd.DataFrame(
        {
            "pooling": ["max"] * 4 + ["none"] * 4,
            "lr": [0.1, 0.1, 0.01, 0.01] * 2,
            "test_acc": [0.8, 0.82, 0.7, 0.71, 0.75, 0.77, 0.6, 0.62],
        }
    )
    refs = pd.DataFrame({"pooling": ["max", "none"], "lr": [0.1, 0.1], "test_acc": [0.81, 0.76]})
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    outputs = []
    for i in range(2):
        np.random.uniform(size=i * 7)  # a different global RNG position each time
        fig = q2_figures.q2_overview(runs, refs, plotting.SYNTHETIC_NOTE)
        paths = [tmp_path / f"o{i}.pdf", tmp_path / f"o{i}.png"]
        plotting.save(fig, *paths)
        outputs.append([p.read_bytes() for p in paths])
    assert outputs[0] == outputs[1]  # PDF and PNG alike
    assert b"/CreationDate" not in outputs[0][0]  # else PDFs saved a second apart would differ
    np.random.seed(123)
    assert (np.random.get_state()[1] == before).all()
    state = np.random.get_state()
    plotting.save(q2_figures.q2_overview(runs, refs, None), tmp_path / "x.png")
    assert (np.random.get_state()[1] == state[1]).all() and np.random.get_state()[2] == state[2]
