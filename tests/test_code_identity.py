"""What counts as a code change: derived code inputs, checkpoint code identity, and a run that stays
valid when its checkout is copied, used as a Snakemake module, or run with --directory.

The derived inputs are checked against Python itself: each script's imports are executed in a fresh
interpreter and the ``hw2repro`` files it loaded are compared with what ``code_identity`` read from
the source. The pipeline tests edit real modules in a copy of the session's tiny run and ask
Snakemake what it would re-run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from conftest import REPO, run_snakemake, snakemake, tiny_config, write_config
from hw2repro import code_identity, defaults

SCRIPTS = sorted((REPO / "workflow" / "scripts").glob("*.py"))
PACKAGE = REPO / "workflow" / "hw2repro"


# Run each script's import statements in a child forked from one interpreter that has the third-party
# libraries loaded but no hw2repro module: what the child adds to sys.modules is what the script runs.
IMPORT_PROBE = """
import ast, json, os, sys
for lib in ("torch", "numpy", "pandas", "matplotlib", "matplotlib.pyplot", "seaborn", "yaml", "jinja2", "rapidfuzz"):
    __import__(lib)
for script in sys.argv[1:]:
    tree = ast.parse(open(script).read())
    code = "\\n".join(ast.unparse(n) for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom)))
    read, write = os.pipe()
    if os.fork() == 0:
        exec(code, {})
        files = sorted(m.__file__ for n, m in list(sys.modules.items()) if n.split(".")[0] == "hw2repro")
        os.write(write, json.dumps(files).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as fh:
        print(json.dumps([script, json.loads(fh.read())]))
    os.wait()
"""


@pytest.fixture(scope="module")
def loaded_package_files() -> dict[str, set[str]]:
    """script name -> the hw2repro files (relative to the repository) its imports load."""
    env = {"PYTHONPATH": str(REPO / "workflow"), "PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg"}
    proc = subprocess.run(
        [sys.executable, "-c", IMPORT_PROBE, *map(str, SCRIPTS)], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    out = {}
    for line in proc.stdout.splitlines():
        script, files = json.loads(line)
        out[Path(script).name] = {str(Path(f).resolve().relative_to(REPO)) for f in files}
    return out


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_derived_code_inputs_are_what_the_script_really_imports(script, loaded_package_files):
    derived = {str(p.relative_to(REPO)) for p in code_identity.script_modules(script)}
    assert derived == loaded_package_files[script.name]


def test_the_tokenizer_is_a_code_input_of_training_and_figures_are_not():
    train = {
        p.relative_to(PACKAGE).as_posix() for p in code_identity.script_modules(REPO / "workflow/scripts/q3_train.py")
    }
    assert "q3/text.py" in train  # decode() writes predictions.txt
    assert not any(p.endswith("figures.py") or p.startswith("report/") for p in train)
    q2 = {
        p.relative_to(PACKAGE).as_posix() for p in code_identity.script_modules(REPO / "workflow/scripts/q2_train.py")
    }
    assert not any(p.startswith(("q1/", "q3/")) for p in q2)


def test_fingerprint_covers_the_closure_and_ignores_the_location(tmp_path):
    fp = code_identity.fingerprint("hw2repro.q2.train")
    assert fp == code_identity.fingerprint("hw2repro.q2.train") and len(fp) == 16
    assert fp != code_identity.fingerprint("hw2repro.q3.train")
    probe = "from hw2repro import code_identity as c; print(c.fingerprint('hw2repro.q2.train'))"

    def fingerprint_in(root: Path, edit: str | None = None) -> str:
        shutil.copytree(PACKAGE, root / "hw2repro", ignore=shutil.ignore_patterns("__pycache__"))
        if edit:
            with open(root / "hw2repro" / edit, "a") as fh:
                fh.write("\n# an edit\n")
        env = {"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"}
        return subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True, timeout=120
        ).stdout.strip()

    assert fingerprint_in(tmp_path / "a") == fp  # a copy elsewhere: same identity
    assert fingerprint_in(tmp_path / "b", "q2/model.py") != fp  # imported by train: a code change
    assert fingerprint_in(tmp_path / "c", "q2/figures.py") == fp  # not imported by train


CHECKPOINT_PROBE = """
import json, os, sys, torch
from dataclasses import replace
from hw2repro import runtime
from hw2repro.checkpoint import EpochCheckpoint
from hw2repro.q2 import train
g = torch.Generator().manual_seed(0)
data = {s: (torch.rand(n, 784, generator=g), torch.randint(0, 4, (n,), generator=g))
        for s, n in (("train", 32), ("dev", 16), ("test", 16))}
resume, model_file = sys.argv[1], sys.argv[2]
q2 = json.loads(sys.argv[3])  # config/config.yaml's q2 (the copied package has no config folder)

def job(epochs):  # what a q2 job does: its checkpoint's identity is read from the files at its start
    ckpt = EpochCheckpoint(resume, {"lr": 0.05}, code=train.__name__)
    runtime.seed_everything(1)
    settings = replace(train.Q2Settings.from_config(q2, "max", 0.05, 1), epochs=epochs)
    train.train(settings, data, checkpoint=ckpt, log=print)

job(1)  # a job that stopped after epoch 1 leaves its checkpoint
print("checkpoint left" if os.path.exists(resume) else "no checkpoint")
print("---", flush=True)
with open(model_file, "a") as fh:
    fh.write("\\n# the model code changed while the job was down\\n")
job(2)  # the job again, with other model code
"""


def test_a_q2_checkpoint_written_by_other_code_is_not_resumed(tmp_path):
    """Both jobs in one interpreter (one torch import): the fingerprint is read from the package's
    files when a job starts, not from the modules it has loaded."""
    root = tmp_path / "pkg"
    shutil.copytree(PACKAGE, root / "hw2repro", ignore=shutil.ignore_patterns("__pycache__"))
    env = {"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"}
    resume, model = tmp_path / "resume.pt", root / "hw2repro" / "q2" / "model.py"
    proc = subprocess.run(
        [sys.executable, "-c", CHECKPOINT_PROBE, str(resume), str(model), json.dumps(defaults.load()["q2"])],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    first, second = proc.stdout.split("---\n")
    assert "epoch 1/1" in first and "checkpoint left" in first
    assert model.read_text().endswith("# the model code changed while the job was down\n")
    assert "written with other code" in second and "resuming" not in second


# ---------------------------------------------------------------------------- through Snakemake


def planned_jobs(work: Path, *args: str) -> list[tuple[str, str, str]]:
    """(rule, wildcards, reason) of every job a dry run would execute."""
    out = snakemake(work, "-n", "--cores", "2", "--configfile", "tiny.yaml", *args).stdout
    jobs = []
    for block in out.split("\nrule ")[1:]:
        rule = block.split(":", 1)[0].strip()
        wildcards = re.search(r"wildcards: (.*)", block)
        reason = re.search(r"reason: (.*)", block)
        jobs.append((rule, wildcards.group(1).strip() if wildcards else "", reason.group(1) if reason else ""))
    return jobs


def script_rules(work: Path) -> dict[str, str]:
    """rule name -> its script's file name, read from the rule files."""
    rules = {}
    for smk in (work / "workflow" / "rules").glob("*.smk"):
        for name, body in re.findall(r"(?ms)^rule (\w+):\n(.*?)(?=^rule |\Z)", smk.read_text()):
            script = re.search(r'script:\s*"\.\./scripts/(\w+\.py)"', body)
            if script:
                rules[name] = script.group(1)
    return rules


@pytest.fixture(scope="module")
def moved_run(tiny_run, tmp_path_factory):
    """The session's finished tiny run, copied (cp -a: results/ and .snakemake/ included) elsewhere."""
    dest = tmp_path_factory.mktemp("moved") / "checkout"
    subprocess.run(["cp", "-a", str(tiny_run), str(dest)], check=True)
    return dest


@pytest.mark.slow
def test_a_copied_checkout_is_up_to_date(moved_run):
    assert planned_jobs(moved_run) == []  # and the original is: the tiny_run fixture checks it once made


@pytest.mark.slow
@pytest.mark.parametrize(
    "module",
    # one per kind of edge: the tokenizer reaches training through predictions.txt, a figure module
    # retrains nothing, a model module retrains every job of its question and not the data; every
    # other module's rules follow from the same derived inputs (each script's closure is checked
    # against Python's own imports above)
    ["q3/text.py", "q2/figures.py", "q2/model.py"],
)
def test_editing_a_module_plans_exactly_the_rules_that_import_it(moved_run, module):
    scripts = moved_run / "workflow" / "scripts"
    importers = {
        rule
        for rule, script in script_rules(moved_run).items()
        if module in {p.relative_to(PACKAGE).as_posix() for p in code_identity.script_modules(scripts / script)}
    }
    assert importers  # every module here is imported by some rule's script
    path = moved_run / "workflow" / "hw2repro" / module
    original = path.read_text()
    if module == "q2/model.py":  # Snakemake compares input checksums: a mere touch is ignored, a real edit is not
        later = time.time() + 5
        os.utime(path, (later, later))
        assert planned_jobs(moved_run) == []
    path.write_text(original + "\n# an edit\n")
    try:
        jobs = {(rule, wildcards) for rule, wildcards, _ in planned_jobs(moved_run)}
    finally:
        path.write_text(original)
    # exactly the importers' jobs and what follows from them: what forcing the importers would run
    assert jobs == {(rule, wildcards) for rule, wildcards, _ in planned_jobs(moved_run, "--forcerun", *importers)}
    assert importers <= {rule for rule, _ in jobs}
    if module == "q3/text.py":  # the tokenizer writes predictions.txt
        assert "q3_train" in importers
    if module == "q2/figures.py":  # a figure module retrains nothing
        assert not [rule for rule, _ in jobs if rule.endswith("_train")]
    if module == "q2/model.py":  # all four tiny Q2 trainings, and not the data they read
        assert sum(rule == "q2_train" for rule, _ in jobs) == 4
        assert "octmnist_data" not in {rule for rule, _ in jobs}


@pytest.mark.slow
def test_editing_files_no_job_reads_reruns_nothing(moved_run):
    """Files of the run folder that no rule's code reads: the conda env file (used only with --sdm
    conda), the Snakemake-report front page, and a new module no script imports (inputs are per module,
    not per folder)."""
    edits = [moved_run / "envs" / "hw2.yaml", moved_run / "report" / "workflow.rst"]
    originals = {p: p.read_text() for p in edits}
    unused = moved_run / "workflow" / "hw2repro" / "q2" / "notes_nobody_imports.py"
    try:
        for p in edits:
            p.write_text(originals[p] + "\n# an edit\n")
        unused.write_text("X = 1\n")
        assert planned_jobs(moved_run) == []
    finally:
        for p, text in originals.items():
            p.write_text(text)
        unused.unlink()


@pytest.mark.slow
def test_changing_one_lr_reruns_only_that_lr_and_downstream(moved_run):
    config = tiny_config()
    config["q2"]["lrs"] = [0.1, 0.05]
    write_config(moved_run / "tiny.yaml", config)
    try:
        jobs = planned_jobs(moved_run)
    finally:
        write_config(moved_run / "tiny.yaml", tiny_config())
    train = sorted(w for r, w, _ in jobs if r == "q2_train")
    assert train == sorted(f"pooling={p}, lr=0.05, seed=42" for p in ("max", "none")), train
    rules = {r for r, _, _ in jobs}
    assert "octmnist_data" not in rules
    assert {"q2_aggregate", "q2_overview_figure", "q2_config_figures"} <= rules


@pytest.mark.slow
def test_the_workflow_runs_as_a_snakemake_module(tmp_path):
    """A host workflow elsewhere: `module` + `use rule * from ... as hw2_*`. The whole DAG is planned
    (every rule's inputs, code inputs and templates resolve from the module's folder), and one cheap
    real job runs through the module's script path; the tiny run checks the numbers."""
    host = tmp_path / "host"
    host.mkdir()
    write_config(host / "host.yaml", tiny_config())
    (host / "Snakefile").write_text(
        'configfile: "host.yaml"\n\n\n'
        "module hw2:\n"
        f'    snakefile:\n        "{REPO / "Snakefile"}"\n'
        "    config:\n        config\n\n\n"
        "use rule * from hw2 as hw2_*\n"
    )

    def host_snakemake(*args: str) -> str:
        proc = run_snakemake(["--cores", "1", *args], host, timeout=600)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
        return proc.stdout + proc.stderr

    # the default target plans every rule of the pipeline, prefixed, with its outputs under the host
    plan = host_snakemake("-n")
    planned = set(re.findall(r"^rule (\w+):", plan, re.M)) | set(re.findall(r"^localrule (\w+):", plan, re.M))
    ours = {f"hw2_{rule}" for rule in script_rules(REPO)}
    assert ours <= planned, ours - planned
    assert {"hw2_q2_train", "hw2_q3_train", "hw2_report"} <= planned
    assert "results/report/index.html" in plan
    # one real job (a script: its path resolves from the module, its outputs land under the host)
    target = "results/data/octmnist.npz"
    host_snakemake(target)
    assert (host / target).stat().st_size > 10_000
    assert "Nothing to be done" in host_snakemake("-n", target)


@pytest.mark.slow
def test_directory_runs_the_workflow_in_another_folder(tmp_path):
    work = tmp_path / "elsewhere"
    work.mkdir()
    write_config(work / "tiny.yaml", tiny_config())
    base = [
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(work),
        "--configfile",
        str(work / "tiny.yaml"),
        "--cores",
        "1",
    ]
    dry = run_snakemake([*base, "-n"], tmp_path, timeout=300)
    assert dry.returncode == 0, dry.stdout[-2000:] + dry.stderr[-3000:]
    target = "results/config.yaml"  # a cheap job whose script resolves from the workflow's folder
    proc = run_snakemake([*base, target], tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert yaml.safe_load((work / target).read_text())["q2"]["lrs"] == tiny_config()["q2"]["lrs"]
    assert not (tmp_path / "results").exists()  # everything went to --directory, nothing to where it was called
