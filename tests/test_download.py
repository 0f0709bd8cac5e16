"""The shared downloader against a real local HTTP server: verify, resume, never keep a bad file."""

import hashlib
import io

import numpy as np
import pytest

from hw2repro import download
from hw2repro.q2 import data as octmnist_data
from hw2repro.q2 import octmnist
from hw2repro.download import DownloadError

from conftest import make_octmnist_arrays
from http_fixture import serve_bytes

BODY = bytes(range(256)) * 400  # 102,400 bytes
MD5 = hashlib.md5(BODY).hexdigest()
SHA = hashlib.sha256(BODY).hexdigest()


def test_download_verifies_and_saves(tmp_path):
    with serve_bytes({"/f.bin": BODY}) as (url, _):
        path = download.fetch(f"{url}/f.bin", tmp_path / "f.bin", size=len(BODY), md5=MD5, sha256=SHA,
                              log=lambda m: None)
    assert path.read_bytes() == BODY
    assert not (tmp_path / "f.bin.part").exists()


def test_partial_download_is_resumed_with_range(tmp_path):
    (tmp_path / "f.bin.part").write_bytes(BODY[:30000])
    with serve_bytes({"/f.bin": BODY}) as (url, ranges):
        download.fetch(f"{url}/f.bin", tmp_path / "f.bin", size=len(BODY), sha256=SHA, log=lambda m: None)
    assert ranges == ["bytes=30000-"]
    assert (tmp_path / "f.bin").read_bytes() == BODY


def test_server_without_range_support_restarts_cleanly(tmp_path):
    (tmp_path / "f.bin.part").write_bytes(b"x" * 1000)
    with serve_bytes({"/f.bin": BODY}, honour_range=False) as (url, _):
        download.fetch(f"{url}/f.bin", tmp_path / "f.bin", size=len(BODY), md5=MD5, log=lambda m: None)
    assert (tmp_path / "f.bin").read_bytes() == BODY


def test_checksum_mismatch_leaves_no_file(tmp_path):
    with serve_bytes({"/f.bin": BODY}) as (url, _):
        with pytest.raises(DownloadError, match="md5 mismatch"):
            download.fetch(f"{url}/f.bin", tmp_path / "f.bin", md5="0" * 32, log=lambda m: None)
    assert not (tmp_path / "f.bin").exists() and not (tmp_path / "f.bin.part").exists()


def test_truncated_download_is_rejected(tmp_path):
    with serve_bytes({"/f.bin": BODY[:5000]}) as (url, _):
        with pytest.raises(DownloadError, match=f"expected {len(BODY):,} bytes, got 5,000"):
            download.fetch(f"{url}/f.bin", tmp_path / "f.bin", size=len(BODY), log=lambda m: None)
    assert not (tmp_path / "f.bin").exists()


def test_unreachable_server_gives_manual_hint(tmp_path):
    with serve_bytes({}) as (url, _):
        dead = url  # the server is shut down when the block ends
    with pytest.raises(DownloadError, match="by hand"):
        download.fetch(f"{dead}/octmnist.npz", tmp_path / "o.npz", manual_hint=octmnist.MANUAL_HINT,
                       log=lambda m: None, timeout=5)


def test_octmnist_download_source_end_to_end(tmp_path):
    buf = io.BytesIO()
    np.savez_compressed(buf, **make_octmnist_arrays())
    blob = buf.getvalue()
    cfg = {"source": "download", "url": None, "md5": hashlib.md5(blob).hexdigest(), "size": len(blob)}
    with serve_bytes({"/octmnist.npz": blob}) as (url, _):
        cfg["url"] = f"{url}/octmnist.npz"
        octmnist_data.prepare(cfg, tmp_path / "o.npz", tmp_path / "o.json", tmp_path / "dl", log=lambda m: None)
    assert octmnist.load_npz(tmp_path / "o.npz")["test_labels"].shape == (560, 1)
    assert (tmp_path / "dl" / "octmnist.npz").exists()  # the verified download is kept as a cache
