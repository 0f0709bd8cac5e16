"""Every value of the merged config sane on its own, checked before any job runs.

The JSON schema cannot say these: YAML's ``.nan`` passes every numeric bound (NaN compares false),
a seed above 2**32-1 passes ``minimum: 0`` and dies later in NumPy, and whether the output root is
a usable folder depends on the file system. One line each, naming the key, like the schema's.
"""

from __future__ import annotations

import errno
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SEED_MAX = 2**32 - 1  # NumPy's seed range
# The checkout's own folders: an output root inside one would mix results with code.
CODE_FOLDERS = ("workflow", "config", "tests", "bench", "docs", "profiles", "envs", "report", ".git")
REPO = Path(__file__).resolve().parents[2]
# Values that parse and pass the schema but make no physical sense: key -> (low, high, why).
BOUNDS = {
    "q3.features.sample_rate_assumed": (8_000, 192_000, "an audio sample rate in Hz (the homework assumes 16000)"),
}


def key_name(path: tuple) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


def leaves(value: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    """Every (path, value) of a nested dict/list, walked generically: no list of keys to keep current."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from leaves(v, (*path, k))
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from leaves(v, (*path, i))
    else:
        yield path, value


def number_problems(config: dict) -> list[str]:
    out = []
    for path, value in leaves(config):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        key = key_name(path)
        if isinstance(value, float) and not math.isfinite(value):
            out.append(f"invalid config: {key}: {value} is not a finite number")
            continue
        names = [p for p in path if isinstance(p, str)]
        if names and names[-1] in ("seed", "seeds") and not 0 <= value <= SEED_MAX:
            out.append(f"invalid config: {key}: seed {value} is outside 0..{SEED_MAX} (2**32-1, NumPy's range)")
        if key in BOUNDS:
            low, high, what = BOUNDS[key]
            if not low <= value <= high:
                out.append(f"invalid config: {key}: {value} is outside {low}..{high} for {what}")
    return out


def path_problems(config: dict) -> list[str]:
    """A ``path`` key (a user's data file or folder) that cannot even be looked at: a symlink loop
    would otherwise end in a bare traceback while Snakemake builds the DAG."""
    out = []
    for path, value in leaves(config):
        if path and path[-1] == "path" and isinstance(value, str) and value:
            try:
                os.stat(os.path.expanduser(value))
            except FileNotFoundError:
                pass  # the data rule names what is missing and where
            except OSError as exc:
                why = "is a symbolic link loop" if exc.errno == errno.ELOOP else f"cannot be read ({exc.strerror})"
                out.append(f"invalid config: {key_name(path)}: {value!r} {why}: point it at the file or folder itself")
    return out


def results_root_problem(value: Any, cwd: Path | None = None, repo: Path = REPO) -> str | None:
    """Why ``results`` cannot be this run's output root, or None. Every output, log and benchmark goes
    under it, so it must be a folder of its own: not the working directory or one above it (``.``,
    ``/``, ``..``), not an existing file, not inside the checkout's code."""
    if not isinstance(value, str) or not value.strip():
        return "invalid config: results: empty; name a folder of its own for the outputs, e.g. results"
    cwd = Path.cwd() if cwd is None else cwd
    try:
        root = (cwd / value).resolve()
        here = cwd.resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop
        return f"invalid config: results: {value!r} cannot be resolved ({exc}); name a plain folder"
    if root == here or root in here.parents:
        what = "the file system's root" if root == Path(root.anchor) else "the working directory or a folder above it"
        return (
            f"invalid config: results: {value!r} is {what}; outputs would be written beside everything "
            "there: name a folder of its own, e.g. results"
        )
    if root.exists() and not root.is_dir():
        return f"invalid config: results: {value!r} is an existing file, not a folder: name a folder, e.g. results"
    repo = repo.resolve()
    for folder in CODE_FOLDERS:
        if root == repo / folder or repo / folder in root.parents:
            return (
                f"invalid config: results: {value!r} is inside the checkout's {folder}/ folder; outputs "
                "would mix with code: name a folder of its own, e.g. results"
            )
    return None


def problems(config: dict, cwd: Path | None = None) -> list[str]:
    """Every value that is not sane on its own, one line each."""
    out = number_problems(config) + path_problems(config)
    if "results" in config:
        root = results_root_problem(config["results"], cwd)
        if root:
            out.append(root)
    return out
