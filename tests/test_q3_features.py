"""Q3 features and text: mel filterbank and log-mel against independent numpy, tokenizer, cached splits."""

from pathlib import Path

import numpy as np
import pytest
import torch

from hw2repro import defaults
from hw2repro.errors import InputError
from hw2repro.q3 import data as lj_data
from hw2repro.q3 import dataset, text
from hw2repro.q3 import features as F
from hw2repro.q3 import ljspeech as lj

# ---------------------------------------------------------------------------- independent numpy versions
# Written from the formulas (Slaney's Auditory Toolbox mel scale; triangles between consecutive
# mel points, each scaled to unit area 2 / (f_hi - f_lo); numpy FFT of reflect-padded, Hann-
# windowed frames), in float64, without calling anything from hw2repro.features.


def np_hz_to_mel(f):
    f = np.asarray(f, dtype=np.float64)
    return np.where(f < 1000.0, 3.0 * f / 200.0, 15.0 + 27.0 * np.log(np.maximum(f, 1e-9) / 1000.0) / np.log(6.4))


def np_mel_to_hz(m):
    m = np.asarray(m, dtype=np.float64)
    return np.where(m < 15.0, 200.0 * m / 3.0, 1000.0 * np.exp((m - 15.0) * np.log(6.4) / 27.0))


def np_filterbank(n_freqs=201, n_mels=80, sample_rate=16000):
    freqs = np.linspace(0.0, sample_rate / 2, n_freqs)
    edges = np_mel_to_hz(np.linspace(np_hz_to_mel(0.0), np_hz_to_mel(sample_rate / 2), n_mels + 2))
    fb = np.zeros((n_freqs, n_mels))
    for m in range(n_mels):
        lo, centre, hi = edges[m], edges[m + 1], edges[m + 2]
        rising = (freqs - lo) / (centre - lo)
        falling = (hi - freqs) / (hi - centre)
        fb[:, m] = np.clip(np.minimum(rising, falling), 0.0, None) * 2.0 / (hi - lo)
    return fb


def np_log_mel(x, n_frames, sample_rate=16000):
    x = np.asarray(x, dtype=np.float64)
    padded = np.pad(x, 200, mode="reflect")
    n = 1 + len(x) // 160
    frames = padded[np.arange(n)[:, None] * 160 + np.arange(400)[None, :]]
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(400) / 400)  # periodic Hann
    power = np.abs(np.fft.rfft(frames * window, axis=1)) ** 2  # (n, 201)
    mel = (power @ np_filterbank(sample_rate=sample_rate)).T  # (80, n)
    logm = np.log10(np.maximum(mel, 1e-10))
    logm = (np.maximum(logm, logm.max() - 8.0) + 4.0) / 4.0
    out = np.zeros((80, n_frames))
    k = min(n, n_frames)
    out[:, :k] = logm[:, :k]
    return out


def make_signal(seconds=1.3, rate=22050, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    chirp = 0.4 * np.sin(2 * np.pi * (200 * t + 900 * t**2))
    envelope = np.minimum(1.0, 5 * t) * np.minimum(1.0, 5 * (t[-1] - t) + 0.05)
    return (envelope * chirp + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


# ---------------------------------------------------------------------------- filterbank


def test_mel_scale_anchors():
    assert F.hz_to_mel(0.0) == 0.0
    assert F.hz_to_mel(1000.0) == pytest.approx(15.0)
    assert F.hz_to_mel(6400.0) == pytest.approx(42.0)  # one log step of 6.4x is 27 mels
    assert F.hz_to_mel(500.0) == pytest.approx(7.5)
    back = F.mel_to_hz(torch.tensor([7.5, 15.0, 42.0], dtype=torch.float64))
    assert back.tolist() == pytest.approx([500.0, 1000.0, 6400.0])


def test_filterbank_matches_independent_numpy():
    fb = F.mel_filterbank()
    assert fb.shape == (201, 80) and fb.dtype == torch.float32
    ref = np_filterbank()
    np.testing.assert_allclose(fb.numpy(), ref, rtol=1e-4, atol=1e-7)
    # every band is used, is a single triangle, and the Slaney norm makes high bands lower and wider
    assert (fb.max(0).values > 0).all()
    assert fb[:, 70].max() < fb[:, 10].max() and (fb[:, 70] > 0).sum() > (fb[:, 10] > 0).sum()
    # the assumed sample rate matters (the homework's 16 kHz quirk): 22.05 kHz gives other filters
    other = F.mel_filterbank(sample_rate=22050)
    np.testing.assert_allclose(other.numpy(), np_filterbank(sample_rate=22050), rtol=1e-4, atol=1e-7)
    assert not torch.allclose(other, fb)


# ---------------------------------------------------------------------------- log-mel


def test_log_mel_matches_independent_numpy_stft():
    x = make_signal()
    n = 1 + x.size // 160  # 180 frames
    for n_frames in (n + 40, n, 120):  # pad, exact, crop
        got = F.log_mel(torch.from_numpy(x), n_frames)
        assert got.shape == (80, n_frames) and got.dtype == torch.float32
        np.testing.assert_allclose(got.numpy(), np_log_mel(x, n_frames), atol=1e-4, rtol=0)
    assert F.n_frames_of(x.size) == n


def test_log_mel_hand_values_silence_and_padding():
    out = F.log_mel(torch.zeros(16000), 120)
    valid = F.n_frames_of(16000)  # 101 frames
    assert valid == 101
    # silence: every mel value clamps to 1e-10 -> log10 = -10 -> (-10 + 4) / 4 = -1.5; padding is 0
    assert torch.equal(out[:, :valid], torch.full((80, valid), -1.5))
    assert torch.equal(out[:, valid:], torch.zeros(80, 120 - valid))


def test_dynamic_range_and_scale():
    x = make_signal(seed=1)
    out = F.log_mel(torch.from_numpy(x), 1 + x.size // 160)
    top = out.max()
    assert out.min() >= top - 2.0 - 1e-6  # 8 log10 units below the max, divided by 4
    ref = np_log_mel(x, out.shape[1])
    assert top.item() == pytest.approx(ref.max(), abs=1e-4)


def test_batch_equals_single_clips():
    clips = [make_signal(s, seed=i) for i, s in enumerate((0.3, 1.1, 0.7, 0.02))]
    batch = F.log_mel_batch([torch.from_numpy(c) for c in clips], 150)
    assert batch.shape == (4, 80, 150)
    for i, c in enumerate(clips):
        assert torch.equal(batch[i], F.log_mel(torch.from_numpy(c), 150))
    half = torch.empty((4, 80, 150), dtype=torch.float16)
    F.log_mel_batch(clips, 150, out=half)
    assert torch.allclose(half.float(), batch, atol=2e-3)
    with pytest.raises(ValueError, match="too short"):
        F.log_mel(torch.zeros(100), 10)


# ---------------------------------------------------------------------------- tokenizer


def test_vocabulary_is_the_homeworks():
    assert "".join(text.VOCAB) == "<>@# ,.?-abcdefghijklmnopqrstuvwxyz"
    assert text.VOCAB_SIZE == 35 and text.TEXT_LEN == 99
    assert (text.CHAR_TO_ID["<"], text.CHAR_TO_ID[">"], text.CHAR_TO_ID["@"], text.CHAR_TO_ID["#"]) == (0, 1, 2, 3)
    assert (text.CHAR_TO_ID[" "], text.CHAR_TO_ID["-"], text.CHAR_TO_ID["a"], text.CHAR_TO_ID["z"]) == (4, 8, 9, 34)


def test_encode_hand_examples():
    ids = text.encode("Hi, Bob!")
    #               <  h   i   ,  ' ' b   o   b   !  >
    assert ids[:10] == [0, 16, 17, 5, 4, 10, 23, 10, 3, 1]
    assert ids[10:] == [2] * 89 and len(ids) == 99
    assert text.encode("") == [0, 1] + [2] * 97
    assert text.encode("Why? Müller-Smith.")[:19] == [
        0,
        31,
        16,
        33,
        7,
        4,
        21,
        3,
        20,
        20,
        13,
        26,
        8,
        27,
        21,
        17,
        28,
        16,
        6,
    ]
    long = text.encode("A" * 120)
    assert long == [0] + [9] * 97 + [1]  # truncated to 97 characters, no padding left
    assert text.decode(text.encode("Hi, Bob!")) == "<hi, bob#>" + "@" * 89
    assert text.decode(text.encode("Hi, Bob!"), strip=True) == "hi, bob#"
    assert text.decode(torch.tensor(text.encode("on march fifth.")), strip=True) == "on march fifth."
    batch = text.encode_batch(["a", "b c"])
    assert batch.dtype == torch.int64 and batch.shape == (2, 99) and batch[1, :5].tolist() == [0, 10, 4, 11, 1]
    with pytest.raises(ValueError):
        text.decode([35])


# ---------------------------------------------------------------------------- cached splits


def test_build_split_on_a_synthetic_corpus(tmp_path, monkeypatch):
    pytest.importorskip("espeakng_loader")
    manifest = lj_data.prepare(
        defaults.load({"data": {"ljspeech": {"synthetic": {"n_clips": 20, "seed": 1}}}})["data"]["ljspeech"],
        tmp_path / "m.json",
        tmp_path / "data",
        tmp_path / "dl",
        log=lambda m: None,
        keep_archive=False,
    )
    assert manifest["splits"] == {"train": [0, 15], "val": [15, 16], "test": [16, 20]}
    n_frames = manifest["frames_hop160"]["max"] + 10
    rows = lj.read_metadata(manifest["folder"])
    got = {}
    for split in ("train", "val", "test"):
        out = tmp_path / "features" / f"{split}.pt"
        F.build_split(manifest, split, n_frames, out, log=lambda m: None)
        got[split] = torch.load(out)
        assert "features" not in got[split]  # streamed beside, memory-mapped by training
        got[split]["features"] = dataset.load_split(out).features
    train = got["train"]
    assert set(train) >= {"features", "tokens", "ids", "texts", "n_frames", "source", "synthetic"}
    assert train["features"].shape == (15, 80, n_frames) and train["features"].dtype == torch.float32
    assert train["tokens"].shape == (15, 99) and train["tokens"].dtype == torch.int64
    assert train["ids"] == [r.id for r in rows[:15]] and train["texts"] == [r.normalized for r in rows[:15]]
    assert torch.equal(train["tokens"], text.encode_batch(train["texts"]))
    assert train["n_frames"] == n_frames and train["source"] == "synthetic" and train["synthetic"] is True
    assert got["test"]["ids"] == [r.id for r in rows[16:]]
    # features are exactly log_mel of the wav, and their valid lengths are the clips' frame counts
    wav = lj.read_wav(Path(manifest["folder"]) / "wavs" / f"{rows[3].id}.wav")
    assert torch.equal(train["features"][3], F.log_mel(torch.from_numpy(wav), n_frames))
    assert train["lengths"][3].item() == F.n_frames_of(wav.size) < n_frames
    # different sentences give different features; speech is not flat
    flat = train["features"].flatten(1)
    dist = torch.cdist(flat, flat) + torch.eye(15) * 1e9
    assert dist.min() > 1.0
    assert (train["features"][:, :, :50].std(dim=(1, 2)) > 0.1).all()
    # the whole split as one in-memory batch gives the same bytes as the chunks streamed to disk,
    # whatever the chunk size (4: several chunks and a partial last one)
    wavs = [torch.from_numpy(lj.read_wav(Path(manifest["folder"]) / "wavs" / f"{r.id}.wav")) for r in rows[:15]]
    whole = F.log_mel_batch(wavs, n_frames)
    assert np.load(tmp_path / "features" / "train.features.npy").tobytes() == whole.numpy().tobytes()
    monkeypatch.setattr(F, "CHUNK_CLIPS", 4)
    F.build_split(manifest, "train", n_frames, tmp_path / "chunked" / "train.pt", log=lambda m: None)
    assert (tmp_path / "chunked" / "train.features.npy").read_bytes() == (
        tmp_path / "features" / "train.features.npy"
    ).read_bytes()
    # float16 storage: half the size, same values to float16 precision
    F.build_split(manifest, "val", n_frames, tmp_path / "half.pt", dtype="float16", log=lambda m: None)
    half = {"features": dataset.load_split(tmp_path / "half.pt").features}
    assert half["features"].dtype == torch.float16
    assert torch.allclose(half["features"].float(), got["val"]["features"], atol=2e-3)
    # a metadata.csv edited after the data rule is refused
    meta = Path(manifest["folder"]) / "metadata.csv"
    meta.write_text(meta.read_text().replace("|", "|x", 1))
    with pytest.raises(lj.LJSpeechError, match="changed since the data rule"):
        F.build_split(manifest, "val", n_frames, tmp_path / "x.pt", log=lambda m: None)


def test_missing_features_array_is_named(tmp_path):
    """A .pt whose streamed array is gone: the error names the array and the rule to re-run."""
    torch.save(
        {"features_file": "train.features.npy", "tokens": torch.zeros(2, 99, dtype=torch.int64)}, tmp_path / "train.pt"
    )
    with pytest.raises(InputError) as e:
        dataset.load_split(tmp_path / "train.pt")
    msg = str(e.value)
    assert "\n" not in msg and "train.features.npy: missing" in msg and "q3_features" in msg
