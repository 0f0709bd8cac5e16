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

The synthesiser drives the espeak-ng shared library shipped in the ``espeakng-loader`` wheel
through ctypes (no subprocesses): synchronous mode, one callback collecting the samples.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import string
import tempfile
import time
import wave
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .errors import InputError
from .ljspeech import SAMPLE_RATE
from .text import CHAR_TO_ID, MAX_CHARS


class CorpusError(InputError, ValueError):
    """A corpus setting that cannot work (e.g. no sentence fits the length limits, unknown voice)."""


# ---------------------------------------------------------------------------- the grammar
# Each word class lists (raw, normalized) pairs; raw is what LJ's second column would hold
# (digits, capitals), normalized is what is spoken and transcribed (LJ's third column).
# Within a class the words are ordered so that the first few differ most in sound: a small
# ``words_per_class`` keeps a class acoustically easy.

def _same(*words: str) -> list[tuple[str, str]]:
    return [(w, w) for w in words]


_ONES = ["", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
_TEENS = ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
          "eighteen", "nineteen"]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_ORD = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
        "nine": "ninth", "twelve": "twelfth", "twenty": "twentieth", "thirty": "thirtieth"}


def number_words(n: int) -> str:
    """Cardinal in words, LJ-style hyphenation (``twenty-two``), for 1 <= n <= 99."""
    if n < 10:
        return _ONES[n]
    if n < 20:
        return _TEENS[n - 10]
    tens, ones = divmod(n, 10)
    return _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")


def ordinal_words(n: int) -> str:
    """Ordinal in words (``twenty-second``), for 1 <= n <= 99."""
    words = number_words(n)
    head, _, last = words.rpartition("-")
    last = _ORD.get(last, last[:-1] + "ieth" if last.endswith("y") else last + "th")
    return f"{head}-{last}" if head else last


def year_words(year: int) -> str:
    """A year of 1801..1999 as LJ reads it: 1963 -> ``nineteen sixty-three``, 1805 -> ``eighteen oh five``."""
    century, rest = divmod(year, 100)
    tail = "hundred" if rest == 0 else (f"oh {_ONES[rest]}" if rest < 10 else number_words(rest))
    return f"{number_words(century)} {tail}"


_MONTHS = ["January", "March", "June", "October", "August", "December", "April", "July", "September",
           "November", "February", "May"]
_DAYS = [5, 22, 1, 13, 30, 8, 17, 2, 26, 11, 3, 19, 24, 7, 15, 28, 9, 31, 4, 20]
_COUNTS = [3, 7, 12, 2, 40, 9, 16, 5, 20, 11, 6, 30, 4, 8, 50, 14]
_YEARS = [1963, 1840, 1959, 1776, 1829, 1962, 1805, 1890, 1934, 1817, 1957, 1868, 1900, 1851]

WORD_CLASSES: dict[str, list[tuple[str, str]]] = {
    "name": _same("Oswald", "Ruby", "Kennedy", "Marina", "Tippit", "Connally", "Fritz", "Hosty",
                  "Brennan", "Howard", "Wakefield", "Curry", "Thistlewood", "Fauntleroy", "Palmer", "Greenacre"),
    "verb_t": _same("bought", "carried", "found", "signed", "opened", "hid", "mailed", "cleaned",
                    "took", "lost", "showed", "read", "sold", "kept", "burned", "wrote"),
    "verb_i": _same("escaped", "waited", "returned", "spoke", "fled", "arrived", "testified", "slept",
                    "laughed", "died", "resigned", "prayed", "lied", "fainted", "stayed", "objected"),
    "noun": _same("rifle", "letter", "window", "jacket", "pistol", "ticket", "camera", "bullet",
                  "package", "map", "coat", "key", "door", "wallet", "paper", "cell"),
    "noun_pl": _same("shots", "letters", "prisoners", "witnesses", "guards", "cells", "bullets",
                     "coins", "pages", "keys", "men", "doors", "books", "cartridges", "photographs", "debtors"),
    "participle": _same("fired", "found", "heard", "taken", "sent", "shown", "lost", "kept",
                        "seen", "hanged", "released", "searched", "counted", "sold", "burned", "tested"),
    "adjective": _same("empty", "open", "loaded", "broken", "locked", "wet", "small", "old",
                       "new", "heavy", "dark", "cold", "clean", "full", "quiet", "closed"),
    "place": _same("Dallas", "Newgate", "London", "Mexico", "Texas", "Minsk", "Washington", "Paris",
                   "New Orleans", "Moscow", "Irving", "Chicago", "Houston", "Dublin", "York", "Boston"),
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
    """The corpus knobs (config ``data.ljspeech.synthetic``)."""

    n_clips: int = 2000
    seed: int = 0
    min_chars: int = 16
    max_chars: int = 40
    words_per_class: int = 8
    templates: int = 10
    unique: bool = True  # no two clips share a transcript
    voices: list[str] = field(default_factory=lambda: list(DEFAULT_VOICES))
    rate: list[int] = field(default_factory=lambda: [160, 220])  # words per minute, eSpeak's scale
    pitch: list[int] = field(default_factory=lambda: [30, 70])  # eSpeak base pitch, 0..100
    silence_s: list[float] = field(default_factory=lambda: [0.05, 0.15])  # before and after the speech

    @classmethod
    def from_dict(cls, d: dict | None) -> "CorpusConfig":
        d = dict(d or {})
        unknown = sorted(set(d) - set(cls.__dataclass_fields__))
        if unknown:
            raise CorpusError(f"data.ljspeech.synthetic: unknown keys {unknown}")
        cfg = cls(**d)
        cfg.check()
        return cfg

    def check(self) -> None:
        where = "data.ljspeech.synthetic"
        if self.n_clips < 20:
            raise CorpusError(f"{where}.n_clips: need at least 20 clips for a 75/5/20 split, got {self.n_clips}")
        if not 1 <= self.min_chars <= self.max_chars <= MAX_CHARS:
            raise CorpusError(f"{where}: need 1 <= min_chars <= max_chars <= {MAX_CHARS} (the tokenizer keeps "
                              f"{MAX_CHARS}), got {self.min_chars}..{self.max_chars}")
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


DEFAULT_VOICES = ("en+m1", "en+m3", "en+m7", "en+f1", "en+f3", "en-us+m2", "en-us+f4", "en-us+klatt4")


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
                    "widen the length range, raise words_per_class or templates, or lower n_clips")
    for raw, normalized in out:  # the generator's own guarantee: ASCII within the tokenizer's vocabulary
        bad = [c for c in normalized.lower() if c not in CHAR_TO_ID]
        assert not bad and normalized.isascii(), (normalized, bad)
    return out


# ---------------------------------------------------------------------------- eSpeak NG

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_ESPEAK_CHARS_UTF8 = 1
_RATE, _VOLUME, _PITCH = 1, 2, 3
_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class ESpeak:
    """The espeak-ng library of the ``espeakng-loader`` wheel, in synchronous mode.

    Determinism: espeak-ng keeps synthesis state in C ``static`` variables (the pitch-flutter
    index among them) that survive ``espeak_Terminate`` / ``espeak_Initialize``, so the same
    sentence comes out a few samples different the second time in a process. Each engine
    therefore loads its own private copy of the shared library (fresh statics), and every
    clip is preceded by fixed seeds for espeak's and libc's random generators: a corpus built
    with a new engine is byte-identical whatever the process synthesised before.
    """

    def __init__(self):
        try:
            import espeakng_loader
        except ImportError:
            raise CorpusError("the synthetic corpus needs the espeakng-loader wheel (pip install "
                              "espeakng-loader), which ships the espeak-ng library and voices") from None
        lib_path, data_path = espeakng_loader.get_library_path(), espeakng_loader.get_data_path()
        with tempfile.TemporaryDirectory(prefix="espeak-ng-") as tmp:
            private = Path(tmp) / "libespeak-ng-private.so"
            shutil.copyfile(lib_path, private)
            self.lib = lib = ctypes.CDLL(str(private))  # mapped: the file may go
        try:
            self.libc = ctypes.CDLL(None)  # libc's rand() feeds some voices' noise
        except OSError:  # not on every platform
            self.libc = None
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_CALLBACK]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                     ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        lib.espeak_Synth.restype = ctypes.c_int
        self._seed = getattr(lib, "espeak_ng_SetRandSeed", None)
        if self._seed is not None:
            self._seed.argtypes = [ctypes.c_long]
        self.data_path = data_path
        # buffer of 1 s per callback: few calls per sentence
        self.sample_rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 1000, data_path.encode(), 0)
        if self.sample_rate <= 0:
            raise CorpusError(f"espeak_Initialize failed with the voice data at {data_path}")
        self._chunks: list[bytes] = []

        def collect(wav, n, events):
            if n > 0:
                self._chunks.append(ctypes.string_at(wav, 2 * n))
            return 0  # 0 = continue

        self._callback = _CALLBACK(collect)  # keep a reference: the library holds only the pointer
        lib.espeak_SetSynthCallback(self._callback)
        self._voice = None

    def set_voice(self, name: str) -> None:
        if name != self._voice:
            if self.lib.espeak_SetVoiceByName(name.encode()) != 0:
                raise CorpusError(f"data.ljspeech.synthetic.voices: eSpeak NG has no voice {name!r} in "
                                  f"{self.data_path} (names that work: en, en-us, en+m3, en-us+f4; "
                                  "'en-gb' does not)")
            self._voice = name

    def synth(self, text: str, voice: str, rate: int, pitch: int, seed: int = 0) -> np.ndarray:
        """int16 samples of ``text`` spoken by ``voice`` at ``rate`` words/min and base ``pitch``."""
        self.set_voice(voice)
        if self._seed is not None:
            self._seed(int(seed))
        if self.libc is not None:
            self.libc.srand(int(seed) & 0xFFFFFFFF)
        self.lib.espeak_SetParameter(_RATE, int(rate), 0)
        self.lib.espeak_SetParameter(_PITCH, int(pitch), 0)
        self._chunks.clear()
        data = text.encode("utf-8")
        err = self.lib.espeak_Synth(data, len(data) + 1, 0, _POS_CHARACTER, 0, _ESPEAK_CHARS_UTF8, None, None)
        if err != 0:
            raise CorpusError(f"espeak_Synth failed (error {err}) on {text!r}")
        samples = np.frombuffer(b"".join(self._chunks), dtype=np.int16)
        if samples.size == 0:
            raise CorpusError(f"eSpeak NG produced no audio for {text!r} with voice {voice}")
        return samples


# ---------------------------------------------------------------------------- the corpus


def clip_id(i: int) -> str:
    """LJ-style ids: ``SY001-0001`` ... (chapters of 500 clips)."""
    return f"SY{i // 500 + 1:03d}-{i % 500 + 1:04d}"


def plan(cfg: CorpusConfig) -> list[dict]:
    """Every clip's id, texts, voice, rate, pitch and silences, deterministic in ``cfg.seed``."""
    sentences = generate_sentences(cfg)
    rng = np.random.default_rng([cfg.seed, 1])
    n = len(sentences)
    voices = rng.integers(len(cfg.voices), size=n)
    rates = rng.integers(cfg.rate[0], cfg.rate[1] + 1, size=n)
    pitches = rng.integers(cfg.pitch[0], cfg.pitch[1] + 1, size=n)
    lead = rng.uniform(cfg.silence_s[0], cfg.silence_s[1], size=n)
    tail = rng.uniform(cfg.silence_s[0], cfg.silence_s[1], size=n)
    return [{"id": clip_id(i), "text": raw, "normalized": norm, "voice": cfg.voices[voices[i]],
             "rate": int(rates[i]), "pitch": int(pitches[i]),
             "lead_samples": int(round(lead[i] * SAMPLE_RATE)), "tail_samples": int(round(tail[i] * SAMPLE_RATE))}
            for i, (raw, norm) in enumerate(sentences)]


def write_wav(path: Path, samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(samples.astype("<i2").tobytes())


def synthesize(clips: list[dict], wav_dir: Path, log=print) -> tuple[list[int], str]:
    """Speak every planned clip into ``wav_dir/<id>.wav`` with a fresh engine.

    Returns the sample counts and the eSpeak NG data path. The clips are spoken in order by one
    engine: a clip's audio depends (by a few samples) on the clips before it, so the corpus is
    deterministic as a whole, for a given configuration.
    """
    engine = ESpeak()
    if engine.sample_rate != SAMPLE_RATE:
        raise CorpusError(f"eSpeak NG synthesises at {engine.sample_rate} Hz, LJ Speech needs {SAMPLE_RATE} Hz")
    for voice in sorted({c["voice"] for c in clips}):  # fail early on an unknown voice
        engine.set_voice(voice)
    counts, last, start = [], time.monotonic(), time.monotonic()
    for i, clip in enumerate(clips):
        speech = engine.synth(clip["normalized"], clip["voice"], clip["rate"], clip["pitch"], seed=i)
        samples = np.concatenate([np.zeros(clip["lead_samples"], np.int16), speech,
                                  np.zeros(clip["tail_samples"], np.int16)])
        write_wav(wav_dir / f"{clip['id']}.wav", samples)
        counts.append(int(samples.size))
        if time.monotonic() - last > 5:
            log(f"synthesised {i + 1:,} / {len(clips):,} clips")
            last = time.monotonic()
    elapsed = time.monotonic() - start
    log(f"synthesised {len(clips):,} clips in {elapsed:.1f} s ({len(clips) / max(elapsed, 1e-9):.0f} clips/s)")
    return counts, engine.data_path


def build(folder: str | os.PathLike, cfg: CorpusConfig | dict, log=print) -> dict:
    """Write the corpus as an LJ-Speech-format folder at ``folder``, replacing it whole.

    Everything is written into a temporary folder beside it, which replaces ``folder`` only
    when complete: a killed job never leaves a half-written corpus under the final name.
    Besides ``metadata.csv`` and ``wavs/`` the folder holds ``synthesis.json`` (the settings
    and every clip's voice, rate, pitch and length). Returns a summary.
    """
    if isinstance(cfg, dict):
        cfg = CorpusConfig.from_dict(cfg)
    folder = Path(folder)
    clips = plan(cfg)
    vocab = vocabulary(cfg)
    log(f"SYNTHETIC corpus: {len(clips):,} clips, {cfg.templates} templates, {cfg.words_per_class} words per class "
        f"({len(vocab)} distinct words), {cfg.min_chars}-{cfg.max_chars} characters, {len(cfg.voices)} voices")
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
    try:
        (tmp / "wavs").mkdir()
        counts, data_path = synthesize(clips, tmp / "wavs", log)
        lines = "".join(f"{c['id']}|{c['text']}|{c['normalized']}\n" for c in clips)
        (tmp / "metadata.csv").write_text(lines, encoding="utf-8")
        for c, n in zip(clips, counts):
            c["samples"] = n
        summary = {
            "label": "SYNTHETIC speech (eSpeak NG) from a small grammar - not LJ Speech",
            "settings": asdict(cfg),
            "vocabulary": vocab,
            "espeak_data": data_path,
        }
        (tmp / "synthesis.json").write_text(json.dumps({**summary, "clips": clips}, indent=1) + "\n",
                                            encoding="utf-8")
        old = None
        if folder.exists():
            old = folder.with_name(f".{folder.name}.old-{os.getpid()}")
            os.replace(folder, old)
        os.replace(tmp, folder)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    seconds = np.array(counts) / SAMPLE_RATE
    summary["seconds"] = {"min": float(seconds.min()), "mean": float(seconds.mean()), "max": float(seconds.max()),
                          "total": float(seconds.sum())}
    return summary
