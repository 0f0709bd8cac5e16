"""The suite starts Snakemake by forking a server that imported it once (forked_snakemake.py): its
answers must be what the real command line, ``python -m snakemake``, says and exits with.

Two real starts already differ in the order of jobs and of listed files (sets, ordered by each
interpreter's own hash seed), so the outputs are compared as sorted lines of sorted items."""

import re
import subprocess

import pytest

from conftest import SNAKEMAKE, copy_workflow, run_snakemake

pytestmark = pytest.mark.slow

# What differs between any two starts of Snakemake: the date, the run's ID, each job's time stamp
PER_START = re.compile(r"^\s*(Date|Workflow ID): .*$|^\[\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\]$", re.M)


def normalized(text: str) -> list[list[str]]:
    return sorted(sorted(re.split(r"[,;:] ", line)) for line in PER_START.sub("", text).splitlines())


@pytest.mark.parametrize(
    "args",
    [
        ["-n", "--configfile", "config/tiny.yaml"],  # a plan, on stdout and stderr
        ["-n", "--configfile", "config/tiny.yaml", "--config", "q3={'epochs': '3'}"],  # a refused config: exit 1
    ],
    ids=["plan", "refusal"],
)
def test_a_forked_start_answers_as_the_command_line_does(tmp_path, args):
    work = copy_workflow(tmp_path / "w")
    real = subprocess.run([*SNAKEMAKE, *args], cwd=work, capture_output=True, text=True, timeout=300)
    forked = run_snakemake(args, work, timeout=300)
    assert forked.returncode == real.returncode
    assert normalized(forked.stdout) == normalized(real.stdout)
    assert normalized(forked.stderr) == normalized(real.stderr)
    assert real.stdout + real.stderr  # something was compared
