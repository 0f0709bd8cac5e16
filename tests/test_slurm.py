"""The pipeline on a real SLURM cluster, through the profiles in profiles/.

A one-node SLURM (slurmctld + slurmd + munged from the Debian packages) is started on this
machine by tests/slurm/localslurm.py, the tiny pipeline is submitted to it with
``--profile profiles/slurm-cpu`` by the real executor plugin, and every Q2 output is checked.
A job that fails on the cluster must fail the run and name its log files; the GPU profile
must give training jobs a GPU (the test node advertises one fake GPU, so the job is
scheduled with --gpus=1 and then falls back to CPU, as on a GPU node without CUDA torch).

The cluster tests need root and apt-get (Debian/Ubuntu) and run only when asked:
    HW2REPRO_SLURM_TEST=1 python -m pytest -m slurm tests/test_slurm.py    (make test-slurm)
The tests at the end need no cluster and run in every ``make test``; what the profiles make a dry
run plan (a GPU for training only, more memory and time on a retry) is in tests/test_resources.py.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from conftest import REPO, SNAKEMAKE, copy_workflow, tiny_config, write_config

sys.path.insert(0, str(Path(__file__).parent / "slurm"))
from localslurm import LocalSlurm

ENABLE_VAR = "HW2REPRO_SLURM_TEST"
# What a run against this throw-away cluster adds to the profile: it has no accounting
# database, so job states come from squeue (MinJobAge=300 keeps finished jobs listed), and
# the first status check comes after 2 s instead of 40 s.
LOCAL_TEST_FLAGS = ["--slurm-status-command", "squeue", "--slurm-init-seconds-before-status-checks", "2"]
RUN_TIMEOUT = 420  # hard limit per Snakemake run (s)
LRS, POOLINGS, SEED = ("0.1", "0.01"), ("max", "none"), 42
SUBMITTED = re.compile(r"Job \d+ has been submitted with SLURM jobid (\d+) \(log: (\S+)\)\.")
TIMINGS: dict[str, float] = {}


slurm = pytest.mark.slurm


# ---- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster():
    if os.environ.get(ENABLE_VAR) != "1":
        pytest.skip(f"real-SLURM tests run only with {ENABLE_VAR}=1 (make test-slurm; needs root + apt-get)")
    if os.geteuid() != 0:
        pytest.fail(f"{ENABLE_VAR}=1 but not root: the local SLURM cluster needs root (apt-get, daemons)")
    # A hard timeout (timeout(1) in make test-slurm) sends SIGTERM: make it an interruption,
    # so that pytest still runs this fixture's teardown and stops the cluster.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    tic = time.monotonic()
    local = LocalSlurm()
    try:
        local.start()
        TIMINGS["install_s"] = local.install_seconds
        TIMINGS["start_s"] = local.startup_seconds
        TIMINGS["cluster_ready_s"] = time.monotonic() - tic
        yield local
    finally:
        local.stop()
        signal.signal(signal.SIGTERM, previous)
        print("\nSLURM test timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in TIMINGS.items()))


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def workflow_copy(dest: Path, config: dict, name: str = "tiny.yaml") -> Path:
    work = copy_workflow(dest)
    shutil.copytree(REPO / "profiles", work / "profiles", dirs_exist_ok=True)  # the cluster profiles beside default/
    write_config(work / name, config)
    return work


def run_snakemake(cluster, work: Path, *args: str, expect_ok: bool = True) -> subprocess.CompletedProcess:
    """Real Snakemake on ``work``; on an unexpected outcome the message carries every log there is."""
    tic = time.monotonic()
    try:
        proc = subprocess.run([*SNAKEMAKE, *args], cwd=work, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(
            f"snakemake {' '.join(args)} ran over {RUN_TIMEOUT}s:\n{exc.stdout}\n{exc.stderr}\n"
            + diagnostics(cluster, work)
        ) from None
    proc.seconds = time.monotonic() - tic
    if (proc.returncode == 0) != expect_ok:
        raise AssertionError(
            f"snakemake {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}\n"
            + diagnostics(cluster, work)
        )
    return proc


def diagnostics(cluster, work: Path) -> str:
    parts = []
    for log in sorted((work / ".snakemake" / "slurm_logs").rglob("*.log")):
        parts.append(f"--- {log}\n{log.read_text(errors='replace')[-3000:]}")
    if cluster is not None:
        parts.append(cluster.run("squeue", "--states=all", "-o", "%i|%j|%T|%P|%R").stdout)
        parts.append(cluster.daemon_logs())
    return "\n".join(parts)


def submitted_jobs(output: str) -> dict[str, Path]:
    """SLURM job id -> the job's SLURM log, as the executor reported each submission."""
    return {jobid: Path(log) for jobid, log in SUBMITTED.findall(output)}


def squeue_states(cluster, output: str) -> dict[str, tuple[str, str]]:
    """SLURM job id -> (state, partition) for every job of this run (its name is the run ID)."""
    run_id = re.search(r"SLURM run ID: (\S+)", output).group(1)
    out = cluster.run("squeue", "--states=all", "--noheader", "--name", run_id, "--format=%i|%T|%P").stdout
    return {i: (state, part) for i, state, part in (line.split("|") for line in out.split())}


@pytest.fixture(scope="module")
def cpu_run(cluster, tmp_path_factory):
    """The whole tiny pipeline, submitted job by job to the local cluster through profiles/slurm-cpu."""
    work = workflow_copy(tmp_path_factory.mktemp("slurm_cpu"), tiny_config())
    proc = run_snakemake(
        cluster, work, "--profile", "profiles/slurm-cpu", "--configfile", "tiny.yaml", *LOCAL_TEST_FLAGS
    )
    TIMINGS["cpu_profile_run_s"] = proc.seconds
    return SimpleNamespace(work=work, proc=proc, output=proc.stdout + proc.stderr)


# ---- on the cluster --------------------------------------------------------------------------


@slurm
def test_cpu_profile_runs_the_tiny_pipeline_as_slurm_jobs(cluster, cpu_run):
    output = cpu_run.output
    jobs = submitted_jobs(output)
    by_rule = {}
    for jobid, log in jobs.items():
        by_rule.setdefault(log.relative_to(cpu_run.work / ".snakemake" / "slurm_logs").parts[0], []).append(jobid)
    # Data preparation and every training run were cluster jobs (light rules may be local rules).
    assert len(by_rule.get("rule_octmnist_data", [])) == 1, output
    assert len(by_rule.get("rule_q2_train", [])) == len(LRS) * len(POOLINGS), output
    # ... and SLURM itself ran them all to completion, on the default partition.
    states = squeue_states(cluster, output)
    assert set(states) == set(jobs), (states, jobs)
    assert {state for state, _ in states.values()} == {"COMPLETED"}, states
    assert {part for _, part in states.values()} == {"debug"}, states
    # Successful jobs' SLURM logs are removed by the plugin (kept only for failures).
    assert not [log for log in jobs.values() if log.exists()]


@slurm
def test_cpu_profile_produces_every_q2_output(cpu_run):
    import pandas as pd

    q2 = cpu_run.work / "results" / "q2"
    for lr in LRS:
        for pooling in POOLINGS:
            run = q2 / "runs" / f"{pooling}_lr{lr}_seed{SEED}"
            for name in ("metrics.csv", "result.json", "model.pt"):
                assert (run / name).stat().st_size > 0, run / name
            result = json.loads((run / "result.json").read_text())
            assert result["n_params"] == 224_892 and 0 <= result["test_acc"] <= 1
            # No GPU on this profile: the job says it trained on the CPU.
            assert result["env"]["device"].startswith("cpu:"), result["env"]
            log = (cpu_run.work / "results" / "logs" / "q2" / f"train_{pooling}_lr{lr}_seed{SEED}.log").read_text()
            assert " on cpu:" in log, log
            assert not (run / "resume.pt").exists()
            for no_maxpool in ("True", "False"):
                for kind in ("training-loss", "validation-accuracy"):
                    for ext in ("pdf", "png"):
                        fig = q2 / "figures" / f"CNN-{kind}-{lr}-0.7-0-sgd-{no_maxpool}.{ext}"
                        assert fig.stat().st_size > 1000, fig
    runs = pd.read_csv(q2 / "summary.csv")
    assert len(runs) == len(LRS) * len(POOLINGS) and (runs["n_params"] == 224_892).all()
    assert len(pd.read_csv(q2 / "summary_by_config.csv")) == len(LRS) * len(POOLINGS)
    assert len(pd.read_csv(q2 / "epochs.csv")) == len(LRS) * len(POOLINGS) * tiny_config()["q2"]["epochs"]
    assert set(pd.read_csv(q2 / "best_lr.csv")["pooling"]) == set(POOLINGS)
    for ext in ("pdf", "png"):
        assert (q2 / "figures" / f"test_accuracy_overview.{ext}").stat().st_size > 1000
    meta = json.loads((cpu_run.work / "results" / "data" / "octmnist.json").read_text())
    assert meta["synthetic"]


@slurm
def test_nothing_left_to_do_after_the_cluster_run(cpu_run):
    """Jobs run on the cluster record the same provenance as local ones: a second look finds nothing."""
    proc = subprocess.run(
        [*SNAKEMAKE, "-n", "--profile", "profiles/slurm-cpu", "--configfile", "tiny.yaml"],
        cwd=cpu_run.work,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Nothing to be done" in proc.stdout + proc.stderr, proc.stdout + proc.stderr


@slurm
def test_a_job_failing_on_the_cluster_fails_the_run_and_names_its_logs(cluster, tmp_path):
    config = tiny_config()
    config["data"]["octmnist"] = {"source": "file", "path": "corrupt.npz"}
    work = workflow_copy(tmp_path, config, "corrupt.yaml")
    (work / "corrupt.npz").write_bytes(b"PK\x03\x04 not a zip archive, not an npz file " * 20)
    proc = run_snakemake(
        cluster,
        work,
        "--profile",
        "profiles/slurm-cpu",
        "--configfile",
        "corrupt.yaml",
        *LOCAL_TEST_FLAGS,
        "results/data/octmnist.npz",
        expect_ok=False,
    )
    TIMINGS["failing_run_s"] = proc.seconds
    output = proc.stdout + proc.stderr
    jobs = submitted_jobs(output)
    assert len(jobs) == 1, output
    ((jobid, slurm_log),) = jobs.items()
    assert squeue_states(cluster, output)[jobid][0] == "FAILED"
    assert "Error in rule octmnist_data" in output
    assert f"SLURM-job '{jobid}' failed" in output
    # The message names both logs: the rule's own and the SLURM job's (kept because it failed).
    rule_log = "results/logs/data/octmnist.log"
    error_block = output.split("Error in rule octmnist_data:", 1)[1]
    log_line = next(line for line in error_block.splitlines() if line.strip().startswith("log:"))
    assert rule_log in log_line and str(slurm_log) in log_line, log_line
    assert "not a readable .npz file" in (work / rule_log).read_text()
    assert "Error in rule octmnist_data" in slurm_log.read_text()
    assert not (work / "results" / "data" / "octmnist.npz").exists()


@slurm
def test_gpu_profile_gives_training_jobs_a_gpu_and_they_fall_back_to_cpu(cluster, cpu_run):
    """profiles/slurm on the same cluster: one more training run (lr 0.05; the data are there)."""
    work = cpu_run.work
    target = f"results/q2/runs/max_lr0.05_seed{SEED}/result.json"
    proc = run_snakemake(
        cluster,
        work,
        "--profile",
        "profiles/slurm",
        "--configfile",
        "tiny.yaml",
        *LOCAL_TEST_FLAGS,
        "--verbose",
        target,
    )
    TIMINGS["gpu_profile_run_s"] = proc.seconds
    output = proc.stdout + proc.stderr
    calls = {m.group(1): m.group(0) for m in re.finditer(r"sbatch call: .*--comment (rule_\S+).*", output)}
    assert list(calls) == [f"rule_q2_train_wildcards_max_0.05_{SEED}"], output
    train = next(iter(calls.values())).split("--wrap")[0]
    # What the plugin asked SLURM for: one GPU, CPUs per GPU, the GPU partition, its wall time.
    assert " --gpus=1" in train and " --cpus-per-gpu=2" in train and " -p gpu " in train, train
    # The wall time is the job's own runtime resource (hw2repro.resources derives it from the
    # config; the profile leaves it alone), as Snakemake planned it for this job.
    planned = re.search(r"\nrule q2_train:.*?\n\s+resources: (.*)", output, re.S)
    assert planned, output
    runtime = re.search(r"(?:^|, )runtime=(\d+)(?:,|$)", planned.group(1))
    assert runtime, planned.group(1)
    runtime = runtime.group(1)
    assert "--cpus-per-task" not in train and f" -t {runtime} " in train, (runtime, train)
    # What SLURM granted: the job ran to completion on the GPU partition with one GPU allocated.
    (train_id,) = submitted_jobs(output)
    show = cluster.run("scontrol", "show", "job", train_id).stdout
    assert "JobState=COMPLETED" in show and "Partition=gpu" in show, show
    assert re.search(r"gres[/:]gpu[:=]1", show), show
    # The job found no CUDA device behind the (fake) GPU: it fell back to CPU and says so.
    result = json.loads((work / target).read_text())
    assert result["env"]["device"].startswith("cpu:") and not result["env"]["cuda_available"]
    log = (work / "results" / "logs" / "q2" / f"train_max_lr0.05_seed{SEED}.log").read_text()
    assert " on cpu:" in log, log


# ---- without a cluster: the profiles and the plugin (what a dry run plans: tests/test_resources.py)


def test_profiles_are_complete_and_consistent():
    for name in ("slurm", "slurm-cpu"):
        text = (REPO / "profiles" / name / "profile.yaml").read_text()
        profile = yaml.safe_load(text)
        assert profile["executor"] == "slurm" and profile["jobs"] > 0
        assert {"slurm_partition", "slurm_account", "runtime", "mem_mb", "cpus_per_task"} <= set(
            profile["default-resources"]
        )
        assert "localrules" not in profile  # not a command-line option: Snakemake would refuse the profile
        # every setting is explained: each top-level key and default resource follows a comment line
        lines = text.splitlines()
        for i, line in enumerate(lines):
            key = re.match(r"^(\s{0,2})([\w-]+):", line)
            if key and i > 0 and key.group(2) not in ("default-resources", "set-resources"):
                assert lines[i - 1].strip().startswith("#") or "#" in line, f"{name}: no comment for {line!r}"


def test_plugin_renders_the_gpu_request_as_sbatch_flags():
    """The sbatch flags the installed plugin makes from the GPU profile's training resources."""
    pytest.importorskip("snakemake_executor_plugin_slurm")
    from snakemake_executor_plugin_slurm.submit_string import get_submit_command
    from snakemake_executor_plugin_slurm.utils import set_gres_string

    profile = yaml.safe_load((REPO / "profiles" / "slurm" / "profile.yaml").read_text())
    resources = {**profile["default-resources"], "mem_mb": 3000, "runtime": 120, **profile["set-resources"]["q2_train"]}

    class Res(dict):
        __getattr__ = dict.__getitem__

    job = SimpleNamespace(resources=Res(resources), threads=1, name="q2_train", is_group=lambda: False)
    params = {
        "run_uuid": "x",
        "slurm_logfile": "x.log",
        "comment_str": "rule_q2_train",
        "account": "",
        "partition": f" -p {resources['slurm_partition']}",
        "workdir": "/w",
    }
    call = get_submit_command(job, params) + set_gres_string(job)
    assert " --gpus=1" in call and " --cpus-per-gpu=2" in call and " -p gpu" in call, call
    assert "--cpus-per-task" not in call and "-t 120" in call, call  # the rule's runtime: the profile leaves it
