"""Inputs outside the pipeline are watched by content: a user's octmnist.npz replaced with an older
time stamp, or a wav changed, added or deleted in a `source: path` LJ folder, re-plans the data rule."""

import os

import numpy as np
import pytest
from test_q3_data import make_folder, write_wav

from conftest import copy_workflow, make_octmnist_arrays, snakemake, tiny_config, write_config
from hw2repro import input_identity

OLD = (1_000_000_000, 1_000_000_000)  # 2001: older than any output


def planned(work, target, config="c.yaml") -> str:
    return snakemake(work, "-n", target, "--configfile", config).stdout


def test_file_identity_is_content_whatever_the_times(tmp_path):
    path, cache = tmp_path / "a.npz", tmp_path / "cache.json"
    path.write_bytes(b"one")
    first = input_identity.file_identity(path, cache)
    assert first == input_identity.file_identity(path, cache)
    path.write_bytes(b"two")  # same size, other content, time stamp set back (cp -p)
    os.utime(path, ns=OLD)
    assert input_identity.file_identity(path, cache) not in (first, "missing")
    assert input_identity.file_identity(tmp_path / "none", cache) == "missing"


def test_clips_identity_sees_a_changed_added_or_deleted_wav(tmp_path):
    folder = make_folder(tmp_path / "lj", n_samples=400)
    seen = {input_identity.clips_identity(folder)}
    wav = folder / "wavs" / "LJ001-0001.wav"
    write_wav(wav, np.zeros(401))
    seen.add(input_identity.clips_identity(folder))
    write_wav(folder / "wavs" / "LJ009-0001.wav", np.zeros(400))
    seen.add(input_identity.clips_identity(folder))
    wav.unlink()
    seen.add(input_identity.clips_identity(folder))
    assert len(seen) == 4


@pytest.mark.slow
def test_a_replaced_octmnist_file_with_an_older_mtime_replans_the_data_rule(tmp_path):
    work = copy_workflow(tmp_path / "w")
    user = tmp_path / "octmnist.npz"
    np.savez(user, **make_octmnist_arrays(seed=0))
    config = tiny_config()
    config["data"]["octmnist"] = {"source": "file", "path": str(user)}
    write_config(work / "c.yaml", config)
    target = "results/data/octmnist.json"
    snakemake(work, target, "--cores", "1", "--configfile", "c.yaml")
    assert "rule octmnist_data" not in planned(work, target)
    np.savez(user, **make_octmnist_arrays(seed=1))  # other content, then an older time stamp
    os.utime(user, ns=OLD)
    assert "rule octmnist_data" in planned(work, target)


@pytest.mark.slow
def test_a_changed_added_or_deleted_wav_replans_the_lj_data_rule(tmp_path):
    work = copy_workflow(tmp_path / "w")
    folder = make_folder(tmp_path / "lj", n_samples=4000)
    config = tiny_config()
    config["data"]["ljspeech"] = {"source": "path", "path": str(folder), "expected_rows": 40}
    write_config(work / "c.yaml", config)
    target = "results/data/ljspeech.json"
    snakemake(work, target, "--cores", "1", "--configfile", "c.yaml")
    assert "rule ljspeech_data" not in planned(work, target)
    wav = folder / "wavs" / "LJ001-0001.wav"
    write_wav(wav, np.ones(4000))
    os.utime(wav, ns=OLD)
    assert "rule ljspeech_data" in planned(work, "results/q3/features/train.pt")
