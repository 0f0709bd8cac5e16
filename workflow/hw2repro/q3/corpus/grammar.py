"""A synthetic LJ-Speech-format corpus: sentences from a small grammar, spoken by eSpeak NG.

Why: the real LJ Speech (2.7 GB) cannot be fetched on every machine, and the homework's model
trained on it for 15 epochs takes 10+ CPU-hours. The default pipeline therefore makes its own
corpus, in LJ Speech's exact layout (``metadata.csv`` rows ``id|raw text|normalized text`` and
``wavs/<id>.wav``, 22,050 Hz mono 16-bit), that a small model can learn to *hear* on 2 CPU cores:

* short utterances (by default 3-7 words, 16-40 characters, about 1-3 s with the silences) in an
  LJ-like register -- dates, numbers, years, names and short clauses of the Warren Commission
  and the prison histories LJ Speech reads from -- with a small vocabulary
  (``words_per_class`` words per word class), so each word is heard many times;
* every slot of a template is drawn uniformly and independently, so the grammar alone does not
  give the words away: a decoder has to listen to get them right (a grammar-only decoder stays
  near the audio-blind similarity);
* eSpeak NG voices, speaking rate and pitch vary from clip to clip, with a little silence of
  random length before and after the speech (LJ clips have some too).

Nothing produced here is comparable to published LJ Speech numbers.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, fields

import numpy as np

from ...errors import InputError
from ..text import CHAR_TO_ID, MAX_CHARS
from .numbers import number_words, ordinal_words, year_words


class CorpusError(InputError, ValueError):
    """A corpus setting that cannot work (e.g. no sentence fits the length limits, unknown voice)."""


# ---------------------------------------------------------------------------- the grammar
# Each word class lists (raw, normalized) pairs; raw is what LJ's second column would hold
# (digits, capitals), normalized is what is spoken and transcribed (LJ's third column).
# Within a class the words are ordered so that the first few differ most in sound: a small
# ``words_per_class`` keeps a class acoustically easy.


def _same(*words: str) -> list[tuple[str, str]]:
    return [(w, w) for w in words]


_MONTHS = [
    "January",
    "March",
    "June",
    "October",
    "August",
    "December",
    "April",
    "July",
    "September",
    "November",
    "February",
    "May",
]
_DAYS = [5, 22, 1, 13, 30, 8, 17, 2, 26, 11, 3, 19, 24, 7, 15, 28, 9, 31, 4, 20]
_COUNTS = [3, 7, 12, 2, 40, 9, 16, 5, 20, 11, 6, 30, 4, 8, 50, 14]
_YEARS = [1963, 1840, 1959, 1776, 1829, 1962, 1805, 1890, 1934, 1817, 1957, 1868, 1900, 1851]

WORD_CLASSES: dict[str, list[tuple[str, str]]] = {
    "name": _same(
        "Oswald",
        "Ruby",
        "Kennedy",
        "Marina",
        "Tippit",
        "Connally",
        "Fritz",
        "Hosty",
        "Brennan",
        "Howard",
        "Wakefield",
        "Curry",
        "Thistlewood",
        "Fauntleroy",
        "Palmer",
        "Greenacre",
    ),
    "verb_t": _same(
        "bought",
        "carried",
        "found",
        "signed",
        "opened",
        "hid",
        "mailed",
        "cleaned",
        "took",
        "lost",
        "showed",
        "read",
        "sold",
        "kept",
        "burned",
        "wrote",
    ),
    "verb_i": _same(
        "escaped",
        "waited",
        "returned",
        "spoke",
        "fled",
        "arrived",
        "testified",
        "slept",
        "laughed",
        "died",
        "resigned",
        "prayed",
        "lied",
        "fainted",
        "stayed",
        "objected",
    ),
    "noun": _same(
        "rifle",
        "letter",
        "window",
        "jacket",
        "pistol",
        "ticket",
        "camera",
        "bullet",
        "package",
        "map",
        "coat",
        "key",
        "door",
        "wallet",
        "paper",
        "cell",
    ),
    "noun_pl": _same(
        "shots",
        "letters",
        "prisoners",
        "witnesses",
        "guards",
        "cells",
        "bullets",
        "coins",
        "pages",
        "keys",
        "men",
        "doors",
        "books",
        "cartridges",
        "photographs",
        "debtors",
    ),
    "participle": _same(
        "fired",
        "found",
        "heard",
        "taken",
        "sent",
        "shown",
        "lost",
        "kept",
        "seen",
        "hanged",
        "released",
        "searched",
        "counted",
        "sold",
        "burned",
        "tested",
    ),
    "adjective": _same(
        "empty",
        "open",
        "loaded",
        "broken",
        "locked",
        "wet",
        "small",
        "old",
        "new",
        "heavy",
        "dark",
        "cold",
        "clean",
        "full",
        "quiet",
        "closed",
    ),
    "place": _same(
        "Dallas",
        "Newgate",
        "London",
        "Mexico",
        "Texas",
        "Minsk",
        "Washington",
        "Paris",
        "New Orleans",
        "Moscow",
        "Irving",
        "Chicago",
        "Houston",
        "Dublin",
        "York",
        "Boston",
    ),
    "month": _same(*_MONTHS),
    "day": [(str(d), ordinal_words(d)) for d in _DAYS],
    "count": [(str(c), number_words(c)) for c in _COUNTS],
    "year": [(str(y), year_words(y)) for y in _YEARS],
}

# Templates: plain text with {slot} fields; a slot names a word class, optionally with a
# suffix digit to draw a second, different word of the class ({name2}). Sentences are
# capitalised. Ordered from the most to the least basic; ``templates`` keeps the first k.
TEMPLATES: list[str] = [
    "{name} {verb_t} the {noun}.",
    "On {month} {day}, {name} {verb_i}.",
    "{count} {noun_pl} were {participle}.",
    "The {noun} was {adjective}.",
    "{name} {verb_i} in {place}.",
    "In {year}, {name} {verb_t} a {noun}.",
    "Was the {noun} {adjective}?",
    "{name} and {name2} {verb_i}.",
    "The {noun_pl} were in {place}.",
    "{name} {verb_t} {count} {noun_pl}.",
    "On {month} {day}, the {noun} was {participle}.",
    "The {noun} of {name} was {adjective}.",
    "{count} {noun_pl} {verb_i} in {year}.",
    "Why was the {noun} {participle}?",
]


@dataclass
class CorpusConfig:
    """The corpus knobs: the keys of config ``data.ljspeech.synthetic`` (no defaults here: config/config.yaml
    has them, and :meth:`from_dict` wants every key)."""

    n_clips: int
    seed: int
    min_chars: int
    max_chars: int
    words_per_class: int
    templates: int
    unique: bool  # no two clips share a transcript
    voices: list[str]
    rate: list[int]  # words per minute, eSpeak's scale
    pitch: list[int]  # eSpeak base pitch, 0..100
    silence_s: list[float]  # before and after the speech
    # None: clips as long as spoken. [min, mean, sd, max] seconds: each clip is padded with silence
    # to a length drawn from that normal, truncated to [min, max] (LJ Speech-like: 1.11, 7.3, 2.95, 10.1)
    length_s: list[float] | None

    @classmethod
    def from_dict(cls, d: dict) -> CorpusConfig:
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(d) - set(known))
        if unknown:
            raise CorpusError(f"data.ljspeech.synthetic: unknown keys {unknown}")
        missing = [k for k in known if k not in d]
        if missing:
            raise CorpusError(f"data.ljspeech.synthetic: missing keys {missing} (config/config.yaml has them all)")
        cfg = cls(**d)
        cfg.check()
        return cfg

    def check(self) -> None:
        where = "data.ljspeech.synthetic"
        if self.n_clips < 20:
            raise CorpusError(f"{where}.n_clips: need at least 20 clips for a 75/5/20 split, got {self.n_clips}")
        if not 1 <= self.min_chars <= self.max_chars <= MAX_CHARS:
            raise CorpusError(
                f"{where}: need 1 <= min_chars <= max_chars <= {MAX_CHARS} (the tokenizer keeps "
                f"{MAX_CHARS}), got {self.min_chars}..{self.max_chars}"
            )
        if not 1 <= self.templates <= len(TEMPLATES):
            raise CorpusError(f"{where}.templates: 1..{len(TEMPLATES)}, got {self.templates}")
        smallest = min(len(v) for v in WORD_CLASSES.values())
        if not 2 <= self.words_per_class <= smallest:
            raise CorpusError(f"{where}.words_per_class: 2..{smallest}, got {self.words_per_class}")
        for key, lo, hi in (("rate", 80, 450), ("pitch", 0, 100), ("silence_s", 0, 5)):
            pair = getattr(self, key)
            if len(pair) != 2 or not lo <= pair[0] <= pair[1] <= hi:
                raise CorpusError(f"{where}.{key}: expected [min, max] within {lo}..{hi}, got {pair}")
        if not self.voices:
            raise CorpusError(f"{where}.voices: at least one eSpeak NG voice name")
        if self.length_s is not None:
            ok = len(self.length_s) == 4 and 0 < self.length_s[0] <= self.length_s[1] <= self.length_s[3] <= 60
            if not ok or self.length_s[2] < 0:
                raise CorpusError(
                    f"{where}.length_s: expected null or [min, mean, sd, max] seconds with "
                    f"0 < min <= mean <= max <= 60 and sd >= 0, got {self.length_s}"
                )


# ---------------------------------------------------------------------------- sentences


def _slots(template: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(template) if name]


def _word_class(slot: str) -> str:
    return slot.rstrip("0123456789")


def vocabulary(cfg: CorpusConfig) -> list[str]:
    """Every distinct spoken word of the configured templates and word lists (sorted).

    Counted before the length limits: a word that only occurs in too-long sentences is listed
    but never drawn (long years with a small ``max_chars``, say).
    """
    words: set[str] = set()
    for template in TEMPLATES[: cfg.templates]:
        filler = template
        for slot in _slots(template):
            filler = filler.replace("{" + slot + "}", "")
        words.update(w.lower() for w in filler.replace(",", " ").replace(".", " ").replace("?", " ").split())
        for slot in _slots(template):
            for _, spoken in WORD_CLASSES[_word_class(slot)][: cfg.words_per_class]:
                words.update(spoken.lower().replace("-", " ").split())
    return sorted(words)


def _capitalise(s: str) -> str:
    return s[:1].upper() + s[1:]


def generate_sentences(cfg: CorpusConfig) -> list[tuple[str, str]]:
    """``cfg.n_clips`` (raw, normalized) sentence pairs, deterministic in ``cfg.seed``.

    A template is drawn uniformly, then each slot uniformly from the first ``words_per_class``
    words of its class (repeated slots of a class get different words). Sentences outside
    ``[min_chars, max_chars]`` (and, with ``unique``, repeats) are drawn again.
    """
    rng = np.random.default_rng([cfg.seed, 0])  # stream 0: sentences (voices use stream 1)
    templates = TEMPLATES[: cfg.templates]
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    misses = 0
    while len(out) < cfg.n_clips:
        template = templates[rng.integers(len(templates))]
        raw_fill, spoken_fill, used = {}, {}, {}
        for slot in _slots(template):
            cls = _word_class(slot)
            choices = [i for i in range(cfg.words_per_class) if i not in used.get(cls, set())]
            k = choices[rng.integers(len(choices))]
            used.setdefault(cls, set()).add(k)
            raw_fill[slot], spoken_fill[slot] = WORD_CLASSES[cls][k]
        raw = _capitalise(template.format(**raw_fill))
        normalized = _capitalise(template.format(**spoken_fill))
        ok = cfg.min_chars <= len(normalized) <= cfg.max_chars and not (cfg.unique and normalized in seen)
        if ok:
            out.append((raw, normalized))
            seen.add(normalized)
            misses = 0
        else:
            misses += 1
            if misses > 10_000:
                raise CorpusError(
                    f"data.ljspeech.synthetic: after {len(out)} sentences no new one fits "
                    f"{cfg.min_chars}..{cfg.max_chars} characters{' (unique)' if cfg.unique else ''}; "
                    "widen the length range, raise words_per_class or templates, or lower n_clips"
                )
    for _raw, normalized in out:  # the generator's own guarantee: ASCII within the tokenizer's vocabulary
        bad = [c for c in normalized.lower() if c not in CHAR_TO_ID]
        assert not bad and normalized.isascii(), (normalized, bad)
    return out
