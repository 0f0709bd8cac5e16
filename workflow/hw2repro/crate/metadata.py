"""ro-crate-metadata.json of a run: RO-Crate 1.1 with the Workflow Run Crate profiles 0.5 (Process Run,
Workflow Run, Provenance Run) and Workflow RO-Crate 1.0. The workflow (workflow/Snakefile) is the main
entity; each rule that ran is a tool with a step; each job a CreateAction with its inputs, outputs,
times and resource use; Snakemake's run of them an OrganizeAction."""

from __future__ import annotations

import csv
import getpass
import subprocess
from datetime import UTC, datetime
from pathlib import PurePosixPath

from .. import __version__
from ..code_identity import ROOT as WORKFLOW_DIR
from ..provenance import git_info, package_versions

CONTEXT = [
    "https://w3id.org/ro/crate/1.1/context",
    {
        "wfrun": "https://w3id.org/ro/terms/workflow-run#",
        "resourceUsage": "wfrun:resourceUsage",
        "connection": "wfrun:connection",
        "sourceParameter": "wfrun:sourceParameter",
        "targetParameter": "wfrun:targetParameter",
        "ParameterConnection": "wfrun:ParameterConnection",
        "sha256": "wfrun:sha256",  # as the Workflow Run Crate context defines it (RO-Crate 1.1 has no such term)
    },
]
PROFILES = {
    "https://w3id.org/ro/wfrun/process/0.5": ("Process Run Crate", "0.5"),
    "https://w3id.org/ro/wfrun/workflow/0.5": ("Workflow Run Crate", "0.5"),
    "https://w3id.org/ro/wfrun/provenance/0.5": ("Provenance Run Crate", "0.5"),
    "https://w3id.org/workflowhub/workflow-ro-crate/1.0": ("Workflow RO-Crate", "1.0"),
}
MAIN = "workflow/Snakefile"
# Keys of the report's provenance table that describe the machine.
MACHINE = ("platform", "cpu", "cpu isa", "logical cpus", "usable cpus", "gpu")
BIOSCHEMAS_WORKFLOW = "https://bioschemas.org/profiles/ComputationalWorkflow/1.0-RELEASE"
LICENSE = {"@id": "https://spdx.org/licenses/MIT", "@type": "CreativeWork", "name": "MIT License"}
# Licences of the data sets a run may use; the crate never holds them, it names them.
DATA_LICENCES = {
    "octmnist.json": ("OCTMNIST (MedMNIST v2)", "https://creativecommons.org/licenses/by/4.0/", "CC BY 4.0"),
    "ljspeech.json": ("LJ Speech 1.1", "https://keithito.com/LJ-Speech-Dataset/", "public domain"),
}


def ref(id_):
    return {"@id": id_}


def refs(ids):
    return [ref(i) for i in ids]


def who() -> dict:
    """The person making the crate: git's user.name, else the login name."""
    try:
        name = subprocess.run(
            ["git", "-C", str(WORKFLOW_DIR), "config", "user.name"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        name = ""
    return {"@id": "#creator", "@type": "Person", "name": name or getpass.getuser()}


def iso(t) -> str | None:
    return t.isoformat() if t else None


FORMATS = {
    ".csv": "text/csv",
    ".tsv": "text/tab-separated-values",
    ".json": "application/json",
    ".yaml": "application/yaml",
    ".md": "text/markdown",
    ".html": "text/html",
    ".png": "image/png",
    ".pdf": "application/pdf",
    ".py": "text/x-python",
    ".wav": "audio/wav",
    ".txt": "text/plain",
    ".log": "text/plain",
    ".smk": "text/plain",
    "": "text/plain",  # Snakefile
}


def file_entity(e, **extra) -> dict:
    fmt = FORMATS.get(PurePosixPath(e.arcname).suffix, "application/octet-stream")  # .pt, .npy, .npz
    base = {"@id": e.arcname, "@type": "File", "name": e.arcname, "encodingFormat": fmt}
    return base | {"sha256": e.sha256, "contentSize": str(e.size)} | extra


def run_environment(root) -> dict:
    """The run's own record of its environment (the report's provenance table), or {} without one."""
    path = root / "report" / "tables" / "provenance.csv"
    if not path.is_file():
        return {}
    with open(path, newline="", encoding="utf-8") as fh:
        return {row["key"]: row["value"] for row in csv.DictReader(fh)}


def build(root, jobs, results, code, left_out, manifests: dict) -> dict:
    """The metadata graph. ``results``/``code``: contents.Entry lists; ``manifests``: data/*.json read.

    Versions, machine and commit are the run's own (its report's provenance table) where it recorded
    them, else those of the environment making the crate."""
    now = datetime.now(UTC).replace(microsecond=0)
    person = who()
    recorded = run_environment(root)
    git = git_info(WORKFLOW_DIR.parent)
    if recorded.get("git commit"):
        git = {"commit": recorded["git commit"], "dirty": str(recorded.get("working tree dirty", "")).startswith("yes")}
    versions = {k: recorded.get(k, v) for k, v in package_versions().items()}
    in_crate = {e.arcname for e in results} | {e.arcname for e in code}
    rules = sorted({j.rule for j in jobs})

    # software: the engine and what the jobs import
    engine = {
        "@id": "#snakemake",
        "@type": "SoftwareApplication",
        "name": "Snakemake",
        "version": versions.get("snakemake"),
        "url": ref("https://snakemake.github.io"),
    }
    software = [
        {
            "@id": _software_url(name),
            "@type": "SoftwareApplication",
            "name": name,
            "version": version,
            "url": ref(_software_url(name)),
        }
        for name, version in versions.items()
        if name not in ("snakemake", "implementation")
    ]
    language = {
        "@id": "#snakemake-language",
        "@type": "ComputerLanguage",
        "name": "Snakemake",
        "identifier": ref("https://snakemake.readthedocs.io"),
        "url": ref("https://snakemake.github.io"),
        "version": versions.get("snakemake"),
    }

    # tools (one per rule that ran) and their steps
    code_by_path = {e.arcname: e for e in code}
    tools, steps = [], []
    for pos, rule in enumerate(rules):
        job = next(j for j in jobs if j.rule == rule)
        parts = [f"workflow/{job.smk}"] + ([f"workflow/{job.script}"] if job.script else [])
        imported = job_code(job)  # once per rule, not once per file
        parts += sorted(a for a in code_by_path if a.startswith("workflow/hw2repro/") and a in imported)
        tools.append(
            {
                "@id": f"#rule-{rule}",
                "@type": "SoftwareApplication",
                "name": f"rule {rule}",
                "version": __version__,
                "url": ref(f"workflow/{job.smk}"),
                "description": f"Snakemake rule {rule} ({job.smk}), running {job.script or 'no script'}",
                "hasPart": refs(p for p in parts if p in in_crate),
            }
        )
        steps.append(
            {"@id": f"#step-{rule}", "@type": "HowToStep", "position": pos, "workExample": ref(f"#rule-{rule}")}
        )

    # one CreateAction per job, and the ControlAction tying it to its step
    actions, controls = [], []
    for job in jobs:
        usage = _usage([job])
        wildcards = ", ".join(f"{k}={v}" for k, v in job.wildcards.items())
        actions.append(
            {
                "@id": f"#job-{job.name}",
                "@type": "CreateAction",
                "name": f"{job.rule}" + (f" ({wildcards})" if wildcards else ""),
                "description": f"A Snakemake job (its records: benchmarks/{job.name}.tsv, logs/{job.name}.log)",
                "instrument": ref(f"#rule-{job.rule}"),
                "object": refs(p for p in job.inputs if p in in_crate),
                "result": refs(p for p in job.outputs if p in in_crate),
                "startTime": iso(job.start),
                "endTime": iso(job.end),
                "actionStatus": ref("http://schema.org/CompletedActionStatus"),
                "agent": ref("#creator"),
                "resourceUsage": refs(u["@id"] for u in usage),
            }
        )
        controls.append(
            {
                "@id": f"#control-{job.name}",
                "@type": "ControlAction",
                "instrument": ref(f"#step-{job.rule}"),
                "object": ref(f"#job-{job.name}"),
            }
        )
    starts = [j.start for j in jobs if j.start]
    ends = [j.end for j in jobs if j.end]
    produced = sorted({p for j in jobs for p in j.outputs if p in in_crate})
    run = {
        "@id": "#run",
        "@type": "CreateAction",
        "name": f"Run of hw2repro {__version__} on result root {root.name}",
        "description": _environment_line(versions, recorded, manifests),
        "instrument": ref(MAIN),
        "object": refs(a for a in ("config.yaml",) if a in in_crate),
        "result": refs(produced),
        "startTime": iso(min(starts)) if starts else None,
        "endTime": iso(max(ends)) if ends else None,
        "actionStatus": ref("http://schema.org/CompletedActionStatus"),
        "agent": ref("#creator"),
    }
    organize = {
        "@id": "#engine-run",
        "@type": "OrganizeAction",
        "name": "Snakemake's run of the workflow",
        "instrument": ref("#snakemake"),
        "object": refs(c["@id"] for c in controls),
        "result": ref("#run"),
        "startTime": run["startTime"],
        "endTime": run["endTime"],
        "agent": ref("#creator"),
    }

    main = file_entity(
        code_by_path[MAIN],
        **{
            "@type": ["File", "SoftwareSourceCode", "ComputationalWorkflow", "HowTo"],
            "name": "hw2repro: IST Deep Learning 2023/24 Homework 2, reproduced end to end",
            "programmingLanguage": ref("#snakemake-language"),
            "conformsTo": ref(BIOSCHEMAS_WORKFLOW),
            "version": __version__,
            "identifier": _commit_id(git),
            "license": ref(LICENSE["@id"]),
            "hasPart": refs(t["@id"] for t in tools),
            "step": refs(s["@id"] for s in steps),
            "softwareRequirements": refs(s["@id"] for s in software),
        },
    )
    data_licences = []
    for manifest, (name, url, licence) in DATA_LICENCES.items():
        m = manifests.get(manifest)
        if m and m.get("source") != "synthetic":
            data_licences.append(
                {
                    "@id": url,
                    "@type": "Dataset",
                    "name": name,
                    "license": licence,
                    "description": f"used by this run ({m.get('label', m.get('source'))}); not in the crate",
                }
            )

    files = [file_entity(e) for e in results] + [file_entity(e) for e in code if e.arcname != MAIN]
    left = "; ".join(left_out) or "nothing"
    root_entity = {
        "@id": "./",
        "@type": "Dataset",
        "name": f"hw2repro run: {root.name}",
        "description": (
            "A finished run of the hw2repro Snakemake pipeline (IST Deep Learning 2023/24 Homework 2): its resolved "
            "config, compiled report, tables, metrics, predictions, data manifests and the workflow code that ran, "
            f"each with SHA-256 and size. Left out (third-party data or by request): {left}."
        ),
        "datePublished": iso(now),
        "version": __version__,
        "license": ref(LICENSE["@id"]),
        "author": ref("#creator"),
        "conformsTo": refs(PROFILES),
        "mainEntity": ref(MAIN),
        "mentions": refs(["#run", "#engine-run", *(a["@id"] for a in actions)]),
        "hasPart": refs([MAIN] + [f["@id"] for f in files]),
    }
    if data_licences:
        root_entity["isBasedOn"] = refs(d["@id"] for d in data_licences)
    descriptor = {
        "@id": "ro-crate-metadata.json",
        "@type": "CreativeWork",
        "conformsTo": refs(["https://w3id.org/ro/crate/1.1", "https://w3id.org/workflowhub/workflow-ro-crate/1.0"]),
        "about": ref("./"),
    }
    profiles = [{"@id": BIOSCHEMAS_WORKFLOW, "@type": "CreativeWork", "name": "Bioschemas ComputationalWorkflow"}]
    profiles += [{"@id": k, "@type": "CreativeWork", "name": n, "version": v} for k, (n, v) in PROFILES.items()]
    graph = [descriptor, root_entity, main, *files, *profiles, LICENSE, person, engine, language, *software]
    graph += [*tools, *steps, *actions, *controls, run, organize, *data_licences] + _usage(jobs)
    return {"@context": CONTEXT, "@graph": [_drop_none(e) for e in graph]}


# Snakemake's benchmark columns and their units (seconds; MB for memory and I/O; percent for load).
BENCHMARK_DOC = "https://snakemake.readthedocs.io/en/stable/snakefiles/rules.html#benchmark-rules"
UNITS = {"s": "s", "cpu_time": "s", "mean_load": "%", "h:m:s": None}


def _usage(jobs):
    """The benchmark's columns as the resourceUsage PropertyValues of each job."""
    out = []
    for job in jobs:
        for k, v in job.usage.items():
            if v in (None, "", "-", "NA"):
                continue
            value = {"@id": f"#usage-{job.name}-{k}", "@type": "PropertyValue", "name": k, "value": v}
            value["propertyID"] = f"{BENCHMARK_DOC}:{k}"
            value["unitText"] = UNITS.get(k, "MB")
            out.append(value)
    return out


def job_code(job) -> set[str]:
    from ..code_identity import script_modules

    if not job.script:
        return set()
    return {p.relative_to(WORKFLOW_DIR.parent).as_posix() for p in script_modules(WORKFLOW_DIR / job.script)}


def _commit_id(git) -> str:
    commit = str(git["commit"])
    if len(commit) == 40 and all(c in "0123456789abcdef" for c in commit):
        return f"git:{commit}" + (" (with uncommitted changes)" if git.get("dirty") else "")
    return commit  # 'not a git checkout' and the like, as recorded


def _software_url(name: str) -> str:
    return "https://www.python.org/" if name == "python" else f"https://pypi.org/project/{name}/"


def _environment_line(versions, recorded, manifests) -> str:
    data = "; ".join(f"{k}: {m.get('label', m.get('source'))}" for k, m in manifests.items())
    machine = ", ".join(f"{k} {recorded[k]}" for k in MACHINE if recorded.get(k))
    whose = "as the run recorded them" if recorded else "of the environment making the crate: the run recorded none"
    return (
        f"Python {versions.get('python')}, torch {versions.get('torch')}, numpy {versions.get('numpy')}, "
        f"Snakemake {versions.get('snakemake')} ({whose}); machine: {machine or 'not recorded'}; each job's own "
        f"environment (torch build, CPU, ISA, threads, device) is in its result files. Data: {data}"
    )


def _drop_none(entity: dict) -> dict:
    """No empty properties; a one-item list as its single value (RO-Crate 1.1's JSON-LD recommendation)."""
    out = {k: v for k, v in entity.items() if v is not None and v != []}
    return {k: v[0] if isinstance(v, list) and len(v) == 1 and k != "@type" else v for k, v in out.items()}
