"""make gpu-check's CPU half: the device check, the CPU/GPU comparison, the throughput loop and the
record, run here on the CPU (the CUDA part runs where a GPU is lent), so the script cannot rot."""

from __future__ import annotations

import copy
import json

import pytest
import torch

from bench import gpu_check as G
from conftest import copy_workflow


@pytest.fixture(scope="module")
def cpu_results(tiny_run):
    return G.run_results(tiny_run / "results")


def as_if_on_cuda(results: dict) -> dict:
    out = copy.deepcopy(results)
    for r in out.values():
        if "device" in r:
            r["device"] = "cuda:Fake GPU"
        if "env" in r:
            r["env"]["device"] = "cuda:Fake GPU"
    return out


def test_every_training_run_is_found_and_names_its_device(cpu_results):
    assert sum(k.startswith("q2/") for k in cpu_results) == 4 and sum(k.startswith("q3/") for k in cpu_results) == 2
    assert G.device_problems(cpu_results, "cpu") == []
    assert len(G.device_problems(cpu_results, "cuda")) == len(cpu_results)  # a CPU run is not a GPU run
    assert G.device_problems({}, "cuda")  # nothing found is a problem, not a pass


def test_comparison_passes_the_same_numbers_and_fails_beyond_the_tolerance(cpu_results):
    gpu = as_if_on_cuda(cpu_results)
    rows = G.compare(cpu_results, gpu)
    assert rows and all(r["ok"] for r in rows)
    assert {r["key"] for r in rows} == {k for t in G.TOLERANCES.values() for k in t}
    run = next(k for k in gpu if k.startswith("q2/"))
    gpu[run]["test_acc"] += 1.5 * G.TOLERANCES["q2"]["test_acc"][1]
    bad = [r for r in G.compare(cpu_results, gpu) if not r["ok"]]
    assert [(r["run"], r["key"]) for r in bad] == [(run, "test_acc")]
    del gpu[run]["final_train_loss"]  # a missing number fails too
    assert any(r["key"] == "final_train_loss" and not r["ok"] for r in G.compare(cpu_results, gpu))


def test_record_is_json_and_its_verdict_follows_the_checks(cpu_results):
    rates = G.throughput(torch.device("cpu"), 0.01, {"q3_n_frames": 40, "q3_batch": 2, "q3_eval_batch": 2})
    assert rates["q2"]["samples_per_s"] > 0 and rates["q3_lstm"]["decode"]["samples_per_s"] > 0
    rec = json.loads(json.dumps(G.record(cpu_results, as_if_on_cuda(cpu_results), rates, 0.0), default=str))
    assert rec["ok"] and rec["problems"] == [] and rec["throughput"]["n_frames"] == 40
    assert not G.record(cpu_results, cpu_results, rates, 0.0)["ok"]  # the "GPU" runs said cpu


def test_the_training_command_plans_only_the_training_jobs(tmp_path):
    work = copy_workflow(tmp_path / "wf")
    G.run_training(work, "cpu", 1, dry_run=True)  # raises with Snakemake's message on failure
    assert G.check_config("cpu")["q3"]["allow_cuda"] is False and G.check_config("cuda")["q2"]["allow_cuda"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: make gpu-check runs for real")
def test_without_cuda_it_says_so_in_one_line_and_exits_0(capsys, tmp_path):
    assert G.main(["--out", str(tmp_path / "x.json")]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "no CUDA" in out and not (tmp_path / "x.json").exists()
