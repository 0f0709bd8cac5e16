"""What counts as a code change: derived code inputs, checkpoint code identity, and a run that stays
valid when its checkout is copied, used as a Snakemake module, or run with --directory.

The derived inputs are checked against Python itself: each script's imports are executed in a fresh
interpreter and the ``hw2repro`` files it loaded are compared with what ``code_identity`` read from
the source. The pipeline tests edit real modules in a copy of the session's tiny run and ask
Snakemake what it would re-run.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, snakemake, tiny_config, write_config
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
import json, sys, torch
from dataclasses import replace
from hw2repro import runtime
from hw2repro.checkpoint import EpochCheckpoint
from hw2repro.q2 import train
g = torch.Generator().manual_seed(0)
data = {s: (torch.rand(n, 784, generator=g), torch.randint(0, 4, (n,), generator=g))
        for s, n in (("train", 32), ("dev", 16), ("test", 16))}
epochs = int(sys.argv[1])
ckpt = EpochCheckpoint(sys.argv[2], {"lr": 0.05}, code=train.__name__)
runtime.seed_everything(1)
q2 = json.loads(sys.argv[3])  # config/config.yaml's q2 (the copied package has no config folder)
settings = replace(train.Q2Settings.from_config(q2, "max", 0.05, 1), epochs=epochs)
out = train.train(settings, data, checkpoint=ckpt, log=print)
"""


def test_a_q2_checkpoint_written_by_other_code_is_not_resumed(tmp_path):
    root = tmp_path / "pkg"
    shutil.copytree(PACKAGE, root / "hw2repro", ignore=shutil.ignore_patterns("__pycache__"))
    env = {"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"}
    resume = tmp_path / "resume.pt"

    def train(epochs: int) -> str:
        proc = subprocess.run(
            [sys.executable, "-c", CHECKPOINT_PROBE, str(epochs), str(resume), json.dumps(defaults.load()["q2"])],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    train(1)  # a job that stopped after epoch 1 leaves its checkpoint
    assert resume.exists()
    with open(root / "hw2repro" / "q2" / "model.py", "a") as fh:
        fh.write("\n# the model code changed while the job was down\n")
    log = train(2)
    assert "written with other code" in log and "resuming" not in log


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
def test_a_copied_checkout_is_up_to_date(moved_run, tiny_run):
    assert planned_jobs(tiny_run) == []
    assert planned_jobs(moved_run) == []


@pytest.mark.slow
@pytest.mark.parametrize(
    "module",
    [
        "q3/text.py",
        "q2/figures.py",
        "q2/model.py",
        "io.py",
        "q3/corpus/espeak.py",
        "report/render.py",
        "code_identity.py",
    ],
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


@pytest.mark.slow
def test_the_workflow_runs_as_a_snakemake_module(tmp_path):
    """A host workflow elsewhere: `module` + `use rule * from ... as hw2_*`, run end to end."""
    host = tmp_path / "host"
    host.mkdir()
    config = tiny_config()
    # smaller still: this run checks paths and wiring, the tiny run checks the numbers
    config["q3"].update(epochs=1, decoders=["lstm"])
    config["q2"].update(lrs=[0.1], poolings=["max"], epochs=1)
    write_config(host / "host.yaml", config)
    (host / "Snakefile").write_text(
        'configfile: "host.yaml"\n\n\n'
        "module hw2:\n"
        f'    snakefile:\n        "{REPO / "Snakefile"}"\n'
        "    config:\n        config\n\n\n"
        "use rule * from hw2 as hw2_*\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "2"], cwd=host, capture_output=True, text=True, timeout=900
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    assert (host / "results" / "report" / "index.html").stat().st_size > 10_000
    assert (host / "results" / "q3" / "runs" / "lstm_seed42" / "model.pt").exists()
    again = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n"], cwd=host, capture_output=True, text=True, timeout=300
    )
    assert "Nothing to be done" in again.stdout + again.stderr


@pytest.mark.slow
def test_directory_runs_the_workflow_in_another_folder(tmp_path):
    work = tmp_path / "elsewhere"
    work.mkdir()
    write_config(work / "tiny.yaml", tiny_config())
    base = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(work),
        "--configfile",
        str(work / "tiny.yaml"),
        "--cores",
        "1",
    ]
    dry = subprocess.run([*base, "-n"], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert dry.returncode == 0, dry.stdout[-2000:] + dry.stderr[-3000:]
    target = "results/q1/verification.csv"
    proc = subprocess.run([*base, target], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert (work / target).stat().st_size > 100
    assert not (tmp_path / "results").exists()  # everything went to --directory, nothing to where it was called
