"""Resume after SIGKILL, proven on a real Snakemake run.

(Bitwise determinism of the data, the speech corpus, the features and training is proven in
test_compare.py, whose second run of the same config rebuilds them and compares them byte for byte
with the session's tiny run.)
"""

import hashlib
import os
import shutil
import signal
import subprocess
import time

import pytest
import torch

from conftest import SNAKEMAKE, copy_workflow, snakemake, tiny_config, write_config

pytestmark = pytest.mark.slow
RUN = "results/q2/runs/max_lr0.1_seed42"


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def state_digest(path) -> str:
    h = hashlib.sha256()
    for name, tensor in torch.load(path, weights_only=True).items():
        h.update(name.encode())
        h.update(tensor.numpy().tobytes())
    return h.hexdigest()


def wait_for(path, proc, timeout=300):
    """Until ``path`` exists (the event waited for, not a guess of how long it takes); fails when the
    process ends first."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, f"the job ended ({proc.returncode}) before {path.name} appeared"
        assert time.monotonic() < deadline, f"no {path.name} after {timeout} s"
        time.sleep(0.01)


def test_job_killed_mid_run_resumes_to_identical_result(tmp_path):
    config = tiny_config()
    config["q2"].update(lrs=[0.1], poolings=["max"], epochs=3)
    work = copy_workflow(tmp_path / "work")
    write_config(work / "c.yaml", config)
    job = [f"{RUN}/result.json", "--cores", "1"]  # the target goes first: --configfile takes every word after it

    snakemake(work, *job, "--configfile", "c.yaml")  # the uninterrupted reference
    reference = {"metrics": digest(work / RUN / "metrics.csv"), "model": state_digest(work / RUN / "model.pt")}
    shutil.rmtree(work / RUN)  # the same job again (the data stay): killed after its first epoch

    proc = subprocess.Popen(
        [*SNAKEMAKE, *job, "--configfile", "c.yaml"],
        cwd=work,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    checkpoint = work / RUN / "resume.pt"
    try:
        wait_for(checkpoint, proc)
        # Freeze Snakemake and the job at once, then check the frozen state is mid-run: the job
        # removes its checkpoint only after writing every output, so a checkpoint without result.json
        # means two epochs were still to go. Then the kill, as a node failure would deliver it.
        os.killpg(proc.pid, signal.SIGSTOP)
        assert checkpoint.exists() and not (work / RUN / "result.json").exists(), "the job was not frozen mid-run"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert not (work / RUN / "result.json").exists()  # nothing that looks finished

    snakemake(work, "--unlock", "--configfile", "c.yaml")
    snakemake(work, *job, "--rerun-incomplete", "--configfile", "c.yaml")
    log = (work / "results/logs/q2/train_max_lr0.1_seed42.log").read_text()
    assert "resuming from" in log
    assert digest(work / RUN / "metrics.csv") == reference["metrics"]
    assert state_digest(work / RUN / "model.pt") == reference["model"]
    assert not checkpoint.exists()
