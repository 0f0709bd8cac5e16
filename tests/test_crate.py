"""The run package (python -m hw2repro.crate): a Workflow Run RO-Crate of the shared tiny run that the
community validator (roc-validator, offline) passes at REQUIRED level for every profile it claims, and
that make compare reads only after verifying it (checksums, sizes, zip-slip, links)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from crate_validation import issues, validate, warm_cache

from conftest import REPO, once_per_session

ENV = {**os.environ, "PYTHONPATH": str(REPO / "workflow")}
# The profiles' permalinks as the crate claims them -> the validator's profile identifiers.
VALIDATOR_PROFILES = {
    "https://w3id.org/ro/crate/1.1": "ro-crate-1.1",
    "https://w3id.org/ro/wfrun/process/0.5": "process-run-crate-0.5",
    "https://w3id.org/ro/wfrun/workflow/0.5": "workflow-run-crate-0.5",
    "https://w3id.org/ro/wfrun/provenance/0.5": "provenance-run-crate-0.5",
    "https://w3id.org/workflowhub/workflow-ro-crate/1.0": "workflow-ro-crate-1.0",
}


def run_module(module, *args, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", module, *map(str, args)], env=ENV, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="session")
def crate(tiny_run, tmp_path_factory):
    """The tiny run's crate, made once for all xdist workers (read-only: a test that changes it copies it)."""

    def make(folder: Path) -> None:
        folder.mkdir()
        out = folder / "tiny.crate.zip"
        proc = run_module("hw2repro.crate", tiny_run / "results", "--out", out)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == str(out)  # make crate prints the path

    return once_per_session(tmp_path_factory, "crate", make) / "tiny.crate.zip"


@pytest.fixture(scope="module")
def validator_cache(tmp_path_factory):
    path = tmp_path_factory.mktemp("validator-cache") / "http"
    warm_cache(path)
    return path


def metadata(crate_path: Path) -> dict:
    with zipfile.ZipFile(crate_path) as zf:
        return json.loads(zf.read("ro-crate-metadata.json"))


def entity(meta, id_):
    return next(e for e in meta["@graph"] if e["@id"] == id_)


def claimed(meta) -> list[str]:
    descriptor = entity(meta, "ro-crate-metadata.json")
    ids = [descriptor["conformsTo"]] if isinstance(descriptor["conformsTo"], dict) else descriptor["conformsTo"]
    ids += entity(meta, "./")["conformsTo"]
    return sorted({VALIDATOR_PROFILES[c["@id"]] for c in ids})


def transitive_profiles(identifier: str) -> set[str]:
    """The permalinks of the profiles the validator checks along with ``identifier`` (its profile.ttl)."""
    import rdflib
    from rocrate_validator.utils.paths import get_profiles_path

    name, version = identifier.rsplit("-", 1)
    graph = rdflib.Graph().parse(Path(get_profiles_path()) / name / "profile.ttl")
    prof = rdflib.Namespace("http://www.w3.org/ns/dx/prof/")
    return {str(o) for o in graph.objects(None, prof.isTransitiveProfileOf)}


def test_crate_passes_the_validator_for_every_profile_it_claims(crate, validator_cache):
    """One run of the deepest profile checks every profile it extends (inheritance on): each claimed
    profile must be among them, so all are validated at REQUIRED level in one pass."""
    profiles = claimed(metadata(crate))
    assert {"provenance-run-crate-0.5", "workflow-run-crate-0.5", "process-run-crate-0.5"} <= set(profiles)
    deepest = "provenance-run-crate-0.5"
    inverse = {v: k for k, v in VALIDATOR_PROFILES.items()}
    assert {inverse[p] for p in profiles} - {inverse[deepest]} <= transitive_profiles(deepest)
    result = validate(crate, deepest, validator_cache)
    assert result.passed(), f"{deepest}: {issues(result)}"


def test_validator_fails_when_a_required_property_is_removed(crate, validator_cache, tmp_path):
    folder = tmp_path / "crate"
    with zipfile.ZipFile(crate) as zf:
        zf.extractall(folder)
    meta = json.loads((folder / "ro-crate-metadata.json").read_text())
    del entity(meta, "./")["license"]  # RO-Crate 1.1: the root MUST have a licence
    (folder / "ro-crate-metadata.json").write_text(json.dumps(meta))
    result = validate(folder, "workflow-ro-crate-1.0", validator_cache)
    assert not result.passed()
    assert any("license" in i for i in issues(result)), issues(result)


def test_crate_records_every_job_with_its_rule_code_and_times(crate, tiny_run):
    meta = metadata(crate)
    root = tiny_run / "results"
    jobs = {e["@id"]: e for e in meta["@graph"] if e["@id"].startswith("#job-")}
    benchmarks = sorted(
        p.relative_to(root / "benchmarks").with_suffix("").as_posix() for p in root.glob("benchmarks/**/*.tsv")
    )
    assert sorted(i.removeprefix("#job-") for i in jobs) == benchmarks
    train = jobs["#job-q2/train_max_lr0.1_seed42"]
    assert train["instrument"] == {"@id": "#rule-q2_train"}
    assert train["startTime"] <= train["endTime"]
    results = [r["@id"] for r in (train["result"] if isinstance(train["result"], list) else [train["result"]])]
    assert "q2/runs/max_lr0.1_seed42/model.pt" in results
    rule = entity(meta, "#rule-q2_train")
    parts = {p["@id"] for p in rule["hasPart"]}
    assert {"workflow/scripts/q2_train.py", "workflow/hw2repro/q2/train.py"} <= parts
    main = entity(meta, "workflow/Snakefile")
    assert "ComputationalWorkflow" in main["@type"] and main["version"]
    # every file's checksum and size as stated
    with zipfile.ZipFile(crate) as zf:
        for e in meta["@graph"]:
            if e.get("@type") == "File":
                data = zf.read(e["@id"])
                assert int(e["contentSize"]) == len(data), e["@id"]


def test_third_party_data_and_weights_are_left_out_when_asked(tmp_path):
    from hw2repro.crate.contents import result_files

    root = tmp_path / "results"
    (root / "data" / "LJSpeech-1.1" / "wavs").mkdir(parents=True)
    (root / "data" / "LJSpeech-1.1" / "wavs" / "LJ001-0001.wav").write_bytes(b"RIFF")
    (root / "data" / "octmnist.npz").write_bytes(b"PK")
    (root / "data" / "octmnist.json").write_text('{"source": "download"}')
    (root / "data" / "ljspeech.json").write_text('{"source": "download"}')
    (root / "q2" / "runs" / "a").mkdir(parents=True)
    (root / "q2" / "runs" / "a" / "model.pt").write_bytes(b"w")
    (root / "q2" / "runs" / "a" / "metrics.csv").write_text("epoch\n1\n")
    kept = {p.relative_to(root).as_posix() for p in result_files(root, weights=False)[0]}
    assert kept == {"data/octmnist.json", "data/ljspeech.json", "q2/runs/a/metrics.csv"}
    kept = {p.relative_to(root).as_posix() for p in result_files(root, weights=True)[0]}
    assert "q2/runs/a/model.pt" in kept and "data/octmnist.npz" not in kept


# ------------------------------------------------------------------------------ make compare on crates


def compare(a, b, out):
    proc = run_module("hw2repro.compare", a, b, "--out", out, "--bitwise")
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def rewrite(crate: Path, out: Path, change) -> Path:
    """A copy of ``crate`` with ``change(name, data) -> [(ZipInfo or name, data), ...]`` applied per entry."""
    with zipfile.ZipFile(crate) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            for target, data in change(info.filename, src.read(info)):
                dst.writestr(target, data)
    return out


def test_compare_reads_a_crate_against_its_own_root(crate, tiny_run, tmp_path):
    proc = compare(crate, tiny_run / "results", tmp_path / "cmp")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("REPRODUCED")


def test_compare_refuses_a_crate_with_changed_bytes_naming_the_file(crate, tiny_run, tmp_path):
    victim = "q2/runs/max_lr0.1_seed42/metrics.csv"
    bad = rewrite(crate, tmp_path / "bad.zip", lambda n, d: [(n, d.replace(b"0", b"1", 1) if n == victim else d)])
    proc = compare(bad, tiny_run / "results", tmp_path / "cmp")
    assert proc.returncode == 2
    assert victim in proc.stderr and "checksum" in proc.stderr
    assert not (tmp_path / "cmp" / "compare.csv").exists()  # refused before anything was compared


def test_compare_refuses_a_crate_with_a_parent_entry(crate, tiny_run, tmp_path):
    bad = rewrite(
        crate, tmp_path / "slip.zip", lambda n, d: [(n, d)] + ([("../evil.txt", b"x")] if n == "config.yaml" else [])
    )
    proc = compare(bad, tiny_run / "results", tmp_path / "cmp")
    assert proc.returncode == 2 and "'../evil.txt'" in proc.stderr, proc.stderr
    assert not (tmp_path / "evil.txt").exists()


def test_compare_refuses_a_crate_with_a_symlink_entry(crate, tiny_run, tmp_path):
    link = zipfile.ZipInfo("q2/link")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    bad = rewrite(
        crate, tmp_path / "link.zip", lambda n, d: [(n, d)] + ([(link, b"/etc/passwd")] if n == "config.yaml" else [])
    )
    proc = compare(bad, tiny_run / "results", tmp_path / "cmp")
    assert proc.returncode == 2 and "'q2/link' is a link" in proc.stderr, proc.stderr


def test_make_crate_writes_nothing_into_the_root(tiny_run):
    proc = run_module("hw2repro.crate", tiny_run / "results", "--out", tiny_run / "results" / "x.crate.zip")
    assert proc.returncode == 2 and "inside the result root" in proc.stderr
    assert not (tiny_run / "results" / "x.crate.zip").exists()
