"""Safe to receive: a results folder copied from someone else runs no code when this pipeline reads it."""

import os

import pytest
import torch

from conftest import copy_workflow, snakemake, tiny_config, write_config


class Payload:
    """What an attacker would put in a checkpoint: unpickling it makes a folder (harmless proof)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def plant(path, marker):
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"fingerprint": "x", "epoch": 1, "history": Payload(marker)}, path)


def test_a_pickle_payload_in_a_q3_checkpoint_is_refused_and_runs_nothing(tmp_path):
    from test_q3_models import fake_split, make_trainer, tiny_settings

    paths = {}
    for i, (split, n) in enumerate({"train": 8, "val": 4, "test": 4}.items()):
        paths[split] = tmp_path / f"{split}.pt"
        torch.save(fake_split(n, 24, seed=i, dtype=torch.float16), paths[split])
    ckpt, marker = tmp_path / "run" / "resume.pt", tmp_path / "code-ran"
    plant(ckpt, marker)
    trainer = make_trainer(tiny_settings(epochs=1), paths, ckpt)
    messages = []
    trainer.log = messages.append
    trainer.fit(stop_after_epochs=0)
    assert not marker.exists()
    assert any(m.startswith(f"refusing checkpoint {ckpt}: it holds Python objects") for m in messages), messages


@pytest.mark.slow
def test_a_pickle_payload_in_a_q2_checkpoint_is_refused_and_runs_nothing(tmp_path):
    work = copy_workflow(tmp_path / "w")
    config = tiny_config()
    config["q2"].update(lrs=[0.1], poolings=["max"], seeds=[42], epochs=1)
    write_config(work / "c.yaml", config)
    run = "results/q2/runs/max_lr0.1_seed42"
    marker = tmp_path / "code-ran"
    plant(work / run / "resume.pt", marker)
    snakemake(work, f"{run}/result.json", "--cores", "1", "--configfile", "c.yaml")
    assert not marker.exists()
    log = (work / "results/logs/q2/train_max_lr0.1_seed42.log").read_text()
    assert "refusing checkpoint" in log and "could run code when loaded" in log, log
    assert (work / run / "result.json").exists()


@pytest.mark.slow
def test_a_diverging_q2_run_is_recorded_and_shown_not_a_crash(tmp_path):
    import pandas as pd

    from hw2repro.q2 import summary as q2_summary
    from hw2repro.report import q2 as report_q2

    work = copy_workflow(tmp_path / "w")
    config = tiny_config()
    config["q2"].update(lrs=[10], poolings=["max"], seeds=[42], epochs=2)
    write_config(work / "c.yaml", config)
    q2 = work / "results/q2"
    # the per-lr figures and the overlay (which crashed on NaN axis limits) and the run table
    targets = ["figures/lr_overlay_max.png", "figures/CNN-training-loss-10-0.7-0-sgd-False.png", "summary.csv"]
    snakemake(work, *(f"results/q2/{f}" for f in targets), "--cores", "1", "--configfile", "c.yaml")
    assert '"diverged_at_epoch": 1' in (q2 / "runs/max_lr10_seed42/result.json").read_text()
    log = (work / "results/logs/q2/train_max_lr10_seed42.log").read_text()
    assert "diverged at epoch 1: the training loss is not finite" in log
    runs = pd.read_csv(q2 / "summary.csv")
    assert runs["diverged_at_epoch"].tolist() == [1]
    text = report_q2.diverged_runs_text(q2_summary.diverged_runs(runs))["text"]
    assert text.startswith("Diverged (training loss NaN or infinite): lr 10 ") and "from epoch 1" in text, text
    # every per-run file is a target of `all`: a deleted model.pt is rebuilt, not left missing
    (q2 / "runs/max_lr10_seed42/model.pt").unlink()
    plan = snakemake(work, "-n", "--configfile", "c.yaml").stdout
    assert "Missing output files: results/q2/runs/max_lr10_seed42/model.pt" in plan, plan
