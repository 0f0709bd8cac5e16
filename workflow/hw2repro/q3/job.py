"""The q3_train job: load the three feature files, train (resuming when a checkpoint matches), test with
the audio-blind baseline, and write metrics.csv, test.json, predictions.txt and model.pt."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Optional

import pandas as pd
import torch

from ..io import save_torch, write_csv, write_json, write_text
from .dataset import load_split
from .split import SPLITS
from .train import METRIC_COLUMNS, Trainer, TrainSettings


def metrics_frame(rows: list[dict]) -> pd.DataFrame:
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
    t_start = time.perf_counter()
    out_dir = Path(out_dir)
    outputs = {k: Path(v) for k, v in (outputs or {}).items()}
    paths = {
        "metrics": outputs.get("metrics", out_dir / "metrics.csv"),
        "test": outputs.get("test", out_dir / "test.json"),
        "predictions": outputs.get("predictions", out_dir / "predictions.txt"),
        "model": outputs.get("model", out_dir / "model.pt"),
    }
    data = {s: load_split(p, text_len=settings.model.text_len) for s, p in feature_paths.items()}
    for s in SPLITS:
        d = data[s]
        log(
            f"{s}: {len(d)} clips, features {tuple(d.features.shape)} {d.features.dtype}, "
            f"source={d.source!r} synthetic={d.synthetic}"
        )
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
