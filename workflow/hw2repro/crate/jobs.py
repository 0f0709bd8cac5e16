"""The jobs of a finished run: one per benchmark record under ``{root}/benchmarks/``, with the rule,
wildcards, inputs and outputs Snakemake plans for the root's own resolved config (its DAG, built
in-process with every job forced, nothing executed), the start from the job's log and the duration
and resource use from its benchmark."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from ..code_identity import ROOT as WORKFLOW_DIR

SNAKEFILE = WORKFLOW_DIR / "Snakefile"
STAMP = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\]")


@dataclass
class Job:
    name: str  # the benchmark's path under benchmarks/, without .tsv (q2/train_max_lr0.1_seed42)
    rule: str
    wildcards: dict
    inputs: list[str]  # paths relative to the root (files outside it left out: the code, the data given by path)
    outputs: list[str]
    script: str | None  # the rule's script, relative to workflow/
    smk: str  # the rule's Snakefile, relative to workflow/
    start: datetime | None = None
    end: datetime | None = None
    usage: dict = field(default_factory=dict)  # the benchmark's columns (s, max_rss, cpu_time, ...)


def read_benchmark(path: Path) -> dict:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    return rows[-1] if rows else {}  # --benchmark-repeats writes several rows: the last one ran last


def log_start(path: Path) -> datetime | None:
    """The first time stamp a job's log holds (hw2repro.joblog writes the job's local time)."""
    if not path.is_file():
        return None
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            m = STAMP.match(line)
            if m:
                return datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S")
    return None


def planned_jobs(root: Path) -> list:
    """Snakemake's jobs for the root's resolved config, every one forced (so all are planned)."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import ConfigSettings, DAGSettings, OutputSettings, ResourceSettings

    with SnakemakeApi(OutputSettings(quiet={"all"})) as api:
        wf = api.workflow(
            resource_settings=ResourceSettings(cores=1),
            config_settings=ConfigSettings(configfiles=[root / "config.yaml"], config={"results": str(root)}),
            snakefile=SNAKEFILE,
            workdir=WORKFLOW_DIR.parent,
        )
        dag_api = wf.dag(DAGSettings(forceall=True))
        workflow = dag_api.workflow_api._workflow
        workflow._prepare_dag(forceall=True, ignore_incomplete=True, lock_warn_only=True)
        workflow._build_dag()
        return list(workflow.dag.jobs)


def _under(root: Path, paths) -> list[str]:
    out = []
    for p in paths:
        path = Path(p) if Path(p).is_absolute() else WORKFLOW_DIR.parent / p
        try:
            out.append(path.resolve().relative_to(root).as_posix())
        except ValueError:
            continue
    return sorted(set(out))


def _rel_workflow(path) -> str | None:
    if not path:
        return None
    p = Path(str(path))
    p = p if p.is_absolute() else (WORKFLOW_DIR.parent / p)
    try:
        return p.resolve().relative_to(WORKFLOW_DIR).as_posix()
    except ValueError:
        return None


def run_jobs(root: Path) -> list[Job]:
    """Every job that left a benchmark record in ``root``, with what the DAG says about it."""
    root = Path(root).resolve()
    by_benchmark = {}
    for job in planned_jobs(root):
        for b in job.benchmark and [job.benchmark] or []:
            by_benchmark[_under(root, [b])[0] if _under(root, [b]) else str(b)] = job
    jobs = []
    for bench in sorted((root / "benchmarks").rglob("*.tsv")):
        rel = bench.relative_to(root).as_posix()
        name = bench.relative_to(root / "benchmarks").with_suffix("").as_posix()
        planned = by_benchmark.get(rel)
        if planned is None:
            continue  # a record of a job this config no longer plans: its rule is unknown
        usage = read_benchmark(bench)
        start = log_start(root / "logs" / f"{name}.log")
        seconds = float(usage.get("s", "nan") or "nan")
        if start is None:  # no log: the benchmark is written as the job ends
            end = datetime.fromtimestamp(bench.stat().st_mtime).replace(microsecond=0)
            start = end - timedelta(seconds=seconds) if seconds == seconds else None
        else:
            end = start + timedelta(seconds=round(seconds)) if seconds == seconds else None
        rule = planned.rule
        jobs.append(
            Job(
                name=name,
                rule=rule.name,
                wildcards=dict(planned.wildcards_dict),
                inputs=_under(root, planned.input),
                outputs=_under(root, list(planned.output) + list(planned.log)),
                script=_rel_workflow(Path(rule.basedir) / rule.script) if getattr(rule, "script", None) else None,
                smk=_rel_workflow(rule.snakefile) or str(rule.snakefile),
                start=start,
                end=end,
                usage=usage,
            )
        )
    return jobs
