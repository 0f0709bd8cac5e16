"""``make gpu-check``: the first thing to run on a machine with a CUDA GPU (about 5 minutes, at most 8).

1. The tiny config's Q2 and Q3 training jobs (``snakemake --until q2_train q3_train``) twice in one
   copy of the workflow: once with ``allow_cuda: false`` (CPU) and once on the GPU.
2. Every GPU run's ``result.json`` / ``test.json`` must name a ``cuda:`` device, every CPU run a
   ``cpu:`` one.
3. The numbers of each GPU run against its CPU twin, within ``TOLERANCES``: not bit-identical
   (other kernels sum in another order), but the same training.
4. Q2 and Q3 training throughput (and Q3 greedy decoding) at the paper's sizes (batch 8 on 28x28
   images; batch 64 / 16 at 2,754 frames), each for a bounded time.
5. One JSON record, ``bench/results/gpu-check.json``; the exit status is 0 only when 2 and 3 hold.

Without CUDA it says so in one line and exits 0. Everything but the CUDA part (the comparison, the
device check, the throughput loop, the record) runs on the CPU in tests/test_gpu_check.py.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from pathlib import Path

import torch
import yaml

from hw2repro.workspace import REPO, copy_workflow, snakemake_cmd, tiny_config

from .common import machine_info, paper_sizes

# |gpu - cpu| allowed per reported number: relative for losses, absolute for accuracies and the
# [0, 1] similarities (the tiny test splits are 200 images and 12 clips: one flip is 0.005/0.08).
TOLERANCES = {
    "q2": {"final_train_loss": ("rel", 0.02), "final_val_acc": ("abs", 0.03), "test_acc": ("abs", 0.03)},
    "q3": {
        "test_loss": ("rel", 0.02),
        "test_jaccard": ("abs", 0.1),
        "test_cosine": ("abs", 0.1),
        "test_damerau_levenshtein": ("abs", 0.1),
    },
}
BUDGET_S = 480  # the whole check
RUN_TIMEOUT_S = 180  # each tiny training run
THROUGHPUT_S = 15.0  # each throughput measurement


def check_config(device: str) -> dict:
    """The tiny config, its own output root per device; the CPU twin may not use a GPU."""
    cfg = tiny_config()
    cfg["results"] = f"results-gpu-check-{device}"
    for q in ("q2", "q3"):
        cfg.setdefault(q, {})["allow_cuda"] = device == "cuda"
    return cfg


def run_training(work: Path, device: str, cores: int, timeout: float = RUN_TIMEOUT_S, dry_run: bool = False) -> Path:
    """The tiny config's Q2 and Q3 training jobs (and the data they need) on ``device``."""
    cfg_file = work / f"gpu-check-{device}.yaml"
    cfg_file.write_text(yaml.safe_dump(check_config(device)))
    cmd = snakemake_cmd("--cores", str(cores), "--configfile", cfg_file.name, "--until", "q2_train", "q3_train")
    cmd += ["-n"] if dry_run else []
    proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"the {device} training run failed:\n{proc.stderr[-3000:]}")
    return work / check_config(device)["results"]


def run_results(root: Path) -> dict[str, dict]:
    """run name -> its result record: q2/runs/*/result.json and q3/runs/*/test.json."""
    out = {}
    for q, name in (("q2", "result.json"), ("q3", "test.json")):
        for f in sorted((root / q / "runs").glob(f"*/{name}")):
            out[f"{q}/{f.parent.name}"] = json.loads(f.read_text())
    return out


def device_of(record: dict) -> str:
    return record.get("device") or record.get("env", {}).get("device") or "unknown"


def device_problems(results: dict[str, dict], expected: str) -> list[str]:
    """Runs whose record does not name ``expected`` ("cpu" or "cuda") as the device they trained on."""
    if not results:
        return [f"no training results found (expected {expected} runs)"]
    return [
        f"{run}: trained on {device_of(r)!r}, not {expected}"
        for run, r in results.items()
        if not device_of(r).startswith(f"{expected}:")
    ]


def compare(cpu: dict[str, dict], gpu: dict[str, dict], tolerances=TOLERANCES) -> list[dict]:
    """One row per run and number: both values, the difference, the tolerance and whether it holds."""
    rows = []
    for run in sorted(set(cpu) | set(gpu)):
        q = run.split("/", 1)[0]
        for key, (kind, tol) in tolerances[q].items():
            a, b = cpu.get(run, {}).get(key), gpu.get(run, {}).get(key)
            if a is None or b is None or not all(map(math.isfinite, (a, b))):
                rows.append({"run": run, "key": key, "cpu": a, "gpu": b, "ok": False, "why": "missing or not finite"})
                continue
            diff = abs(b - a) / max(abs(a), 1e-12) if kind == "rel" else abs(b - a)
            rows.append({"run": run, "key": key, "cpu": a, "gpu": b, kind: diff, "tolerance": tol, "ok": diff <= tol})
    return rows


def _sync(device: torch.device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed_rate(step, samples_per_call: int, seconds: float, device: torch.device) -> dict:
    """Calls ``step`` (after one warm-up call) until ``seconds`` have passed: samples per second."""
    step()
    _sync(device)
    calls, t0 = 0, time.perf_counter()
    while calls == 0 or time.perf_counter() - t0 < seconds:
        step()
        _sync(device)
        calls += 1
    elapsed = time.perf_counter() - t0
    return {"calls": calls, "seconds": elapsed, "samples_per_s": calls * samples_per_call / elapsed}


def q2_throughput(device: torch.device, seconds: float, batch: int = 8) -> dict:
    """The Q2 CNN's SGD training steps on 28x28 images at the paper's batch."""
    from hw2repro.q2 import model as cnn

    torch.manual_seed(0)
    model = cnn.build("max", 0.7).to(device).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x = torch.randn(batch, 1, 28, 28, device=device)
    y = torch.randint(0, 4, (batch,), device=device)

    def step():
        opt.zero_grad()
        torch.nn.functional.nll_loss(model(x), y).backward()
        opt.step()

    return {"batch": batch, **timed_rate(step, batch, seconds, device)}


def q3_throughput(device, seconds: float, decoder: str, n_frames: int, batch: int, eval_batch: int) -> dict:
    """Q3 AdamW training steps at ``batch`` and greedy decoding (KV cache) at ``eval_batch``."""
    from hw2repro.q3.models import ModelConfig, build_model, greedy_decode
    from hw2repro.q3.train import teacher_forced_loss

    torch.manual_seed(0)
    model = build_model(ModelConfig(decoder=decoder, n_frames=n_frames)).to(device)
    text = torch.randint(3, 35, (batch, model.cfg.text_len))
    text[:, 0], text[:, -1] = 0, 1
    audio, text = torch.randn(batch, model.cfg.n_mels, n_frames).to(device), text.to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def train_step():
        opt.zero_grad()
        teacher_forced_loss(model, audio, text, 0.1).backward()
        opt.step()

    eval_audio = audio[:eval_batch]

    @torch.no_grad()
    def decode():
        greedy_decode(model, eval_audio)

    model.train()
    train = timed_rate(train_step, batch, seconds, device)
    model.eval()
    return {
        "batch": batch,
        "eval_batch": eval_batch,
        "train": train,
        "decode": timed_rate(decode, eval_batch, seconds, device),
    }


def throughput(device: torch.device, seconds: float, sizes: dict) -> dict:
    """Q2 and both Q3 decoders at ``sizes`` (paper_sizes()'s keys), each part for ``seconds``."""
    out = {"q2": q2_throughput(device, seconds)}
    for decoder in ("lstm", "transformer"):
        out[f"q3_{decoder}"] = q3_throughput(
            device, seconds, decoder, sizes["q3_n_frames"], sizes["q3_batch"], sizes["q3_eval_batch"]
        )
    out["n_frames"] = sizes["q3_n_frames"]
    return out


def record(cpu: dict, gpu: dict, rates: dict, started: float) -> dict:
    """The JSON record: devices, comparison, throughput, and the verdict."""
    problems = device_problems(cpu, "cpu") + device_problems(gpu, "cuda")
    rows = compare(cpu, gpu)
    problems += [f"{r['run']} {r['key']}: cpu {r['cpu']} vs gpu {r['gpu']}" for r in rows if not r["ok"]]
    return {
        "section": "gpu-check",
        "machine": machine_info(),
        "devices": {"cpu": {k: device_of(v) for k, v in cpu.items()}, "gpu": {k: device_of(v) for k, v in gpu.items()}},
        "tolerances": {q: {k: list(v) for k, v in t.items()} for q, t in TOLERANCES.items()},
        "comparison": rows,
        "throughput": rates,
        "problems": problems,
        "ok": not problems,
        "seconds": time.perf_counter() - started,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "gpu-check.json")
    parser.add_argument("--work", type=Path, default=None, help="workflow copy to run in (default: a temporary one)")
    parser.add_argument("--cores", type=int, default=4)
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        print(f"gpu-check: no CUDA device visible to torch {torch.__version__}: nothing to check (exit 0)")
        return 0
    import tempfile

    started = time.perf_counter()
    work = args.work or Path(tempfile.mkdtemp(prefix="hw2_gpu_check_"))
    copy_workflow(work)
    print(f"gpu-check on {torch.cuda.get_device_name(0)}, in {work}", flush=True)
    cpu = run_results(run_training(work, "cpu", args.cores))
    gpu = run_results(run_training(work, "cuda", args.cores))
    print(f"  tiny runs done ({time.perf_counter() - started:.0f} s); throughput at the paper's sizes", flush=True)
    left = BUDGET_S - (time.perf_counter() - started) - 30
    rates = throughput(torch.device("cuda"), max(2.0, min(THROUGHPUT_S, left / 5 / 2)), paper_sizes())
    rec = record(cpu, gpu, rates, started)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rec, indent=2, default=str) + "\n")
    for p in rec["problems"]:
        print(f"  PROBLEM {p}")
    print(f"gpu-check {'passed' if rec['ok'] else 'FAILED'} in {rec['seconds']:.0f} s -> {args.out}")
    return 0 if rec["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
