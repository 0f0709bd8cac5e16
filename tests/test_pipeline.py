"""The real Snakefile, run by real Snakemake on a tiny config in a temporary directory.

The session's one tiny run (``tiny_run`` in conftest, which also checks that nothing is left to do
after it) serves these checks: every output present and sensible; and the workflow lints clean. What
re-runs after a config change or a code edit is asked of a copy of the run in test_code_identity.py.
"""

import json

import pandas as pd
import pytest

from conftest import copy_workflow, snakemake, tiny_config, write_config
from hw2repro.q3 import dataset

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run_dir(tiny_run):
    return tiny_run  # the session's one tiny run (conftest), shared with other files: only read here


def test_every_q2_output_is_there_and_sensible(run_dir):
    q2 = run_dir / "results" / "q2"
    runs = pd.read_csv(q2 / "summary.csv")
    assert len(runs) == 4 and set(runs["pooling"]) == {"max", "none"}
    assert (runs["n_params"] == 224_892).all()
    assert (runs["n_test"] == 50 + 50 + 42 + 50).all()  # 50 per class drawn; the subset keeps 42 of class 2
    assert runs["test_acc"].between(0, 1).all() and runs["synthetic"].all()
    configs = pd.read_csv(q2 / "summary_by_config.csv")
    assert len(configs) == 4 and (configs["test_acc_n"] == 1).all()
    epochs = pd.read_csv(q2 / "epochs.csv")
    assert len(epochs) == 4 * 2 and set(epochs.columns) >= {"epoch", "train_loss", "val_acc", "seed"}
    best = pd.read_csv(q2 / "best_lr.csv")
    assert set(best["pooling"]) == {"max", "none"} and set(best["best_lr"]) <= {0.1, 0.01}
    for lr in ("0.1", "0.01"):
        for no_maxpool in ("True", "False"):
            for kind in ("training-loss", "validation-accuracy"):
                for ext in ("pdf", "png"):
                    f = q2 / "figures" / f"CNN-{kind}-{lr}-0.7-0-sgd-{no_maxpool}.{ext}"
                    assert f.stat().st_size > 1000, f
    assert (q2 / "figures" / "test_accuracy_overview.png").stat().st_size > 1000
    result = json.loads((q2 / "runs" / "max_lr0.1_seed42" / "result.json").read_text())
    assert result["env"]["torch_threads"] == 1
    assert result["env"]["device"].startswith("cpu")
    assert not list((q2 / "runs").glob("*/resume.pt"))  # removed once a job succeeds
    meta = json.loads((run_dir / "results" / "data" / "octmnist.json").read_text())
    assert meta["synthetic"] and "SYNTHETIC" in meta["label"]
    for rule_log in ("data/octmnist.log", "q2/train_max_lr0.1_seed42.log", "q2/aggregate.log"):
        assert (run_dir / "results" / "logs" / rule_log).stat().st_size > 0
    assert (run_dir / "results" / "benchmarks" / "q2" / "train_max_lr0.1_seed42.tsv").exists()


def test_every_q1_output_is_there_and_checks_pass(run_dir):
    q1 = run_dir / "results" / "q1"
    verification = pd.read_csv(q1 / "verification.csv")
    assert len(verification) > 10 and verification["passed"].all()
    scaling = pd.read_csv(q1 / "scaling.csv")
    assert set(scaling["L"]) == {64, 128, 256, 512}
    assert len(pd.read_csv(q1 / "complexity.csv")) > 0
    for name in ("scaling", "error_vs_scale", "feature_dim"):
        assert (q1 / "figures" / f"q1_{name}.png").stat().st_size > 1000


def test_every_q3_output_is_there_and_sensible(run_dir):
    q3 = run_dir / "results" / "q3"
    summary = pd.read_csv(q3 / "summary.csv")
    assert sorted(summary["decoder"]) == ["lstm", "transformer"]
    for metric in ("jaccard", "cosine", "damerau_levenshtein"):
        assert summary[f"test_{metric}"].between(0, 1).all()
        assert summary[f"audio_blind_{metric}"].between(0, 1).all()
    epochs = pd.read_csv(q3 / "epochs.csv")
    assert len(epochs) == 2 * 2 and {"train_loss", "val_loss", "val_damerau_levenshtein"} <= set(epochs.columns)
    manifest = json.loads((run_dir / "results" / "data" / "ljspeech.json").read_text())
    assert manifest["synthetic"] and manifest["rows"] == 60
    for split, n in (("train", 45), ("val", 3), ("test", 12)):
        assert (q3 / "features" / f"{split}.pt").exists()
        assert dataset.load_split(q3 / "features" / f"{split}.pt").features.shape[0] == n
    predictions = (q3 / "runs" / "transformer_seed42" / "predictions.txt").read_text()
    assert predictions.count("\n") >= 12
    for name in ("loss_train_val", "val_similarities", "test_table"):
        assert (q3 / "figures" / f"{name}.png").stat().st_size > 1000
    assert not list((q3 / "runs").glob("*/resume.pt"))


def test_lint_is_clean(tmp_path):
    work = copy_workflow(tmp_path)  # not in the shared run: Snakemake writes under .snakemake/
    write_config(work / "tiny.yaml", tiny_config())
    proc = snakemake(work, "--lint", "--configfile", "tiny.yaml", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Lints for" not in proc.stdout + proc.stderr
