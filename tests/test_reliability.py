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

from conftest import SNAKEMAKE, snakemake

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


def test_job_killed_mid_run_resumes_to_identical_result(tiny_run, tiny_run_copy):
    """One Q2 job of the session's tiny run made again in a copy, killed after its first epoch and
    resumed: the same metrics and weights as the tiny run's own, uninterrupted job."""
    work = tiny_run_copy
    reference = {"metrics": digest(tiny_run / RUN / "metrics.csv"), "model": state_digest(tiny_run / RUN / "model.pt")}
    shutil.rmtree(work / RUN)  # the same job again (the data stay): killed after its first epoch
    job = [f"{RUN}/result.json", "--cores", "1"]  # the target goes first: --configfile takes every word after it

    proc = subprocess.Popen(
        [*SNAKEMAKE, *job, "--configfile", "tiny.yaml"],
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
        # means its second (last) epoch was still to go. Then the kill, as a node failure would deliver it.
        os.killpg(proc.pid, signal.SIGSTOP)
        assert checkpoint.exists() and not (work / RUN / "result.json").exists(), "the job was not frozen mid-run"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert not (work / RUN / "result.json").exists()  # nothing that looks finished

    snakemake(work, "--unlock", "--configfile", "tiny.yaml")
    snakemake(work, *job, "--rerun-incomplete", "--configfile", "tiny.yaml")
    log = (work / "results/logs/q2/train_max_lr0.1_seed42.log").read_text()
    assert "resuming from" in log
    assert digest(work / RUN / "metrics.csv") == reference["metrics"]
    assert state_digest(work / RUN / "model.pt") == reference["model"]
    assert not checkpoint.exists()
