"""What a crate holds: every file of the result root but the third-party data sets (a real OCTMNIST
npz, an LJ Speech folder or archive, and the features computed from real clips), and optionally not
the weights; plus the workflow code that ran (the Snakefiles, the rules' scripts and the package
modules they import). Each with its SHA-256 and size."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..code_identity import ROOT as WORKFLOW_DIR
from ..code_identity import script_modules
from ..io import file_digest

WEIGHTS = ("q2/runs/*/model.pt", "q3/runs/*/model.pt")
CODE_PREFIX = "workflow/"  # the workflow's files sit under this folder in the crate, as in the repository


@dataclass(frozen=True)
class Entry:
    arcname: str  # the path inside the crate (forward slashes)
    source: Path
    sha256: str
    size: int


def sha256_of(path: Path) -> str:
    return file_digest(path, "sha256")


def entry(arcname: str, source: Path) -> Entry:
    return Entry(arcname, source, sha256_of(source), source.stat().st_size)


def _source(root: Path, manifest: str) -> str:
    path = root / "data" / manifest
    if not path.is_file():
        return "missing"
    return str(json.loads(path.read_text(encoding="utf-8")).get("source", "unknown"))


def third_party(root: Path) -> list[str]:
    """Glob patterns (relative to the root) of data that is not ours to hand on: anything but the
    synthetic stand-ins this pipeline draws itself."""
    out = []
    if _source(root, "octmnist.json") != "synthetic":
        out += ["data/*.npz"]
    if _source(root, "ljspeech.json") != "synthetic":
        out += ["data/LJSpeech*", "data/LJSpeech*/**", "data/ljspeech*/**", "data/*.tar*", "q3/features/*"]
    return out


def result_files(root: Path, weights: bool = True) -> tuple[list[Path], list[str]]:
    """(files kept, patterns left out) of a result root."""
    leave_out = third_party(root) + ([] if weights else list(WEIGHTS))
    kept = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
        rel = path.relative_to(root)
        if any(rel.match(pat) or any(parent.match(pat) for parent in rel.parents) for pat in leave_out):
            continue
        kept.append(path)
    return kept, leave_out


def code_files(jobs) -> list[Path]:
    """The workflow's entry points, every rule file, and the scripts and package modules of the rules that ran."""
    files = {WORKFLOW_DIR / "Snakefile", WORKFLOW_DIR.parent / "Snakefile"}
    files |= set((WORKFLOW_DIR / "rules").glob("*.smk"))
    files |= {WORKFLOW_DIR / "schemas" / "config.schema.yaml", WORKFLOW_DIR.parent / "config" / "config.yaml"}
    for job in jobs:
        if job.script:
            script = WORKFLOW_DIR / job.script
            files.add(script)
            files.update(script_modules(script))
    return sorted(f for f in files if f.is_file())


def code_arcname(path: Path) -> str:
    return path.resolve().relative_to(WORKFLOW_DIR.parent).as_posix()
