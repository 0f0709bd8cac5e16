"""Faults through the real rules, on a copy of the session's tiny run (``tiny_run`` in conftest):
a damaged features file stops q3_train with one line naming it and the fix, and the fix works;
every figure, made again from the same inputs, has the same bytes."""

import shutil

import pytest

from conftest import snakemake

FIGURE_RULES = ("q1_figures", "q2_config_figures", "q2_overview_figure", "q3_figures")


@pytest.fixture
def run_copy(tiny_run, tmp_path):
    """The tiny run's workflow, results and Snakemake metadata, copied: the shared run stays intact."""
    dest = tmp_path / "run"
    shutil.copytree(tiny_run, dest, symlinks=True)
    return dest


def figures(run):
    return sorted(
        p.relative_to(run)
        for ext in ("pdf", "png")
        for p in (run / "results").rglob(f"*.{ext}")
        if "report" not in p.parts
    )


def test_every_figure_is_byte_identical_when_made_again(tiny_run, run_copy):
    made = figures(run_copy)
    assert len(made) >= 20 and any("test_accuracy_overview" in str(p) for p in made)
    for path in made:
        (run_copy / path).unlink()
    snakemake(run_copy, "--cores", "2", "--configfile", "tiny.yaml", "--forcerun", *FIGURE_RULES, "--", *map(str, made))
    different = [str(p) for p in made if (run_copy / p).read_bytes() != (tiny_run / p).read_bytes()]
    assert different == []


def test_truncated_features_stop_training_in_one_line_and_the_named_fix_works(tiny_run, run_copy):
    features = run_copy / "results" / "q3" / "features" / "train.pt"
    features.write_bytes(features.read_bytes()[: features.stat().st_size // 2])
    target = "results/q3/runs/lstm_seed42/model.pt"
    proc = snakemake(
        run_copy, "--cores", "1", "--configfile", "tiny.yaml", "--forcerun", "q3_train", "--", target, check=False
    )
    assert proc.returncode != 0
    log = (run_copy / "results" / "logs" / "q3" / "train_lstm_seed42.log").read_text()
    errors = [line for line in log.splitlines() if "ERROR" in line]
    assert len(errors) == 1 and "unexpected failure" not in log and "Traceback" not in log, log
    assert "results/q3/features/train.pt: not a readable features file" in errors[0]
    assert "delete it and rerun, or add --forcerun q3_features" in errors[0]
    # the fix the line names: the features are rebuilt and training gives the same weights as before
    snakemake(run_copy, "--cores", "2", "--configfile", "tiny.yaml", "--forcerun", "q3_features", "--", target)
    assert (run_copy / target).read_bytes() == (tiny_run / target).read_bytes()
