"""Every user-fixable cause ends in one line naming the file or key and the fix, not 'unexpected failure'."""

import errno
import os
import zipfile

import numpy as np
import pytest
import yaml
from test_q3_data import make_folder

from conftest import REPO
from hw2repro import config_values, joblog
from hw2repro.q1 import verify
from hw2repro.q2 import octmnist
from hw2repro.q3 import data as lj_data
from hw2repro.q3 import features as F
from hw2repro.q3 import ljspeech as lj


def one_line(text, *needles):
    assert "\n" not in text, text
    for needle in needles:
        assert needle in text, (needle, text)


def test_disk_full_names_the_file_the_free_space_and_the_rerun():
    try:
        with open("/dev/full", "w") as fh:  # a real ENOSPC from the kernel
            fh.write("x")
    except OSError as exc:
        error = exc
    line = joblog.os_error_line(error, outputs=["results/q2/summary.csv"])
    one_line(line, "disk is full", "results/q2/summary.csv", "MiB free", "rerun the same command")


def test_an_os_error_with_no_user_fix_stays_unexpected():
    assert joblog.os_error_line(OSError(errno.EIO, "I/O error"), outputs=[]) is None


def test_a_zip_whose_members_are_not_npy_is_named(tmp_path):
    path = tmp_path / "octmnist.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("train_images.txt", "not an array")
    with pytest.raises(octmnist.DataError) as err:
        octmnist.load_npz(path)
    one_line(str(err.value), str(path), "train_images.txt", "not .npy arrays")


def test_a_symlink_loop_as_a_data_path_is_named_with_its_key(tmp_path):
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    found = config_values.problems({"data": {"octmnist": {"path": str(loop)}}, "results": "results"}, cwd=tmp_path)
    assert found == [
        f"invalid config: data.octmnist.path: '{loop}' is a symbolic link loop: point it at the file or folder itself"
    ]


def test_an_overlong_clip_id_is_named(tmp_path):
    folder = make_folder(tmp_path / "lj")
    clip = "A" * 300
    (folder / "metadata.csv").write_text(f"{clip}|x|x\n", encoding="utf-8")
    with pytest.raises(lj.LJSpeechError) as err:
        lj.read_metadata(folder)
    one_line(str(err.value), "metadata.csv", "300 bytes", "too long", "at most 250")


def test_an_empty_wav_is_named_as_empty(tmp_path):
    wav = tmp_path / "a.wav"
    wav.write_bytes(b"")
    with pytest.raises(lj.LJSpeechError) as err:
        lj.wav_info(wav)
    assert str(err.value) == f"{wav}: empty file (0 bytes): copy or extract the wav again"


def test_a_folder_with_too_few_rows_names_the_file_and_key(tmp_path):
    rows = [(f"LJ001-{i:04d}", "T.", "Text.") for i in range(1, 4)]
    folder = make_folder(tmp_path / "lj", rows=rows)
    with pytest.raises(lj.LJSpeechError) as err:
        lj_data.prepare(
            {"source": "path", "path": str(folder), "expected_rows": None},
            tmp_path / "m.json",
            tmp_path / "d",
            tmp_path / "dl",
            keep_archive=False,
            log=lambda m: None,
        )
    one_line(str(err.value), f"{folder / 'metadata.csv'} (data.ljspeech.path): 3 rows are too few", "17 rows")


def test_a_failing_q1_check_names_the_check_and_its_tolerance_key():
    base = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["q1"]
    tiny = yaml.safe_load((REPO / "config" / "tiny.yaml").read_text())["q1"]
    settings = {**base["verify"], **tiny["verify"], "identity_rtol": 1e-30}
    table, _ = verify.verification_tables(settings, {**base["approx"], **tiny["approx"]}, 0)
    line = verify.failure_line(verify.failed_checks(table))
    one_line(line, "Q1 check(s) failed (kernel_identity)", "set by q1.verify.identity_rtol", "fail_on_mismatch")
    assert issubclass(verify.CheckFailed, joblog.InputError)  # one line, not 'unexpected failure'


def test_the_cropping_warning_on_real_clips_does_not_speak_of_synthetic_sentences(tmp_path):
    folder = make_folder(tmp_path / "lj", n_samples=8000)
    manifest = lj_data.prepare(
        {"source": "path", "path": str(folder), "expected_rows": None},
        tmp_path / "m.json",
        tmp_path / "d",
        tmp_path / "dl",
        keep_archive=False,
        log=lambda m: None,
    )
    messages = []
    F.build_split(manifest, "val", 10, tmp_path / "val.pt", log=messages.append)
    warning = [m for m in messages if m.startswith("WARNING")]
    assert len(warning) == 1 and "synthetic" not in warning[0] and "q3.features.n_frames" in warning[0], warning
    assert os.path.exists(tmp_path / "val.pt") and np.load(tmp_path / "val.features.npy").shape[-1] == 10
