"""Q3 similarities on hand-computed examples (token ids: `<`=0, `>`=1, `@`=2, a=9, b=10, c=11)."""

import math

import pytest
import torch

from hw2repro.q2.train import accuracy
from hw2repro.q3 import metrics as M

S, E, P = 0, 1, 2  # `<`, `>`, `@`
A, B, C = 9, 10, 11


def test_accuracy_still_there():
    log_probs = torch.log(torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]))
    assert accuracy(log_probs, torch.tensor([0, 1, 1])) == pytest.approx(2 / 3)


def test_cut_target_keeps_first_stop_inclusive():
    assert M.cut_target([S, A, B, E, P, P, E]) == [S, A, B, E]


def test_cut_prediction_at_first_stop():
    assert M.cut_prediction([S, A, E, B, E]) == [S, A, E]


def test_cut_prediction_without_stop_overwrites_last_position():
    assert M.cut_prediction([S, A, B, C]) == [S, A, B, E]
    original = [S, A, B, C]
    M.cut_prediction(original)
    assert original == [S, A, B, C]  # the input is not modified


def test_identical_sequences_score_one():
    sims = M.sequence_similarities([S, A, B, E, P], [S, A, B, E, C])
    assert sims == {"jaccard": 1.0, "cosine": 1.0, "damerau_levenshtein": 1.0}


def test_one_inserted_repeat():
    # target "<ab>" (4 tokens), prediction "<aab>" (5): |A∩B| = 4, |A∪B| = 5, OSA distance 1.
    sims = M.sequence_similarities([S, A, B, E, P, P], [S, A, A, B, E, P])
    assert sims["jaccard"] == pytest.approx(4 / 5)
    assert sims["cosine"] == pytest.approx(4 / math.sqrt(4 * 5))
    assert sims["damerau_levenshtein"] == pytest.approx(1 - 1 / 5)


def test_repeated_tokens_count_as_multisets():
    # target "<aaa>" vs prediction "<a>": counts {<:1, a:3, >:1} vs {<:1, a:1, >:1}
    # |A∩B| = 3, |A∪B| = 5, |A| = 5, |B| = 3; OSA: two deletions over max length 5.
    sims = M.sequence_similarities([S, A, A, A, E], [S, A, E, P, P])
    assert sims["jaccard"] == pytest.approx(3 / 5)
    assert sims["cosine"] == pytest.approx(3 / math.sqrt(15))
    assert sims["damerau_levenshtein"] == pytest.approx(1 - 2 / 5)


def test_prediction_without_stop():
    # prediction "<aaa" has no `>`: its last position becomes `>` -> "<aa>" (4 tokens);
    # target "<a>": |A∩B| = 3, |A∪B| = 4; OSA: one deletion over max length 4.
    sims = M.sequence_similarities([S, A, E, P, P], [S, A, A, A])
    assert sims["jaccard"] == pytest.approx(3 / 4)
    assert sims["cosine"] == pytest.approx(3 / math.sqrt(3 * 4))
    assert sims["damerau_levenshtein"] == pytest.approx(1 - 1 / 4)


def test_prediction_without_stop_whose_last_token_mattered():
    # prediction "<ab" -> "<a>": the overwritten `b` is lost, target "<ab>" -> one deletion.
    sims = M.sequence_similarities([S, A, B, E], [S, A, B])
    assert sims["jaccard"] == pytest.approx(3 / 4)
    assert sims["damerau_levenshtein"] == pytest.approx(1 - 1 / 4)


def test_adjacent_transposition_costs_one():
    # "<ab>" vs "<ba>": same multiset; OSA distance 1 (one transposition) over 4.
    sims = M.sequence_similarities([S, A, B, E], [S, B, A, E])
    assert sims["jaccard"] == 1.0 and sims["cosine"] == 1.0
    assert sims["damerau_levenshtein"] == pytest.approx(0.75)


def test_restricted_not_unrestricted_damerau_levenshtein():
    # The classic case: "ca" -> "abc" is 3 under OSA (restricted) but 2 under true DL.
    # With the wrappers: "<ca>" vs "<abc>", max length 5.
    sims = M.sequence_similarities([S, C, A, E], [S, A, B, C, E])
    assert sims["damerau_levenshtein"] == pytest.approx(1 - 3 / 5)


def test_disjoint_apart_from_stop():
    # target "<>" vs prediction "cc" -> "c>": share only `>`; |A∪B| = 3; one substitution.
    sims = M.sequence_similarities([S, E, P], [C, C])
    assert sims["jaccard"] == pytest.approx(1 / 3)
    assert sims["cosine"] == pytest.approx(1 / 2)
    assert sims["damerau_levenshtein"] == pytest.approx(1 - 1 / 2)


def test_averaged_per_sample_not_pooled():
    targets = torch.tensor([[S, A, B, E, P], [S, A, A, A, E]])
    preds = torch.tensor([[S, A, B, E, P], [S, A, E, P, P]])
    means = M.mean_similarities(targets, preds)
    assert means["jaccard"] == pytest.approx((1 + 3 / 5) / 2)
    assert means["cosine"] == pytest.approx((1 + 3 / math.sqrt(15)) / 2)
    assert means["damerau_levenshtein"] == pytest.approx((1 + 3 / 5) / 2)
    values = M.batch_similarities(targets, preds)
    assert values["jaccard"] == [1.0, pytest.approx(3 / 5)]


def test_empty_sequences():
    assert M.jaccard_similarity([], []) == 1.0
    assert M.cosine_similarity([A], []) == 0.0
    assert M.damerau_levenshtein_similarity([], []) == 1.0
