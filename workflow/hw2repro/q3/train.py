"""Q3 training: the homework's ``Trainer``, made resumable and measured.

Faithful to the skeleton (see the spec): AdamW(lr, default weight decay); a SequentialLR of a
LinearLR warm-up (1e-2 -> 1 over int(0.15·epochs) epochs) and a LinearLR decay (1 -> 1e-2 over
int(0.85·epochs) epochs), stepped once per epoch after validation; teacher forcing with input
``text[:, :-1]`` and target ``text[:, 1:]``; ``cross_entropy(label_smoothing=0.1)`` with no
ignore_index (padding counts); shuffled training batches drawn by a ``DataLoader`` from torch's
global RNG, unshuffled validation/test batches; validation after every epoch: teacher-forced
loss (mean of per-batch means) and the three similarities of greedy decodes (mean per sample).

Added here: a per-epoch :class:`~hw2repro.checkpoint.EpochCheckpoint` (a killed job resumes
and ends bit-identical to an uninterrupted one), and an *audio-blind* baseline: the trained model
scored on test clips whose encoder input is another clip's features (a fixed derangement).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from ..checkpoint import EpochCheckpoint
from ..errors import InputError
from . import metrics as M
from .dataset import PairDataset, SplitData, to_device
from .evaluate import comparison_text, evaluate, test_with_baseline
from .models import ModelConfig, SpeechToText, build_model, parameter_breakdown


class NonFiniteLoss(InputError, FloatingPointError):
    """Training produced a NaN or infinite loss; the message names the epoch and batch."""


@dataclass(frozen=True)
class TrainSettings:
    """Everything that determines a Q3 run's numbers: the optimisation here, the model in ``model``
    (its n_mels and n_frames are set from the features file). No field has a default: the pipeline,
    the tests and the benchmarks build it from config/config.yaml (``from_config``)."""

    model: ModelConfig
    seed: int
    epochs: int
    batch_size: int
    eval_batch_size: int
    lr: float
    weight_decay: float  # AdamW's default, which the homework keeps
    label_smoothing: float
    warmup_fraction: float
    decay_fraction: float
    lr_start_factor: float
    lr_end_factor: float
    log_train_every: int  # the skeleton prints a running mean every 30 steps
    train_clips: Optional[int]  # first N clips of a split (None: all), for smoke runs
    val_clips: Optional[int]
    test_clips: Optional[int]

    @classmethod
    def from_config(cls, q3: dict, decoder: str, seed: int) -> TrainSettings:
        """The run's settings from ``config["q3"]`` (keys that do not change a run's numbers, e.g.
        threads, are not there); every field must be given: config.yaml is where defaults live."""
        own = {f.name for f in fields(cls)} - {"model", "seed"}
        sizes = {f.name for f in fields(ModelConfig)} - {"decoder", "n_mels", "n_frames"}
        missing = sorted((own | sizes) - set(q3))
        if missing:
            raise InputError(f"config q3 lacks {missing} (every key is in config/config.yaml)")
        model = ModelConfig(decoder=decoder, **{k: q3[k] for k in sizes})
        return cls(model=model, seed=int(seed), **{k: q3[k] for k in own})

    @property
    def decoder(self) -> str:
        return self.model.decoder

    def model_config(self, n_mels: int, n_frames: int) -> ModelConfig:
        return replace(self.model, n_mels=n_mels, n_frames=n_frames)

    def to_dict(self) -> dict:
        return asdict(self)


# --- optimisation -------------------------------------------------------------------------------


def build_optimizer(model: torch.nn.Module, s: TrainSettings) -> torch.optim.Optimizer:
    return torch.optim.AdamW(model.parameters(), lr=s.lr, weight_decay=s.weight_decay)


def build_scheduler(opt: torch.optim.Optimizer, s: TrainSettings):
    """The skeleton's schedule, stepped once per epoch: warm-up then linear decay."""
    warm = int(s.warmup_fraction * s.epochs)
    decay = int(s.decay_fraction * s.epochs)
    warm_up = torch.optim.lr_scheduler.LinearLR(opt, s.lr_start_factor, 1.0, warm)
    decay_sch = torch.optim.lr_scheduler.LinearLR(opt, 1.0, s.lr_end_factor, decay)
    return torch.optim.lr_scheduler.SequentialLR(opt, [warm_up, decay_sch], [warm])


def teacher_forced_loss(model: SpeechToText, audio, text, label_smoothing: float) -> torch.Tensor:
    logits = model(audio, text[:, :-1])
    return torch.nn.functional.cross_entropy(logits, text[:, 1:], label_smoothing=label_smoothing)


# --- the trainer --------------------------------------------------------------------------------

METRIC_COLUMNS = [
    "epoch",
    "train_loss",
    "val_loss",
    "val_jaccard",
    "val_cosine",
    "val_damerau_levenshtein",
    "lr",
    "train_loss_last_logged",
]


class Trainer:
    """Train one decoder for one seed; evaluate on validation each epoch and on test at the end.

    Call ``runtime.setup_job(seed, ...)`` before constructing it: the model's initial weights
    and the shuffles come from torch's global RNG, as in the homework.
    """

    def __init__(
        self,
        settings: TrainSettings,
        data: dict[str, SplitData],
        device: torch.device | str = "cpu",
        checkpoint_path: Optional[str | Path] = None,
        log: Callable[[str], None] = print,
    ):
        self.s = settings
        self.device = torch.device(device)
        self.log = log
        limits = {"train": settings.train_clips, "val": settings.val_clips, "test": settings.test_clips}
        self.data = {k: v.head(limits.get(k)) for k, v in data.items()}
        ref = self.data["train"]
        for name, split in self.data.items():
            if split.features.shape[1:] != ref.features.shape[1:]:
                raise InputError(f"split {name}: feature shape differs from train's")
        self.model_cfg = settings.model_config(ref.features.shape[1], ref.n_frames)
        self.model = build_model(self.model_cfg).to(self.device)
        self.optimizer = build_optimizer(self.model, settings)
        self.scheduler = build_scheduler(self.optimizer, settings)
        self.n_params = parameter_breakdown(self.model)
        self.checkpoint = None
        if checkpoint_path is not None:
            self.checkpoint = EpochCheckpoint(checkpoint_path, self.fingerprint_settings(), code=__name__)
        self.history: dict = {"rows": [], "epoch_seconds": [], "segments": 0}

    def fingerprint_settings(self) -> dict:
        return {
            "settings": self.s.to_dict(),
            "model": self.model_cfg.to_dict(),
            "data": {k: v.fingerprint() for k, v in self.data.items()},
        }

    # -- batches --
    def _loader(self, split: str, shuffle: bool, audio_index=None) -> torch.utils.data.DataLoader:
        bs = self.s.batch_size if split == "train" else self.s.eval_batch_size
        ds = PairDataset(self.data[split], audio_index)
        return torch.utils.data.DataLoader(ds, batch_size=bs, shuffle=shuffle, num_workers=0)

    # -- one epoch of training --
    def train_epoch(self, epoch: int) -> dict:
        self.model.train()
        losses: list[float] = []
        last_logged = float("nan")
        every = max(1, int(self.s.log_train_every))
        loader = self._loader("train", shuffle=True)
        steps, batch = len(loader), self.s.batch_size  # len() draws nothing: the order is drawn by iter()
        tic = time.perf_counter()
        for step, (audio, text) in enumerate(loader):
            audio, text = to_device(audio, text, self.device)
            self.optimizer.zero_grad()
            loss = teacher_forced_loss(self.model, audio, text, self.s.label_smoothing)
            loss.backward()
            self.optimizer.step()
            losses.append(loss.item())
            if not math.isfinite(losses[-1]):  # every later step would be NaN too: stop, say where
                raise NonFiniteLoss(
                    f"epoch {epoch}, batch {step + 1}: training loss is {losses[-1]} "
                    "(damaged features? rebuild them with --forcerun q3_features; "
                    "else lower q3.lr)"
                )
            if step % every == every - 1:
                last_logged = float(np.mean(losses[-every:]))
                elapsed = time.perf_counter() - tic
                eta = elapsed / (step + 1) * (steps - step - 1)
                self.log(
                    f"[{epoch}/{self.s.epochs}, {step + 1:4d}/{steps}] loss: {last_logged:.3f}  "
                    f"({elapsed:.1f} s, epoch ETA {eta:.1f} s, "
                    f"{min(len(loader.dataset), (step + 1) * batch) / elapsed:.1f} samples/s)"
                )
        self.last_train = (len(loader.dataset), time.perf_counter() - tic)  # for the epoch's log line
        return {"train_loss": float(np.mean(losses)), "train_loss_last_logged": last_logged}

    # -- evaluation --
    def evaluate(self, split: str, audio_index=None, keep_predictions: bool = False) -> dict:
        loader = self._loader(split, shuffle=False, audio_index=audio_index)
        return evaluate(self.model, loader, self.device, self.s.label_smoothing, keep_predictions)

    # -- the epochs loop --
    def fit(self, stop_after_epochs: Optional[int] = None) -> list[dict]:
        """Train for ``settings.epochs`` epochs, resuming from the checkpoint when one matches.

        ``stop_after_epochs`` ends this call early (after that many epochs in total, checkpoint
        written), which is how tests simulate a job killed between epochs.
        """
        start = 0
        if self.checkpoint is not None:
            restored = self.checkpoint.restore(
                log=self.log, model=self.model, optimizer=self.optimizer, scheduler=self.scheduler
            )
            if restored is not None:
                start, self.history = restored
        self.history["segments"] = self.history.get("segments", 0) + 1
        for epoch in range(start + 1, self.s.epochs + 1):
            if stop_after_epochs is not None and epoch > stop_after_epochs:
                break
            t0 = time.perf_counter()
            lr = self.optimizer.param_groups[0]["lr"]
            row = {"epoch": epoch}
            row.update(self.train_epoch(epoch))
            val = self.evaluate("val")
            row.update({"val_loss": val["loss"]})
            row.update({f"val_{k}": val[k] for k in M.SIMILARITIES})
            row["lr"] = lr
            self.scheduler.step()
            seconds = time.perf_counter() - t0
            self.history["rows"].append(row)
            self.history["epoch_seconds"].append(seconds)
            if self.checkpoint is not None:
                self.checkpoint.save(
                    epoch,
                    self.history,
                    model=self.model,
                    optimizer=self.optimizer,
                    scheduler=self.scheduler,
                )
            self.log(
                f"epoch {epoch}/{self.s.epochs}  lr {lr:.3g}  train_loss {row['train_loss']:.4f}  "
                f"val_loss {row['val_loss']:.4f}  jaccard {row['val_jaccard']:.4f}  "
                f"cosine {row['val_cosine']:.4f}  DL {row['val_damerau_levenshtein']:.4f}  "
                f"({seconds:.1f} s, training {self.last_train[0] / self.last_train[1]:.1f} samples/s, "
                f"ETA {seconds * (self.s.epochs - epoch):.0f} s for the remaining epochs)"
            )
            for target, pred in val["examples"]:
                t, p = comparison_text(target, pred)
                self.log(f"  target: {t}")  # one call per line: each line gets the job's tag
                self.log(f"  pred:   {p}")
        return self.history["rows"]

    @property
    def finished(self) -> bool:
        return len(self.history["rows"]) >= self.s.epochs

    def test(self) -> tuple[dict, str]:
        """Test metrics, the audio-blind baseline beside them, and the predictions text."""
        return test_with_baseline(self.evaluate, self.data["test"], self.s.seed)

    def summary(self) -> dict:
        return {
            "decoder": self.s.decoder,
            "seed": self.s.seed,
            "epochs": self.s.epochs,
            "n_params": self.n_params["total"],
            "n_params_encoder": self.n_params["encoder"],
            "n_params_decoder": self.n_params["decoder"],
            "encoder_time": self.model_cfg.encoder_time,
            "n_frames": self.model_cfg.n_frames,
            "train_seconds": float(sum(self.history["epoch_seconds"])),
            "epoch_seconds": list(self.history["epoch_seconds"]),
            "segments": self.history["segments"],
            "settings": self.s.to_dict(),
            "data": {k: v.fingerprint() for k, v in self.data.items()},
        }
