"""What code a job runs, derived from the source: the rules' code inputs and the checkpoints' code hash.

A script's code is the script plus the transitive closure of the ``hw2repro`` modules it imports,
read with ``ast`` (nothing is imported or executed), plus the ``__init__.py`` of every package on
the way, since importing ``hw2repro.q3.train`` runs ``hw2repro/__init__.py`` and
``hw2repro/q3/__init__.py`` first. Nothing is listed by hand, so a new import is a new input.

Only imports of ``hw2repro`` count: third-party code is the environment's (the report records
its versions), and the kept inputs are per module, so editing a figure module retrains nothing.
"""

from __future__ import annotations

import ast
import hashlib
import os
import sys
from functools import cache
from pathlib import Path

PACKAGE = "hw2repro"
PACKAGE_DIR = Path(__file__).resolve().parent
ROOT = PACKAGE_DIR.parent  # the folder holding the package (workflow/)


def module_file(name: str) -> Path | None:
    """``hw2repro.q3.train`` -> .../hw2repro/q3/train.py (or the package's __init__.py); None if absent."""
    parts = name.split(".")
    if parts[0] != PACKAGE:
        return None
    base = ROOT.joinpath(*parts)
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    return None


def _module_name(path: Path) -> str:
    rel = path.resolve().relative_to(ROOT).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _resolve(node: ast.ImportFrom, current: str, is_package: bool) -> str:
    """The absolute module a ``from ... import`` names (relative imports resolved against ``current``)."""
    if node.level == 0:
        return node.module or ""
    base = current.split(".") if is_package else current.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imported_modules(path: Path, current: str | None = None) -> set[str]:
    """The ``hw2repro`` modules a source file imports directly (``from pkg import mod`` counts ``mod``
    when it is a module, else ``pkg``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level and current is None:
                continue  # a relative import outside the package (a script) cannot reach it
            base = _resolve(node, current or "", is_package)
            names = [f"{base}.{a.name}" if module_file(f"{base}.{a.name}") else base for a in node.names]
        else:
            continue
        found.update(n for n in names if n.split(".")[0] == PACKAGE and module_file(n))
    return found


def _with_parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


@cache
def _imports_of(module: str) -> frozenset[str]:
    """A package module's direct imports, each file parsed once per process (a workflow parse asks
    for the closures of 17 scripts, which share most of their modules)."""
    return frozenset(imported_modules(module_file(module), module))


@cache
def _closure_of(name: str) -> frozenset[str]:
    seen: set[str] = set()
    todo = [name]
    while todo:
        mod = todo.pop()
        for m in _with_parents(mod):
            if m in seen:
                continue
            seen.add(m)
            todo.extend(_imports_of(m))
    return frozenset(seen)


def closure(names) -> list[Path]:
    """Every package file that importing ``names`` executes, sorted."""
    mods: set[str] = set()
    for n in names:
        mods |= _closure_of(n)
    return sorted(module_file(m) for m in mods)


def script_modules(script: str | Path) -> list[Path]:
    """The package files a rule's script runs: its imports' closure (the script itself not included)."""
    return closure(sorted(imported_modules(Path(script))))


def fingerprint(module: str) -> str:
    """A short hash of ``module``'s code and everything it imports from the package (content and
    relative path, so it is the same in a moved checkout): a checkpoint written by other code is
    not resumed."""
    h = hashlib.sha256()
    for path in closure([module]):
        h.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def put_first_on_job_path() -> None:
    """Make every job (a script run by Snakemake in its own interpreter, here or on a cluster node,
    where Snakemake parses the workflow again) import this package, not another installed copy."""
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])


if __name__ == "__main__":  # python -m hw2repro.code_identity workflow/scripts/*.py: each script's code inputs
    for arg in sys.argv[1:]:
        print(f"{Path(arg).name}: " + " ".join(str(p.relative_to(PACKAGE_DIR)) for p in script_modules(arg)))
