"""The q2_train job: load the data, train one configuration (resuming when a checkpoint matches), and
write metrics.csv, test_predictions.csv, model.pt and result.json."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import torch

from ..checkpoint import EpochCheckpoint
from ..io import save_torch, write_csv, write_json
from . import octmnist
from . import train as cnn_training


def run_training(
    settings: cnn_training.Q2Settings,
    data_path: str | Path,
    eq_test_dist: bool,
    resume: str | Path,
    device: torch.device,
    env: dict,
    outputs: dict[str, str | Path],
    log: Callable[[str], None] = print,
    started: float | None = None,
) -> dict:
    """The whole job behind ``q2_train``, after the caller seeded torch (runtime.setup_job).

    ``outputs``: metrics / predictions / model / result paths; ``resume`` is the epoch checkpoint,
    removed once every output exists. ``started``: when the job began (perf_counter), for wall_seconds.
    """
    tic = time.perf_counter() if started is None else started
    data = octmnist.load_oct_data(octmnist.load_npz(data_path), eq_test_dist=eq_test_dist)
    tensors = octmnist.as_tensors(data, device)
    log("sizes: " + ", ".join(f"{k} {len(y)}" for k, (_, y) in data.items()))

    data_id = {"data": str(data_path), "data_mtime": Path(data_path).stat().st_mtime_ns}
    ckpt = EpochCheckpoint(resume, {**settings.as_dict(), **data_id}, code=cnn_training.__name__)
    out = cnn_training.train(settings, tensors, checkpoint=ckpt, log=log)

    write_csv(
        outputs["metrics"],
        pd.DataFrame(out["epochs"]).assign(**{"pooling": settings.pooling, "lr": settings.lr, "seed": settings.seed}),
    )
    # per-image test predictions (per-class accuracy, confusion matrix), after the test accuracy:
    # an eval-mode forward that draws nothing and changes no weight
    X_test, y_test = tensors["test"]
    predicted = cnn_training.predict(out["model"], X_test)
    write_csv(
        outputs["predictions"],
        pd.DataFrame(
            {"index": range(len(y_test)), "label": y_test.cpu().numpy(), "predicted": predicted.cpu().numpy()}
        ),
    )
    save_torch(outputs["model"], {k: v.cpu() for k, v in out["model"].state_dict().items()})
    last = out["epochs"][-1]
    result = {
        **settings.as_dict(),
        "final_train_loss": last["train_loss"],
        "final_val_acc": last["val_acc"],
        "test_acc": out["test_acc"],
        "n_test": len(data["test"][1]),
        "n_params": out["n_params"],
        "wall_seconds": time.perf_counter() - tic,
        "epoch_seconds": out["epoch_seconds"],
        "env": env,
        # only when it happened: a run that trained normally keeps its record as before
        **({"diverged_at_epoch": out["diverged_at_epoch"]} if out["diverged_at_epoch"] else {}),
    }
    write_json(outputs["result"], result)
    ckpt.remove()
    log(f"Number of trainable parameters: {out['n_params']}")
    return result
