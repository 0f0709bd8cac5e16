"""Q2 training: the homework's loop (hw2-q2.py), without its per-sample Python overhead.

Semantics kept exactly: SGD (or Adam) on NLLLoss, batches of 8 in a fresh random order each
epoch, the printed training loss is the running mean over *all* batches since epoch 1 (the
skeleton never resets its list), validation accuracy after each epoch in eval mode, test
accuracy at the end. The data stays in memory as tensors; a batch is one index lookup.

Batch order: ``DataLoader(shuffle=True)`` draws, per epoch, one int64 from torch's global
generator for its iterator's base seed and one to seed the ``RandomSampler``'s own generator,
then yields ``randperm``. ``epoch_permutation`` makes the same draws, so a seeded run here
visits the same batches, with the same dropout masks, as the homework's loop.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, fields

import torch
from torch import nn

from ..checkpoint import EpochCheckpoint
from .model import build, count_parameters


@dataclass(frozen=True)
class Q2Settings:
    """One run's settings: its grid point (pooling, lr, seed) and the ``q2`` keys that change its
    numbers. No field has a default: they come from config/config.yaml (``from_config``)."""

    pooling: str
    lr: float
    seed: int
    epochs: int
    batch_size: int
    dropout: float
    l2_decay: float
    optimizer: str

    @classmethod
    def from_config(cls, q2: dict, pooling: str, lr: float, seed: int) -> Q2Settings:
        """The run at (pooling, lr, seed) of ``config["q2"]``."""
        own = [f.name for f in fields(cls)][3:]
        return cls(pooling=pooling, lr=float(lr), seed=int(seed), **{k: q2[k] for k in own})

    def as_dict(self) -> dict:
        return asdict(self)


def epoch_permutation(n: int) -> torch.Tensor:
    """The sample order ``DataLoader(dataset, shuffle=True)`` uses for one epoch (see module doc)."""
    torch.empty((), dtype=torch.int64).random_()  # the iterator's base seed (unused: no workers)
    seed = int(torch.empty((), dtype=torch.int64).random_().item())
    generator = torch.Generator()
    generator.manual_seed(seed)
    return torch.randperm(n, generator=generator)


def make_optimizer(name: str, params, lr: float, l2_decay: float) -> torch.optim.Optimizer:
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, weight_decay=l2_decay)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=l2_decay)
    raise ValueError(f"optimizer must be 'sgd' or 'adam', got {name!r}")


@torch.no_grad()
def accuracy(log_probs: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of rows whose arg-max equals the label (the homework's ``evaluate``)."""
    predicted = log_probs.argmax(dim=-1)
    return (predicted == labels).sum().item() / labels.shape[0]


def evaluate(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> float:
    """One full-batch forward in eval mode, then back to train mode (as the skeleton)."""
    model.eval()
    acc = accuracy(model(X), y)
    model.train()
    return acc


@torch.no_grad()
def predict(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    """Predicted class per image (eval mode, as ``evaluate``; no random draw, weights untouched)."""
    model.eval()
    predicted = model(X).argmax(dim=-1)
    model.train()
    return predicted


def diverged_epoch(epochs: list[dict]) -> int | None:
    """The first epoch whose training loss (over its own batches) is not finite: from there the
    weights are NaN/inf and the run's accuracies measure no training. None when it never diverged."""
    return next((row["epoch"] for row in epochs if not math.isfinite(row["epoch_train_loss"])), None)


def train(settings: Q2Settings, data: dict, checkpoint: EpochCheckpoint | None = None, log=print) -> dict:
    """Train one configuration; ``data`` maps train/dev/test to (X, y) tensors on one device.

    The caller seeds torch first (runtime.setup_job), exactly once, before this builds the model.
    """
    X_train, y_train = data["train"]
    model = build(settings.pooling, settings.dropout).to(X_train.device)
    optimizer = make_optimizer(settings.optimizer, model.parameters(), settings.lr, settings.l2_decay)
    criterion = nn.NLLLoss()

    batch_losses: list[float] = []  # never reset: the homework's running mean
    epochs: list[dict] = []  # deterministic per-epoch metrics
    seconds: list[float] = []  # wall time per epoch, kept apart: it differs run to run
    start = 0
    if checkpoint is not None:
        restored = checkpoint.restore(log=log, model=model, optimizer=optimizer)
        if restored:
            start, (batch_losses, epochs, seconds) = restored

    n, bs = X_train.shape[0], settings.batch_size
    model.train()
    for epoch in range(start + 1, settings.epochs + 1):
        tic = time.perf_counter()
        first = len(batch_losses)
        order = epoch_permutation(n).to(X_train.device)
        for i in range(0, n, bs):
            idx = order[i : i + bs]
            optimizer.zero_grad()
            loss = criterion(model(X_train[idx]), y_train[idx])
            loss.backward()
            optimizer.step()
            batch_losses.append(loss.item())
        val_acc = evaluate(model, *data["dev"])
        row = {
            "epoch": epoch,
            "train_loss": torch.tensor(batch_losses).mean().item(),
            "epoch_train_loss": torch.tensor(batch_losses[first:]).mean().item(),
            "val_acc": val_acc,
        }
        epochs.append(row)
        seconds.append(time.perf_counter() - tic)
        log(
            f"epoch {epoch}/{settings.epochs}: training loss (running mean) {row['train_loss']:.4f}, "
            f"validation accuracy {val_acc:.4f} ({seconds[-1]:.1f} s)"
        )
        if diverged_epoch(epochs) == epoch:  # said once; the homework's loop goes on unchanged
            log(f"diverged at epoch {epoch}: the training loss is not finite (lr {settings.lr:g} is too large)")
        if checkpoint is not None:
            checkpoint.save(epoch, (batch_losses, epochs, seconds), model=model, optimizer=optimizer)

    test_acc = evaluate(model, *data["test"])
    log(f"Final Test acc: {test_acc:.4f}")
    return {
        "model": model,
        "epochs": epochs,
        "epoch_seconds": seconds,
        "test_acc": test_acc,
        "n_params": count_parameters(model),
        "diverged_at_epoch": diverged_epoch(epochs),
    }
