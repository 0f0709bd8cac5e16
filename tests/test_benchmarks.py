"""The benchmark suite's own arithmetic and checks (fast; the timings themselves run in `make bench`)."""

import json
from dataclasses import replace

import pytest
import torch

from bench import common, q2_loop, snakemake_runs, summary
from conftest import make_octmnist_arrays
from hw2repro import defaults
from hw2repro.q2 import model as cnn
from hw2repro.q2 import octmnist
from hw2repro.q2.train import Q2Settings


def q2_settings(pooling, lr, seed, **override):
    """A run's settings from config/config.yaml (where every default lives), with ``override``."""
    return replace(Q2Settings.from_config(defaults.load()["q2"], pooling, lr, seed), **override)


def hand_macs(pooling):
    """Multiply-adds per sample, from the layer shapes of hw2-q2.py's CNN, written out by hand."""
    if pooling == "max":
        conv1 = 8 * 28 * 28 * (1 * 3 * 3)  # 28x28 out (padding 1, stride 1), then pool -> 14x14
        conv2 = 16 * 12 * 12 * (8 * 3 * 3)  # 14x14 in, no padding -> 12x12, then pool -> 6x6
    else:
        conv1 = 8 * 14 * 14 * (1 * 3 * 3)  # stride 2, padding 1: 28 -> 14
        conv2 = 16 * 6 * 6 * (8 * 3 * 3)  # stride 2, no padding: 14 -> 6
    return [conv1, conv2, 576 * 320, 320 * 120, 120 * 4]


@pytest.mark.parametrize("pooling", ["max", "none"])
def test_cnn_flops_per_sample_match_hand_count(pooling):
    macs = hand_macs(pooling)
    out = q2_loop.training_flops_per_sample(cnn.build(pooling, 0.7))
    assert [r["macs"] for r in out["layers"]] == macs
    assert out["forward_flops"] == 2 * sum(macs)
    # forward + weight gradients + input gradients of every layer but the first
    assert out["training_flops"] == 2 * (3 * sum(macs) - macs[0])
    if pooling == "max":
        assert out["training_flops"] == 2_560_320  # 2 * (3 * 445,536 - 56,448)


def test_cnn_flops_agree_with_torch_flop_counter():
    from torch.utils.flop_counter import FlopCounterMode

    model = cnn.build("max", 0.7)
    x = torch.rand(4, 784)
    with FlopCounterMode(display=False) as fc:
        model(x).sum().backward()
    assert fc.get_total_flops() == 4 * q2_loop.training_flops_per_sample(model)["training_flops"]


def test_homework_loop_and_pipeline_loop_agree_bit_for_bit():
    arrays = make_octmnist_arrays(n_train=40, n_val=16, test_counts=(4, 4, 4, 4))
    data = octmnist.load_oct_data(arrays)
    settings = q2_settings("max", 0.05, 3, epochs=2)
    _, a = q2_loop._timed(q2_loop.homework_loop, 3, settings, data)
    _, b = q2_loop._timed(q2_loop.pipeline_loop, 3, settings, data)
    check = q2_loop.same_results(a, b)
    assert check["identical"], check
    _, c = q2_loop._timed(q2_loop.pipeline_loop, 4, settings, data)  # another seed differs
    assert not q2_loop.same_results(a, c)["weights_identical"]


def test_parse_job_count():
    nothing = "Building DAG of jobs...\nNothing to be done (all requested files are present"
    assert snakemake_runs.parse_job_count(nothing) == 0
    stats = "Job stats:\njob        count\n-------  -------\nall          1\nq2_train    30\ntotal       31\n"
    assert snakemake_runs.parse_job_count(stats) == 31
    assert snakemake_runs.parse_job_count("no table here") is None


def test_summary_table_from_section_files(tmp_path):
    machine = {
        "cpu": "X",
        "cpu_isa": "AVX2",
        "usable_cores": 2,
        "torch_threads": 1,
        "timestamp": "t",
        "versions": {"torch": "2", "snakemake": "9"},
        "git": {"commit": "abc", "dirty": False},
        "loadavg_start": [1.0, 1, 1],
        "loadavg_end": [2.0, 2, 2],
    }
    fig = common.figure("no-op snakemake -n", 1.25, "s", "< 3 s", True, "median")
    (tmp_path / "noop.json").write_text(
        json.dumps({"section": "noop", "quick": False, "machine": machine, "figures": [fig]})
    )
    (tmp_path / "other.json").write_text("{}")  # not a section: ignored
    text = summary.write_summary(tmp_path).read_text()
    assert "| noop | no-op snakemake -n | 1.25 s | < 3 s | yes | median |" in text
    assert "1.00 → 2.00" in text


def test_the_paper_cost_estimate_trains_at_the_full_size_pace_where_slower():
    """The per-sample rates of the q3 section (batch 8) against a full-size record at the paper's batch."""
    results = {
        name: json.loads((common.REPO / "bench" / "results" / f"{name}.json").read_text()) for name in ("q2-loop", "q3")
    }
    base = summary.paper_cost_estimate(results)["cpu"]
    jobs = [
        {"rule": "q3_train", "wildcards": {"decoder": "lstm"}, "throughput": {"value": 0.01}},
        {"rule": "q3_train", "wildcards": {"decoder": "transformer"}, "throughput": {"value": 1e9}},  # faster: ignored
        {"rule": "q2_train", "wildcards": {}, "throughput": {"value": 1.0}},
    ]
    slow = summary.paper_cost_estimate({**results, "paper-scale": {"scale": 1.0, "jobs": jobs}})["cpu"]
    assert slow["q3_lstm_train_h"] > 100 * base["q3_lstm_train_h"]
    assert slow["q3_transformer_train_h"] == base["q3_transformer_train_h"]
    assert slow["q2_per_job_h"] > base["q2_per_job_h"] and "full-size" in slow["basis"]
    reduced = summary.paper_cost_estimate({**results, "paper-scale": {"scale": 0.02, "jobs": jobs}})["cpu"]
    assert reduced == base


def test_the_paper_run_page_table_is_generated_from_the_records():
    """docs/paper-run.md's per-job table is what bench.paper_table makes of bench/results now."""
    from bench import paper_table

    page = (common.REPO / "docs" / "paper-run.md").read_text()
    assert paper_table.written(page) == page, "docs/paper-run.md: the per-job table is stale: run make docs"


def test_a_full_size_record_turns_extrapolated_cells_into_measured_ones(tmp_path):
    import shutil

    from bench import paper_table

    shutil.copytree(paper_table.BENCH, tmp_path / "r")
    job = {"rule": "q3_features", "wildcards": {"split": "test"}, "wall_s": 99.0, "peak_rss_mb": 321.0}
    job |= {"disk_written_mb": 2400.0, "throughput": {"value": 26.5, "unit": "clips/s"}}
    data = {"rule": "octmnist_data", "wildcards": {}, "wall_s": 50.0, "peak_rss_mb": 4706.0, "peak_rss_anon_mb": 4677.0}
    data |= {"disk_written_mb": 75.0, "throughput": {"value": 2200.0, "unit": "images/s"}}
    sizes = {"n_frames": 2754, "q3_batch": 64, "octmnist": [97477, 10832, 1000]}
    for scale, said in ((0.02, False), (1.0, True)):
        record = {"scale": scale, "sizes": sizes, "jobs": [job, data]}
        (tmp_path / "r" / "paper-scale.json").write_text(json.dumps(record))
        rows = {r[0]: r for r in paper_table.rows(tmp_path / "r")}
        test, train = rows["`q3_features(test)`"], rows["`q3_features(train)`"]
        assert ("1.6 min (from the full-size measurement)" in test[2]) is said, test
        assert ("321 MB (measured at full size)" == test[3]) is said and "extrapolated" in train[2], (test, train)
        # the data jobs ran on synthetic data: their measurement is named as the stand-in's
        oct_row = rows["`octmnist_data`"]
        assert ("drawing the synthetic stand-in at full size: 50 s (measured)" in oct_row[2]) is said, oct_row
        assert oct_row[3].startswith("4,706 MB drawing the synthetic stand-in" if said else "not measured"), oct_row
