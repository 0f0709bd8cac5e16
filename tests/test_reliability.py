"""Reliability promises, proven on real Snakemake runs: bitwise determinism, resume after SIGKILL."""

import hashlib
import os
import signal
import subprocess
import time

import pytest
import torch

from conftest import SNAKEMAKE, copy_workflow, snakemake, tiny_config, write_config

pytestmark = pytest.mark.slow
RUN = "results/q2/runs/max_lr0.1_seed42"


def one_job_config(epochs=2, n_train=240):
    config = tiny_config()
    config["data"]["octmnist"]["synthetic"]["n_train"] = n_train
    config["q2"].update(lrs=[0.1], poolings=["max"], epochs=epochs)
    return config


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def state_digest(path) -> str:
    h = hashlib.sha256()
    for name, tensor in torch.load(path, weights_only=True).items():
        h.update(name.encode())
        h.update(tensor.numpy().tobytes())
    return h.hexdigest()


def run_job(work, config, *extra):
    write_config(work / "c.yaml", config)
    # the target goes first: --configfile takes every word after it
    return snakemake(work, f"{RUN}/result.json", "--cores", "1", *extra, "--configfile", "c.yaml")


def test_same_config_gives_bit_identical_q2_results(tmp_path):
    a, b = copy_workflow(tmp_path / "a"), copy_workflow(tmp_path / "b")
    for work in (a, b):
        run_job(work, one_job_config())
    assert digest(a / RUN / "metrics.csv") == digest(b / RUN / "metrics.csv")
    assert state_digest(a / RUN / "model.pt") == state_digest(b / RUN / "model.pt")
    assert digest(a / "results/data/octmnist.npz") == digest(b / "results/data/octmnist.npz")


def test_job_killed_mid_run_resumes_to_identical_result(tmp_path):
    config = one_job_config(epochs=4, n_train=3000)
    reference = copy_workflow(tmp_path / "ref")
    run_job(reference, config)

    work = copy_workflow(tmp_path / "killed")
    write_config(work / "c.yaml", config)
    proc = subprocess.Popen(
        [*SNAKEMAKE, f"{RUN}/result.json", "--cores", "1", "--configfile", "c.yaml"],
        cwd=work,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    checkpoint = work / RUN / "resume.pt"
    deadline = time.time() + 300
    while not checkpoint.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert checkpoint.exists(), "no checkpoint appeared before the job ended"
    os.killpg(proc.pid, signal.SIGKILL)  # the whole job, Snakemake included, as a node failure would
    proc.wait()
    assert not (work / RUN / "result.json").exists()  # nothing that looks finished

    snakemake(work, "--unlock", "--configfile", "c.yaml")
    run_job(work, config, "--rerun-incomplete")
    log = (work / "results/logs/q2/train_max_lr0.1_seed42.log").read_text()
    assert "resuming from" in log
    assert digest(work / RUN / "metrics.csv") == digest(reference / RUN / "metrics.csv")
    assert state_digest(work / RUN / "model.pt") == state_digest(reference / RUN / "model.pt")
    assert not checkpoint.exists()


def test_same_config_gives_bit_identical_q3_results(tmp_path):
    """Corpus synthesis, features and a Q3 training job, twice from scratch: the same bytes."""
    config = tiny_config()
    config["q3"]["decoders"] = ["lstm"]
    target = "results/q3/runs/lstm_seed42/test.json"
    runs = []
    for name in ("a", "b"):
        work = copy_workflow(tmp_path / name)
        write_config(work / "c.yaml", config)
        snakemake(work, target, "--cores", "2", "--configfile", "c.yaml")
        runs.append(work / "results")
    a, b = runs
    assert digest(a / "data/ljspeech_synthetic/metadata.csv") == digest(b / "data/ljspeech_synthetic/metadata.csv")
    for split in ("train", "test"):
        for name in (f"{split}.pt", f"{split}.features.npy"):
            assert digest(a / "q3/features" / name) == digest(b / "q3/features" / name)
    run = "q3/runs/lstm_seed42"
    assert digest(a / run / "metrics.csv") == digest(b / run / "metrics.csv")
    assert digest(a / run / "predictions.txt") == digest(b / run / "predictions.txt")
    assert state_digest(a / run / "model.pt") == state_digest(b / run / "model.pt")
