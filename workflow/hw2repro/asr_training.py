"""Q3 training and evaluation: the homework's ``Trainer``, made resumable and measured.

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

import hashlib
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch

from . import metrics as M
from . import text
from .asr_models import ModelConfig, SpeechToText, build_model, greedy_decode, parameter_breakdown
from .checkpoint import EpochCheckpoint
from .errors import InputError
from .io import save_torch

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class TrainSettings:
    """Everything that determines a Q3 run's numbers (the homework's values as defaults)."""

    decoder: str = "transformer"
    seed: int = 42
    epochs: int = 15
    batch_size: int = 64
    eval_batch_size: int = 16
    lr: float = 1e-3
    weight_decay: float = 0.01  # AdamW's default, which the homework keeps
    label_smoothing: float = 0.1
    warmup_fraction: float = 0.15
    decay_fraction: float = 0.85
    lr_start_factor: float = 1e-2
    lr_end_factor: float = 1e-2
    hidden_dim: int = 200
    n_heads: int = 2
    feed_forward_dim: int = 400
    encoder_layers: int = 2
    lstm_layers: int = 1
    n_vocab: int = 35
    text_len: int = 99
    max_timescale: float = 3000.0
    log_train_every: int = 30  # the skeleton prints a running mean every 30 steps
    train_clips: Optional[int] = None  # first N clips of a split (None: all), for smoke runs
    val_clips: Optional[int] = None
    test_clips: Optional[int] = None

    @classmethod
    def from_config(cls, q3: dict, decoder: str, seed: int) -> "TrainSettings":
        """Pick the known keys from ``config["q3"]`` (others, e.g. threads, are ignored)."""
        known = {f.name for f in fields(cls)} - {"decoder", "seed"}
        values = {k: v for k, v in q3.items() if k in known}
        return cls(decoder=decoder, seed=int(seed), **values)

    def model_config(self, n_mels: int, n_frames: int) -> ModelConfig:
        return ModelConfig(
            decoder=self.decoder,
            n_mels=n_mels,
            n_frames=n_frames,
            hidden_dim=self.hidden_dim,
            n_heads=self.n_heads,
            feed_forward_dim=self.feed_forward_dim,
            encoder_layers=self.encoder_layers,
            lstm_layers=self.lstm_layers,
            n_vocab=self.n_vocab,
            text_len=self.text_len,
            max_timescale=self.max_timescale,
        )

    def to_dict(self) -> dict:
        return asdict(self)


# --- data ---------------------------------------------------------------------------------------


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

    def head(self, n: Optional[int]) -> "SplitData":
        if n is None or n >= len(self):
            return self
        return SplitData(
            self.features[:n], self.tokens[:n], list(self.ids[:n]), list(self.texts[:n]),
            self.n_frames, self.source, self.synthetic, self.path, self.file_bytes, self.extra,
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


def load_split(path: str | Path, limit: Optional[int] = None, text_len: int = 99) -> SplitData:
    """Read ``results/q3/features/{split}.pt`` (memory-mapped when the file allows it)."""
    path = Path(path)
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except RuntimeError:  # legacy (non-zip) serialisation cannot be memory-mapped
        blob = torch.load(path, map_location="cpu", weights_only=True)
    missing = {"features", "tokens"} - set(blob)
    if missing:
        raise InputError(f"{path}: missing key(s) {sorted(missing)} (expected the q3_features format)")
    features, tokens = blob["features"], blob["tokens"].long()
    if features.dim() != 3:
        raise InputError(f"{path}: features must be (N, n_mels, n_frames), got {tuple(features.shape)}")
    if features.dtype not in (torch.float32, torch.float16, torch.bfloat16):
        raise InputError(f"{path}: features dtype {features.dtype} not supported")
    if tokens.shape != (features.shape[0], text_len):
        raise InputError(f"{path}: tokens must be (N, {text_len}), got {tuple(tokens.shape)}")
    n_frames = int(blob.get("n_frames", features.shape[-1]))
    if n_frames != features.shape[-1]:
        raise InputError(f"{path}: n_frames {n_frames} != features' last dim {features.shape[-1]}")
    data = SplitData(
        features=features,
        tokens=tokens,
        ids=list(blob.get("ids", [str(i) for i in range(len(tokens))])),
        texts=list(blob.get("texts", [""] * len(tokens))),
        n_frames=n_frames,
        source=str(blob.get("source", "")),
        synthetic=bool(blob.get("synthetic", False)),
        path=str(path),
        file_bytes=path.stat().st_size,
    )
    return data.head(limit)


class _PairDataset(torch.utils.data.Dataset):
    """(features[audio_index[i]], tokens[i]); audio_index=None is the identity."""

    def __init__(self, data: SplitData, audio_index: Optional[np.ndarray] = None):
        self.features, self.tokens = data.features, data.tokens
        self.audio_index = None if audio_index is None else [int(j) for j in audio_index]

    def __len__(self) -> int:
        return int(self.tokens.shape[0])

    def __getitem__(self, i):
        j = i if self.audio_index is None else self.audio_index[i]
        return self.features[j], self.tokens[i]


def derangement(n: int, seed: int) -> np.ndarray:
    """A fixed permutation of range(n) with no fixed points (Sattolo's algorithm: one n-cycle).

    Drawn from its own ``numpy`` generator, so it never touches the training RNG streams.
    """
    if n < 2:
        raise ValueError("a derangement needs at least 2 items")
    rng = np.random.default_rng(seed)
    perm = np.arange(n)
    for i in range(n - 1, 0, -1):
        j = int(rng.integers(0, i))  # j < i: Sattolo, not Fisher–Yates
        perm[i], perm[j] = perm[j], perm[i]
    return perm


def comparison_text(target, prediction) -> tuple[str, str]:
    """The skeleton's text log: target without `@`; prediction after the cut/overwrite rules."""
    return text.decode(target).replace("@", ""), text.decode(M.cut_prediction(prediction))


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
    "epoch", "train_loss", "val_loss", "val_jaccard", "val_cosine", "val_damerau_levenshtein",
    "lr", "train_loss_last_logged",
]


def source_fingerprint() -> str:
    """Hash of the modules that define a run's numbers: a checkpoint from other code is not resumed."""
    here = Path(__file__).parent
    h = hashlib.sha256()
    for name in ("asr_models.py", "asr_training.py", "metrics.py"):
        h.update((here / name).read_bytes())
    return h.hexdigest()[:16]


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
            self.checkpoint = EpochCheckpoint(checkpoint_path, self.fingerprint_settings())
        self.history: dict = {"rows": [], "epoch_seconds": [], "segments": 0}

    def fingerprint_settings(self) -> dict:
        return {
            "settings": self.s.to_dict(),
            "model": self.model_cfg.to_dict(),
            "data": {k: v.fingerprint() for k, v in self.data.items()},
            "code": source_fingerprint(),
        }

    # -- batches --
    def _loader(self, split: str, shuffle: bool, audio_index=None) -> torch.utils.data.DataLoader:
        bs = self.s.batch_size if split == "train" else self.s.eval_batch_size
        ds = _PairDataset(self.data[split], audio_index)
        return torch.utils.data.DataLoader(ds, batch_size=bs, shuffle=shuffle, num_workers=0)

    def _to_device(self, audio, text):
        return (
            audio.to(self.device, dtype=torch.float32, non_blocking=True),
            text.to(self.device, non_blocking=True),
        )

    # -- one epoch of training --
    def train_epoch(self, epoch: int) -> dict:
        self.model.train()
        losses: list[float] = []
        last_logged = float("nan")
        every = max(1, int(self.s.log_train_every))
        for step, (audio, text) in enumerate(self._loader("train", shuffle=True)):
            audio, text = self._to_device(audio, text)
            self.optimizer.zero_grad()
            loss = teacher_forced_loss(self.model, audio, text, self.s.label_smoothing)
            loss.backward()
            self.optimizer.step()
            losses.append(loss.item())
            if step % every == every - 1:
                last_logged = float(np.mean(losses[-every:]))
                self.log(f"[{epoch}, {step + 1:4d}] loss: {last_logged:.3f}")
        return {"train_loss": float(np.mean(losses)), "train_loss_last_logged": last_logged}

    # -- evaluation --
    @torch.no_grad()
    def evaluate(self, split: str, audio_index=None, keep_predictions: bool = False) -> dict:
        """Teacher-forced loss (mean of batch means) and mean per-sample similarities."""
        self.model.eval()
        batch_losses: list[float] = []
        sums = {k: 0.0 for k in M.SIMILARITIES}
        n = 0
        predictions = []
        examples = []
        for audio, text in self._loader(split, shuffle=False, audio_index=audio_index):
            audio, text = self._to_device(audio, text)
            # The skeleton encodes twice (loss, then generate); once gives the same numbers.
            latent = self.model.encode(audio)
            logits = self.model._dec(text[:, :-1], latent)
            loss = torch.nn.functional.cross_entropy(
                logits, text[:, 1:], label_smoothing=self.s.label_smoothing
            )
            batch_losses.append(loss.item())
            generated = greedy_decode(self.model, latent=latent).cpu()
            target = text.cpu()
            for k, v in M.batch_similarity_sums(target, generated).items():
                sums[k] += v
            n += target.shape[0]
            if keep_predictions:
                predictions.extend(generated.tolist())
            if len(examples) < 2:
                examples.extend(zip(target.tolist()[: 2 - len(examples)], generated.tolist()))
        out = {"loss": float(np.mean(batch_losses)), "n": n, "examples": examples}
        out.update({k: v / n for k, v in sums.items()})
        if keep_predictions:
            out["predictions"] = predictions
        return out

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
                    epoch, self.history,
                    model=self.model, optimizer=self.optimizer, scheduler=self.scheduler,
                )
            self.log(
                f"epoch {epoch}/{self.s.epochs}  lr {lr:.3g}  train_loss {row['train_loss']:.4f}  "
                f"val_loss {row['val_loss']:.4f}  jaccard {row['val_jaccard']:.4f}  "
                f"cosine {row['val_cosine']:.4f}  DL {row['val_damerau_levenshtein']:.4f}  "
                f"({seconds:.1f} s)"
            )
            for target, pred in val["examples"]:
                t, p = comparison_text(target, pred)
                self.log(f"  target: {t}\n  pred:   {p}")
        return self.history["rows"]

    @property
    def finished(self) -> bool:
        return len(self.history["rows"]) >= self.s.epochs

    def test(self) -> tuple[dict, str]:
        """Test metrics, the audio-blind baseline beside them, and the predictions text."""
        t0 = time.perf_counter()
        data = self.data["test"]
        real = self.evaluate("test", keep_predictions=True)
        result = {f"test_{k}": real[k] for k in ("loss", *M.SIMILARITIES)}
        result["n_test"] = real["n"]
        blind_preds = None
        if len(data) >= 2:
            perm = derangement(len(data), self.s.seed)
            blind = self.evaluate("test", audio_index=perm, keep_predictions=True)
            result.update({f"audio_blind_{k}": blind[k] for k in ("loss", *M.SIMILARITIES)})
            result["audio_blind_derangement"] = {
                "method": "sattolo (single cycle, no fixed points)",
                "seed": self.s.seed,
                "fixed_points": int(np.sum(perm == np.arange(len(perm)))),
            }
            blind_preds = blind["predictions"]
        else:
            result.update({f"audio_blind_{k}": None for k in ("loss", *M.SIMILARITIES)})
        result["eval_seconds"] = time.perf_counter() - t0
        text = self.predictions_text(real["predictions"], blind_preds)
        return result, text

    def predictions_text(self, predictions, blind_predictions=None) -> str:
        data = self.data["test"]
        lines = []
        for i, (target, pred) in enumerate(zip(data.tokens.tolist(), predictions, strict=True)):
            t, p = comparison_text(target, pred)
            lines.append(f"id:     {data.ids[i]}")
            lines.append(f"target: {t}")
            lines.append(f"pred:   {p}")
            if blind_predictions is not None:
                lines.append(f"blind:  {comparison_text(target, blind_predictions[i])[1]}")
            lines.append("")
        return "\n".join(lines) + "\n"

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


def metrics_frame(rows: list[dict]):
    import pandas as pd

    return pd.DataFrame(rows, columns=METRIC_COLUMNS)


def run_training(
    settings: TrainSettings,
    feature_paths: dict[str, str | Path],
    out_dir: str | Path,
    device: torch.device,
    env_info: dict,
    threads: int,
    log: Callable[[str], None] = print,
    outputs: Optional[dict[str, str | Path]] = None,
) -> dict:
    """The whole job behind ``q3_train``: load, (resume,) train, test, write every output.

    ``outputs``: metrics / test / predictions / model paths (default: inside ``out_dir``);
    the resume checkpoint is ``out_dir/resume.pt`` and is removed once all outputs exist.
    """
    from .io import write_csv, write_json, write_text

    t_start = time.perf_counter()
    out_dir = Path(out_dir)
    outputs = {k: Path(v) for k, v in (outputs or {}).items()}
    paths = {
        "metrics": outputs.get("metrics", out_dir / "metrics.csv"),
        "test": outputs.get("test", out_dir / "test.json"),
        "predictions": outputs.get("predictions", out_dir / "predictions.txt"),
        "model": outputs.get("model", out_dir / "model.pt"),
    }
    data = {s: load_split(p, text_len=settings.text_len) for s, p in feature_paths.items()}
    for s in SPLITS:
        d = data[s]
        log(f"{s}: {len(d)} clips, features {tuple(d.features.shape)} {d.features.dtype}, "
            f"source={d.source!r} synthetic={d.synthetic}")
    trainer = Trainer(settings, data, device, checkpoint_path=out_dir / "resume.pt", log=log)
    log(f"model {settings.decoder}: {trainer.n_params} parameters; encoder T={trainer.model_cfg.encoder_time}")
    log(f"device {env_info.get('device')}, threads {threads}")
    trainer.fit()
    result, text = trainer.test()
    log(
        "test: loss {test_loss:.4f} jaccard {test_jaccard:.4f} cosine {test_cosine:.4f} "
        "DL {test_damerau_levenshtein:.4f}".format(**result)
    )
    if result.get("audio_blind_loss") is not None:
        log(
            "audio-blind: loss {audio_blind_loss:.4f} jaccard {audio_blind_jaccard:.4f} "
            "cosine {audio_blind_cosine:.4f} DL {audio_blind_damerau_levenshtein:.4f}".format(**result)
        )
    result.update(trainer.summary())
    result.update(
        {
            "device": env_info.get("device"),
            "threads": threads,
            "env": env_info,
            "wall_time_s": float(result["train_seconds"] + result["eval_seconds"]),
            "job_seconds_this_segment": time.perf_counter() - t_start,
        }
    )
    write_csv(paths["metrics"], metrics_frame(trainer.history["rows"]))
    write_text(paths["predictions"], text)
    save_torch(paths["model"], trainer.model.state_dict())
    write_json(paths["test"], result)
    trainer.checkpoint.remove()
    return result


# --- speed measurement --------------------------------------------------------------------------


def measure_speed(
    decoder: str,
    n_frames: int = 400,
    batch_size: int = 64,
    eval_batch_size: int = 16,
    repeats: int = 3,
    seed: int = 0,
) -> dict:
    """Seconds per training step and per greedy-decoded batch on random features (CPU/GPU as set)."""
    torch.manual_seed(seed)
    cfg = TrainSettings(decoder=decoder).model_config(80, n_frames)
    model = build_model(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    audio = torch.randn(batch_size, 80, n_frames)
    text = torch.randint(3, 35, (batch_size, cfg.text_len))
    text[:, 0] = 0
    text[:, -1] = 1

    def step():
        opt.zero_grad()
        loss = teacher_forced_loss(model, audio, text, 0.1)
        loss.backward()
        opt.step()

    step()  # warm-up
    t0 = time.perf_counter()
    for _ in range(repeats):
        step()
    train_step = (time.perf_counter() - t0) / repeats
    eval_audio = audio[:eval_batch_size]
    greedy_decode(model, eval_audio, steps=2)  # warm-up
    t0 = time.perf_counter()
    greedy_decode(model, eval_audio)
    decode = time.perf_counter() - t0
    return {
        "decoder": decoder,
        "n_frames": n_frames,
        "batch_size": batch_size,
        "eval_batch_size": eval_batch_size,
        "threads": torch.get_num_threads(),
        "train_step_s": train_step,
        "decode_batch_s": decode,
        "n_params": sum(p.numel() for p in model.parameters()),
    }

