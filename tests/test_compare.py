"""make compare on real runs: the session's tiny run (A) against partial second runs (B).

Each B starts as a copy of A's result root (a relocated copy must stay valid), has some outputs
deleted, and gets them back from real Snakemake jobs under its own root (config key `results`),
with the same or a changed config. Then the real command line compares the two roots.
"""

import json
import os
import re
import shutil
import subprocess
import sys

import pandas as pd
import pytest

from conftest import REPO, copy_workflow, snakemake, tiny_config, write_config

pytestmark = pytest.mark.slow

COMPARE = [sys.executable, "-m", "hw2repro.compare"]
COMPARE_ENV = {**os.environ, "PYTHONPATH": str(REPO / "workflow")}


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """A fresh copy of the workflow where the B runs are made (A stays untouched)."""
    return copy_workflow(tmp_path_factory.mktemp("compare"))


def b_root(tiny_run, work, name, delete, **changes):
    """Root ``name``: A's results copied, ``delete`` removed, and ``{name}.yaml``: the tiny config
    plus ``changes`` ({"q2": {"threads": 2}}) with ``name`` as its output root."""
    root = work / name
    shutil.copytree(tiny_run / "results", root, symlinks=True)
    remove(root, delete + ["config.yaml"])
    config = tiny_config()
    for section, values in changes.items():
        config[section].update(values)
    config["results"] = name
    write_config(work / f"{name}.yaml", config)
    return root


def remove(root, paths):
    for rel in paths:
        path = root / rel
        shutil.rmtree(path) if path.is_dir() else path.unlink()


def make(work, name, targets, *extra, check=True):
    """``targets`` (under root ``name``) built by real Snakemake jobs with ``{name}.yaml``."""
    paths = [f"{name}/{t}" for t in targets]  # before --configfile, which takes every word after it
    return snakemake(work, *paths, "--cores", "2", "--configfile", f"{name}.yaml", *extra, check=check)


def second_run(tiny_run, work, name, delete, targets, **changes):
    """``b_root``, then ``targets`` rebuilt."""
    root = b_root(tiny_run, work, name, delete, **changes)
    make(work, name, targets + ["config.yaml"])
    return root


def compare(a, b, out, *extra):
    proc = subprocess.run(
        env=COMPARE_ENV,
        args=[*COMPARE, str(a), str(b), "--out", str(out), *extra],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    table = pd.read_csv(out / "compare.csv", keep_default_na=False) if (out / "compare.csv").exists() else None
    return proc, table


def rows(table, kind, status=None):
    sub = table[table["kind"] == kind]
    return sub if status is None else sub[sub["status"] == status]


def test_same_config_rerun_is_identical(tiny_run, work, tmp_path):
    """The determinism promise, and the fix that a damaged file's error names. B starts as A's results
    with its training features cut in half: Q3 training stops with one line naming the file and the
    fix. With that fix (--forcerun q3_features), B makes the OCT data, the speech corpus, the features,
    a Q2 and a Q3 training job again from scratch (the rest is A's, copied), and every byte is A's."""
    lstm = "q3/runs/lstm_seed42"
    b = b_root(tiny_run, work, "same", [lstm])
    features = b / "q3" / "features" / "train.pt"
    features.write_bytes(features.read_bytes()[: features.stat().st_size // 2])
    proc = make(work, "same", [f"{lstm}/test.json"], check=False)
    assert proc.returncode != 0
    log = (b / "logs" / "q3" / "train_lstm_seed42.log").read_text()
    errors = [line for line in log.splitlines() if "ERROR" in line]
    assert len(errors) == 1 and "unexpected failure" not in log and "Traceback" not in log, log
    assert "same/q3/features/train.pt: not a readable features file" in errors[0]
    assert "delete it and rerun, or add --forcerun q3_features" in errors[0]
    fix = ["--forcerun", "q3_features"]
    planned = make(work, "same", [f"{lstm}/test.json"], "-n", *fix).stdout
    assert sorted(re.findall(r"wildcards: split=(\w+)", planned)) == ["test", "train", "val"], planned
    # the rest from scratch, with the fix
    corpus = "data/ljspeech_synthetic"
    remove(b, ["data/octmnist.npz", "data/octmnist.json", corpus, "data/ljspeech.json", "q2/runs/max_lr0.1_seed42"])
    make(work, "same", ["q2/runs/max_lr0.1_seed42/model.pt", f"{lstm}/test.json", "config.yaml"], *fix)
    proc, table = compare(tiny_run / "results", b, tmp_path)
    assert proc.returncode == 0, proc.stdout
    assert proc.stdout.startswith("REPRODUCED")
    numbers = rows(table, "number")
    counted = numbers[numbers["counts"]]
    assert len(counted) > 300 and (counted["status"] == "equal").all()
    # every weight file (the two re-made ones included), the re-made data, features and predictions, byte for byte
    files = rows(table, "file").set_index("file")
    weights = [f for f in files.index if f.endswith("model.pt")]
    assert len(weights) == 4 + 2 and (files.loc[weights, "status"] == "identical").all()
    remade = ["data/octmnist.npz", "data/ljspeech.json", "q3/runs/lstm_seed42/predictions.txt"] + [
        f"q3/features/{split}.{ext}" for split in ("train", "val", "test") for ext in ("pt", "features.npy")
    ]
    assert (files.loc[remade, "status"] == "identical").all(), files.loc[remade]
    # the corpus itself (transcripts, synthesis record, every wav), which compare does not list
    a_corpus, b_corpus = tiny_run / "results" / corpus, b / corpus
    made = sorted(p.relative_to(b_corpus) for p in b_corpus.rglob("*") if p.is_file())
    assert len(made) == 2 + 60 and made == sorted(p.relative_to(a_corpus) for p in a_corpus.rglob("*") if p.is_file())
    assert [str(p) for p in made if (a_corpus / p).read_bytes() != (b_corpus / p).read_bytes()] == []
    assert rows(table, "setting").empty and rows(table, "environment").empty
    assert compare(tiny_run / "results", b, tmp_path / "bitwise", "--bitwise")[0].returncode == 0
    for name in ("compare.md", "compare.html"):
        assert "REPRODUCED" in (tmp_path / name).read_text()
    assert "NOT REPRODUCED" not in (tmp_path / "compare.md").read_text()


def test_changed_learning_rate_is_a_setting_and_metric_difference(tiny_run, work, tmp_path):
    # Q3 lr 1e-3 -> 3e-3: one decoder re-trained under the new root (one shows it as well as two)
    b = second_run(
        tiny_run,
        work,
        "lr",
        ["q3/runs/lstm_seed42"],
        ["q3/runs/lstm_seed42/test.json"],
        q3={"lr": 0.003},
    )
    proc, table = compare(tiny_run / "results", b, tmp_path)
    assert proc.returncode == 1, proc.stdout
    settings = rows(table, "setting").set_index("quantity")
    assert list(settings.index) == ["q3.lr"], settings  # the output roots differ too: by design, not listed
    assert settings.loc["q3.lr", "verdict"] == "changes results"
    assert (float(settings.loc["q3.lr", "a"]), float(settings.loc["q3.lr", "b"])) == (0.001, 0.003)
    differs = rows(table, "number", "differs")
    differs = differs[differs["counts"]]  # timings differ too, listed but not counted
    test_loss = differs[(differs["file"] == "q3/runs/lstm_seed42/test.json") & (differs["quantity"] == "test_loss")]
    assert len(test_loss) == 1 and float(test_loss["abs_diff"].iloc[0]) > 0
    assert differs["file"].str.startswith("q3/runs/").all()  # Q1 and Q2 untouched
    files = rows(table, "file").set_index("file")
    assert files.loc["q3/runs/lstm_seed42/model.pt", "status"] == "differs"
    assert files.loc["q2/runs/max_lr0.1_seed42/model.pt", "status"] == "identical"
    # worst first: the report's first difference row has the largest scaled difference
    md = (tmp_path / "compare.md").read_text()
    assert md.index("## Differences, worst first") < md.index("test.json") < md.index("## On one side only")
    scaled = pd.to_numeric(differs["scaled_diff"])
    first = md.split("## Differences, worst first")[1].split("\n| ")[2].split(" | ")  # the first table row
    match = (differs["file"] == first[1]) & (differs["item"] == first[2]) & (differs["quantity"] == first[3])
    assert match.sum() == 1 and scaled[match].iloc[0] == scaled.max(), first


def test_other_thread_count_is_named_as_expected_to_change_bits(tiny_run, work, tmp_path):
    b = second_run(
        tiny_run,
        work,
        "threads",
        ["q2/runs/max_lr0.1_seed42"],
        ["q2/runs/max_lr0.1_seed42/result.json"],
        q2={"threads": 2},
    )
    proc, table = compare(tiny_run / "results", b, tmp_path)
    settings = rows(table, "setting").set_index("quantity")
    assert list(settings.index) == ["q2.threads"]
    assert settings.loc["q2.threads", "verdict"].startswith("expected to change bits")
    env = rows(table, "environment").set_index("quantity")
    assert list(env.index) == ["torch_threads"]
    assert (env.loc["torch_threads", "a"], env.loc["torch_threads", "b"]) == ("1", "2")
    assert env.loc["torch_threads", "item"] == "q2/runs/max_lr0.1_seed42"
    assert env.loc["torch_threads", "verdict"].startswith("expected to change bits")
    md = (tmp_path / "compare.md").read_text()
    assert "| torch_threads | 1 | 2 | q2/runs/max_lr0.1_seed42 | expected to change bits" in md
    # One definite outcome, measured on the x86-64 CPUs this suite runs on (torch 2.13, CPU build): with
    # 2 threads the weights' last bits move (another reduction order), every reported number stays the
    # same. So the numbers reproduce (exit 0: the named setting is not counted against it) and
    # --bitwise, which asks for the weights' bits too, does not (exit 1, that one file named).
    differs = rows(table, "number", "differs")
    assert not differs["counts"].any(), differs[differs["counts"]]  # timings differ too: listed, not counted
    assert proc.returncode == 0 and proc.stdout.startswith("REPRODUCED"), proc.stdout
    files = rows(table, "file").set_index("file")["status"]
    assert files["q2/runs/max_lr0.1_seed42/model.pt"] == "differs"
    assert (files.drop("q2/runs/max_lr0.1_seed42/model.pt") == "identical").all()
    bitwise, _ = compare(tiny_run / "results", b, tmp_path / "bitwise", "--bitwise")
    assert bitwise.returncode == 1 and "q2/runs/max_lr0.1_seed42/model.pt" in bitwise.stdout, bitwise.stdout


def test_missing_run_and_missing_root_are_listed_not_a_crash(tiny_run, work, tmp_path):
    b = work / "missing"
    shutil.copytree(tiny_run / "results", b)
    shutil.rmtree(b / "q3" / "runs" / "transformer_seed42")
    (b / "config.yaml").unlink()  # e.g. a root made before runs recorded their config
    shutil.rmtree(b / "report")  # a partial run: no report, so no commit or library versions
    (b / "q2" / "best_lr.csv").write_text("")  # a truncated copy
    proc, table = compare(tiny_run / "results", b, tmp_path)
    assert proc.returncode == 1
    run = rows(table, "run").set_index("file")
    assert run.loc["q3/runs/transformer_seed42", "status"] == "only in A"
    numbers = rows(table, "number", "only in A")
    numbers = numbers[numbers["file"] != "q2/best_lr.csv"]  # the truncated file, below
    assert set(numbers["file"]) == {"q3/runs/transformer_seed42/metrics.csv", "q3/runs/transformer_seed42/test.json"}
    assert (numbers["quantity"] == "(whole file)").all()  # one row per missing file, not one per number
    assert rows(table, "file", "only in A")["file"].tolist() == [
        "q3/runs/transformer_seed42/model.pt",
        "q3/runs/transformer_seed42/predictions.txt",
    ]
    assert rows(table, "setting")["status"].tolist() == ["not recorded in B"]
    assert rows(table, "environment")["status"].tolist() == ["not recorded in B"]
    unreadable = rows(table, "number", "only in B")
    assert unreadable[["file", "quantity"]].values.tolist() == [["q2/best_lr.csv", "(unreadable)"]]
    assert "NOT REPRODUCED" in proc.stdout and "q3/runs/transformer_seed42" in proc.stdout
    # swapped: the same run is now only in B
    _, swapped = compare(b, tiny_run / "results", tmp_path / "swapped")
    assert rows(swapped, "run")["status"].tolist() == ["only in B"]
    # a root that does not exist at all: one line, exit status 2
    proc = subprocess.run(
        env=COMPARE_ENV,
        args=[*COMPARE, str(tiny_run / "results"), str(work / "nowhere"), "--out", str(tmp_path / "x")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "does not exist" in proc.stderr and "Traceback" not in proc.stderr


def test_tolerance_accepts_small_differences_only(tiny_run, work, tmp_path):
    b = work / "nudged"
    shutil.copytree(tiny_run / "results", b)
    path = b / "q2" / "runs" / "max_lr0.1_seed42" / "result.json"
    result = json.loads(path.read_text())
    result["test_acc"] += 1e-9
    path.write_text(json.dumps(result))
    proc, table = compare(tiny_run / "results", b, tmp_path / "exact")
    assert proc.returncode == 1
    assert rows(table, "number", "differs")["quantity"].tolist() == ["test_acc"]
    proc, table = compare(tiny_run / "results", b, tmp_path / "tol", "--tol", "1e-6")
    assert proc.returncode == 0, proc.stdout
    assert rows(table, "number", "within tolerance")["quantity"].tolist() == ["test_acc"]
    proc, _ = compare(tiny_run / "results", b, tmp_path / "tight", "--tol", "1e-12")
    assert proc.returncode == 1


def test_paper_and_default_runs_have_separate_roots(tmp_path):
    # the DAG of each config (dry run): every output of the paper config lies under results-paper/
    copy_workflow(tmp_path)
    outputs = {}
    for name, extra in (("default", []), ("paper", ["--configfile", "config/paper.yaml"])):
        proc = snakemake(tmp_path, "-n", "--cores", "1", "--summary", *extra)
        table = [line.split("\t") for line in proc.stdout.splitlines() if line.count("\t") >= 4]
        # every output and every log file (column 4: '-' or comma-separated paths)
        outputs[name] = {f.strip() for row in table[1:] for f in [row[0], *row[3].split(",")] if f.strip() != "-"}
    assert outputs["default"] and all(p.startswith("results/") for p in outputs["default"])
    assert outputs["paper"] and all(p.startswith("results-paper/") for p in outputs["paper"])
    assert "results/config.yaml" in outputs["default"] and "results-paper/config.yaml" in outputs["paper"]
