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
