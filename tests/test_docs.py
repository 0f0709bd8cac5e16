"""The user's pages (README.md, docs/, profiles/README.md, CONTRIBUTING.md) cannot go stale silently.

Every number or message a page quotes that the code or bench/results/ can produce is produced here
and compared with the page: job counts from Snakemake dry runs, error messages from the config
checks, times and sizes from bench/results/*.json and bench/results/summary.md, facts from the
package. Links and the repository paths the pages name must exist, and `make help` must list every
target. No pipeline runs: dry runs that stop at the DAG or at config validation.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import REPO, copy_workflow, load_default_config, snakemake_side_by_side
from hw2repro import config_checks, config_files, config_load, resources
from hw2repro.q2 import model as cnn
from hw2repro.q2 import octmnist
from hw2repro.q3 import features, ljspeech, split

README = REPO / "README.md"
PAGES = sorted(
    [README, REPO / "CONTRIBUTING.md", REPO / "profiles" / "README.md", REPO / "config" / "README.md"]
    + list((REPO / "docs").glob("*.md"))
)
BENCH = REPO / "bench" / "results"


def text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def states(page: Path, fact: str) -> None:
    """The page says ``fact`` word for word (whitespace and line breaks aside)."""
    flat = " ".join(text(page).split())
    assert " ".join(fact.split()) in flat, f"{page.relative_to(REPO)} should say {fact!r} (the code or bench says so)"


def number_after(page: Path, pattern: str) -> str:
    """The one number the page states where ``pattern`` (a regex with one group) matches."""
    found = re.findall(pattern, " ".join(text(page).split()))
    assert len(found) == 1, f"{page.relative_to(REPO)}: expected one match of {pattern!r}, found {found}"
    return found[0]


# ---- shape and links ------------------------------------------------------------------------------


def test_readme_is_read_in_five_minutes():
    assert len(text(README).splitlines()) <= 150


def test_every_link_resolves_and_every_page_is_in_the_readme_contents():
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text(page)):
            if not re.match(r"[a-z]+://", target):
                assert (page.parent / target).exists(), f"{page.relative_to(REPO)} links to missing {target}"
    linked = {(REPO / t).resolve() for t in re.findall(r"\]\(([^)#\s]+)\)", text(README))}
    for page in [*(REPO / "docs").glob("*.md"), REPO / "profiles" / "README.md"]:
        assert page.resolve() in linked, f"README.md's table of contents does not link {page.relative_to(REPO)}"


REPO_PATH = re.compile(r"(?<![\w/.-])((?:tests|workflow|config|bench|docs|profiles|envs)/[^`\s()\[\],:]+)(?:::(\w+))?")
EXAMPLES = ("q4",)  # CONTRIBUTING's "adding a question" names files of a question to come


def test_paths_and_tests_the_pages_name_exist():
    """A renamed module or test file breaks the page that names it (placeholders such as {split} skipped)."""
    for page in [*PAGES, REPO / "envs" / "hw2.yaml"]:
        for path, test in REPO_PATH.findall(text(page)):
            path = path.rstrip(".;")
            if re.search(r"[{}*<>…]|\.\.\.", path) or any(e in path for e in EXAMPLES):
                continue
            assert (REPO / path).exists(), f"{page.relative_to(REPO)} names {path}, which does not exist"
            if test:
                assert f"def {test}(" in text(REPO / path), f"{page.relative_to(REPO)} names {path}::{test}"


def test_make_help_lists_every_target_and_says_where_outputs_go():
    makefile = text(REPO / "Makefile")
    targets = re.search(r"^\.PHONY:(.*)$", makefile, re.M).group(1).split()
    lines = subprocess.run(["make", "-s", "help"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    listed = {m.group(1) for m in re.finditer(r"^make ([\w-]+)", lines, re.M)}
    assert set(targets) <= listed, f"make help omits {sorted(set(targets) - listed)}"
    assert "results/" in lines.splitlines()[0]


# ---- numbers and messages the code produces --------------------------------------------------------


def dry_run_total(output: str) -> int:
    """The ``total`` row of Snakemake's job stats, less the ``all`` target."""
    return int(re.search(r"^total\s+(\d+)$", output, re.M).group(1)) - 1


@pytest.fixture(scope="module")
def dry_runs(tmp_path_factory):
    """Snakemake calls in one fresh copy, side by side: the DAG of the default and the tiny config,
    a target after and before --configfile."""
    work = copy_workflow(tmp_path_factory.mktemp("docs"))
    calls = {
        "default": ["-n"],
        "tiny": ["-n", "--configfile", "config/tiny.yaml"],
        # the pitfall the README warns of: --configfile reads the target after it as a config file
        "target_after": ["-n", "--configfile", "config/tiny.yaml", "results/q1/verification.csv"],
        "target_first": ["-n", "results/q1/verification.csv", "--configfile", "config/tiny.yaml"],
    }
    return {name: proc.stdout for name, proc in snakemake_side_by_side(work, calls, merge_stderr=True).items()}


def test_job_counts_are_the_dags(dry_runs):
    assert number_after(README, r"The default run is (\d+) jobs") == str(dry_run_total(dry_runs["default"]))
    assert number_after(README, r"runs every rule \((\d+) jobs plus `all`\)") == str(dry_run_total(dry_runs["tiny"]))


def test_targets_go_before_configfile(dry_runs):
    """The README's warning: a target after --configfile is read as a config file."""
    assert "FileNotFoundError" in dry_runs["target_after"]
    assert re.search(r"^q1_verify\s+1\ntotal\s+1$", dry_runs["target_first"], re.M)  # that job alone
    for page in (README, REPO / "docs" / "running.md"):
        states(page, "tries to read the target as YAML")
        states(page, "`FileNotFoundError`")


def with_value(key: tuple, value) -> dict:
    """The default config with the key at path ``key`` set to ``value`` (data.octmnist as a file source)."""
    config = load_default_config()
    config["data"]["octmnist"]["source"] = "file"
    node = config
    for k in key[:-1]:
        node = node[k]
    node[key[-1]] = value
    return config


def refused(given: dict) -> str:
    """The line the workflow stops with for ``given`` (what Snakemake prints: tests/test_config_load.py)."""
    try:
        config_load.resolve(given, [REPO / "config" / "config.yaml"], REPO / "config" / "references.yaml")
    except config_load.ConfigRefused as exc:
        return str(exc)
    raise AssertionError(f"not refused: {given}")


def test_quoted_config_errors_are_what_the_checks_print(tmp_path, monkeypatch):
    """Every `invalid config: …` and `my.yaml …` example on a page is a line the code prints."""
    crossed = load_default_config()
    crossed["q3"]["n_heads"] = 3
    printed = {refused({"q2": {"lrs": [0.1, -1.0]}}), refused({"q3": {"epochs": "3"}})}  # --config q3={epochs: 3}
    printed |= set(config_checks.problems(crossed))
    monkeypatch.chdir(tmp_path)  # a user names the file as my.yaml
    for body in ("q2:\n\tepochs: 3\n", "", "q2:\n  epochs: 3\nq3:\n  epochs: 1\nq2:\n  lrs: [0.1]\n"):
        Path("my.yaml").write_text(body)
        printed.add(config_files.problem("my.yaml"))
    Path("my.yaml").unlink()
    printed.add(config_files.problem("my.yaml"))
    Path("P").symlink_to("P")  # a link to itself
    for key, value in (
        (("q3", "lr"), float("nan")),
        (("q2", "seeds"), [2**32]),
        (("q3", "features", "sample_rate_assumed"), 1_000_000_000),
        (("results",), "/"),
        (("data", "octmnist", "path"), "P"),
    ):
        printed |= set(config_checks.problems(with_value(key, value)))
    quoted = set()
    for page in PAGES:
        quoted |= set(re.findall(r"`(invalid config: [^`]+|my\.yaml(?: line|:)[^`]+)`", text(page)))
    assert len(quoted) >= 3, quoted
    # a quote cut short with "..." stands for every line that begins with what precedes it
    missing = [
        q
        for q in quoted
        if not any(line == q or (q.endswith("...") and line.startswith(q[:-3])) for line in printed if line)
    ]
    assert not missing, f"quoted on a page but not printed by the code: {sorted(missing)}"


def test_package_facts_on_the_questions_page():
    page = REPO / "docs" / "questions.md"
    states(page, f"{cnn.count_parameters(cnn.build('max', 0.7)):,} trainable parameters")
    assert cnn.count_parameters(cnn.build("none", 0.7)) == cnn.count_parameters(cnn.build("max", 0.7))
    counts = octmnist.TEST_SUBSET_COUNTS
    states(page, f"{' / '.join(map(str, counts))} images of classes 0–3 (**{sum(counts)} images**)")
    rows = split.sizes(load_default_config()["data"]["ljspeech"]["expected_rows"] or split.N_ROWS)
    states(page, "75/5/20 (" + " / ".join(f"{rows[s]:,}" for s in ("train", "val", "test")) + " for the real data)")
    states(page, f"written {features.CHUNK_CLIPS} clips at a time")
    default, paper = load_default_config()["q3"], yaml.safe_load(text(REPO / "config" / "paper.yaml"))["q3"]
    states(
        page,
        f"at most {default['features']['n_frames']} frames) and trains with batch {default['batch_size']} "
        f"instead of the homework's {paper['batch_size']}",
    )
    states(page, f"{paper['epochs']} epochs are too few updates")
    states(page, f"(batch {paper['batch_size']}, {paper['features']['n_frames']:,} frames, real LJ Speech)")
    states(page, f"the homework's encoder ({default['encoder_layers']} blocks)")
    states(
        page,
        f"cuts them to {default['text_len'] - 2} characters and maps anything outside its {default['n_vocab']} symbols",
    )


# ---- times and sizes from bench/results ---------------------------------------------------------------


def figure(section: str, name: str) -> float:
    figures = yaml.safe_load((BENCH / f"{section}.json").read_text())["figures"]
    return next(f["value"] for f in figures if f["figure"] == name)


def figure_matching(section: str, pattern: str) -> tuple[float, tuple[str, ...]]:
    """The one figure of ``section`` whose name matches ``pattern`` (whole), with the groups."""
    found = [
        (f["value"], m.groups())
        for f in yaml.safe_load((BENCH / f"{section}.json").read_text())["figures"]
        if (m := re.fullmatch(pattern, f["figure"]))
    ]
    assert len(found) == 1, (section, pattern, found)
    return found[0]


def record(section: str) -> dict:
    return json.loads((BENCH / f"{section}.json").read_text())


def minutes(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 60} min {seconds % 60} s"


def test_readme_pipeline_time_is_the_benchmarks():
    states(README, f"measured {minutes(figure('pipeline', 'pipeline wall time --cores 2, default config'))}")


def test_paper_run_page_is_the_benchmarks():
    page = REPO / "docs" / "paper-run.md"
    summary = " ".join(text(BENCH / "summary.md").split())
    cost = re.search(
        r"Q2 (\S+) h per training job, (\S+) core-hours for the (\d+) jobs; .*? Q3 lstm: training (\S+) h, "
        r"evaluation (\S+) h .*? Q3 transformer: training (\S+) h, evaluation (\S+) h .*? Total (\d+) core-hours, "
        r"about (\d+) h wall",
        summary,
    ).groups()
    q2_h, q2_all, q2_jobs, lstm_h, lstm_eval, tr_h, tr_eval, total, wall = cost
    paper = yaml.safe_load(text(REPO / "config" / "paper.yaml"))["q2"]
    assert int(q2_jobs) == len(paper["lrs"]) * len(paper["poolings"]) * len(paper["seeds"])
    states(page, f"Q2 {q2_h} h per training job, {q2_all} core-hours for its {q2_jobs} jobs")
    states(page, f"Q3 {lstm_h} h (LSTM) and {tr_h} h (Transformer) of training per decoder")
    states(page, f"{lstm_eval} h (LSTM) and {tr_eval} h (Transformer) of evaluation")
    full = {j["wildcards"]["decoder"]: j for j in record("paper-scale")["jobs"] if j["rule"] == "q3_train"}
    small = {m["decoder"]: m for m in record("q3")["models"] if m["shape"] == "paper" and m["device"].startswith("cpu")}
    states(
        page,
        f"{full['lstm']['throughput']['value']:.2f} and {full['transformer']['throughput']['value']:.2f} training "
        f"samples/s at the paper's batch {record('paper-scale')['sizes']['q3_batch']} against "
        f"{small['lstm']['train_samples_per_s']:.1f} and {small['transformer']['train_samples_per_s']:.1f} in the q3 "
        "section's smaller batches",
    )
    states(page, f"In all {total} core-hours, about {wall} h of wall time")
    gpu = re.search(r"q3_flops_total (\S+), q3_h_at_40pct_fp32_peak (\S+), q3_h_at_10pct_fp32_peak (\S+)\.", summary)
    flops, fast, slow = gpu.groups()
    states(page, f"about {flops} FLOPs")
    states(page, f"{fast}–{slow} h on an H100 at 40–10% of its FP32 peak")

    # the memory section's figures, named by the corpus sizes it ran
    rss, (large,) = figure_matching("memory", r"q3_features peak RSS at (\d+) clips \(Snakemake benchmark max_rss\)")
    ratio, (_, small) = figure_matching("memory", r"q3_features peak RSS ratio (\d+) / (\d+) clips")
    states(page, f"{rss:,} MB RSS at {int(large):,} clips, {ratio:.2f}× the RSS at {int(small):,} clips")
    anon, _ = figure_matching("memory", rf"q3_train peak RssAnon at ({large}) clips")
    states(page, f"{anon:,} MB of anonymous memory at batch 8")
    batch64, _ = figure_matching("memory", r"q3_train peak RssAnon at the paper's batch 64, (\d+) clips")
    states(page, f"{batch64:,} MB at the paper's batch 64")

    q3_full = [j for j in record("paper-scale")["jobs"] if j["rule"] == "q3_train"]
    states(page, f"held {max(resources.held_mb(j) for j in q3_full) / 1000:.1f} GB when the `paper-scale` section")
    states(page, f"{max(j['peak_rss_mb'] for j in q3_full) / 1000:.1f} GB of RSS with it")
    states(page, f"`downloads/octmnist.npz` ({octmnist.SIZE / 1e6:.0f} MB, kept)")
    states(page, f"the {ljspeech.SIZE / 1e9:.2f} GB archive while extracting")
    states(page, f"with `--cores {cfg_threads()}` (the paper config's {cfg_threads()} threads per training job)")

    # the feature cache's size follows from the data and the config: clips x frames x mel bands x 4 bytes
    cfg = yaml.safe_load(text(REPO / "config" / "paper.yaml"))
    rows = load_default_config()["data"]["ljspeech"]["expected_rows"]
    n_frames = cfg["q3"]["features"]["n_frames"]
    assert cfg["q3"]["features"].get("dtype", "float32") == "float32"
    states(page, f"{rows * n_frames * 80 * 4 / 1e9:.1f} GB in float32")


def cfg_threads() -> int:
    return yaml.safe_load(text(REPO / "config" / "paper.yaml"))["q3"]["threads"]


def test_benchmarks_page_targets_are_the_benchmarks():
    page = REPO / "docs" / "benchmarks.md"
    two = figure("pipeline", "pipeline wall time --cores 2, default config")
    one = figure("pipeline", "pipeline wall time --cores 1, default config")
    states(page, f"| {round(two)} s ({minutes(two)})")
    speedup = figure("pipeline", "parallel speed-up --cores 2 / --cores 1, default config")
    states(page, f"{round(one):,} s with `--cores 1`: {speedup:.2f}×")
    noop_figure = yaml.safe_load((BENCH / "noop.json").read_text())["figures"][0]  # named by its folder
    assert noop_figure["figure"].startswith("no-op snakemake -n")
    noop = sorted(
        [
            noop_figure["value"],
            figure("pipeline", "no-op snakemake -n (finished run, default config)"),
        ]
    )
    dag = yaml.safe_load((BENCH / "dag.json").read_text())["figures"][0]
    assert dag["figure"].startswith("DAG build, paper grid")
    paper_jobs = dag["note"].split(" jobs")[0]
    states(
        page,
        f"{noop[0]:.1f}–{noop[1]:.1f} s on finished default runs "
        f"(DAG of the paper grid, {paper_jobs} jobs: {dag['value']:.1f} s)",
    )
    q3_models = record("q3")["models"]
    default_train = [m["train_samples_per_s"] for m in q3_models if m["shape"] == "default" and "cpu" in m["device"]]
    states(page, f"{min(default_train):.0f}–{max(default_train):.0f} in the records now")
    loop = figure("q2-loop", "Q2 loop speed-up over homework-style")
    states(
        page,
        f"{loop:.2f}× ({figure('q2-loop', 'Q2 loop throughput, pipeline'):,.0f} vs "
        f"{figure('q2-loop', 'Q2 loop throughput, homework-style'):,.0f} samples/s)",
    )
