"""The Q2 model and training loop against the homework's definitions."""

import os
import subprocess
import sys
from dataclasses import replace

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from conftest import REPO, make_octmnist_arrays
from hw2repro import defaults, runtime
from hw2repro.checkpoint import EpochCheckpoint
from hw2repro.q2 import model as cnn
from hw2repro.q2 import octmnist
from hw2repro.q2 import train as cnn_training
from hw2repro.q2.train import Q2Settings


def q2_settings(pooling, lr, seed, **override):
    """A run's settings from config/config.yaml (where every default lives), with ``override``."""
    return replace(Q2Settings.from_config(defaults.load()["q2"], pooling, lr, seed), **override)


@pytest.mark.parametrize("pooling", ["max", "none"])
def test_parameter_count_and_shapes(pooling):
    model = cnn.build(pooling, 0.7)
    assert cnn.count_parameters(model) == 224_892  # both variants (the spec's per-layer sum)
    per_layer = [p.numel() for p in model.parameters()]
    assert [per_layer[i] + per_layer[i + 1] for i in range(0, 10, 2)] == [80, 1168, 184640, 38520, 484]
    out = model(torch.rand(5, 784))
    assert out.shape == (5, 4)
    torch.testing.assert_close(out.exp().sum(1), torch.ones(5))  # log-probabilities


def test_no_maxpool_variant_downsamples_by_stride():
    model = cnn.build("none", 0.7)
    assert model.conv1.stride == (2, 2) and model.conv2.stride == (2, 2)
    assert cnn.build("max", 0.7).conv1.stride == (1, 1)
    with pytest.raises(ValueError, match="pooling must be one of"):
        cnn.build("avg", 0.7)


def test_epoch_permutation_is_dataloader_shuffle_order():
    n = 37
    loader = DataLoader(TensorDataset(torch.arange(n)), batch_size=8, shuffle=True)
    torch.manual_seed(7)
    expected = [torch.cat([b[0] for b in loader]) for _ in range(3)]
    torch.manual_seed(7)
    ours = [cnn_training.epoch_permutation(n) for _ in range(3)]
    for e, o in zip(expected, ours):
        assert torch.equal(e, o)
    assert not torch.equal(ours[0], ours[1])  # a fresh order every epoch


def homework_loop(settings, data):
    """The homework's hw2-q2.py loop, written plainly: Dataset + DataLoader(shuffle=True)."""
    X, y = data["train"]
    model = cnn.build(settings.pooling, settings.dropout)
    optimizer = torch.optim.SGD(model.parameters(), lr=settings.lr, weight_decay=settings.l2_decay)
    criterion = nn.NLLLoss()
    loader = DataLoader(TensorDataset(X, y), batch_size=settings.batch_size, shuffle=True)
    losses, curve = [], []
    for _ in range(settings.epochs):
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = criterion(model(xb), yb)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        curve.append(torch.tensor(losses).mean().item())
    return model, curve


def tiny_data():
    arrays = make_octmnist_arrays(n_train=60, n_val=20, test_counts=(5, 5, 5, 5))
    return octmnist.as_tensors(octmnist.load_oct_data(arrays), torch.device("cpu"))


@pytest.mark.parametrize("pooling", ["max", "none"])
def test_fast_loop_equals_homework_loop_bit_for_bit(pooling):
    settings = q2_settings(pooling, 0.05, 42, epochs=2)
    data = tiny_data()
    runtime.seed_everything(42)
    ref_model, ref_curve = homework_loop(settings, data)
    runtime.seed_everything(42)
    out = cnn_training.train(settings, data, log=lambda m: None)
    assert [e["train_loss"] for e in out["epochs"]] == ref_curve
    for (name, a), b in zip(out["model"].state_dict().items(), ref_model.state_dict().values()):
        assert torch.equal(a, b), name


def test_training_loss_is_running_mean_since_epoch_one():
    data = tiny_data()  # 60 samples / batch 8 -> 8 batches per epoch, so equal weights
    runtime.seed_everything(0)
    out = cnn_training.train(q2_settings("max", 0.05, 0, epochs=3), data, log=lambda m: None)
    e = out["epochs"]
    assert e[0]["train_loss"] == pytest.approx(e[0]["epoch_train_loss"])
    assert e[2]["train_loss"] == pytest.approx(sum(r["epoch_train_loss"] for r in e) / 3, rel=1e-5)
    assert e[2]["train_loss"] != pytest.approx(e[2]["epoch_train_loss"], rel=1e-4)


def test_resume_from_checkpoint_equals_uninterrupted(tmp_path):
    data = tiny_data()
    settings = q2_settings("max", 0.05, 1, epochs=3)
    runtime.seed_everything(1)
    full = cnn_training.train(settings, data, log=lambda m: None)

    # Run 2 of 3 epochs with checkpoints, as a job killed after epoch 2 would have left them.
    ckpt = EpochCheckpoint(tmp_path / "resume.pt", settings.as_dict(), code=cnn_training.__name__)
    runtime.seed_everything(1)
    cnn_training.train(q2_settings("max", 0.05, 1, epochs=2), data, checkpoint=ckpt, log=lambda m: None)
    runtime.seed_everything(1)  # the restarted job seeds again; the checkpoint's RNG state wins
    resumed = cnn_training.train(settings, data, checkpoint=ckpt, log=lambda m: None)
    assert resumed["epochs"] == full["epochs"]
    assert resumed["test_acc"] == full["test_acc"]
    for a, b in zip(resumed["model"].state_dict().values(), full["model"].state_dict().values()):
        assert torch.equal(a, b)


def test_checkpoint_with_other_settings_is_ignored(tmp_path):
    data = tiny_data()
    ckpt = EpochCheckpoint(tmp_path / "resume.pt", {"lr": 0.05}, code=cnn_training.__name__)
    runtime.seed_everything(1)
    cnn_training.train(q2_settings("max", 0.05, 1, epochs=1), data, checkpoint=ckpt, log=lambda m: None)
    messages = []
    other = EpochCheckpoint(tmp_path / "resume.pt", {"lr": 0.01}, code=cnn_training.__name__)
    runtime.seed_everything(1)
    out = cnn_training.train(q2_settings("max", 0.01, 1, epochs=1), data, checkpoint=other, log=messages.append)
    assert any("other settings" in m for m in messages)
    assert len(out["epochs"]) == 1


def test_job_setup_turns_on_deterministic_kernels_without_loading_the_compiler():
    """setup_job sets torch's deterministic-algorithms flag (warn-only) as the public call would, in a
    fresh interpreter, without importing torch._inductor: ~1 s per training job, for a compiler that
    no job uses."""
    probe = (
        "import sys, torch; from hw2repro import runtime; runtime.setup_job(0, 1, False); "
        "print(torch.are_deterministic_algorithms_enabled(), "
        "torch.is_deterministic_algorithms_warn_only_enabled(), 'torch._inductor' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "workflow")}
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "True", "False"], out
