"""The compiled reproduction report and Snakemake's own report.

Fast unit tests of the statistics (hw2repro.stats) and the report's tables (each question's summary),
then, on one tiny real
pipeline run shared with other test files (``tiny_run`` in conftest):

* the compiled report's files, tidy tables and honesty rules (synthetic banner, nothing comparable);
* the compiled HTML opened in a real headless browser (Debian's chromium, installed by a session
  fixture when missing): every image decodes and every table has rows (the page's own inline
  self-check, read back with --dump-dom), nothing is fetched from the network, and a screenshot is
  taken (copied to $HW2_TEST_ARTIFACTS when that is set);
* ``snakemake --report`` (.html and .zip) after the run: produced, and holds every figure.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import browser
import numpy as np
import pandas as pd
import pytest
import yaml
from browser import png_size, run_browser
from filelock import FileLock

from conftest import REPO, shared_dir, snakemake
from hw2repro import defaults, labels, provenance
from hw2repro import stats as hs
from hw2repro.q1 import summary as q1s
from hw2repro.q2 import published as q2p
from hw2repro.q2 import summary as q2s
from hw2repro.q3 import summary as q3s
from hw2repro.report import benchmarks, render

# ---------------------------------------------------------------------------------------------
# statistics and tables (fast)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "df, expected", [(1, 12.7062), (2, 4.3027), (4, 2.7764), (9, 2.2622), (29, 2.0452), (120, 1.9799)]
)
def test_t_quantile_matches_tables(df, expected):
    assert hs.t_quantile(0.975, df) == pytest.approx(expected, abs=1e-4)
    assert hs.t_quantile(0.025, df) == pytest.approx(-expected, abs=1e-4)


def test_describe_and_confidence_interval():
    stats = hs.describe([0.80, 0.82, 0.81, 0.79, 0.83])
    assert stats["n"] == 5 and stats["mean"] == pytest.approx(0.81)
    half = 2.776445 * stats["sd"] / np.sqrt(5)
    assert stats["ci95_low"] == pytest.approx(0.81 - half) and stats["ci95_high"] == pytest.approx(0.81 + half)
    one = hs.describe([0.8])
    assert one["n"] == 1 and np.isnan(one["sd"]) and np.isnan(one["ci95_low"])
    assert hs.describe([])["n"] == 0


def test_position_in_words():
    stats = hs.describe([0.80, 0.82, 0.81, 0.79, 0.83])  # sd 0.0158
    assert hs.position(0.81, stats)[1].startswith("inside the 95% CI")
    sigma, words = hs.position(0.85, stats)
    assert sigma == pytest.approx(2.53, abs=0.01) and words == "2.5 σ above"
    assert hs.position(0.775, stats)[1] == "2.2 σ below"
    assert hs.position(0.8299, stats)[1].endswith("(within our seed range)")
    assert hs.position(0.85, stats, comparable=False) == (pytest.approx(np.nan, nan_ok=True), hs.NOT_COMPARABLE)
    assert "one seed" in hs.position(0.85, hs.describe([0.8]))[1]
    assert hs.position(0.85, hs.describe([]))[1] == "not run here"


def _runs(seeds=(1, 2, 3), shift=0.0):
    rng = np.random.default_rng(0)
    rows = []
    for pooling, base in (("max", 0.82), ("none", 0.80 - shift)):
        for lr in (0.1, 0.01):
            for seed in seeds:
                acc = base + (0.01 if lr == 0.01 else 0) + rng.normal(0, 0.002)
                rows.append(
                    {
                        "pooling": pooling,
                        "lr": lr,
                        "seed": seed,
                        "final_train_loss": 0.6 + rng.normal(0, 0.01),
                        "final_val_acc": acc,
                        "test_acc": acc - 0.01,
                        "n_params": 224_892,
                    }
                )
    return pd.DataFrame(rows)


def test_q2_tables_on_made_up_runs():
    refs = yaml.safe_load((REPO / "config" / "references.yaml").read_text())
    published = pd.DataFrame(refs["q2"]).astype({"lr": float})
    runs = _runs()
    comparison = q2p.q2_comparison(runs, published, comparable=True)
    n_published = sum(pd.notna(published[m]).sum() for m in ("test_acc", "val_acc", "train_loss"))
    assert len(comparison) == n_published
    assert set(comparison.loc[comparison["lr"] == 0.001, "position"]) == {"not run here"}
    assert comparison.loc[comparison["lr"] != 0.001, "sigma"].notna().all()
    assert not q2p.q2_comparison(runs, published, comparable=False)["comparable"].any()
    pooling = q2p.q2_pooling_effect(runs, published, comparable=True)
    assert (pooling["verdict"].str.startswith("larger than")).all()  # 0.02 apart, sd 0.002
    assert (pooling["published_n_sources"] > 0).all()
    same = q2p.q2_pooling_effect(_runs(shift=-0.02), published, comparable=True)  # both variants equal
    assert (same["verdict"].str.startswith("within")).all()
    params = q2s.q2_params(runs, refs["q2_n_params"])
    assert params["matches"].all()
    best = pd.DataFrame(
        {
            "pooling": ["max", "none"],
            "best_lr": [0.01, 0.01],
            "final_val_acc_mean": [0.83, 0.81],
            "test_acc_mean": [0.82, 0.80],
        }
    )
    best_table = q2p.q2_best_lr(runs, best, published, comparable=True)
    assert list(best_table["seeds_picking_it"]) == [3, 3]
    assert best_table["agrees_with_published"].all()


def test_q3_comparison_uses_every_published_number():
    refs = yaml.safe_load((REPO / "config" / "references.yaml").read_text())
    summary = pd.DataFrame(
        [
            {
                "decoder": d,
                "seed": s,
                **{f"test_{k}": 0.5 for k in q3s.Q3_SCORES},
                **{f"audio_blind_{k}": 0.3 for k in q3s.Q3_SCORES},
            }
            for d in ("lstm", "transformer")
            for s in (1, 2)
        ]
    )
    epochs = pd.DataFrame(
        [
            {
                "decoder": d,
                "seed": s,
                "epoch": e,
                "train_loss": 1.0,
                "val_loss": 1.1,
                "val_jaccard": 0.6,
                "val_cosine": 0.7,
                "val_damerau_levenshtein": 0.4,
                "train_loss_last_logged": 1.0,
            }
            for d in ("lstm", "transformer")
            for s in (1, 2)
            for e in (1, 2, 3)
        ]
    )
    table = q3s.q3_comparison(summary, epochs, refs, comparable=False)
    expected = (
        4 * len(refs["q3_test"])
        + 4 * len(refs["q3_validation_epoch15"])
        + len(refs["q3_other"]["val_loss_epoch1"])
        + len(refs["q3_other"]["train_loss_epoch15"])
    )
    assert len(table) == expected
    assert set(table["position"]) == {hs.NOT_COMPARABLE}
    assert set(table.loc[table["split"] == "validation, epoch 15", "our_epoch"]) == {3}  # ran 3 epochs
    stats = q3s.q3_stats(summary)
    assert len(stats) == 2 * 2 * 4 and (stats["n"] == 2).all()


def test_q1_complexity_verdicts():
    table = pd.DataFrame(
        [
            {"claim": "O(L²) memory", "quantity": "peak memory vs L", "claimed": 2.0, "measured": 1.93},
            {"claim": "O(L·M·D) time", "quantity": "CPU time vs L", "claimed": 1.0, "measured": 0.63},
            {"claim": "O(L·M·D) time", "quantity": "wall time vs L", "claimed": 1.0, "measured": 2.66},
            {"claim": "M = O(D^2)", "quantity": "M vs D", "claimed": 2.0, "measured": np.nan},
            {"claim": "linear wins", "quantity": "crossover L (wall)", "claimed": np.nan, "measured": 514.0},
        ]
    )
    verdicts = list(q1s.q1_complexity(table)["verdict"])
    assert verdicts == [
        "as claimed",
        "flatter than claimed (within the O bound)",
        "STEEPER than claimed",
        "not measured (one point)",
        "linear faster from L ≈ 514",
    ]


def test_q2_flat_runs_name_the_one_class_predicted():
    epochs = pd.DataFrame(
        [
            {"pooling": "max", "lr": lr, "seed": 1, "epoch": e, "val_acc": acc}
            for lr, accs in ((0.001, (0.47, 0.47, 0.47)), (0.1, (0.5, 0.6, 0.7)), (0.01, (0.35, 0.35, 0.35)))
            for e, acc in enumerate(accs, 1)
        ]
    )
    counts = {"CNV": 35, "DME": 10, "DRUSEN": 8, "NORMAL": 47}  # shares .35 / .10 / .08 / .47 of 100
    flat = q2s.flat_runs(epochs, counts)
    assert list(flat["lr"]) == [0.001, 0.01] and list(flat["only_class"]) == ["NORMAL", "CNV"]
    assert (flat["majority_class"] == "NORMAL").all()


def test_q2_class_tables_and_published_spread(tmp_path):
    path = tmp_path / "test_predictions.csv"
    pd.DataFrame({"index": range(6), "label": [0, 0, 1, 3, 3, 3], "predicted": [0, 3, 3, 3, 3, 3]}).to_csv(path)
    per_class, confusion = q2s.class_tables(
        [{"pooling": "max", "lr": "0.1", "seed": 1, "path": path}], ("CNV", "DME", "DRUSEN", "NORMAL")
    )
    acc = per_class.set_index("class")["accuracy"]
    assert acc["CNV"] == 0.5 and acc["DME"] == 0 and np.isnan(acc["DRUSEN"]) and acc["NORMAL"] == 1
    assert len(confusion) == 16 and confusion["count"].sum() == 6
    assert confusion.set_index(["true", "predicted"]).loc[("CNV", "NORMAL"), "count"] == 1
    refs = yaml.safe_load((REPO / "config" / "references.yaml").read_text())
    published = pd.DataFrame(refs["q2"]).astype({"lr": float})
    spread = q2p.q2_published_spread(_runs(), published, comparable=True)
    at = spread[(spread["metric"] == "test_acc") & (spread["pooling"] == "max") & (spread["lr"] == 0.01)].iloc[0]
    pub = published[(published["pooling"] == "max") & (published["lr"] == 0.01)]["test_acc"].dropna()
    assert at["published_n"] == len(pub) and at["published_median"] == pytest.approx(pub.median())
    assert at["where"] in {"below every published number", "within the published range", "above every published number"}
    assert set(q2p.q2_published_spread(_runs(), published, comparable=False)["where"]) <= {
        hs.NOT_COMPARABLE,
        "not run here",
    }


def test_q3_transcription_samples_best_worst_random(tmp_path):
    blocks = [
        ("a", "<the cat sat.>", "<the cat sat.>"),
        ("b", "<a dog ran.>", "<@@@@@@@@>"),
        ("c", "<we won.>", "<we wan.>"),
        ("d", "<it is.>", "<it is,>"),
        ("e", "<go.>", "<no.>"),
        ("f", "<red sky.>", "<red sky>"),
    ]
    path = tmp_path / "predictions.txt"
    path.write_text("".join(f"id:     {i}\ntarget: {t}\npred:   {p}\nblind:  <@>\n\n" for i, t, p in blocks))
    samples = q3s.transcription_samples([{"decoder": "lstm", "seed": 1, "path": path}], n_random=3, seed=0)
    assert list(samples["kind"]) == ["best", "worst", "random", "random", "random"]
    assert samples["id"].iloc[0] == "a" and samples["damerau_levenshtein"].iloc[0] == 1.0
    assert samples["id"].iloc[1] == "b" and samples["target"].iloc[1] == "a dog ran."
    assert len(set(samples["id"])) == 5 and (samples["audio_blind"] == "@").all()


def test_benchmark_table_and_totals(tmp_path):
    root = tmp_path / "results" / "benchmarks"
    for name, s, rss in (("q2/train_a", 10.0, 500.0), ("q2/train_b", 20.0, "-"), ("q1/verify", 1.5, 100.0)):
        path = root / f"{name}.tsv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
            f"{s}\t0:00:10\t{rss}\t1\t1\t1\t0\t0\t90.0\t{s / 2}\n"
        )
    bench = benchmarks.benchmarks_table(sorted(root.rglob("*.tsv")))
    assert list(bench["job"]) == ["q1/verify", "q2/train_a", "q2/train_b"]
    assert np.isnan(bench.loc[2, "max_rss_mb"])
    totals = benchmarks.benchmarks_totals(bench).set_index("question")
    assert totals.loc["all", "wall_s"] == pytest.approx(31.5) and totals.loc["all", "jobs"] == 3
    assert totals.loc["q2", "max_rss_mb"] == 500.0


def test_provenance_helpers(tmp_path):
    assert provenance.git_info(tmp_path)["commit"].startswith("not a git checkout")
    # a checkout is dirty when its code or settings changed, not when a result root lies in it
    repo = tmp_path / "checkout"
    (repo / "workflow").mkdir(parents=True)
    (repo / "workflow" / "x.py").write_text("x = 1\n")
    for args in (["init", "-q"], ["add", "."], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"]):
        subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)
    (repo / "results-c1" / "q2").mkdir(parents=True)
    (repo / "results-c1" / "q2" / "summary.csv").write_text("a\n")
    clean = provenance.git_info(repo)
    assert len(clean["commit"]) == 40 and clean["dirty"] is False and clean["changed_files"] == 0
    (repo / "workflow" / "x.py").write_text("x = 2\n")
    (repo / "config").mkdir()
    (repo / "config" / "mine.yaml").write_text("results: results-c1\n")
    assert provenance.git_info(repo) == {**clean, "dirty": True, "changed_files": 2}
    a = provenance.config_sha256({"q2": {"lrs": [0.1]}, "data": {}})
    assert a == provenance.config_sha256({"data": {}, "q2": {"lrs": [0.1]}}) and len(a) == 64
    assert a != provenance.config_sha256({"q2": {"lrs": [0.01]}, "data": {}})
    versions = provenance.package_versions()
    assert versions["pandas"] == pd.__version__ and versions["python"]


def _png(path: Path) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.plot([0, 1], [0, 1])
    fig.savefig(path, format="png")
    plt.close(fig)
    return str(path)


@pytest.mark.parametrize("canonical", [True, False])
def test_build_on_made_up_real_data_results(tmp_path, canonical):
    """The whole renderer without a pipeline run: real (not synthetic) data, 3 seeds, Q2 and Q3, Q1 off.
    On the canonical data, published numbers get a position in our distribution and no banner
    appears; on other real data (the data rules' ``comparable``: false) nothing is comparable."""
    res = tmp_path / "results"
    runs = _runs()
    runs["n_test"], runs["epochs"], runs["wall_seconds"], runs["device"], runs["threads"] = 529, 15, 60.0, "cpu:x", 1
    res.joinpath("q2").mkdir(parents=True)
    runs.to_csv(res / "q2" / "summary.csv", index=False)
    pd.DataFrame(
        {
            "pooling": ["max", "none"],
            "best_lr": [0.01, 0.01],
            "final_val_acc_mean": [0.83, 0.81],
            "test_acc_mean": [0.82, 0.80],
        }
    ).to_csv(res / "q2" / "best_lr.csv", index=False)
    (res / "data").mkdir()
    flags = {"canonical": canonical, "comparable": canonical}
    (res / "data" / "octmnist.json").write_text(
        json.dumps(
            {
                "source": "file",
                "synthetic": False,
                "label": "OCTMNIST",
                **flags,
                "splits": {"train": {"n": 97477}, "val": {"n": 10832}, "test": {"n": 1000}},
            }
        )
    )
    (res / "data" / "ljspeech.json").write_text(
        json.dumps(
            {
                "source": "path",
                "synthetic": False,
                "label": "LJ Speech 1.1",
                "rows": 13100,
                **flags,
                "splits": {"train": [0, 9825], "val": [9825, 10480], "test": [10480, 13100]},
            }
        )
    )
    summary = pd.DataFrame(
        [
            {
                "decoder": d,
                "seed": s,
                "test_loss": 1.18 + 0.01 * s,
                "test_jaccard": 0.71 + 0.005 * s,
                "test_cosine": 0.83,
                "test_damerau_levenshtein": 0.50 + 0.004 * s,
                "audio_blind_loss": 2.0,
                "audio_blind_jaccard": 0.3,
                "audio_blind_cosine": 0.5,
                "audio_blind_damerau_levenshtein": 0.1,
                "n_test": 2620,
                "epochs": 15,
                "n_params": 1000,
                "n_frames": 2754,
                "synthetic": False,
                "wall_time_s": 3600.0,
                "device": "cuda:x",
                "threads": 4,
            }
            for d in ("lstm", "transformer")
            for s in (1, 2, 3)
        ]
    )
    epochs = pd.DataFrame(
        [
            {
                "decoder": d,
                "seed": s,
                "epoch": e,
                "train_loss": 1.1,
                "val_loss": 1.17 + 0.001 * s,
                "val_jaccard": 0.70 + 0.001 * s,
                "val_cosine": 0.82,
                "val_damerau_levenshtein": 0.51,
                "lr": 1e-3,
                "train_loss_last_logged": 1.09,
            }
            for d in ("lstm", "transformer")
            for s in (1, 2, 3)
            for e in range(1, 16)
        ]
    )
    res.joinpath("q3").mkdir()
    summary.to_csv(res / "q3" / "summary.csv", index=False)
    epochs.to_csv(res / "q3" / "epochs.csv", index=False)
    bench = res / "benchmarks" / "q2" / "train.tsv"
    bench.parent.mkdir(parents=True)
    bench.write_text(
        "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
        "60.0\t0:01:00\t500.0\t1\t1\t1\t0\t0\t99.0\t59.0\n"
    )
    q2_figs = [
        {"kind": k, "pooling": p, "lr": lr, "path": _png(res / "q2" / "figures" / f"{k}-{lr}-{p}.png")}
        for p in ("max", "none")
        for lr in ("0.1", "0.01")
        for k in ("training-loss", "validation-accuracy")
    ]
    inputs = {
        "q1_tables": [],
        "q1_environment": [],
        "q1_figures": [],
        "q2_tables": [str(res / "q2" / "summary.csv"), str(res / "q2" / "best_lr.csv")],
        "q2_results": [],
        "q2_figures": [_png(res / "q2" / "figures" / "test_accuracy_overview.png")] + [f["path"] for f in q2_figs],
        "q3_tables": [str(res / "q3" / "summary.csv"), str(res / "q3" / "epochs.csv")],
        "q3_figures": [_png(res / "q3" / "figures" / f"{n}.png") for n in ("loss_train_val", "val_similarities")],
        "data_meta": [str(res / "data" / "octmnist.json"), str(res / "data" / "ljspeech.json")],
        "references": [str(REPO / "config" / "references.yaml")],
        "benchmarks": [str(bench)],
        "captions": [str(p) for p in (REPO / "report").glob("q[123]_*.rst")],
        "templates": [str(REPO / "report" / "templates" / n) for n in ("report.html.j2", "report.md.j2")],
    }
    out_dir = res / "report"
    outputs = {
        "html": str(out_dir / "index.html"),
        "markdown": str(out_dir / "report.md"),
        "tables": [
            str(out_dir / "tables" / f"{n}.csv") for n in ("q2_comparison", "q3_comparison", "q1_verification", "setup")
        ],
    }
    settings = {
        "config": defaults.load({"q2": {"epochs": 15, "batch_size": 8, "optimizer": "sgd"}, "q3": {"batch_size": 64}}),
        "questions": {"q1": False, "q2": True, "q3": True},
        "q2_figures": q2_figs,
        "configfiles": [],
        "repo": str(tmp_path),
    }
    render.build(inputs, outputs, settings, log=lambda msg: None)
    html = (out_dir / "index.html").read_text(encoding="utf-8")
    if not canonical:
        assert "NOT THE CANONICAL DATA" in html and "real data, not the canonical set: not comparable" in html
        for name in ("q2_comparison", "q3_comparison"):
            table = pd.read_csv(out_dir / "tables" / f"{name}.csv")
            assert len(table) and not table["comparable"].any() and table["sigma"].isna().all()
        return
    assert "synthetic-banner" not in html and "REAL DATA" in html
    assert "Q1 was not run" in html
    assert html.count('src="data:image/png;base64,') == len(inputs["q2_figures"]) + len(inputs["q3_figures"])
    assert "σ above" in html or "σ below" in html or "inside the 95% CI" in html
    q2 = pd.read_csv(out_dir / "tables" / "q2_comparison.csv")
    ran = q2[q2["lr"] != 0.001]
    assert ran["comparable"].all() and ran["sigma"].notna().all()
    assert set(q2.loc[q2["lr"] == 0.001, "position"]) == {"not run here"}
    q3 = pd.read_csv(out_dir / "tables" / "q3_comparison.csv")
    assert q3["comparable"].all() and q3["sigma"].notna().sum() > 0
    assert (q3.loc[q3["split"] == "validation, epoch 15", "our_epoch"] == 15).all()
    assert "it uses the audio" in html
    assert list(pd.read_csv(out_dir / "tables" / "q1_verification.csv").columns)[0] == "check"  # header only
    md = (out_dir / "report.md").read_text(encoding="utf-8")
    assert "(../q2/figures/test_accuracy_overview.png)" in md and "## Q3 · Speech recognition on LJ Speech" in md


# ---------------------------------------------------------------------------------------------
# on a real tiny run
# ---------------------------------------------------------------------------------------------


def report_dir(run: Path) -> Path:
    return run / "results" / "report"


def report_figures(run: Path) -> list[Path]:
    """The PNGs the workflow marks for `snakemake --report` (top level of each figures folder)."""
    return sorted((run / "results").glob("q*/figures/*.png"))


def compiled_figures(run: Path) -> list[Path]:
    """The PNGs the compiled report embeds: all of them but Q3's picture of its own test table."""
    return [p for p in report_figures(run) if p.name != "test_table.png"]


@pytest.mark.slow
def test_compiled_report_files_and_tables(tiny_run):
    out = report_dir(tiny_run)
    html = (out / "index.html").read_text(encoding="utf-8")
    md = (out / "report.md").read_text(encoding="utf-8")
    # self-contained: no external resource of any kind
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html, re.I)
    assert "<link" not in html and "@import" not in html
    n_png = len(compiled_figures(tiny_run))
    assert html.count('src="data:image/png;base64,') == n_png > 0
    for stem in ("published_spread", "lr_overlay_max", "lr_overlay_none", "per_class_accuracy", "confusion_matrix"):
        assert f'id="fig-{stem}"' in html, stem
    # the page Snakemake's report shows: the same tables, no figure, under Chromium's data-URL limit
    light = (out / "figureless.html").read_text(encoding="utf-8")
    assert "data:image" not in light and light.count('<table class="data">') == html.count('<table class="data">')
    assert len(light.encode()) < render.FIGURELESS_MAX_BYTES
    # the tiny config is synthetic: banner, and nothing presented as comparable
    assert 'id="synthetic-banner"' in html and "SYNTHETIC DATA" in md
    titles = ("Q1 · Taylor-feature linear attention", "Q2 · CNN on OCTMNIST", "Q3 · Speech recognition on LJ Speech")
    for title in (*titles, "Provenance"):
        assert title in html and f"## {title}" in md
    tables = {p.stem: pd.read_csv(p) for p in (out / "tables").glob("*.csv")}
    comparison = tables["q2_comparison"]
    assert len(comparison) > 0 and not comparison["comparable"].any()
    assert set(comparison["position"]) <= {hs.NOT_COMPARABLE, "not run here"}
    assert (tables["q2_params"]["n_params"] == 224_892).all() and tables["q2_params"]["matches"].all()
    assert len(tables["q2_config_stats"]) == 4 * 3  # 2 lrs x 2 poolings x 3 metrics
    spread = tables["q2_published_spread"]
    assert len(spread) == 3 * 6 and not spread["comparable"].any()  # 3 metrics x (2 poolings x 3 published lrs)
    per_class = tables["q2_per_class"]
    assert (
        len(per_class) == 2 * 4
        and per_class["n_images"].sum()
        == 2 * pd.read_csv(tiny_run / "results" / "q2" / "summary.csv")["n_test"].iloc[0]
    )
    assert set(tables["q1_complexity"]["verdict"].dropna()) and tables["q1_complexity"]["verdict"].notna().all()
    flat = tables["q2_flat_runs"]  # two tiny epochs: a run whose validation accuracy never moved is named
    for r in flat.itertuples():
        assert f"lr {r.lr:g} {labels.POOLING[r.pooling]} (seed {r.seed})" in html
    assert tables["q1_verification"]["all_passed"].all()
    bench = tables["benchmarks"]
    assert {"q2/train_max_lr0.1_seed42", "q1/verify", "data/octmnist"} <= set(bench["job"])
    assert bench["wall_s"].notna().all()
    assert tables["benchmark_totals"].set_index("question").loc["all", "jobs"] == len(bench)
    provenance = dict(zip(tables["provenance"]["key"], tables["provenance"]["value"]))
    assert provenance["git commit"] == "not a git checkout"  # the tests run in a copied directory
    assert re.fullmatch(r"[0-9a-f]{64}", provenance["config SHA-256 (resolved config, canonical JSON)"])
    assert provenance["snakemake"] and provenance["torch"]
    # the tiny config runs all three questions: a Q3 that silently did not run fails here
    assert {"q1", "q2", "q3"} <= set(tables["setup"]["section"])
    assert (tiny_run / "results" / "q3" / "summary.csv").exists() and "Q3 was not run" not in html
    samples = tables["q3_samples"]
    assert {"best", "worst", "random"} == set(samples["kind"]) and samples["target"].str.len().gt(0).all()
    assert len(tables["q3_comparison"]) > 0 and not tables["q3_comparison"]["comparable"].any()
    # the Q3 jobs' environment (python, torch, ...) comes from their test.json, not "–"
    assert re.search(r"<td>q3</td><td[^>]*>3\.\d+", html), "Q3 provenance row without versions"


@pytest.fixture(scope="session")
def chromium(tmp_path_factory):
    """Debian's chromium; installed with apt-get when missing (CI runs as root with Debian packages),
    by one xdist worker at a time (apt-get takes a lock of its own and fails when it is held)."""
    with FileLock(str(shared_dir(tmp_path_factory) / "chromium.lock")):
        path = browser.ensure_chromium()
    if path is None:
        pytest.skip(f"{browser.CHROMIUM} missing and cannot be installed here (needs root and apt-get)")
    return path


@pytest.mark.slow
def test_compiled_report_renders_in_a_headless_browser(tiny_run, chromium, tmp_path):
    page = (report_dir(tiny_run) / "index.html").resolve().as_uri()
    dom = run_browser(chromium, tmp_path / "profile-dom", "--dump-dom", page).stdout
    match = re.search(r'<div id="selfcheck"([^>]*)>', dom)
    assert match, "self-check element missing from the rendered page"
    attrs = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', match.group(1)))
    assert attrs.get("status") == "ok", attrs
    assert int(attrs["images"]) == len(compiled_figures(tiny_run)) > 0
    assert attrs["images-ok"] == attrs["images"]
    assert int(attrs["tables"]) >= 10 and attrs["tables-ok"] == attrs["tables"]


@pytest.mark.slow
@pytest.mark.parametrize("width", [390, 1400])
def test_compiled_report_fits_and_enlarges_at(width, tiny_run, chromium, tmp_path):
    """At a phone's and a desktop's width: nothing wider than the viewport, every image decodes and
    every table has rows, no figure is a thumbnail, clicking one shows it at full size."""
    index = report_dir(tiny_run) / "index.html"
    got = browser.measure_at(chromium, tmp_path, index, width)
    assert got["clientWidth"] == width, got
    assert got["scrollWidth"] <= width and not got["overflowing"], got
    assert got["status"] == "ok" and got["images"] == got["imagesOk"] == len(compiled_figures(tiny_run)), got
    assert got["tables"] >= 10 and got["tables"] == got["tablesOk"], got
    assert not got["selfcheckShown"]  # the test suite's footer, not the reader's
    narrowest = min(img["shown"] for img in got["shown"])
    assert narrowest >= 300, got["shown"]  # the per-configuration plots were ~120 px thumbnails
    if width >= 1000:  # multi-panel figures span the section
        assert all(img["shown"] >= 0.85 * got["sectionWidth"] for img in got["shown"] if img["wide"]), got
    enlarged = got["enlarged"]
    assert enlarged["open"] and enlarged["natural"] == enlarged["expected"] > 0, enlarged
    assert enlarged["shown"] == enlarged["natural"], enlarged  # full size, not fitted

    shot = browser.screenshot_at(
        chromium,
        tmp_path,
        index,
        width,
        2400 if width < 500 else 1600,
        tmp_path / f"screenshot-{width}.png",
    )
    assert png_size(shot)[0] == width and shot.stat().st_size > 20_000
    artifacts = os.environ.get("HW2_TEST_ARTIFACTS")
    if artifacts:
        Path(artifacts).mkdir(parents=True, exist_ok=True)
        shutil.copy2(shot, Path(artifacts) / f"report-screenshot-{width}.png")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["report.html", "report.zip"])
def test_snakemake_report_holds_every_figure(tiny_run, name, chromium, tmp_path):
    # on a copy: Snakemake writes its lock and log files under the run's .snakemake/, and every other
    # test reads the shared run while this one runs
    run = tmp_path / "run"
    subprocess.run(["cp", "-a", str(tiny_run), str(run)], check=True)
    target = run / name
    snakemake(run, "--report", name, "--configfile", "tiny.yaml")
    assert target.stat().st_size > 10_000
    figures = report_figures(run) + [report_dir(run) / "figureless.html"]
    if name.endswith(".html"):
        text = target.read_text(encoding="utf-8")
        for fig in figures:
            rel = fig.relative_to(run).as_posix()
            assert f'"{rel}": {{"name"' in text, f"{rel} not in the Snakemake report"
        for fig in figures[:-1]:  # PNGs are embedded as base64 data URIs
            assert base64.b64encode(fig.read_bytes()).decode("ascii") in text, fig
        assert '"Report"' in text  # the compiled report's category
        assert '"lr": "0.1"' in text  # Q2 figures carry labels, so they are shown as a table
        assert "Configuration" not in (REPO / "report" / "workflow.rst").read_text()  # no such view in 9.27
        shown = target
    else:
        with zipfile.ZipFile(target) as archive:
            names = archive.namelist()
            assert any(n.endswith("report.html") for n in names)
            for fig in figures:  # stored as report/data/raw/<hash>/<file name>, byte for byte
                stored = [n for n in names if n.endswith(f"/{fig.name}")]
                assert any(archive.read(n) == fig.read_bytes() for n in stored), fig
            archive.extractall(tmp_path / "unzipped")
        shown = next((tmp_path / "unzipped").rglob("report.html"))
    # opened in Chromium, the compiled report's entry shows the page (Chromium refuses a data URL
    # over 2 MiB: the entry was a blank pane): the page inside posts its self-check to the report
    got = browser.snakemake_report_frame(chromium, tmp_path, shown)
    assert got.get("status") == "ok" and got["tables"] >= 10 and got["textLength"] > 2000, got


def test_captions_and_titles_are_said_once_for_both_reports():
    """report/captions.py is the one home of each output's caption file and title: every rule's
    report(labels=...) takes its title from there (checked on each line holding labels=, as the rules
    write them: no double-quoted string there but keys, wildcards and rule_title names), and every
    caption file it names exists."""
    from hw2repro.report.captions import CAPTIONS, TITLES

    assert set(TITLES) <= set(CAPTIONS)
    assert all((REPO / "report" / f"{name}.rst").is_file() for name in CAPTIONS.values())
    for smk in (REPO / "workflow" / "rules").glob("*.smk"):
        for line in smk.read_text().splitlines():
            if "labels=" not in line:
                continue
            for literal in re.finditer(r'"([^"]*)"', line):
                after, before = line[literal.end() :], line[: literal.start()]
                is_key = after.startswith(":")
                text = literal.group(1)
                is_title_name = (before.endswith("rule_title(") and text in TITLES) or (
                    before.endswith("rule_title(f") and any(t.startswith(text.split("{")[0]) for t in TITLES)
                )
                is_wildcard = re.fullmatch(r"\{\w+\}", text)
                assert is_key or is_title_name or is_wildcard, f"{smk.name}: a title in the rule: {line.strip()}"
        for name in re.findall(r'rule_title\(f?"([^"{]+)"\)', smk.read_text()):
            assert name in TITLES, (smk.name, name)
