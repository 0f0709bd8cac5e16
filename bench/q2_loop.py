"""The ``q2-loop`` section: Q2 training throughput of the pipeline's loop against the homework-style
loop (identical weights required) and against the model's arithmetic limit."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Optional

import numpy as np
import torch
from torch import nn

from hw2repro import defaults, runtime
from hw2repro.q2 import model as cnn
from hw2repro.q2 import octmnist
from hw2repro.q2 import synthetic as synthetic_oct
from hw2repro.q2 import train as cnn_training
from hw2repro.q2.train import Q2Settings

from .common import (
    TARGET_Q2_SPEEDUP,
    figure,
    machine_info,
)

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
    config = defaults.load()  # the default config's image distribution and training settings
    synth = config["data"]["octmnist"]["synthetic"]
    arrays = synthetic_oct.generate(
        n_train=n_train,
        n_val=1500 if not quick else 300,
        n_test=1000,
        seed=0,
        faint_fraction=synth["faint_fraction"],
        noise_looks=synth["noise_looks"],
    )
    data_np = octmnist.load_oct_data(arrays)
    settings = replace(Q2Settings.from_config(config["q2"], pooling, 0.01, seed), epochs=1, batch_size=8)
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
