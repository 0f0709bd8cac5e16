"""Q3's reported numbers, bit for bit against the homework's own way of computing them.

The homework scores each (target, prediction) pair with ``textdistance`` (which, with rapidfuzz
installed, answers Damerau–Levenshtein with rapidfuzz's OSA). Its Trainer sums each batch's
scores from 0, adds the batch totals and divides by the number of clips; the loss is
``sum(v) / len(v)`` over the batch means.
Every comparison here is ``==`` on floats, never approx.
"""

import functools
import operator
import random
import sys

import numpy as np
import pytest
import torch

textdistance = pytest.importorskip("textdistance")  # test-only pin in requirements.txt
from textdistance.libraries import prototype as libraries  # noqa: E402

from hw2repro.q3 import evaluate as E  # noqa: E402
from hw2repro.q3 import metrics as M  # noqa: E402
from hw2repro.q3 import models as AM  # noqa: E402

S, STOP, PAD = 0, 1, 2
N_VOCAB = 35


def homework_scores(target, prediction) -> dict[str, float]:
    """The homework's per-pair scores: its cut rules, then textdistance's normalized_similarity."""
    t, p = M.cut_target(target), M.cut_prediction(prediction)
    return {
        "jaccard": textdistance.jaccard.normalized_similarity(t, p),
        "cosine": textdistance.cosine.normalized_similarity(t, p),
        "damerau_levenshtein": textdistance.damerau_levenshtein.normalized_similarity(t, p),
    }


def homework_sum(values) -> float:
    """``sum(v)`` as the homework's Python (< 3.12) summed: from 0, left to right."""
    if sys.version_info < (3, 12):
        return sum(values)
    return functools.reduce(operator.add, values, 0)


def homework_mean(values) -> float:
    """``sum(v) / len(v)``: the homework's loss, a mean of batch means."""
    return homework_sum(values) / len(values)


def homework_batched_mean(batches) -> float:
    """The Trainer's similarity mean: each batch's scores summed, the totals summed, / clips."""
    return homework_sum([homework_sum(b) for b in batches]) / sum(len(b) for b in batches)


def one_pass_mean(batches) -> float:
    """The order the pipeline used before: all clips' scores in one left-to-right pass."""
    flat = [v for b in batches for v in b]
    return homework_sum(flat) / len(flat)


def split_batches(values, batch):
    return [values[i : i + batch] for i in range(0, len(values), batch)]


def random_pairs(n: int, seed: int) -> list[tuple[list[int], list[int]]]:
    """Targets shaped like the tokenizer's (< text > @@@) and predictions like greedy decodes:
    small alphabets so that repeats, shared tokens and near-misses are common."""
    rng = random.Random(seed)
    pairs = []
    for _ in range(n):
        alphabet = list(range(3, 3 + rng.choice([2, 4, 8, 32])))
        body = [rng.choice(alphabet) for _ in range(rng.randrange(0, 98))]
        target = [S, *body, STOP] + [PAD] * (97 - len(body))
        pred = list(body)
        for _ in range(rng.randrange(0, 6)):  # edits: substitutions, drops, inserts, swaps
            kind = rng.randrange(4)
            i = rng.randrange(len(pred) + 1)
            if kind == 0 and i < len(pred):
                pred[i] = rng.choice(alphabet)
            elif kind == 1 and i < len(pred):
                del pred[i]
            elif kind == 2:
                pred.insert(i, rng.choice(alphabet))
            elif i + 1 < len(pred):
                pred[i], pred[i + 1] = pred[i + 1], pred[i]
        if rng.random() < 0.2:
            pred = [rng.choice(alphabet) for _ in range(rng.randrange(0, 99))]
        tail = [STOP] if rng.random() < 0.7 else []
        pred = ([S] + pred + tail + [rng.choice(alphabet + [STOP, PAD]) for _ in range(98)])[:98]
        pairs.append((target, pred))
    return pairs


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny tensors: one thread is fastest and keeps the shared machine free."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


EDGE_CASES = [
    ([], []),
    ([S, STOP], []),
    ([], [S, STOP]),
    ([STOP], [STOP]),
    ([S, 9, STOP], [S, 9, STOP]),  # identical
    ([S, 9, 10, STOP], [S, 10, 9, STOP]),  # one transposition
    ([S, 9, 10, 11, 12, STOP], [S, 10, 9, 12, 11, STOP]),  # two
    ([S, 9, 10, 11, STOP], [S, 11, 9, 10, STOP]),  # rotation: OSA is not full Damerau
    ([S, 9, 9, 9, 9, STOP], [S, 9, STOP]),  # repeats: counts matter for the multisets
    ([S, 9, 9, 10, STOP], [S, 9, 10, 10, STOP]),
    ([S] + [9] * 97 + [STOP], [S] + [9] * 97),  # no stop in the prediction: last becomes `>`
    ([S, 9, STOP, PAD, PAD], [10] * 98),
    ([S, 9, 10, STOP], [STOP, 9, 10, S]),
]


def test_textdistance_answers_damerau_levenshtein_with_rapidfuzz_osa():
    """The homework environment had rapidfuzz, so textdistance used its OSA distance."""
    dl = textdistance.damerau_levenshtein
    assert dl.external and dl.restricted
    libs = [
        f"{lib.module_name}.{lib.func_name}"
        for lib in libraries.get_libs("DamerauLevenshtein")
        if lib.check_conditions(dl, [1], [2]) and lib.get_function() is not None
    ]
    assert libs and libs[0] == "rapidfuzz.distance.OSA.distance", libs


@pytest.mark.parametrize("target, prediction", EDGE_CASES)
def test_edge_cases_bit_equal(target, prediction):
    assert M.sequence_similarities(target, prediction) == homework_scores(target, prediction)


def test_thousands_of_random_pairs_bit_equal():
    pairs = random_pairs(5000, seed=15)
    ours = [M.sequence_similarities(t, p) for t, p in pairs]
    theirs = [homework_scores(t, p) for t, p in pairs]
    mismatched = [(i, a, b) for i, (a, b) in enumerate(zip(ours, theirs)) if a != b]
    assert not mismatched, f"{len(mismatched)} of {len(pairs)} pairs differ, first: {mismatched[0]}"
    # the draw does reach the cases where 1 - (1 - s) != s (the bug this guards)
    cut = [(M.cut_target(t), M.cut_prediction(p)) for t, p in pairs]
    plain = [textdistance.jaccard(t, p) for t, p in cut]
    assert sum(s != r["jaccard"] for s, r in zip(plain, theirs)) > len(pairs) // 20
    # and the pure-Python restricted Damerau–Levenshtein agrees with rapidfuzz's OSA
    pure = textdistance.DamerauLevenshtein(restricted=True, external=False)
    for (t, p), r in zip(cut[:300], ours):
        assert pure.normalized_similarity(t, p) == r["damerau_levenshtein"]


@pytest.mark.parametrize("n", [1, 7, 8, 41, 164, 2620])
def test_mean_is_sum_over_len(n):
    """41 / 164 are the homework's validation / test batch counts, 2,620 its test clips."""
    values = np.random.default_rng(n).uniform(0.5, 3.0, n).tolist()
    assert M.homework_mean(values) == homework_mean(values)


@pytest.mark.parametrize("n_clips, batch", [(7, 8), (2620, 64), (2620, 16), (100, 3)])
def test_batched_mean_is_the_trainers(n_clips, batch):
    """2,620 test clips in batches of 64 or 16 (41 or 164 batches), as at the paper's size."""
    values = np.random.default_rng(n_clips + batch).uniform(0.0, 1.0, n_clips).tolist()
    batches = split_batches(values, batch)
    totals = [M.left_sum(b) for b in batches]
    assert M.batched_mean(totals, n_clips) == homework_batched_mean(batches)


def test_batched_mean_differs_from_one_pass_where_it_matters():
    """Guard that the test above can tell the Trainer's order from one pass over all clips."""
    rng = np.random.default_rng(1)
    draws = [split_batches(rng.uniform(0.0, 1.0, 2620).tolist(), 64) for _ in range(20)]
    assert any(homework_batched_mean(b) != one_pass_mean(b) for b in draws)


def test_mean_differs_from_np_mean_where_it_matters():
    """Guard that the test above can tell the two apart at the homework's batch counts."""
    rng = np.random.default_rng(0)
    draws = [rng.uniform(1.0, 3.0, 164).tolist() for _ in range(50)]
    assert any(homework_mean(v) != float(np.mean(v)) for v in draws)


def test_evaluate_reports_the_homework_numbers_bit_for_bit():
    """The evaluation loop end to end over 41 batches: loss mean of batch means, similarities
    summed per batch, then over batches, divided by the number of clips."""
    torch.manual_seed(0)
    cfg = AM.ModelConfig(decoder="transformer", n_mels=8, n_frames=12, hidden_dim=16, n_heads=2, feed_forward_dim=32)
    model = AM.build_model(cfg).eval()
    gen = torch.Generator().manual_seed(1)
    n, batch = 205, 5  # 41 batches, as the homework's validation
    audio = torch.randn(n, 8, 12, generator=gen)
    tokens = torch.randint(3, N_VOCAB, (n, 99), generator=gen)
    tokens[:, 0] = S
    for row, stop in enumerate(torch.randint(2, 99, (n,), generator=gen).tolist()):
        tokens[row, stop], tokens[row, stop + 1 :] = STOP, PAD
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(audio, tokens), batch_size=batch)
    ours = E.evaluate(model, loader, torch.device("cpu"), label_smoothing=0.1, keep_predictions=True)

    losses, scores = [], {k: [] for k in M.SIMILARITIES}
    with torch.no_grad():
        for (a, t), start in zip(loader, range(0, n, batch)):
            logits = model(a, t[:, :-1])
            losses.append(torch.nn.functional.cross_entropy(logits, t[:, 1:], label_smoothing=0.1).item())
            batch_scores = {k: [] for k in M.SIMILARITIES}
            for target, pred in zip(t.tolist(), ours["predictions"][start : start + batch]):
                for k, v in homework_scores(target, pred).items():
                    batch_scores[k].append(v)
            for k, v in batch_scores.items():
                scores[k].append(v)
    assert len(losses) == 41
    assert ours["loss"] == homework_mean(losses)
    for k in M.SIMILARITIES:
        assert ours[k] == homework_batched_mean(scores[k]), k
    # the draw tells the Trainer's order apart from one pass over all clips (the old code)
    assert any(one_pass_mean(scores[k]) != ours[k] for k in M.SIMILARITIES)
