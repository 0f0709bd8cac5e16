"""hw2repro.targets and hw2repro.result_keys: the paths, target lists and job lists the rules, the
report and the tests share, as pure functions of the merged config (no Snakemake here)."""

import re

import pytest

from conftest import REPO
from hw2repro import defaults, result_keys, targets
from hw2repro.errors import InputError


def rule_names() -> set[str]:
    text = "".join(p.read_text() for p in (REPO / "workflow" / "rules").glob("*.smk"))
    return set(re.findall(r"^rule (\w+):", text, flags=re.M))


def test_numbers_in_names_read_back_exactly():
    assert [targets.fmt_num(x) for x in (0.1, 0.01, 0.7, 0, 0.0123456789)] == [
        "0.1",
        "0.01",
        "0.7",
        "0",
        "0.0123456789",
    ]


def test_a_grid_value_listed_twice_is_refused():
    with pytest.raises(InputError, match="q2.lrs"):
        targets.check_grids(defaults.load({"q2": {"lrs": [0.1, 0.10]}}))


def test_default_config_targets():
    config = defaults.load({"results": "out/"})
    assert targets.q2_runs(config)[0] == "out/q2/runs/max_lr0.1_seed42"
    assert len(targets.q2_runs(config)) == 6
    assert "out/q2/figures/CNN-training-loss-0.01-0.7-0-sgd-True.pdf" in targets.q2_final_outputs(config)
    assert targets.q3_runs(config) == [("lstm", 42), ("transformer", 42)]
    assert targets.q3_feature_file(config, "val", "array") == "out/q3/features/val.features.npy"
    assert len(targets.q3_run_plots(config)) == 2 * len(targets.Q3_ORIGINAL_PLOTS) * 2


def test_job_lists_name_real_rules_once_per_job():
    config = defaults.load({"q2": {"seeds": [1, 2]}})
    jobs = targets.q1_jobs(config) + targets.q2_jobs(config) + targets.q3_jobs(config)
    assert {rule for rule, _ in jobs} <= rule_names()
    assert len({(rule, tuple(sorted(w.items()))) for rule, w in jobs}) == len(jobs)
    assert sum(rule == "q2_train" for rule, _ in jobs) == 12  # 2 poolings x 3 lrs x 2 seeds


def test_training_settings_hold_what_changes_a_run_and_nothing_else():
    config = defaults.load()
    q2 = result_keys.training_settings(config, "q2")
    assert list(q2) == ["epochs", "batch_size", "dropout", "l2_decay", "optimizer"]
    q3 = result_keys.training_settings(config, "q3")
    assert not {"threads", "gpu", "allow_cuda", "seeds", "decoders", "features", "train_mem_mb"} & set(q3)
    assert {"lr", "batch_size", "hidden_dim", "epochs"} <= set(q3)
    assert result_keys.effect("q3.threads")[0] == "bits"
    assert result_keys.effect("q3.train_runtime")[0] == "none"
    assert result_keys.effect("q2.lrs")[0] == "changes"
