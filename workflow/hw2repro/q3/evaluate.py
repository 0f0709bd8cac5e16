"""Q3 evaluation: teacher-forced loss and greedy-decode similarities per split, the test with its
audio-blind baseline (the trained model on test clips whose encoder input is another clip's
features, a fixed derangement), and the skeleton's text log of targets and predictions.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch

from . import metrics as M
from . import text
from .dataset import SplitData, to_device
from .models import SpeechToText, greedy_decode


@torch.no_grad()
def evaluate(
    model: SpeechToText, loader, device: torch.device, label_smoothing: float, keep_predictions: bool = False
) -> dict:
    """Teacher-forced loss (mean of batch means) and mean per-sample similarities, summed per
    batch first as the homework's Trainer (``metrics.batched_mean``)."""
    model.eval()
    batch_losses: list[float] = []
    batch_totals: dict[str, list[float]] = {k: [] for k in M.SIMILARITIES}
    n = 0
    predictions = []
    examples = []
    for audio, tokens in loader:
        audio, tokens = to_device(audio, tokens, device)
        # The skeleton encodes twice (loss, then generate); once gives the same numbers.
        latent = model.encode(audio)
        logits = model._dec(tokens[:, :-1], latent)
        loss = torch.nn.functional.cross_entropy(logits, tokens[:, 1:], label_smoothing=label_smoothing)
        batch_losses.append(loss.item())
        generated = greedy_decode(model, latent=latent).cpu()
        target = tokens.cpu()
        for k, v in M.batch_similarities(target, generated).items():
            batch_totals[k].append(M.left_sum(v))
        n += target.shape[0]
        if keep_predictions:
            predictions.extend(generated.tolist())
        if len(examples) < 2:
            examples.extend(zip(target.tolist()[: 2 - len(examples)], generated.tolist()))
    # the homework's sums, left to right (not np.mean): loss over batch means, similarities
    # over batch totals divided by the number of clips
    out = {"loss": M.homework_mean(batch_losses), "n": n, "examples": examples}
    out.update({k: M.batched_mean(v, n) for k, v in batch_totals.items()})
    if keep_predictions:
        out["predictions"] = predictions
    return out


def test_with_baseline(evaluate_split: Callable[..., dict], data: SplitData, seed: int) -> tuple[dict, str]:
    """Test metrics, the audio-blind baseline beside them, and the predictions text.

    ``evaluate_split("test", audio_index=..., keep_predictions=True)`` evaluates the trained model.
    """
    t0 = time.perf_counter()
    real = evaluate_split("test", keep_predictions=True)
    result = {f"test_{k}": real[k] for k in ("loss", *M.SIMILARITIES)}
    result["n_test"] = real["n"]
    blind_preds = None
    if len(data) >= 2:
        perm = derangement(len(data), seed)
        blind = evaluate_split("test", audio_index=perm, keep_predictions=True)
        result.update({f"audio_blind_{k}": blind[k] for k in ("loss", *M.SIMILARITIES)})
        result["audio_blind_derangement"] = {
            "method": "sattolo (single cycle, no fixed points)",
            "seed": seed,
            "fixed_points": int(np.sum(perm == np.arange(len(perm)))),
        }
        blind_preds = blind["predictions"]
    else:
        result.update({f"audio_blind_{k}": None for k in ("loss", *M.SIMILARITIES)})
    result["eval_seconds"] = time.perf_counter() - t0
    return result, predictions_text(data, real["predictions"], blind_preds)


def predictions_text(data: SplitData, predictions, blind_predictions=None) -> str:
    lines = []
    for i, (target, pred) in enumerate(zip(data.tokens.tolist(), predictions, strict=True)):
        t, p = comparison_text(target, pred)
        lines.append(f"id:     {data.ids[i]}")
        lines.append(f"target: {t}")
        lines.append(f"pred:   {p}")
        if blind_predictions is not None:
            lines.append(f"blind:  {comparison_text(target, blind_predictions[i])[1]}")
        lines.append("")
    return "\n".join(lines) + "\n"


def derangement(n: int, seed: int) -> np.ndarray:
    """A fixed permutation of range(n) with no fixed points (Sattolo's algorithm: one n-cycle).

    Drawn from its own ``numpy`` generator, so it never touches the training RNG streams.
    """
    if n < 2:
        raise ValueError("a derangement needs at least 2 items")
    rng = np.random.default_rng(seed)
    perm = np.arange(n)
    for i in range(n - 1, 0, -1):
        j = int(rng.integers(0, i))  # j < i: Sattolo, not Fisher–Yates
        perm[i], perm[j] = perm[j], perm[i]
    return perm


def comparison_text(target, prediction) -> tuple[str, str]:
    """The skeleton's text log: target without `@`; prediction after the cut/overwrite rules."""
    return text.decode(target).replace("@", ""), text.decode(M.cut_prediction(prediction))
