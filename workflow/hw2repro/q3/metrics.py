"""Q3's similarities between token-id sequences (character level), as the homework's Trainer.

The target is cut after its first `>` (inclusive); the prediction is cut after its first `>`, and
when it has none its *last* position is overwritten with `>`. Each similarity is computed per
sample; the reported mean is the homework Trainer's: each batch's scores summed from 0, the batch
totals summed, divided by the number of clips (``batched_mean``).

Bit for bit as the homework: its similarities come from ``textdistance``'s
``normalized_similarity``, which returns ``1 - (1 - s)`` (not ``s``; differs in the last bit on
about 1 pair in 4), and its sums are left-to-right float sums (Python 3.10's ``sum``;
``np.mean``'s pairwise sum and Python 3.12's compensated ``sum`` differ).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from rapidfuzz.distance import OSA

STOP_TOKEN = 1  # `>` in the homework's TokenVectorizer
SIMILARITIES = ("jaccard", "cosine", "damerau_levenshtein")


def cut_target(target: Sequence[int], stop: int = STOP_TOKEN) -> list[int]:
    """Target ids up to and including the first stop token (whole sequence if it has none)."""
    target = list(target)
    return target[: target.index(stop) + 1] if stop in target else target


def cut_prediction(prediction: Sequence[int], stop: int = STOP_TOKEN) -> list[int]:
    """Prediction up to its first stop token; with none, its last position becomes the stop."""
    prediction = list(prediction)
    if not prediction:
        return prediction
    last = prediction.index(stop) if stop in prediction else len(prediction) - 1
    prediction[last] = stop
    return prediction[: last + 1]


def _multiset_sizes(a: Sequence[int], b: Sequence[int]) -> tuple[int, int]:
    """(|A ∩ B|, |A ∪ B|) of two multisets: sums of the min / max counts per token."""
    ca, cb = Counter(a), Counter(b)
    return sum((ca & cb).values()), sum((ca | cb).values())


def _normalized(similarity: float) -> float:
    """textdistance's normalized_similarity of a similarity with maximum 1: 1 - (1 - s)."""
    return 1 - (1 - similarity)


def jaccard_similarity(a: Sequence[int], b: Sequence[int]) -> float:
    """Multiset Jaccard |A ∩ B| / |A ∪ B| with counts (``textdistance.jaccard``)."""
    a, b = list(a), list(b)
    if a == b:
        return 1.0
    if not a or not b:
        return 0.0
    inter, union = _multiset_sizes(a, b)
    return _normalized(inter / union)


def cosine_similarity(a: Sequence[int], b: Sequence[int]) -> float:
    """Multiset cosine |A ∩ B| / sqrt(|A|·|B|) (``textdistance.cosine``: pow(|A|·|B|, 1/2))."""
    a, b = list(a), list(b)
    if a == b:
        return 1.0
    if not a or not b:
        return 0.0
    inter, _ = _multiset_sizes(a, b)
    return _normalized(inter / pow(len(a) * len(b), 1.0 / 2))


def damerau_levenshtein_similarity(a: Sequence[int], b: Sequence[int]) -> float:
    """1 − OSA distance / max length (restricted Damerau–Levenshtein, normalised)."""
    a, b = list(a), list(b)
    if not a and not b:
        return 1.0
    return 1.0 - OSA.distance(a, b) / max(len(a), len(b))


SIMILARITY_FUNCTIONS = {
    "jaccard": jaccard_similarity,
    "cosine": cosine_similarity,
    "damerau_levenshtein": damerau_levenshtein_similarity,
}


def sequence_similarities(target: Sequence[int], prediction: Sequence[int]) -> dict[str, float]:
    """The three similarities of one sample, after the homework's cut/overwrite rules."""
    t, p = cut_target(target), cut_prediction(prediction)
    return {name: fn(t, p) for name, fn in SIMILARITY_FUNCTIONS.items()}


def left_sum(values: Sequence[float]) -> float:
    """``sum(values)`` from 0, left to right, as on the homework's Python (< 3.12)."""
    total = 0.0
    for v in values:
        total += v
    return total


def homework_mean(values: Sequence[float]) -> float:
    """``sum(values) / len(values)`` summed left to right (the loss: a mean of batch means)."""
    return left_sum(values) / len(values)


def batched_mean(batch_totals: Sequence[float], n: int) -> float:
    """The Trainer's similarity mean: per-batch totals (``left_sum`` of each batch's scores)
    summed, then divided by the number of clips ``n``. Differs in the last bits from one pass
    over all clips as soon as there is more than one batch."""
    return left_sum(batch_totals) / n


def batch_similarities(targets, predictions) -> dict[str, list[float]]:
    """Per-sample similarities of a batch, in order (rows of token ids; tensors or arrays)."""
    targets = targets.tolist() if hasattr(targets, "tolist") else targets
    predictions = predictions.tolist() if hasattr(predictions, "tolist") else predictions
    values: dict[str, list[float]] = {name: [] for name in SIMILARITIES}
    for t, p in zip(targets, predictions, strict=True):
        for name, value in sequence_similarities(t, p).items():
            values[name].append(value)
    return values


def mean_similarities(targets, predictions) -> dict[str, float]:
    """Per-sample similarities averaged over samples (one batch)."""
    return {k: homework_mean(v) for k, v in batch_similarities(targets, predictions).items()}
