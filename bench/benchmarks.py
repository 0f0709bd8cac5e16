"""The benchmark suite (``make bench``): every figure a ratio measured side by side in one run.

Sections (``bench/run_benchmarks.py --only ...``), each written to ``bench/results/<section>.json``
with the machine, threads, versions, git commit, time stamp and load average it ran under:

* ``q2-loop``: Q2 training throughput (samples/s, one epoch, batch 8, one thread) of the pipeline's
  loop (:func:`hw2repro.hw2repro.q2.train.train`) against the homework-style loop (a ``Dataset`` with a
  per-item ``__getitem__`` and ``DataLoader(batch_size=8, shuffle=True)``, written here), and
  against the model's arithmetic limit (training FLOPs per sample from the layer shapes over the
  machine's measured one-thread matmul rate). Both loops must end with identical weights.
* ``noop``: ``snakemake -n`` on an up-to-date workflow (no-op overhead).
* ``dag``: ``snakemake -n`` on an empty results folder for the paper grid and the default grid (DAG
  build time and job counts).
* ``q3``: feature extraction clips/s, training samples/s per decoder, greedy decoding samples/s per
  decoder the original's way (``greedy_decode(cache=False)``: the Transformer re-runs the prefix
  at every step) and with the KV cache the pipeline uses, with the tokens of both compared; on
  CUDA as well when torch sees a GPU.
* ``memory``: peak RSS of ``q3_features`` and peak anonymous memory of ``q3_train`` at the paper's
  2,754 frames for three corpus sizes, and the ratio largest / smallest (``bench/memory.py``).
* ``pipeline``: the whole default pipeline from scratch with ``--cores 1`` and with ``--cores 2``
  in two fresh copies of the workflow (parallel speed-up), then the no-op ``snakemake -n`` in the
  finished copy.

``summary.md`` is rebuilt from every ``bench/results/*.json`` present: a table of figure, value,
target and whether it is met, with the conditions of each section, and the paper-run cost
estimate derived from the measured per-sample rates.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Optional

import memory
import numpy as np
import torch
from torch import nn

from harness import REPO, copy_workflow, snakemake_cmd
from harness import tiny_config as quick_pipeline_config
from hw2repro import provenance, runtime
from hw2repro.errors import InputError
from hw2repro.q2 import model as cnn
from hw2repro.q2 import octmnist
from hw2repro.q2 import synthetic as synthetic_oct
from hw2repro.q2 import train as cnn_training
from hw2repro.q2.train import Q2Settings
from hw2repro.q3.dataset import load_split

SECTIONS = ("q2-loop", "noop", "dag", "q3", "memory", "pipeline")

# Targets of the issue (2-core machine).
TARGET_Q2_SPEEDUP = 2.0
TARGET_NOOP_S = 3.0
TARGET_PIPELINE_S = 600.0
TARGET_PARALLEL_SPEEDUP = 1.6

# The paper run (config/paper.yaml on the real data), for the cost estimate.
PAPER = {
    "q2_train": 97_477,
    "q2_runs": 3 * 2 * 5,
    "q2_epochs": 15,
    "q3_clips": 13_100,
    "q3_train": 9_825,
    "q3_val": 655,
    "q3_test": 2_620,
    "q3_epochs": 15,
    "q3_n_frames": 2754,
    "q3_batch": 64,
    "q3_eval_batch": 16,
}
LJ_MEAN_SECONDS = 6.57  # LJ Speech 1.1: 23.9 h over 13,100 clips
LJ_SAMPLE_RATE = 22_050


# ------------------------------------------------------------------------------ provenance


def _version(dist: str) -> Optional[str]:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def machine_info(threads: Optional[int] = None) -> dict:
    """What a reader needs to compare a figure with one from another run or machine."""
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = os.cpu_count()
    info = {
        "cpu": provenance.cpu_model(),
        "cpu_isa": provenance.cpu_isa(),
        "logical_cores": os.cpu_count(),
        "usable_cores": affinity,
        "torch_threads": threads if threads is not None else torch.get_num_threads(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "platform": platform.platform(),
        "hostname": platform.node(),
        "versions": {
            "python": sys.version.split()[0],
            "torch": torch.__version__,
            "numpy": np.__version__,
            "snakemake": _version("snakemake"),
        },
        "git": provenance.git_info(REPO),
        "timestamp": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "loadavg_start": list(os.getloadavg()),
    }
    if torch.cuda.is_available():
        info["cuda"] = torch.version.cuda
    return info


def figure(
    name: str, value, unit: str = "", target: Optional[str] = None, met: Optional[bool] = None, note: str = ""
) -> dict:
    """One row of the summary table."""
    return {"figure": name, "value": value, "unit": unit, "target": target, "met": met, "note": note}


# ------------------------------------------------------------------------------ Q2: FLOPs


def layer_macs(model: nn.Module, input_shape=(1, 784)) -> list[dict]:
    """Multiply-accumulates per sample of every Conv2d and Linear layer, from the shapes one forward
    pass gives (in order of execution)."""
    rows: list[dict] = []

    def hook(module, inputs, output):
        batch = output.shape[0]
        if isinstance(module, nn.Conv2d):
            per_out = (module.in_channels // module.groups) * module.kernel_size[0] * module.kernel_size[1]
            macs = output[0].numel() * per_out
            kind = "conv2d"
        else:
            macs = module.in_features * module.out_features
            kind = "linear"
        rows.append(
            {
                "layer": names[module],
                "kind": kind,
                "macs": int(macs),
                "output_shape": list(output.shape[1:]),
                "batch": int(batch),
            }
        )

    names = {m: n for n, m in model.named_modules()}
    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(input_shape))
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    return rows


def training_flops_per_sample(model: nn.Module, input_shape=(1, 784)) -> dict:
    """FLOPs (2 per multiply-add) of one training sample: the forward pass, the weight gradients
    (same MACs as the forward per layer) and the input gradients (same again, except for the first
    layer, whose input needs none). Bias adds, activations, pooling, dropout, the loss and the SGD
    update are left out (element-wise, under 1% here)."""
    rows = layer_macs(model, input_shape)
    fwd = sum(r["macs"] for r in rows)
    grad_w = fwd
    grad_in = fwd - rows[0]["macs"]
    return {"layers": rows, "forward_flops": 2 * fwd, "training_flops": 2 * (fwd + grad_w + grad_in)}


def matmul_rate(n: int = 1024, min_time: float = 1.0, threads: int = 1) -> dict:
    """Best float32 GFLOP/s of an n x n x n matmul on ``threads`` threads (best of repeats: the
    least disturbed by other work on a shared machine)."""
    prev = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        a, b = torch.randn(n, n), torch.randn(n, n)
        out = torch.empty(n, n)
        torch.mm(a, b, out=out)
        best, spent, reps = float("inf"), 0.0, 0
        while spent < min_time or reps < 3:
            t0 = time.perf_counter()
            torch.mm(a, b, out=out)
            dt = time.perf_counter() - t0
            best, spent, reps = min(best, dt), spent + dt, reps + 1
        return {"n": n, "threads": threads, "best_s": best, "repeats": reps, "gflops": 2 * n**3 / best / 1e9}
    finally:
        torch.set_num_threads(prev)


# ------------------------------------------------------------------------------ Q2: the two loops


class HomeworkDataset(torch.utils.data.Dataset):
    """hw2-q2.py's ``ClassificationDataset``: whole split as tensors, one item per ``__getitem__``."""

    def __init__(self, X: np.ndarray, y: np.ndarray):
        self.X = torch.tensor(X, dtype=torch.float32)
        self.y = torch.tensor(y, dtype=torch.long)

    def __len__(self):
        return len(self.X)

    def __getitem__(self, idx):
        return self.X[idx], self.y[idx]


def _homework_evaluate(model, X, y) -> float:
    """hw2-q2.py's ``evaluate``: full-batch forward in eval mode, arg-max, back to train mode."""
    model.eval()
    with torch.no_grad():
        predicted = model(X).argmax(dim=-1)
    n_correct = (y == predicted).sum().item()
    model.train()
    return n_correct / y.shape[0]


def homework_loop(settings: Q2Settings, data_np: dict) -> dict:
    """The homework's main loop, as written in hw2-q2.py: Dataset + DataLoader(shuffle=True),
    ``train_batch`` per batch, validation after each epoch, test at the end. Seed torch first."""
    dataset = HomeworkDataset(*data_np["train"])
    dev_X, dev_y = (torch.tensor(data_np["dev"][0]), torch.tensor(data_np["dev"][1]))
    test_X, test_y = (torch.tensor(data_np["test"][0]), torch.tensor(data_np["test"][1]))
    loader = torch.utils.data.DataLoader(dataset, batch_size=settings.batch_size, shuffle=True)
    model = cnn.build(settings.pooling, settings.dropout)
    optimizer = cnn_training.make_optimizer(settings.optimizer, model.parameters(), settings.lr, settings.l2_decay)
    criterion = nn.NLLLoss()
    train_losses, curve, val_accs = [], [], []
    model.train()
    for _ in range(settings.epochs):
        for X_batch, y_batch in loader:
            optimizer.zero_grad()
            loss = criterion(model(X_batch), y_batch)
            loss.backward()
            optimizer.step()
            train_losses.append(loss.item())
        curve.append(torch.tensor(train_losses).mean().item())
        val_accs.append(_homework_evaluate(model, dev_X, dev_y))
    return {
        "model": model,
        "train_loss": curve,
        "val_acc": val_accs,
        "test_acc": _homework_evaluate(model, test_X, test_y),
    }


def pipeline_loop(settings: Q2Settings, data_np: dict) -> dict:
    """The pipeline's loop, as the q2_train job calls it (tensors built from the same arrays)."""
    out = cnn_training.train(settings, octmnist.as_tensors(data_np, torch.device("cpu")), log=lambda m: None)
    return {
        "model": out["model"],
        "train_loss": [e["train_loss"] for e in out["epochs"]],
        "val_acc": [e["val_acc"] for e in out["epochs"]],
        "test_acc": out["test_acc"],
    }


def same_results(a: dict, b: dict) -> dict:
    """Bit-for-bit comparison of two loops' outcomes."""
    sa, sb = a["model"].state_dict(), b["model"].state_dict()
    tensors_equal = list(sa) == list(sb) and all(torch.equal(sa[k], sb[k]) for k in sa)
    return {
        "weights_identical": bool(tensors_equal),
        "train_loss_identical": a["train_loss"] == b["train_loss"],
        "val_acc_identical": a["val_acc"] == b["val_acc"],
        "test_acc_identical": a["test_acc"] == b["test_acc"],
        "identical": bool(
            tensors_equal
            and a["train_loss"] == b["train_loss"]
            and a["val_acc"] == b["val_acc"]
            and a["test_acc"] == b["test_acc"]
        ),
    }


def _timed(fn: Callable, seed: int, *args) -> tuple[float, dict]:
    runtime.seed_everything(seed)
    t0 = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t0, out


def _q2_training_step(settings: Q2Settings, seed: int) -> Callable:
    """A freshly seeded model, optimizer and loss; returns ``step(X, y)``: forward, backward, update."""
    runtime.seed_everything(seed)
    model = cnn.build(settings.pooling, settings.dropout)
    optimizer = cnn_training.make_optimizer(settings.optimizer, model.parameters(), settings.lr, settings.l2_decay)
    criterion = nn.NLLLoss()
    model.train()

    def step(X, y):
        optimizer.zero_grad()
        criterion(model(X), y).backward()
        optimizer.step()

    return step


def step_floor(settings: Q2Settings, data_np: dict, n_steps: int, seed: int) -> float:
    """Seconds per optimizer step on one fixed, pre-made batch: forward, backward and SGD only, no
    batching, shuffling or loss bookkeeping; what no change to the loop around the model can beat."""
    step = _q2_training_step(settings, seed)
    X = torch.from_numpy(data_np["train"][0][: settings.batch_size])
    y = torch.from_numpy(data_np["train"][1][: settings.batch_size])
    for _ in range(20):
        step(X, y)
    t0 = time.perf_counter()
    for _ in range(n_steps):
        step(X, y)
    return (time.perf_counter() - t0) / n_steps


def step_profile(settings: Q2Settings, data_np: dict, seed: int, n_steps: int = 200, top: int = 6) -> dict:
    """Where one training step's time goes: torch.profiler's self CPU time per aten op over
    ``n_steps`` steps of the pipeline's loop body, as shares of the total."""
    from torch.profiler import ProfilerActivity, profile

    step = _q2_training_step(settings, seed)
    X = torch.from_numpy(data_np["train"][0])
    y = torch.from_numpy(data_np["train"][1])
    batches = cnn_training.epoch_permutation(X.shape[0]).split(settings.batch_size)
    warm_up, profiled = batches[:20], batches[20 : 20 + n_steps]
    for idx in warm_up:
        step(X[idx], y[idx])
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for idx in profiled:
            step(X[idx], y[idx])
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    ops = [e for e in events if e.key.startswith("aten::")]
    ops.sort(key=lambda e: e.self_cpu_time_total, reverse=True)
    return {
        "n_steps": len(profiled),
        "self_cpu_us_per_step": total / len(profiled),
        "top_ops": [
            {
                "op": e.key,
                "share": e.self_cpu_time_total / total,
                "us_per_call": e.self_cpu_time_total / max(e.count, 1),
            }
            for e in ops[:top]
        ],
    }


def bench_q2_loop(
    quick: bool = False,
    rounds: Optional[int] = None,
    n_train: Optional[int] = None,
    pooling: str = "max",
    seed: int = 42,
    log=print,
) -> dict:
    """Pipeline loop vs homework-style loop vs arithmetic limit, one thread, side by side."""
    threads = runtime.configure_threads(1)
    runtime.enable_determinism()
    n_train = n_train or (2000 if quick else 12000)  # 12,000: the default config's training set
    rounds = rounds or (1 if quick else 3)
    arrays = synthetic_oct.generate(
        n_train=n_train, n_val=1500 if not quick else 300, n_test=1000, seed=0, faint_fraction=0.2, noise_looks=6.0
    )
    data_np = octmnist.load_oct_data(arrays)
    settings = Q2Settings(pooling=pooling, lr=0.01, seed=seed, epochs=1, batch_size=8)
    info = machine_info(threads)
    log(f"q2-loop: {n_train} training samples, {settings}, {threads} thread, {rounds} round(s)")

    # warm-up both paths on a slice (allocator, first-call dispatch)
    small = {k: (X[:64], y[:64]) for k, (X, y) in data_np.items()}
    _timed(homework_loop, seed, settings, small)
    _timed(pipeline_loop, seed, settings, small)

    times = {"homework": [], "pipeline": []}
    check = None
    for r in range(rounds):  # alternate the order (ABBA...) so drift in the machine's load hits both
        order = ("homework", "pipeline") if r % 2 == 0 else ("pipeline", "homework")
        outs = {}
        for name in order:
            dt, outs[name] = _timed(homework_loop if name == "homework" else pipeline_loop, seed, settings, data_np)
            times[name].append(dt)
            log(f"  round {r + 1}: {name} loop {dt:.2f} s ({n_train / dt:.0f} samples/s)")
        if check is None:
            check = same_results(outs["pipeline"], outs["homework"])
    assert check["identical"], f"the pipeline's loop and the homework loop differ: {check}"

    n_steps = n_train // settings.batch_size
    floor_s = min(step_floor(settings, data_np, n_steps, seed) for _ in range(rounds))
    floor_sps = settings.batch_size / floor_s
    log(f"  forward+backward+SGD alone: {floor_s * 1e3:.2f} ms per step ({floor_sps:.0f} samples/s)")
    profile_ = step_profile(settings, data_np, seed)
    flops = training_flops_per_sample(cnn.build(pooling, 0.7))
    rate = matmul_rate(threads=threads, min_time=0.5 if quick else 2.0)
    limit = rate["gflops"] * 1e9 / flops["training_flops"]
    best = {k: min(v) for k, v in times.items()}
    sps = {k: n_train / best[k] for k in best}
    speedup_best = best["homework"] / best["pipeline"]
    speedup_median = statistics.median(times["homework"]) / statistics.median(times["pipeline"])
    result = {
        "section": "q2-loop",
        "quick": quick,
        "machine": info,
        "settings": {
            **settings.as_dict(),
            "n_train": n_train,
            "n_val": len(data_np["dev"][1]),
            "n_test": len(data_np["test"][1]),
            "threads": threads,
            "rounds": rounds,
            "timed": "one epoch incl. model build, validation and test evaluation (as a job runs it)",
        },
        "seconds": times,
        "samples_per_s_best": sps,
        "speedup_best": speedup_best,
        "speedup_median": speedup_median,
        "identical_results": check,
        "flops": flops,
        "matmul": rate,
        "step_floor_s": floor_s,
        "step_floor_samples_per_s": floor_sps,
        "step_profile": profile_,
        "arithmetic_limit_samples_per_s": limit,
        "fraction_of_limit": sps["pipeline"] / limit,
        "figures": [
            figure(
                "Q2 loop throughput, pipeline",
                round(sps["pipeline"]),
                "samples/s",
                note=f"1 thread, batch 8, {pooling}-pooling, best of {rounds}",
            ),
            figure(
                "Q2 loop throughput, homework-style",
                round(sps["homework"]),
                "samples/s",
                note="Dataset.__getitem__ + DataLoader(shuffle=True)",
            ),
            figure(
                "Q2 loop speed-up over homework-style",
                round(speedup_best, 2),
                "x",
                f">= {TARGET_Q2_SPEEDUP}",
                speedup_best >= TARGET_Q2_SPEEDUP and check["identical"],
                f"median ratio {speedup_median:.2f}; identical weights: {check['identical']}",
            ),
            figure(
                "Q2 identical results (same seed)",
                check["identical"],
                "",
                "True",
                check["identical"],
                "weights, loss curve, validation and test accuracy bit-for-bit",
            ),
            figure(
                "Q2 forward+backward+SGD alone (no loop around it)",
                round(floor_sps),
                "samples/s",
                note=f"{floor_s * 1e3:.2f} ms per step on one fixed batch; the most a loop change can give: "
                f"{floor_sps / sps['homework']:.2f}x over the homework loop",
            ),
            figure(
                "Q2 step: largest ops (self CPU time)",
                round(sum(o["share"] for o in profile_["top_ops"][:3]), 2),
                "share",
                note=", ".join(
                    f"{o['op'].removeprefix('aten::')} {o['share']:.0%} ({o['us_per_call']:.0f} us/call)"
                    for o in profile_["top_ops"][:4]
                )
                + "; fixed kernels: a faster one changes the bits",
            ),
            figure(
                "Q2 arithmetic limit",
                round(limit),
                "samples/s",
                note=f"{flops['training_flops'] / 1e6:.2f} MFLOP/sample / {rate['gflops']:.1f} GFLOP/s "
                f"(1-thread {rate['n']}^3 matmul)",
            ),
            figure(
                "Q2 pipeline loop / arithmetic limit",
                round(sps["pipeline"] / limit, 3),
                "",
                note="share of the matmul-rate limit reached at batch 8",
            ),
        ],
    }
    result["machine"]["loadavg_end"] = list(os.getloadavg())
    return result


# ------------------------------------------------------------------------------ Snakemake timing


def run_timed(cmd: list[str], cwd: Path, timeout: float = 7200) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    dt = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd)} failed in {cwd} ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
        )
    return dt, proc


def parse_job_count(text: str) -> Optional[int]:
    """Total jobs of a Snakemake job-stats table (``total   N``), or 0 when nothing is to be done."""
    if re.search(r"Nothing to be done", text):
        return 0
    m = re.findall(r"^total\s+(\d+)", text, flags=re.M)
    return int(m[-1]) if m else None


def time_dry_run(workdir: Path, extra: tuple[str, ...] = (), repeats: int = 3) -> dict:
    """``snakemake -n`` wall times (first call and the rest), and the jobs it would run."""
    times, jobs = [], None
    for _ in range(repeats):
        dt, proc = run_timed(snakemake_cmd("-n", *extra), workdir, timeout=600)
        times.append(dt)
        jobs = parse_job_count(proc.stdout + proc.stderr)
    return {
        "workdir": str(workdir),
        "args": ["-n", *extra],
        "seconds": times,
        "median_s": statistics.median(times),
        "min_s": min(times),
        "jobs_pending": jobs,
        "up_to_date": jobs == 0,
    }


def noop_figures(noop: dict, label: str) -> list[dict]:
    ok = noop["up_to_date"] and noop["median_s"] < TARGET_NOOP_S
    note = f"{label}; median of {len(noop['seconds'])}, first {noop['seconds'][0]:.2f} s" + (
        "" if noop["up_to_date"] else f"; NOT up to date: {noop['jobs_pending']} jobs pending"
    )
    return [
        figure(f"no-op snakemake -n ({label})", round(noop["median_s"], 2), "s", f"< {TARGET_NOOP_S:g} s", ok, note)
    ]


def bench_noop(workdir: Optional[Path] = None, quick: bool = False, log=print) -> dict:
    """``snakemake -n`` where the results are complete (default: this repository's own results)."""
    workdir = Path(workdir or REPO)
    info = machine_info()
    log(f"noop: snakemake -n in {workdir}")
    noop = time_dry_run(workdir, repeats=3)
    log(f"  {noop['seconds']} s, jobs pending {noop['jobs_pending']}")
    out = {
        "section": "noop",
        "quick": quick,
        "machine": info,
        "dry_run": noop,
        "figures": noop_figures(noop, "repository results" if workdir == REPO else str(workdir)),
    }
    out["machine"]["loadavg_end"] = list(os.getloadavg())
    return out


def bench_dag(quick: bool = False, log=print) -> dict:
    """DAG build on an empty results folder: the paper grid and the default grid."""
    info = machine_info()
    rows = {}
    with tempfile.TemporaryDirectory(prefix="hw2bench_dag_") as tmp:
        work = copy_workflow(Path(tmp) / "wf")
        for name, extra in (("paper", ("--configfile", "config/paper.yaml")), ("default", ())):
            rows[name] = time_dry_run(work, extra, repeats=2 if quick else 3)
            log(f"dag {name}: {rows[name]['seconds']} s, {rows[name]['jobs_pending']} jobs")
    out = {
        "section": "dag",
        "quick": quick,
        "machine": info,
        "dry_runs": rows,
        "figures": [
            figure(
                f"DAG build, {n} grid (snakemake -n, empty results)",
                round(r["median_s"], 2),
                "s",
                note=f"{r['jobs_pending']} jobs; median of {len(r['seconds'])}",
            )
            for n, r in rows.items()
        ],
    }
    out["machine"]["loadavg_end"] = list(os.getloadavg())
    return out


def bench_pipeline(quick: bool = False, cores=(1, 2), keep: Optional[Path] = None, log=print) -> dict:
    """The default pipeline from scratch with --cores 1 and --cores 2 (fresh copies), then the no-op."""
    info = machine_info()
    runs = {}
    base = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="hw2bench_pipeline_"))
    try:
        for n in cores:
            work = copy_workflow(base / f"cores{n}")
            extra: tuple[str, ...] = ()
            if quick:
                (work / "bench.yaml").write_text(json.dumps(quick_pipeline_config()))  # JSON is YAML
                extra = ("--configfile", "bench.yaml")
            load0 = list(os.getloadavg())
            log(f"pipeline: snakemake --cores {n} {' '.join(extra)} in {work} (load {load0})")
            dt, proc = run_timed(snakemake_cmd("--cores", str(n), *extra), work)
            m = re.findall(r"(\d+) of (\d+) steps \(100%\) done", proc.stdout + proc.stderr)
            runs[n] = {
                "seconds": dt,
                "jobs": int(m[-1][1]) if m else None,
                "loadavg_before": load0,
                "loadavg_after": list(os.getloadavg()),
                "args": ["--cores", str(n), *extra],
            }
            log(f"  {dt:.1f} s, {runs[n]['jobs']} jobs")
        last = base / f"cores{cores[-1]}"
        extra = ("--configfile", "bench.yaml") if quick else ()
        noop = time_dry_run(last, extra, repeats=3)
        log(f"  no-op snakemake -n: {noop['seconds']} s (jobs pending {noop['jobs_pending']})")
    finally:
        if not keep:
            shutil.rmtree(base, ignore_errors=True)
    t1, t2 = runs[cores[0]]["seconds"], runs[cores[-1]]["seconds"]
    speedup = t1 / t2
    label = "reduced config (--quick)" if quick else "default config"
    figs = [
        figure(
            f"pipeline wall time --cores {n}, {label}",
            round(r["seconds"], 1),
            "s",
            f"< {TARGET_PIPELINE_S:g} s" if not quick and n == cores[-1] else None,
            (r["seconds"] < TARGET_PIPELINE_S) if not quick and n == cores[-1] else None,
            f"{r['jobs']} jobs, from scratch",
        )
        for n, r in runs.items()
    ]
    figs.append(
        figure(
            f"parallel speed-up --cores {cores[-1]} / --cores {cores[0]}, {label}",
            round(speedup, 2),
            "x",
            f">= {TARGET_PARALLEL_SPEEDUP}",
            (speedup >= TARGET_PARALLEL_SPEEDUP) if not quick else None,
            "not judged on the reduced config" if quick else "",
        )
    )
    figs += noop_figures(noop, f"finished run, {label}")
    out = {
        "section": "pipeline",
        "quick": quick,
        "machine": info,
        "runs": {str(k): v for k, v in runs.items()},
        "speedup": speedup,
        "noop_after_run": noop,
        "figures": figs,
    }
    out["machine"]["loadavg_end"] = list(os.getloadavg())
    return out


# ------------------------------------------------------------------------------ Q3


def _best_time(fn: Callable, repeats: int, sync: Callable = lambda: None) -> list[float]:
    times = []
    for _ in range(repeats):
        sync()
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return times


def _model_and_inputs(decoder: str, n_frames: int, batch: int, device, use_trained: bool, seed: int = 0):
    """A model (trained weights from results/q3/runs when present and of this shape) and features
    (real test features when present), else random init and random features."""
    from hw2repro.q3.models import ModelConfig, build_model

    torch.manual_seed(seed)
    model = build_model(ModelConfig(decoder=decoder, n_frames=n_frames))
    origin = {"weights": "random init", "features": "random normal"}
    audio = torch.randn(batch, 80, n_frames)
    if use_trained:
        weights = REPO / "results" / "q3" / "runs" / f"{decoder}_seed42" / "model.pt"
        feats = REPO / "results" / "q3" / "features" / "test.pt"
        try:
            if weights.is_file():
                model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
                origin["weights"] = str(weights.relative_to(REPO))
            if feats.is_file():
                f = load_split(feats).features
                if f.shape[-1] == n_frames and f.shape[0] >= batch:
                    audio = f[:batch].float().clone()
                    origin["features"] = str(feats.relative_to(REPO))
        except (RuntimeError, KeyError, OSError, InputError) as exc:  # other shape or format: random is fine
            origin["note"] = f"trained weights/features not used: {exc}"
    return model.to(device), audio.to(device), origin


def bench_q3_features(quick: bool, log=print) -> list[dict]:
    from hw2repro.q3 import features

    rows = []
    shapes = (("default", 2.5, 400), ("paper", LJ_MEAN_SECONDS, PAPER["q3_n_frames"]))
    for name, seconds, n_frames in shapes:
        n = 20 if quick else 150
        g = torch.Generator().manual_seed(0)
        clips = [0.1 * torch.randn(int(seconds * LJ_SAMPLE_RATE), generator=g) for _ in range(n)]
        features.log_mel(clips[0], n_frames)  # warm-up
        times = _best_time(lambda: [features.log_mel(c, n_frames) for c in clips], 2 if quick else 3)
        rows.append(
            {
                "shape": name,
                "clip_seconds": seconds,
                "n_frames": n_frames,
                "clips": n,
                "seconds": times,
                "clips_per_s": n / min(times),
            }
        )
        log(f"  features {name}: {n / min(times):.0f} clips/s")
    return rows


def bench_q3_model(
    decoder: str,
    shape: str,
    n_frames: int,
    train_batch: int,
    eval_batch: int,
    device: torch.device,
    quick: bool,
    log=print,
) -> dict:
    from hw2repro.q3.models import greedy_decode
    from hw2repro.q3.train import teacher_forced_loss

    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    model, audio, origin = _model_and_inputs(
        decoder, n_frames, max(train_batch, eval_batch), device, use_trained=(shape == "default")
    )
    text_len = model.cfg.text_len
    g = torch.Generator().manual_seed(1)
    text = torch.randint(3, 35, (train_batch, text_len), generator=g)
    text[:, 0], text[:, -1] = 0, 1
    text = text.to(device)
    train_audio = audio[:train_batch]
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    state = {k: v.clone() for k, v in model.state_dict().items()}

    def step():
        opt.zero_grad()
        loss = teacher_forced_loss(model, train_audio, text, 0.1)
        loss.backward()
        opt.step()

    model.train()
    step()  # warm-up
    heavy = shape == "paper" and device.type == "cpu"
    train_times = _best_time(step, 1 if (quick or heavy) else 3, sync)
    model.load_state_dict(state)  # decode with the loaded (trained) weights
    model.eval()

    eval_audio = audio[:eval_batch]
    steps = None if not quick else 20
    with torch.no_grad():
        latent = model.encode(eval_audio)
        greedy_decode(model, latent=latent, steps=2, cache=False)
        greedy_decode(model, latent=latent, steps=2)
        enc_times = _best_time(lambda: model.encode(eval_audio), 1 if heavy else 3, sync)
        reps = 1 if (quick or heavy) else 2
        orig_times = _best_time(lambda: greedy_decode(model, latent=latent, steps=steps, cache=False), reps, sync)
        cached_times = _best_time(lambda: greedy_decode(model, latent=latent, steps=steps), reps, sync)
        ref_text, ref_logits = greedy_decode(model, latent=latent, steps=steps, cache=False, return_logits=True)
        new_text, new_logits = greedy_decode(model, latent=latent, steps=steps, return_logits=True)
        # the cost of one decode step at prefix length t, the original's way (prefix re-run)
        ca = model._dec._cross_att._att
        cross_kv_times = _best_time(lambda: (ca._key(latent), ca._value(latent)), 3, sync)
        step_times = {}
        if decoder == "transformer":
            for t in (1, 25, 50, text_len - 1):
                prefix = ref_text[:, :t]
                step_times[t] = min(_best_time(lambda: model._dec.decode_step_full(prefix, latent), 3, sync))
    n_steps = steps or text_len - 1
    orig, cached = min(orig_times), min(cached_times)
    enc = min(enc_times)
    row = {
        "decoder": decoder,
        "shape": shape,
        "device": provenance.device_description(device),
        "n_frames": n_frames,
        "encoder_time": model.cfg.encoder_time,
        "inputs": origin,
        "threads": torch.get_num_threads(),
        "train_batch": train_batch,
        "train_step_s": train_times,
        "train_samples_per_s": train_batch / min(train_times),
        "eval_batch": eval_batch,
        "decode_steps": n_steps,
        "encode_s": enc,
        "decode_s": orig_times,
        "decode_cached_s": cached_times,
        # greedy decoding samples/s as the evaluation runs it: encoder once, then the decode loop
        "decode_samples_per_s": eval_batch / (enc + orig),
        "decode_cached_samples_per_s": eval_batch / (enc + cached),
        "kv_cache_saves_fraction_of_decode_loop": 1 - cached / orig,
        "kv_cache_decode_loop_speedup": orig / cached,
        "cross_kv_projection_s_per_step": min(cross_kv_times),
        "cross_kv_share_of_decode_loop": min(cross_kv_times) * n_steps / orig,
        "decode_step_s_by_prefix_length": {str(k): v for k, v in step_times.items()},
        "cached_tokens_identical": bool(torch.equal(ref_text, new_text)),
        "cached_logits_bitwise_identical": bool(torch.equal(ref_logits, new_logits)),
        "cached_max_abs_logit_diff": float((ref_logits - new_logits).abs().max()),
    }
    log(
        f"  {decoder} {shape} {row['device']}: train {row['train_samples_per_s']:.1f} samples/s, decode "
        f"{row['decode_samples_per_s']:.2f} samples/s (cached {row['decode_cached_samples_per_s']:.2f}), tokens "
        f"identical {row['cached_tokens_identical']}, max |dlogit| {row['cached_max_abs_logit_diff']:.2e}"
    )
    return row


def q3_flops_per_sample(decoder: str, n_frames: int) -> dict:
    """Training and greedy-decoding FLOPs per sample (torch's FLOP counter: matmuls and convolutions)."""
    from torch.utils.flop_counter import FlopCounterMode

    from hw2repro.q3.models import ModelConfig, build_model, greedy_decode
    from hw2repro.q3.train import teacher_forced_loss

    model = build_model(ModelConfig(decoder=decoder, n_frames=n_frames))
    audio = torch.randn(1, 80, n_frames)
    text = torch.randint(3, 35, (1, model.cfg.text_len))
    with FlopCounterMode(display=False) as fc:
        teacher_forced_loss(model, audio, text, 0.1).backward()
    train = fc.get_total_flops()
    with FlopCounterMode(display=False) as fc, torch.no_grad():
        greedy_decode(model, audio, cache=False)
    decode = fc.get_total_flops()
    with FlopCounterMode(display=False) as fc, torch.no_grad():
        greedy_decode(model, audio)
    decode_cached = fc.get_total_flops()
    return {"train_flops": train, "decode_flops": decode, "decode_cached_flops": decode_cached}


def bench_q3(quick: bool = False, log=print) -> dict:
    threads = runtime.configure_threads(1)
    info = machine_info(threads)
    log("q3: features")
    feats = bench_q3_features(quick, log)
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    # (name, frames, training batch, decoding batch): the default config's batches; the paper's 64 is
    # too slow to time on CPU (per-sample rates barely depend on the batch there)
    shapes = [("default", 400, 8, 16), ("paper", PAPER["q3_n_frames"], 4 if quick else 8, 16)]
    models = []
    for device in devices:
        for shape, n_frames, tb, eb in shapes:
            if device.type == "cuda" and shape == "paper":
                tb = PAPER["q3_batch"]
            for decoder in ("lstm", "transformer"):
                models.append(bench_q3_model(decoder, shape, n_frames, tb, eb, device, quick, log))
    flops = {
        f"{d}_{s}": q3_flops_per_sample(d, n)
        for d in ("lstm", "transformer")
        for s, n in (("default", 400), ("paper", PAPER["q3_n_frames"]))
    }
    figs = [
        figure(
            f"Q3 features, {r['shape']} clips ({r['clip_seconds']:g} s, {r['n_frames']} frames)",
            round(r["clips_per_s"], 1),
            "clips/s",
            note="1 thread, per-clip STFT",
        )
        for r in feats
    ]
    for r in models:
        where = f"{r['decoder']}, {r['shape']} ({r['n_frames']} frames), {r['device'].split(':')[0]}"
        figs.append(
            figure(
                f"Q3 training, {where}",
                round(r["train_samples_per_s"], 2),
                "samples/s",
                note=f"batch {r['train_batch']}, {r['threads']} thread(s)",
            )
        )
        figs.append(
            figure(
                f"Q3 greedy decoding without a cache (original), {where}",
                round(r["decode_samples_per_s"], 2),
                "samples/s",
                note=f"batch {r['eval_batch']}, {r['decode_steps']} steps, encoder included",
            )
        )
        figs.append(
            figure(
                f"Q3 greedy decoding with the KV cache (pipeline), {where}",
                round(r["decode_cached_samples_per_s"], 2),
                "samples/s",
                "tokens identical",
                r["cached_tokens_identical"],
                f"decode loop {r['kv_cache_decode_loop_speedup']:.2f}x faster; max |logit diff| "
                f"{r['cached_max_abs_logit_diff']:.1e}",
            )
        )
        steps = r["decode_step_s_by_prefix_length"]
        if steps:
            last = max(steps, key=int)
            figs.append(
                figure(
                    f"Q3 transformer decode step, prefix {last} / prefix 1, {where}",
                    round(steps[last] / steps["1"], 2),
                    "x",
                    note=f"{steps['1'] * 1e3:.1f} ms -> {steps[last] * 1e3:.1f} ms per step (batch "
                    f"{r['eval_batch']}); the prefix is re-run at every step",
                )
            )
    out = {
        "section": "q3",
        "quick": quick,
        "machine": info,
        "features": feats,
        "models": models,
        "flops_per_sample": flops,
        "figures": figs,
    }
    out["machine"]["loadavg_end"] = list(os.getloadavg())
    return out


# ------------------------------------------------------------------------------ cost and summary


def paper_cost_estimate(results: dict) -> Optional[dict]:
    """CPU hours of the paper run from the measured per-sample rates (one thread per job), and the
    GPU time either measured (a q3 run on CUDA) or estimated from FLOPs."""
    q2, q3 = results.get("q2-loop"), results.get("q3")
    if not q2 or not q3:
        return None
    p = PAPER
    q2_sps = q2["samples_per_s_best"]["pipeline"]
    q2_job_s = p["q2_epochs"] * p["q2_train"] / q2_sps
    cpu = {"q2_per_job_h": q2_job_s / 3600, "q2_all_jobs_core_h": p["q2_runs"] * q2_job_s / 3600}
    feats = {r["shape"]: r for r in q3["features"]}
    cpu["q3_features_core_h"] = p["q3_clips"] / feats["paper"]["clips_per_s"] / 3600
    gpu = {}
    for r in q3["models"]:
        if r["shape"] != "paper":
            continue
        decoded = p["q3_epochs"] * p["q3_val"] + 2 * p["q3_test"]  # validation each epoch; test + audio-blind
        train_s = p["q3_epochs"] * p["q3_train"] / r["train_samples_per_s"]
        target = cpu if r["device"].startswith("cpu") else gpu
        target[f"q3_{r['decoder']}_train_h"] = train_s / 3600
        # the pipeline decodes with the KV cache; the original's uncached decoding for comparison
        target[f"q3_{r['decoder']}_eval_h"] = decoded / r["decode_cached_samples_per_s"] / 3600
        target[f"q3_{r['decoder']}_eval_uncached_h"] = decoded / r["decode_samples_per_s"] / 3600
    cores = q2["machine"].get("usable_cores") or 2
    cpu["total_core_h"] = (
        cpu["q2_all_jobs_core_h"]
        + cpu["q3_features_core_h"]
        + sum(v for k, v in cpu.items() if k.startswith("q3_") and (k.endswith("_train_h") or k.endswith("_eval_h")))
    )
    cpu["wall_h_on_this_machine"] = cpu["total_core_h"] / cores
    cpu["basis"] = f"measured per-sample rates at 1 thread on {q2['machine']['cpu']}, {cores} jobs side by side"
    if not gpu:
        flops = q3["flops_per_sample"]
        # H100 SXM: 67 TFLOP/s FP32 (no tensor cores); these small layers (width 200) reach a
        # fraction of it: the range uses 10 %-40 % of that peak.
        peak = 67e12
        tot = sum(
            p["q3_epochs"] * p["q3_train"] * flops[f"{d}_paper"]["train_flops"]
            + (p["q3_epochs"] * p["q3_val"] + 2 * p["q3_test"]) * flops[f"{d}_paper"]["decode_cached_flops"]
            for d in ("lstm", "transformer")
        )
        gpu = {
            "q3_flops_total": tot,
            "q3_h_at_40pct_fp32_peak": tot / (0.4 * peak) / 3600,
            "q3_h_at_10pct_fp32_peak": tot / (0.1 * peak) / 3600,
            "basis": "ESTIMATED from FLOPs (torch FlopCounterMode), H100 FP32 peak 67 TFLOP/s at 10-40 %; not measured",
        }
    else:
        gpu["basis"] = "measured on " + next(r["device"] for r in q3["models"] if r["device"].startswith("cuda"))
    return {"cpu": cpu, "gpu": gpu, "paper": p}


def _fmt(v) -> str:
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, (int, float)) and abs(v) >= 1e9:
        return f"{v:.2e}"
    if isinstance(v, float):
        return f"{v:,.3g}" if abs(v) < 100 else f"{v:,.0f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def write_summary(bench_dir: Path) -> Path:
    """Rebuild bench/results/summary.md from every section JSON present."""
    results = {}
    for f in sorted(bench_dir.glob("*.json")):
        if f.stem in SECTIONS:
            results[f.stem] = json.loads(f.read_text())
    lines = [
        "# Benchmarks",
        "",
        "Every figure measured by `make bench` (bench/run_benchmarks.py); ratios come from one run, "
        "side by side, on the same data and threads. Conditions per section below the table.",
        "",
        "| section | figure | value | target | met? | note |",
        "|---|---|---|---|---|---|",
    ]
    for name in SECTIONS:
        if name not in results:
            continue
        r = results[name]
        tag = name + (" (quick)" if r.get("quick") else "")
        for fgr in r["figures"]:
            met = "" if fgr["met"] is None else ("yes" if fgr["met"] else "**no**")
            value = _fmt(fgr["value"]) + (f" {fgr['unit']}" if fgr["unit"] else "")
            lines.append(f"| {tag} | {fgr['figure']} | {value} | {fgr['target'] or ''} | {met} | {fgr['note']} |")
    lines += [
        "",
        "## Conditions",
        "",
        "| section | when (UTC) | commit | CPU | cores | torch threads | torch | snakemake | load avg (start → end) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name in SECTIONS:
        if name not in results:
            continue
        m = results[name]["machine"]
        commit = (m["git"]["commit"] or "?")[:10] + ("+dirty" if m["git"].get("dirty") else "")
        load = f"{m['loadavg_start'][0]:.2f} → {m.get('loadavg_end', ['?'])[0]:.2f}" if "loadavg_end" in m else ""
        lines.append(
            f"| {name} | {m['timestamp']} | {commit} | {m['cpu']} ({m['cpu_isa']}) | {m['usable_cores']} | "
            f"{m['torch_threads']} | {m['versions']['torch']} | {m['versions']['snakemake']} | {load} |"
        )
    cost = paper_cost_estimate(results)
    if cost:
        c, g = cost["cpu"], cost["gpu"]
        lines += [
            "",
            "## What a paper run costs (config/paper.yaml)",
            "",
            f"CPU ({c['basis']}): Q2 {c['q2_per_job_h']:.2f} h per training job, "
            f"{c['q2_all_jobs_core_h']:.1f} core-hours for the 30 jobs; Q3 features "
            f"{c['q3_features_core_h']:.2f} core-hours; "
            + "; ".join(
                f"Q3 {d}: training {c.get(f'q3_{d}_train_h', float('nan')):.1f} h, evaluation "
                f"{c.get(f'q3_{d}_eval_h', float('nan')):.1f} h "
                f"with the KV cache ({c.get(f'q3_{d}_eval_uncached_h', float('nan')):.1f} h without)"
                for d in ("lstm", "transformer")
            )
            + f". Total {c['total_core_h']:.0f} core-hours, about {c['wall_h_on_this_machine']:.0f} h "
            f"wall on this machine.",
            "",
            "GPU: " + g["basis"] + ": " + ", ".join(f"{k} {_fmt(v)}" for k, v in g.items() if k != "basis") + ".",
        ]
    out = bench_dir / "summary.md"
    out.write_text("\n".join(lines) + "\n")
    return out


def run(
    sections, quick: bool, out_dir: Path, noop_dir: Optional[Path] = None, keep: Optional[Path] = None, log=print
) -> dict:
    """Run the chosen sections in a fixed order, write each JSON as it finishes, then the summary."""
    out_dir.mkdir(parents=True, exist_ok=True)
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        raise ValueError(f"unknown section(s) {sorted(unknown)}; choose from {SECTIONS}")
    done = {}
    for name in SECTIONS:
        if name not in sections:
            continue
        t0 = time.perf_counter()
        if name == "q2-loop":
            res = bench_q2_loop(quick=quick, log=log)
        elif name == "noop":
            res = bench_noop(noop_dir, quick=quick, log=log)
        elif name == "dag":
            res = bench_dag(quick=quick, log=log)
        elif name == "q3":
            res = bench_q3(quick=quick, log=log)
        elif name == "memory":
            res = memory.bench_memory(quick=quick, keep=keep, log=log, machine_info=machine_info, figure=figure)
        else:
            res = bench_pipeline(quick=quick, keep=keep, log=log)
        res["section_seconds"] = time.perf_counter() - t0
        (out_dir / f"{name}.json").write_text(json.dumps(res, indent=2, default=str) + "\n")
        log(f"{name}: done in {res['section_seconds']:.0f} s -> {out_dir / (name + '.json')}")
        done[name] = res
    write_summary(out_dir)
    return done
