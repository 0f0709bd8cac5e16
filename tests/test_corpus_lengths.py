"""The synthetic corpus at a target clip-length distribution (data.ljspeech.synthetic.length_s):
what the paper-scale benchmark uses to give 13,100 clips LJ Speech's lengths."""

from __future__ import annotations

import wave

import numpy as np
import pytest

from hw2repro import defaults
from hw2repro.q3.corpus import grammar
from hw2repro.q3.corpus import writer as sc
from hw2repro.q3.ljspeech import SAMPLE_RATE

LJ = [1.11, 7.3, 2.95, 10.1]  # bench/paper_scale.py's stand-in for LJ Speech's lengths


def corpus(**override) -> dict:
    """config.yaml's corpus settings (where every default lives) with ``override``."""
    return {**defaults.load()["data"]["ljspeech"]["synthetic"], **override}


def test_lengths_follow_the_truncated_normal():
    seconds = sc.target_lengths(LJ, 13_100, seed=0)
    assert seconds.min() >= 1.11 and seconds.max() <= 10.1
    assert abs(seconds.mean() - 6.57) < 0.05 and 2.0 < seconds.std() < 2.3  # LJ Speech: 6.57 s


def test_without_lengths_the_plan_is_unchanged_and_with_them_only_lengths_are_added():
    plain = sc.plan(grammar.CorpusConfig.from_dict(corpus(n_clips=50, seed=3)))
    padded = sc.plan(grammar.CorpusConfig.from_dict(corpus(n_clips=50, seed=3, length_s=LJ)))
    assert all("target_samples" not in c for c in plain)
    assert [{k: v for k, v in c.items() if k != "target_samples"} for c in padded] == plain


@pytest.mark.parametrize("bad", [[1, 2, 3], [5, 4, 1, 6], [1, 2, -1, 3], [0, 1, 1, 2]])
def test_bad_lengths_are_refused_naming_the_key(bad):
    with pytest.raises(grammar.CorpusError, match="length_s"):
        grammar.CorpusConfig.from_dict(corpus(length_s=bad))


def test_clips_are_padded_to_their_drawn_length(tmp_path):
    cfg = corpus(n_clips=20, length_s=[3.0, 4.0, 0.5, 5.0])
    sc.build(tmp_path / "corpus", cfg, log=lambda m: None)
    clips = sc.plan(grammar.CorpusConfig.from_dict(cfg))
    for clip in clips:
        with wave.open(str(tmp_path / "corpus" / "wavs" / f"{clip['id']}.wav")) as w:
            n = w.getnframes()
        # the drawn length, or the speech and its silences when they are longer
        assert n >= clip["target_samples"] and n >= 3.0 * SAMPLE_RATE
    lengths = np.array([c["target_samples"] for c in clips]) / SAMPLE_RATE
    assert 3.0 <= lengths.min() and lengths.max() <= 5.0
