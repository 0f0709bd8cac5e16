"""The paper-scale benchmark's set-up (the measurement itself is `make bench`, not a test): the
exact full sizes, the jobs the issue lists, and a config the workflow accepts and plans."""

from __future__ import annotations

import yaml

from bench import paper_scale as P
from conftest import copy_workflow, run_snakemake


def test_full_scale_is_octmnist_and_lj_speech_at_their_sizes_and_the_paper_batch():
    cfg = P.paper_scale_config(1.0)
    s = cfg["data"]["octmnist"]["synthetic"]
    assert (s["n_train"], s["n_val"], s["n_test"]) == (97_477, 10_832, 1_000)
    lj = cfg["data"]["ljspeech"]["synthetic"]
    assert lj["n_clips"] == 13_100 and lj["length_s"] == P.LJ_LENGTH_S
    assert cfg["q3"]["batch_size"] == 64 and cfg["q3"]["features"]["n_frames"] == 2754
    assert cfg["q3"]["train_clips"] == 64 * P.Q3_STEPS and cfg["q3"]["val_clips"] == P.Q3_DECODE_CLIPS
    assert cfg["q2"]["batch_size"] == 8 and cfg["q2"]["epochs"] == 1


def test_the_jobs_are_the_issues_and_the_workflow_plans_each_alone(tmp_path):
    cfg = P.paper_scale_config(0.02)
    jobs = P.jobs(cfg)
    assert [(j["rule"], tuple(j["wc"].values())) for j in jobs] == [
        ("octmnist_data", ()),
        ("ljspeech_data", ()),
        ("q3_features", ("train",)),
        ("q3_features", ("val",)),
        ("q3_features", ("test",)),
        ("q2_train", ()),
        ("q3_train", ("lstm",)),
        ("q3_train", ("transformer",)),
    ]
    work = copy_workflow(tmp_path / "wf")
    (work / "ps.yaml").write_text(yaml.safe_dump(cfg))
    targets = [j["target"] for j in jobs]
    proc = run_snakemake(["-n", *targets, "--configfile", "ps.yaml"], work, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    # exactly these jobs, nothing else of the paper grid (figures, report, other runs)
    counts = {j["rule"]: sum(x["rule"] == j["rule"] for x in jobs) for j in jobs}
    for rule, n in counts.items():
        assert f"\n{rule}" in proc.stdout and any(
            line.split() == [rule, str(n)] for line in proc.stdout.splitlines()
        ), (rule, proc.stdout[-1500:])
    assert any(line.split() == ["total", str(len(jobs))] for line in proc.stdout.splitlines()), proc.stdout[-1500:]
