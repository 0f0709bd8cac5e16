"""eSpeak NG through ctypes: the espeak-ng shared library shipped in the ``espeakng-loader`` wheel,
in synchronous mode with one callback collecting the samples (no subprocesses)."""

from __future__ import annotations

import ctypes
import shutil
import tempfile
from pathlib import Path

import numpy as np

from .grammar import CorpusError

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
            raise CorpusError(
                "the synthetic corpus needs the espeakng-loader wheel (pip install "
                "espeakng-loader), which ships the espeak-ng library and voices"
            ) from None
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
        lib.espeak_Synth.argtypes = [
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
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
                raise CorpusError(
                    f"data.ljspeech.synthetic.voices: eSpeak NG has no voice {name!r} in "
                    f"{self.data_path} (names that work: en, en-us, en+m3, en-us+f4; "
                    "'en-gb' does not)"
                )
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
