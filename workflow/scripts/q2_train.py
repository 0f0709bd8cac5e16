"""Rule q2_train: train one CNN configuration (pooling x lr x seed) and record everything."""

import time
from pathlib import Path

import pandas as pd

from hw2repro import io, joblog, runtime
from hw2repro.checkpoint import EpochCheckpoint
from hw2repro.q2 import octmnist
from hw2repro.q2 import train as cnn_training


def main(smk, log):
    settings = cnn_training.Q2Settings(**smk.params.settings)
    tic = time.perf_counter()
    # Seeding comes first and once, as in the homework: the model's initial weights are then
    # the first draws from torch's generator.
    device, env = runtime.setup_job(settings.seed, smk.threads, smk.params.allow_cuda)
    log(f"training {settings.as_dict()} on {env['device']} with {env['torch_threads']} thread(s)")
    data = octmnist.load_oct_data(octmnist.load_npz(smk.input.data), eq_test_dist=smk.params.eq_test_dist)
    tensors = octmnist.as_tensors(data, device)
    log("sizes: " + ", ".join(f"{k} {len(y)}" for k, (_, y) in data.items()))

    data_id = {"data": smk.input.data, "data_mtime": Path(smk.input.data).stat().st_mtime_ns}
    ckpt = EpochCheckpoint(smk.params.resume, {**settings.as_dict(), **data_id}, code=cnn_training.__name__)
    out = cnn_training.train(settings, tensors, checkpoint=ckpt, log=log)

    io.write_csv(
        smk.output.metrics,
        pd.DataFrame(out["epochs"]).assign(**{"pooling": settings.pooling, "lr": settings.lr, "seed": settings.seed}),
    )
    # per-image test predictions (per-class accuracy, confusion matrix), after the test accuracy:
    # an eval-mode forward that draws nothing and changes no weight
    X_test, y_test = tensors["test"]
    predicted = cnn_training.predict(out["model"], X_test)
    io.write_csv(
        smk.output.predictions,
        pd.DataFrame(
            {"index": range(len(y_test)), "label": y_test.cpu().numpy(), "predicted": predicted.cpu().numpy()}
        ),
    )
    io.save_torch(smk.output.model, {k: v.cpu() for k, v in out["model"].state_dict().items()})
    last = out["epochs"][-1]
    io.write_json(
        smk.output.result,
        {
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
        },
    )
    ckpt.remove()
    log(f"Number of trainable parameters: {out['n_params']}")


joblog.run(main, snakemake)
