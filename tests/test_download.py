"""The shared downloader against a real local HTTP server: verify, resume, never keep a bad file."""

import hashlib
import io

import numpy as np
import pytest

from conftest import make_octmnist_arrays
from http_fixture import serve_bytes
from hw2repro import download
from hw2repro.download import DownloadError
from hw2repro.q2 import data as octmnist_data
from hw2repro.q2 import octmnist

BODY = bytes(range(256)) * 400  # 102,400 bytes
MD5 = hashlib.md5(BODY).hexdigest()
SHA = hashlib.sha256(BODY).hexdigest()


def test_download_verifies_and_saves(tmp_path):
    with serve_bytes({"/f.bin": BODY}) as (url, _):
        path = download.fetch(
            f"{url}/f.bin", tmp_path / "f.bin", size=len(BODY), md5=MD5, sha256=SHA, log=lambda m: None
        )
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
    # the server states 5,000 bytes for the whole file: not the file we expect, nothing to resume
    with serve_bytes({"/f.bin": BODY[:5000]}) as (url, _):
        with pytest.raises(DownloadError, match=f"expected {len(BODY):,} bytes, got 5,000"):
            download.fetch(f"{url}/f.bin", tmp_path / "f.bin", size=len(BODY), log=lambda m: None)
    assert not (tmp_path / "f.bin").exists() and not (tmp_path / "f.bin.part").exists()


def test_clean_close_halfway_is_resumed_in_the_same_call(tmp_path):
    with serve_bytes({"/f.bin": BODY}, cut_after=40000) as (url, ranges):
        download.fetch(f"{url}/f.bin", tmp_path / "f.bin", size=len(BODY), sha256=SHA, log=lambda m: None)
    assert ranges == [None, "bytes=40000-", "bytes=80000-"]
    assert (tmp_path / "f.bin").read_bytes() == BODY


@pytest.mark.parametrize("size", [len(BODY), None])
def test_clean_close_keeps_the_part_and_the_next_run_resumes_it(tmp_path, size):
    with serve_bytes({"/f.bin": BODY}, cut_after=40000) as (url, _):
        with pytest.raises(DownloadError) as err:
            download.fetch(f"{url}/f.bin", tmp_path / "f.bin", size=size, sha256=SHA, log=lambda m: None, attempts=1)
    msg = str(err.value)
    assert "\n" not in msg and "stopped sending at byte 40,000 of 102,400" in msg
    assert "f.bin.part (40,000" in msg and "next run resumes it" in msg
    assert (tmp_path / "f.bin.part").read_bytes() == BODY[:40000]  # kept, not deleted
    with serve_bytes({"/f.bin": BODY}) as (url, ranges):
        download.fetch(f"{url}/f.bin", tmp_path / "f.bin", size=size, sha256=SHA, log=lambda m: None)
    assert ranges == ["bytes=40000-"] and (tmp_path / "f.bin").read_bytes() == BODY


def test_complete_part_is_verified_and_renamed_without_a_request(tmp_path):
    (tmp_path / "f.bin.part").write_bytes(BODY)  # killed between the last byte and the rename
    with serve_bytes({"/f.bin": BODY}) as (url, ranges):  # answers 416 to a Range past the end
        download.fetch(f"{url}/f.bin", tmp_path / "f.bin", size=len(BODY), md5=MD5, log=lambda m: None)
    assert ranges == [] and (tmp_path / "f.bin").read_bytes() == BODY
    assert not (tmp_path / "f.bin.part").exists()


def test_complete_part_without_a_known_size_is_verified_on_416(tmp_path):
    (tmp_path / "f.bin.part").write_bytes(BODY)
    with serve_bytes({"/f.bin": BODY}) as (url, ranges):
        download.fetch(f"{url}/f.bin", tmp_path / "f.bin", md5=MD5, log=lambda m: None)
    assert ranges == [f"bytes={len(BODY)}-"] and (tmp_path / "f.bin").read_bytes() == BODY


def test_octmnist_complete_part_is_used_not_refetched(tmp_path):
    buf = io.BytesIO()
    np.savez_compressed(buf, **make_octmnist_arrays())
    blob = buf.getvalue()
    (tmp_path / "dl").mkdir()
    (tmp_path / "dl" / "octmnist.npz.part").write_bytes(blob)
    cfg = {"source": "download", "md5": hashlib.md5(blob).hexdigest(), "size": len(blob)}
    with serve_bytes({"/octmnist.npz": blob}) as (url, ranges):
        cfg["url"] = f"{url}/octmnist.npz"
        octmnist_data.prepare(cfg, tmp_path / "o.npz", tmp_path / "o.json", tmp_path / "dl", log=lambda m: None)
    assert ranges == [] and (tmp_path / "dl" / "octmnist.npz").read_bytes() == blob


def test_unreachable_server_gives_manual_hint(tmp_path):
    with serve_bytes({}) as (url, _):
        dead = url  # the server is shut down when the block ends
    with pytest.raises(DownloadError, match="by hand"):
        download.fetch(
            f"{dead}/octmnist.npz", tmp_path / "o.npz", manual_hint=octmnist.MANUAL_HINT, log=lambda m: None, timeout=5
        )


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
