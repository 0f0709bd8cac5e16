"""Q3 data: LJ-Speech-format validation, splits, download (resume, checksum), synthetic corpus."""

import hashlib
import http.server
import io
import tarfile
import wave
from pathlib import Path

import numpy as np
import pytest
import torch

from http_fixture import serving
from hw2repro import defaults
from hw2repro import download as dl
from hw2repro.errors import InputError
from hw2repro.io import read_json
from hw2repro.q3 import data as lj_data
from hw2repro.q3 import features
from hw2repro.q3 import ljspeech as lj
from hw2repro.q3.corpus import espeak, grammar, numbers
from hw2repro.q3.corpus import writer as sc
from hw2repro.q3.text import CHAR_TO_ID

# ---------------------------------------------------------------------------- helpers


def write_wav(path, samples, rate=22050, channels=1):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.asarray(samples, dtype="<i2").tobytes())


def make_folder(root, rows=None, rate=22050, n_samples=4000):
    """A small LJ-format folder; rows are (id, raw, normalized)."""
    root = Path(root)
    (root / "wavs").mkdir(parents=True)
    rows = rows or [(f"LJ001-{i:04d}", f"Text {i}.", f"Text number {i}.") for i in range(1, 41)]
    rng = np.random.default_rng(0)
    for clip_id, _, _ in rows:
        write_wav(root / "wavs" / f"{clip_id}.wav", rng.integers(-3000, 3000, n_samples), rate)
    (root / "metadata.csv").write_text("".join(f"{a}|{b}|{c}\n" for a, b, c in rows), encoding="utf-8")
    return root


def one_line_error(excinfo, *needles):
    msg = str(excinfo.value)
    assert "\n" not in msg, msg
    for needle in needles:
        assert needle in msg, (needle, msg)
    return msg


# ---------------------------------------------------------------------------- metadata and wavs


def test_valid_folder_reads_rows_and_wavs(tmp_path):
    folder = make_folder(tmp_path / "lj")
    rows, counts = lj.validate_folder(folder, expected_rows=40)
    assert len(rows) == 40 and rows[0] == lj.Row("LJ001-0001", "Text 1.", "Text number 1.")
    assert counts.tolist() == [4000] * 40
    x = lj.read_wav(folder / "wavs" / "LJ001-0001.wav")
    raw = np.random.default_rng(0).integers(-3000, 3000, 4000)
    assert x.dtype == np.float32 and np.array_equal(x, (raw / 32768.0).astype(np.float32))


def test_quotes_and_non_ascii_are_kept_for_real_data(tmp_path):
    rows = [(f"LJ001-{i:04d}", 'He said "no" to Müller;', 'He said "no" to Müller;') for i in range(1, 21)]
    folder = make_folder(tmp_path / "lj", rows)
    got = lj.read_metadata(folder)
    assert got[0].normalized == 'He said "no" to Müller;'
    with pytest.raises(lj.LJSpeechError) as e:
        lj.read_metadata(folder, ascii_only=True)
    one_line_error(e, "metadata.csv line 1", "non-ASCII", "ü")


def test_missing_wav(tmp_path):
    folder = make_folder(tmp_path / "lj")
    (folder / "wavs" / "LJ001-0007.wav").unlink()
    with pytest.raises(lj.LJSpeechError) as e:
        lj.validate_folder(folder)
    one_line_error(e, "LJ001-0007.wav", "missing")


def test_malformed_row(tmp_path):
    folder = make_folder(tmp_path / "lj")
    lines = (folder / "metadata.csv").read_text().splitlines(keepends=True)
    lines[4] = "LJ001-0005|only two fields\n"
    (folder / "metadata.csv").write_text("".join(lines))
    with pytest.raises(lj.LJSpeechError) as e:
        lj.read_metadata(folder)
    one_line_error(e, "metadata.csv line 5", "expected 3", "got 2")


@pytest.mark.parametrize(
    "bad, needles",
    [
        ("LJ001-0003|x|   ", ("line 3", "empty normalized transcript")),
        ("LJ001-0002|x|dup", ("line 3", "repeats line 2")),
        ("../evil|x|y", ("line 3", "not a plain file name")),
    ],
)
def test_bad_rows(tmp_path, bad, needles):
    folder = make_folder(tmp_path / "lj")
    lines = (folder / "metadata.csv").read_text().splitlines(keepends=True)
    lines[2] = bad + "\n"
    (folder / "metadata.csv").write_text("".join(lines))
    with pytest.raises(lj.LJSpeechError) as e:
        lj.read_metadata(folder)
    one_line_error(e, *needles)


def test_invalid_utf8_and_overlong(tmp_path):
    folder = make_folder(tmp_path / "lj")
    meta = folder / "metadata.csv"
    meta.write_bytes(meta.read_bytes().replace(b"Text number 2.", b"Text \xff 2."))
    with pytest.raises(lj.LJSpeechError) as e:
        lj.read_metadata(folder)
    one_line_error(e, "line 2", "UTF-8")
    folder2 = make_folder(tmp_path / "lj2")
    with pytest.raises(lj.LJSpeechError) as e:
        lj.read_metadata(folder2, max_chars=10)
    one_line_error(e, "line 1", "more than the 10 allowed")


def test_wrong_sample_rate_and_stereo(tmp_path):
    folder = make_folder(tmp_path / "lj")
    write_wav(folder / "wavs" / "LJ001-0009.wav", np.zeros(1600), rate=16000)
    with pytest.raises(lj.LJSpeechError) as e:
        lj.validate_folder(folder)
    one_line_error(e, "LJ001-0009.wav", "22050 Hz", "16000 Hz")
    write_wav(folder / "wavs" / "LJ001-0009.wav", np.zeros(3200), channels=2)
    with pytest.raises(lj.LJSpeechError) as e:
        lj.validate_folder(folder)
    one_line_error(e, "LJ001-0009.wav", "mono 16-bit")
    (folder / "wavs" / "LJ001-0009.wav").write_bytes(b"not a wav")
    with pytest.raises(lj.LJSpeechError) as e:
        lj.validate_folder(folder)
    one_line_error(e, "LJ001-0009.wav", "not a readable PCM wav")


def test_row_count_and_missing_metadata(tmp_path):
    folder = make_folder(tmp_path / "lj")
    with pytest.raises(lj.LJSpeechError) as e:
        lj.validate_folder(folder, expected_rows=13100)
    one_line_error(e, "metadata.csv", "expected 13,100 rows", "found 40")
    (folder / "metadata.csv").unlink()
    with pytest.raises(lj.LJSpeechError) as e:
        lj.read_metadata(folder)
    one_line_error(e, "metadata.csv", "missing")
    assert isinstance(e.value, InputError)  # scripts turn it into a one-line job error


# ---------------------------------------------------------------------------- splits


def test_homework_split_sizes():
    bounds = lj.split_bounds(13100)
    assert bounds == {"train": (0, 9825), "val": (9825, 10480), "test": (10480, 13100)}
    sizes = {k: b - a for k, (a, b) in bounds.items()}
    assert sizes == {"train": 9825, "val": 655, "test": 2620}


@pytest.mark.parametrize("n, sizes", [(2000, (1500, 100, 400)), (20, (15, 1, 4)), (1001, (750, 50, 201))])
def test_proportional_splits(n, sizes):
    bounds = lj.split_bounds(n)
    assert tuple(b - a for a, b in bounds.values()) == sizes
    assert bounds["train"][0] == 0 and bounds["test"][1] == n
    assert bounds["train"][1] == bounds["val"][0] and bounds["val"][1] == bounds["test"][0]


def test_too_few_rows_to_split():
    with pytest.raises(lj.LJSpeechError, match="empty val"):
        lj.split_bounds(3)


# ---------------------------------------------------------------------------- download


class RangeHandler(http.server.BaseHTTPRequestHandler):
    """Serves one file with HTTP Range support and records what it was asked and what it sent."""

    payload = b""
    requests: list = []

    def do_GET(self):  # noqa: N802
        data = type(self).payload
        rng = self.headers.get("Range")
        start = 0
        if rng:
            start = int(rng.split("=")[1].split("-")[0])
            if start >= len(data):
                type(self).requests.append((rng, 0))
                self.send_response(416)
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        # Recorded before the body goes out: the client cannot finish (and the test look) first.
        type(self).requests.append((rng, len(body)))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    """A local HTTP server on 127.0.0.1 serving a small LJSpeech-1.1.tar.bz2 made here."""
    src = make_folder(tmp_path / "src" / "LJSpeech-1.1")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:bz2") as tar:
        tar.add(src, arcname="LJSpeech-1.1")
    handler = type("Handler", (RangeHandler,), {"payload": buf.getvalue(), "requests": []})
    with serving(http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)) as httpd:
        payload = handler.payload
        yield {
            "url": f"http://127.0.0.1:{httpd.server_address[1]}/data/LJSpeech-1.1.tar.bz2",
            "payload": payload,
            "sha256": hashlib.sha256(payload).hexdigest(),
            "size": len(payload),
            "handler": handler,
        }


def test_download_verify_extract(tmp_path, server):
    archive = lj.download(
        server["url"], tmp_path / "dl", sha256=server["sha256"], size=server["size"], log=lambda m: None
    )
    assert archive == tmp_path / "dl" / "LJSpeech-1.1.tar.bz2"
    assert archive.read_bytes() == server["payload"]
    folder = lj.extract(archive, tmp_path / "data", log=lambda m: None)
    rows, _ = lj.validate_folder(folder, expected_rows=40)
    assert folder == tmp_path / "data" / "LJSpeech-1.1" and len(rows) == 40
    assert not [p for p in (tmp_path / "data").iterdir() if p.name != "LJSpeech-1.1"]  # no temp folders left
    # a second call finds the verified archive and sends no request
    n = len(server["handler"].requests)
    lj.download(server["url"], tmp_path / "dl", sha256=server["sha256"], size=server["size"], log=lambda m: None)
    assert len(server["handler"].requests) == n


def test_download_resumes_partial_file(tmp_path, server):
    dest_dir = tmp_path / "dl"
    dest_dir.mkdir()
    have = server["size"] // 3
    (dest_dir / "LJSpeech-1.1.tar.bz2.part").write_bytes(server["payload"][:have])
    archive = lj.download(server["url"], dest_dir, sha256=server["sha256"], size=server["size"], log=lambda m: None)
    assert archive.read_bytes() == server["payload"]
    assert server["handler"].requests == [(f"bytes={have}-", server["size"] - have)]
    assert not (dest_dir / "LJSpeech-1.1.tar.bz2.part").exists()


def test_complete_partial_file_is_verified_without_a_request(tmp_path, server):
    dest_dir = tmp_path / "dl"
    dest_dir.mkdir()
    (dest_dir / "LJSpeech-1.1.tar.bz2.part").write_bytes(server["payload"])
    archive = lj.download(server["url"], dest_dir, sha256=server["sha256"], size=server["size"], log=lambda m: None)
    assert archive.read_bytes() == server["payload"] and server["handler"].requests == []


def test_checksum_mismatch_leaves_no_file(tmp_path, server):
    dest_dir = tmp_path / "dl"
    with pytest.raises(dl.DownloadError) as e:
        lj.download(server["url"], dest_dir, sha256="0" * 64, size=server["size"], log=lambda m: None)
    one_line_error(e, "sha256 mismatch", "removed")
    assert not (dest_dir / "LJSpeech-1.1.tar.bz2").exists()
    assert not (dest_dir / "LJSpeech-1.1.tar.bz2.part").exists()


def test_size_mismatch_leaves_no_file(tmp_path, server):
    dest_dir = tmp_path / "dl"
    with pytest.raises(dl.DownloadError) as e:
        lj.download(server["url"], dest_dir, sha256=server["sha256"], size=server["size"] + 1, log=lambda m: None)
    one_line_error(e, f"expected {server['size'] + 1:,} bytes")
    assert not (dest_dir / "LJSpeech-1.1.tar.bz2").exists()


def test_no_network_names_the_manual_alternative(tmp_path):
    import socket

    with socket.socket() as s:  # a port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(dl.DownloadError) as e:
        lj.download(f"http://127.0.0.1:{port}/LJSpeech-1.1.tar.bz2", tmp_path / "dl", log=lambda m: None, timeout=5)
    one_line_error(e, "could not download", "by hand", "source: path")


def test_corrupt_archive(tmp_path):
    bad = tmp_path / "LJSpeech-1.1.tar.bz2"
    bad.write_bytes(b"BZh9 this is not bzip2 data")
    with pytest.raises(lj.LJSpeechError) as e:
        lj.extract(bad, tmp_path / "data", log=lambda m: None)
    one_line_error(e, "cannot be extracted")
    assert not (tmp_path / "data" / "LJSpeech-1.1").exists()


def test_prepare_download_and_path(tmp_path, server):
    cfg = {
        "source": "download",
        "url": server["url"],
        "sha256": server["sha256"],
        "size": server["size"],
        "expected_rows": 40,
    }
    info = lj_data.prepare(
        cfg, tmp_path / "ljspeech.json", tmp_path / "data", tmp_path / "dl", log=lambda m: None, keep_archive=False
    )
    manifest = read_json(tmp_path / "ljspeech.json")
    assert manifest["folder"] == "data/LJSpeech-1.1"  # relative to the manifest: the root can move
    assert lj.read_manifest(tmp_path / "ljspeech.json") == info
    assert info["folder"] == str((tmp_path / "data" / "LJSpeech-1.1").resolve())
    assert manifest["rows"] == 40 and manifest["synthetic"] is False and manifest["source"] == "download"
    assert manifest["splits"] == {"train": [0, 30], "val": [30, 32], "test": [32, 40]}
    assert (
        manifest["metadata_sha256"]
        == hashlib.sha256((tmp_path / "data" / "LJSpeech-1.1" / "metadata.csv").read_bytes()).hexdigest()
    )
    # a 40-clip LJ-format set is real data, but not the canonical set: not comparable
    assert manifest["canonical"] is False and manifest["comparable"] is False
    assert "real data, not the canonical set: not comparable" in manifest["label"]
    # keep_archive: false (the default) deletes the verified archive once extracted and validated
    assert not (tmp_path / "dl" / "LJSpeech-1.1.tar.bz2").exists()
    lj_data.prepare(
        cfg, tmp_path / "k.json", tmp_path / "data3", tmp_path / "dl3", log=lambda m: None, keep_archive=True
    )
    assert (tmp_path / "dl3" / "LJSpeech-1.1.tar.bz2").read_bytes() == server["payload"]
    # source: path uses the folder where it is, untouched
    user = make_folder(tmp_path / "mine")
    before = sorted((p.name, p.stat().st_mtime_ns) for p in user.rglob("*"))
    info = lj_data.prepare(
        {"source": "path", "path": str(user), "expected_rows": None},
        tmp_path / "p.json",
        tmp_path / "data2",
        tmp_path / "dl2",
        log=lambda m: None,
        keep_archive=False,
    )
    assert info["folder"] == str(user.resolve()) and info["source"] == "path"
    assert read_json(tmp_path / "p.json")["folder"] == str(user.resolve())  # the user's folder: absolute
    assert sorted((p.name, p.stat().st_mtime_ns) for p in user.rglob("*")) == before
    assert info["canonical"] is False and info["comparable"] is False  # a subset (expected_rows: null)
    with pytest.raises(lj.LJSpeechError, match="expected 13,100 rows") as e:
        lj_data.prepare(
            {"source": "path", "path": str(user), "expected_rows": lj.N_ROWS},  # config.yaml's default
            tmp_path / "q.json",
            tmp_path / "d",
            tmp_path / "x",
            log=lambda m: None,
            keep_archive=False,
        )
    one_line_error(e, "set data.ljspeech.expected_rows: null")


def test_canonical_means_all_rows_and_the_official_metadata():
    assert lj.is_canonical(13_100, lj.METADATA_SHA256)
    assert not lj.is_canonical(32, lj.METADATA_SHA256)
    assert not lj.is_canonical(13_100, "0" * 64)
    # the published digest, as in the specification
    assert lj.METADATA_SHA256 == "852bce5c79e5184ba5bf2ea98aad4bcf49a5d787def5fd1f04fa2ab8aa6dc535"


# ---------------------------------------------------------------------------- synthetic corpus


def test_number_words():
    assert (
        numbers.number_words(22) == "twenty-two"
        and numbers.number_words(40) == "forty"
        and numbers.number_words(13) == "thirteen"
    )
    assert [numbers.ordinal_words(d) for d in (1, 2, 3, 5, 8, 12, 20, 22, 30, 31)] == [
        "first",
        "second",
        "third",
        "fifth",
        "eighth",
        "twelfth",
        "twentieth",
        "twenty-second",
        "thirtieth",
        "thirty-first",
    ]
    assert numbers.year_words(1963) == "nineteen sixty-three"
    assert numbers.year_words(1805) == "eighteen oh five"
    assert numbers.year_words(1900) == "nineteen hundred"


SYNTHETIC_CORPUS = defaults.load()["data"]["ljspeech"]["synthetic"]


def corpus_config(**override):
    """The pipeline's corpus settings (config/config.yaml) with ``override``."""
    return grammar.CorpusConfig.from_dict({**SYNTHETIC_CORPUS, **override})


def test_sentence_generator_is_deterministic_and_within_limits():
    cfg = corpus_config(n_clips=300, seed=5)
    a, b = grammar.generate_sentences(cfg), grammar.generate_sentences(corpus_config(n_clips=300, seed=5))
    assert a == b
    assert a != grammar.generate_sentences(corpus_config(n_clips=300, seed=6))
    norm = [n for _, n in a]
    assert len(set(norm)) == len(norm)  # unique
    assert all(cfg.min_chars <= len(n) <= cfg.max_chars for n in norm)
    assert all(c in CHAR_TO_ID for n in norm for c in n.lower())
    words = {w for n in norm for w in n.lower().translate(str.maketrans(",.?-", "    ")).split()}
    assert words == set(grammar.vocabulary(cfg)) or words < set(grammar.vocabulary(cfg))
    # voices / rates / pitches vary and are deterministic too
    plan = sc.plan(cfg)
    assert plan == sc.plan(corpus_config(n_clips=300, seed=5))
    assert len({p["voice"] for p in plan}) == len(cfg.voices)
    assert min(p["rate"] for p in plan) >= cfg.rate[0] and max(p["rate"] for p in plan) <= cfg.rate[1]
    assert len({p["pitch"] for p in plan}) > 10
    # the raw column carries digits where the normalized one spells numbers out
    assert any(any(ch.isdigit() for ch in r) for r, _ in a)


def test_vocabulary_and_grammar_knobs_shrink_the_corpus():
    small = grammar.vocabulary(corpus_config(words_per_class=4, templates=3))
    large = grammar.vocabulary(corpus_config(words_per_class=10, templates=12))
    assert set(small) < set(large) and len(small) < 40


def test_impossible_corpus_settings_fail_clearly():
    with pytest.raises(grammar.CorpusError) as e:
        grammar.generate_sentences(corpus_config(n_clips=5000, words_per_class=2, templates=1))
    one_line_error(e, "no new one fits")
    with pytest.raises(grammar.CorpusError, match="max_chars"):
        corpus_config(max_chars=120)
    with pytest.raises(grammar.CorpusError, match="unknown keys"):
        grammar.CorpusConfig.from_dict({**SYNTHETIC_CORPUS, "n_clip": 10})
    with pytest.raises(grammar.CorpusError, match="missing keys"):
        grammar.CorpusConfig.from_dict({"n_clips": 10})


def test_espeak_synthesis_is_short_deterministic_and_lj_format(tmp_path):
    pytest.importorskip("espeakng_loader")
    engine = espeak.ESpeak()
    assert engine.sample_rate == 22050
    a = engine.synth("On March fifth, Ruby escaped.", "en+m3", 175, 50)
    fast = engine.synth("On March fifth, Ruby escaped.", "en+m3", 300, 50)
    # a fresh engine replays the same calls byte for byte (espeak-ng keeps state in C statics)
    again = espeak.ESpeak()
    assert np.array_equal(again.synth("On March fifth, Ruby escaped.", "en+m3", 175, 50), a)
    assert np.array_equal(again.synth("On March fifth, Ruby escaped.", "en+m3", 300, 50), fast)
    assert a.dtype == np.int16
    assert 0.8 < a.size / 22050 < 4.0 and fast.size < 0.8 * a.size  # rate changes the duration
    assert np.abs(a.astype(float)).max() > 1000  # not silence
    with pytest.raises(grammar.CorpusError, match="'en-gb'"):
        engine.synth("x", "en-gb", 175, 50)

    cfg = {**SYNTHETIC_CORPUS, "n_clips": 24, "seed": 3}
    info = lj_data.prepare(
        {"source": "synthetic", "synthetic": cfg},
        tmp_path / "m.json",
        tmp_path / "data",
        tmp_path / "dl",
        log=lambda m: None,
        keep_archive=False,
    )
    folder = tmp_path / "data" / "ljspeech_synthetic"
    assert info["folder"] == str(folder.resolve()) and info["synthetic"] is True and info["rows"] == 24
    rows, counts = lj.validate_folder(folder, expected_rows=24, max_chars=97, ascii_only=True)
    assert rows[0].id == "SY001-0001"
    assert all(0.5 < c / 22050 < 5.0 for c in counts)
    assert [p.name for p in tmp_path.joinpath("data").iterdir()] == ["ljspeech_synthetic"]  # no temp folders
    first = (folder / "wavs" / "SY001-0001.wav").read_bytes()
    lj_data.prepare(
        {"source": "synthetic", "synthetic": cfg},
        tmp_path / "m.json",
        tmp_path / "data",
        tmp_path / "dl",
        log=lambda m: None,
        keep_archive=False,
    )
    assert (folder / "wavs" / "SY001-0001.wav").read_bytes() == first  # rebuilt identically
    assert read_json(tmp_path / "m.json")["metadata_sha256"] == info["metadata_sha256"]
    # the result root moves (or is copied to a colleague): the manifest still finds its clips
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    (tmp_path / "m.json").rename(moved / "m.json")
    (tmp_path / "data").rename(moved / "data")
    again = lj.read_manifest(moved / "m.json")
    assert again["folder"] == str((moved / "data" / "ljspeech_synthetic").resolve())
    out = features.build_split(again, "val", 400, moved / "val.pt", log=lambda m: None)
    start, end = info["splits"]["val"]
    assert out["clips"] == end - start > 0


# ---------------------------------------------------------------------------- damaged audio


@pytest.mark.parametrize("cut", [1000, 1001])  # an even and an odd byte count off the end
def test_truncated_wav_is_rejected_naming_it(tmp_path, cut):
    folder = make_folder(tmp_path / "lj")
    wav = folder / "wavs" / "LJ001-0007.wav"
    wav.write_bytes(wav.read_bytes()[:-cut])  # the header still declares 4,000 samples
    with pytest.raises(lj.LJSpeechError) as e:
        lj.validate_folder(folder, expected_rows=40)
    one_line_error(e, str(wav), "truncated", "declares 4,000 samples", f"holds {4000 - (cut + 1) // 2:,}")
    with pytest.raises(lj.LJSpeechError) as e:
        lj.read_wav(wav)
    one_line_error(e, str(wav), "truncated")


def test_too_short_wav_is_rejected_by_the_data_rule(tmp_path):
    folder = make_folder(tmp_path / "lj")
    write_wav(folder / "wavs" / "LJ001-0003.wav", np.zeros(100))
    with pytest.raises(lj.LJSpeechError) as e:
        lj_data.prepare(
            {"source": "path", "path": str(folder), "expected_rows": 40},
            tmp_path / "m.json",
            tmp_path / "d",
            tmp_path / "x",
            log=lambda m: None,
            keep_archive=False,
        )
    one_line_error(e, "LJ001-0003.wav", "100 samples", f"at least {lj.MIN_SAMPLES}", "metadata.csv")


def test_min_samples_is_what_the_features_need():
    features.log_mel(torch.zeros(lj.MIN_SAMPLES), 40)  # the shortest accepted clip works
    with pytest.raises(ValueError, match="too short"):
        features.log_mel(torch.zeros(lj.MIN_SAMPLES - 1), 40)


def test_real_data_keeps_long_and_non_ascii_transcripts_and_says_what_happens(tmp_path):
    rows = [(f"LJ001-{i:04d}", f"Text {i}.", f"Text number {'abcdefghij'[i % 10]}.") for i in range(1, 41)]
    rows[3] = ("LJ001-0004", "x", "a" * 120)
    rows[5] = ("LJ001-0006", "x", 'He said "no" to Müller;')
    folder = make_folder(tmp_path / "lj", rows)
    lines = []
    info = lj_data.prepare(
        {"source": "path", "path": str(folder), "expected_rows": 40},
        tmp_path / "m.json",
        tmp_path / "d",
        tmp_path / "x",
        log=lines.append,
        keep_archive=False,
    )
    assert info["rows"] == 40 and info["max_text_chars"] == 120
    assert (
        "1 transcript(s) longer than 97 characters are cut to 97, and 1 hold characters outside the "
        "tokenizer's 35 symbols, which become '#' (as in the homework)"
    ) in lines
