"""Figures made again, on a copy of the session's tiny run (``tiny_run`` in conftest): the same
bytes. (A damaged features file, the one line it stops training with and the fix it names are
checked in test_compare.py, whose second run rebuilds the features anyway.)"""

import re

from conftest import snakemake


def figures(run):
    return sorted(
        p.relative_to(run)
        for ext in ("pdf", "png")
        for p in (run / "results").rglob(f"*.{ext}")
        if "report" not in p.parts
    )


def figure_jobs(run) -> dict[str, list[str]]:
    """Rule -> outputs of its first job, over every job that draws a figure of the run: Snakemake's
    own plan of ``-f`` on every figure file (it forces the jobs that make them, nothing upstream)."""
    made = figures(run)
    plan = snakemake(run, "-n", "-f", "--configfile", "tiny.yaml", "--", *map(str, made)).stdout
    jobs: dict[str, list[str]] = {}
    planned = set()
    for block in plan.split("\nrule ")[1:]:
        outputs = re.search(r"output: (.*)", block).group(1).split(", ")
        planned.update(outputs)
        jobs.setdefault(block.split(":", 1)[0].strip(), outputs)
    assert {str(p) for p in made} <= planned  # every figure file is some planned job's
    return jobs


def test_each_figure_rule_writes_the_same_bytes_when_run_again(tiny_run, tiny_run_copy):
    """One job of each rule that draws figures runs again on the same inputs and writes the same bytes
    (a rule's other jobs run the same code on other numbers)."""
    jobs = figure_jobs(tiny_run_copy)
    assert len(jobs) >= 6, sorted(jobs)  # Q1, Q3 and four Q2 rules draw figures
    assert all(any(out.endswith((".pdf", ".png")) for out in outs) for outs in jobs.values()), jobs  # no upstream job
    remade = [out for outputs in jobs.values() for out in outputs]
    assert sum(out.endswith(".pdf") for out in remade) >= 10
    for out in remade:
        (tiny_run_copy / out).unlink()
    snakemake(tiny_run_copy, "--cores", "2", "--configfile", "tiny.yaml", "-f", "--", *remade)
    different = [out for out in remade if (tiny_run_copy / out).read_bytes() != (tiny_run / out).read_bytes()]
    assert different == []
