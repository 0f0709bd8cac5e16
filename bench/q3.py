"""The ``q3`` section: feature extraction, training and greedy decoding (with and without the KV
cache) throughput per decoder at the default and the paper's frame counts; on CUDA too."""

from __future__ import annotations

import os

import torch

from hw2repro import provenance, runtime
from hw2repro.errors import InputError
from hw2repro.q3.dataset import load_split
from hw2repro.workspace import REPO

from .common import (
    LJ_MEAN_SECONDS,
    LJ_SAMPLE_RATE,
    best_time,
    figure,
    machine_info,
    paper_sizes,
)

P = paper_sizes()

# ------------------------------------------------------------------------------ Q3


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
    shapes = (("default", 2.5, 400), ("paper", LJ_MEAN_SECONDS, P["q3_n_frames"]))
    for name, seconds, n_frames in shapes:
        n = 20 if quick else 150
        g = torch.Generator().manual_seed(0)
        clips = [0.1 * torch.randn(int(seconds * LJ_SAMPLE_RATE), generator=g) for _ in range(n)]
        features.log_mel(clips[0], n_frames)  # warm-up
        times = best_time(lambda: [features.log_mel(c, n_frames) for c in clips], 2 if quick else 3)
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
    train_times = best_time(step, 1 if (quick or heavy) else 3, sync)
    model.load_state_dict(state)  # decode with the loaded (trained) weights
    model.eval()

    eval_audio = audio[:eval_batch]
    steps = None if not quick else 20
    with torch.no_grad():
        latent = model.encode(eval_audio)
        greedy_decode(model, latent=latent, steps=2, cache=False)
        greedy_decode(model, latent=latent, steps=2)
        enc_times = best_time(lambda: model.encode(eval_audio), 1 if heavy else 3, sync)
        reps = 1 if (quick or heavy) else 2
        orig_times = best_time(lambda: greedy_decode(model, latent=latent, steps=steps, cache=False), reps, sync)
        cached_times = best_time(lambda: greedy_decode(model, latent=latent, steps=steps), reps, sync)
        ref_text, ref_logits = greedy_decode(model, latent=latent, steps=steps, cache=False, return_logits=True)
        new_text, new_logits = greedy_decode(model, latent=latent, steps=steps, return_logits=True)
        # the cost of one decode step at prefix length t, the original's way (prefix re-run)
        ca = model._dec._cross_att._att
        cross_kv_times = best_time(lambda: (ca._key(latent), ca._value(latent)), 3, sync)
        step_times = {}
        if decoder == "transformer":
            for t in (1, 25, 50, text_len - 1):
                prefix = ref_text[:, :t]
                step_times[t] = min(best_time(lambda: model._dec.decode_step_full(prefix, latent), 3, sync))
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
    # too slow to time here (the paper-scale section measures it at full size: about half the
    # per-sample training rate of batch 8 on the 2-core machine)
    shapes = [("default", 400, 8, 16), ("paper", P["q3_n_frames"], 4 if quick else 8, 16)]
    models = []
    for device in devices:
        for shape, n_frames, tb, eb in shapes:
            if device.type == "cuda" and shape == "paper":
                tb = P["q3_batch"]
            for decoder in ("lstm", "transformer"):
                models.append(bench_q3_model(decoder, shape, n_frames, tb, eb, device, quick, log))
    flops = {
        f"{d}_{s}": q3_flops_per_sample(d, n)
        for d in ("lstm", "transformer")
        for s, n in (("default", 400), ("paper", P["q3_n_frames"]))
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
