"""Reading one result root: its numbers, files, settings and environments, and the record of its
settings that rule run_config writes (``{root}/config.yaml``)."""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from .. import result_keys
from ..io import file_digest
from . import unpack

RUN_CONFIG = "config.yaml"  # the resolved config, written by rule run_config into every root
# Settings that never differ in a meaningful way: the output root is what tells the two runs apart.
IGNORED_SETTINGS = {"results"}

# Verdicts of a difference in settings or environment.
CHANGES = "changes results"
BITS = "expected to change bits"
NONE = "no effect on numbers"

# ---------------------------------------------------------------------------------------------
# What is compared
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """A CSV of reported numbers: one row per ``keys`` combination, every other column a quantity."""

    section: str
    pattern: str  # glob under the root
    keys: tuple
    skip: tuple = ()  # columns already in the run's name (pooling, lr, seed)
    counts: bool = True  # False: timings, listed but never failing the comparison


TABLES = (
    Table("Q1 checks", "q1/verification.csv", ("kind", "check", "construction", "D", "K", "L")),
    Table("Q1 checks", "q1/approximation_error.csv", ("construction", "K", "D", "L", "scale", "seed")),
    Table("Q1 timings", "q1/scaling_slopes.csv", ("method", "D"), counts=False),
    Table("Q1 timings", "q1/crossover.csv", ("method", "D"), counts=False),
    Table("Q1 timings", "q1/complexity.csv", ("claim", "method", "D", "quantity"), counts=False),
    Table("Q2 per run", "q2/runs/*/metrics.csv", ("epoch",), skip=("pooling", "lr", "seed")),
    Table("Q2 per config", "q2/summary_by_config.csv", ("pooling", "lr")),
    Table("Q2 per config", "q2/best_lr.csv", ("pooling",)),
    Table("Q3 per run", "q3/runs/*/metrics.csv", ("epoch",)),
)
# Per-run JSON files: every leaf is a number (or a string compared exactly), except the
# environment (compared as such, below) and timings.
JSONS = (("Q2 per run", "q2/runs/*/result.json"), ("Q3 per run", "q3/runs/*/test.json"))
RUN_DIRS = ("q2/runs/*", "q3/runs/*")
# Files compared byte for byte: weights, data, cached features, predictions.
FILES = (
    "data/*.npz",
    "data/*.json",
    "q3/features/*.pt",
    "q3/features/*.npy",  # the feature arrays (the .pt files hold tokens and ids)
    "q2/runs/*/model.pt",
    "q3/runs/*/model.pt",
    "q3/runs/*/predictions.txt",
)
# Where jobs record their environment: (label, glob, part of the JSON).
ENVS = (
    ("q1", "q1/scaling_environment.json", None),
    ("q2", "q2/runs/*/result.json", "env"),
    ("q3", "q3/runs/*/test.json", "env"),
)
PROVENANCE = "report/tables/provenance.csv"
# Provenance rows that are not environment: build time, and copies of the settings.
PROVENANCE_SKIP = re.compile(r"^(report built|config SHA-256|config file |q\d threads per job)")


def is_timing(key: str) -> bool:
    """Wall/CPU times and how many segments a resumed job took: they differ on every run."""
    leaf = key.rsplit(".", 1)[-1]
    return "seconds" in leaf or leaf.endswith("_time_s") or leaf == "segments"


def setting_verdict(key: str) -> str:
    """Whether a config key changes the numbers (key: dotted path, e.g. q2.lrs; hw2repro.result_keys decides)."""
    effect, why = result_keys.effect(key)
    return {"changes": CHANGES, "bits": BITS, "none": NONE}[effect] + (f" ({why})" if why else "")


ENV_VERDICTS = {
    "torch_threads": BITS + " (thread count: reduction order)",
    "torch": BITS + " (torch build)",
    "cuda": BITS + " (CUDA version)",
    "cuda_available": BITS + " (device)",
    "device": BITS + " (device: CPU vs GPU kernels)",
    "gpu": BITS + " (device)",
    "cpu": BITS + " (CPU model)",
    "cpu_isa": BITS + " (CPU vector ISA: kernel choice)",
    "cpu isa": BITS + " (CPU vector ISA: kernel choice)",
    "git commit": BITS + " if the jobs' code is unchanged; otherwise it changes results (see the numbers)",
    "working tree dirty": BITS + " if the jobs' code is unchanged; otherwise it changes results",
    "logical cpus": NONE + " (threads are pinned by the config)",
    "usable cpus": NONE + " (threads are pinned by the config)",
}
NO_EFFECT_PACKAGES = {"snakemake", "matplotlib", "seaborn", "jinja2", "jsonschema", "implementation"}


def env_verdict(key: str) -> str:
    if key in ENV_VERDICTS:
        return ENV_VERDICTS[key]
    if key in NO_EFFECT_PACKAGES:
        return NONE + " (plots, report, workflow engine)"
    return BITS + " (library version / platform)"


# ---------------------------------------------------------------------------------------------
# Reading one root
# ---------------------------------------------------------------------------------------------


def flatten(obj, prefix: str = "") -> dict:
    """{'a': {'b': 1}, 'c': [1, 2]} -> {'a.b': 1, 'c': [1, 2]} (lists are values)."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            out.update(flatten(v, f"{prefix}{k}."))
        return out
    return {prefix[:-1]: obj}


def glob(root: Path, pattern: str) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.glob(pattern) if p.is_file() or p.is_dir())


def key_label(row, keys) -> str:
    return " ".join(f"{k}={_fmt_key(row[k])}" for k in keys if k in row and not _is_nan(row[k]))


def _fmt_key(v) -> str:
    return format(v, "g") if isinstance(v, float) else str(v)


def _is_nan(v) -> bool:
    return isinstance(v, float) and math.isnan(v)


def _value(v):
    """A comparable value: numbers as float, booleans as 0/1, NaN kept, the rest as strings."""
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    if hasattr(v, "item"):  # numpy scalar
        return _value(v.item())
    if v is None:
        return None
    return str(v)


# Per-run JSON keys that describe where the job ran, not what it found (compared as environment).
ENV_KEYS = {"device", "threads", "torch_threads"}


def read_numbers(root: Path) -> dict:
    """{(section, file, item, quantity): (value, counts)} of every reported number under ``root``.
    A file that cannot be read is one row saying so (a truncated copy is a difference, not a crash)."""
    out = {}
    for t in TABLES:
        for rel in glob(root, t.pattern):
            try:
                frame = pd.read_csv(root / rel)
            except (ValueError, OSError) as exc:  # EmptyDataError and ParserError are ValueErrors
                out[(t.section, rel, "", "(unreadable)")] = (f"{type(exc).__name__}: {exc}", t.counts)
                continue
            keys = [k for k in t.keys if k in frame.columns]
            for _, row in frame.iterrows():
                item = key_label(row, keys)
                for col in frame.columns:
                    if col in keys or col in t.skip:
                        continue
                    counts = t.counts and not is_timing(col)
                    out[(t.section, rel, item, col)] = (_value(row[col]), counts)
    for section, pattern in JSONS:
        for rel in glob(root, pattern):
            data = read_json(root / rel)
            if not isinstance(data, dict):
                out[(section, rel, "", "(unreadable)")] = (str(data), True)
                continue
            data.pop("env", None)
            for key, v in flatten(data).items():
                if key in ENV_KEYS:
                    continue
                if isinstance(v, list) and all(isinstance(x, (int, float)) for x in v) and v:
                    for i, x in enumerate(v):
                        out[(section, rel, "", f"{key}[{i}]")] = (_value(x), not is_timing(key))
                else:
                    value = json.dumps(v) if isinstance(v, list) else _value(v)
                    out[(section, rel, "", key)] = (value, not is_timing(key))
    return out


def read_json(path: Path):
    """The parsed file, or a string saying why it could not be parsed."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:
        return f"unreadable: {type(exc).__name__}: {exc}"


def sha256(path: Path) -> str:
    return file_digest(path, "sha256")


def read_settings(root: Path):
    """The run's resolved config as {dotted key: value}, or None when the run did not record it."""
    path = root / RUN_CONFIG
    if not path.is_file():
        return None
    return {
        k: json.dumps(v) if isinstance(v, (list, dict)) else v
        for k, v in flatten(yaml.safe_load(path.read_text(encoding="utf-8")) or {}).items()
    }


def read_environments(root: Path) -> dict:
    """{where: {key: value}} for every job that recorded its environment, and the report's provenance."""
    out = {}
    for _label, pattern, part in ENVS:
        for rel in glob(root, pattern):
            data = read_json(root / rel)
            if not isinstance(data, dict):
                continue  # listed with the numbers as unreadable
            env = data.get(part, {}) if part else {k: v for k, v in data.items() if k != "settings"}
            where = str(Path(rel).parent) if part else rel
            out[where] = {k: str(v) for k, v in env.items()}
    try:
        prov = pd.read_csv(root / PROVENANCE, dtype=str, keep_default_na=False)
        out["report provenance"] = {r.key: r.value for r in prov.itertuples() if not PROVENANCE_SKIP.match(r.key)}
    except (ValueError, OSError, AttributeError):
        pass  # no report (a partial run): commit and library versions unknown, said in the comparison
    return out


def write_text(path, text: str) -> None:
    """Crash-safe like hw2repro.io (temporary name, then rename), without importing torch: the
    comparison starts in a second and runs where only pandas and yaml are installed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # mkstemp makes 0600; results should be readable as usual
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


# ---------------------------------------------------------------------------------------------
# The run's own record of its settings (rule run_config)
# ---------------------------------------------------------------------------------------------


def write_run_config(path, config: dict, configfiles=()) -> None:
    """``{results}/config.yaml``: the resolved config, so a comparison knows the run's settings
    (and the run can be repeated with ``--configfile`` this file)."""
    header = (
        "# The resolved config of this run (every key, defaults included), written by rule run_config.\n"
        f"# From: {', '.join(str(f) for f in configfiles) or 'config/config.yaml'}\n"
    )
    write_text(
        path,
        header
        + yaml.safe_dump(
            json.loads(json.dumps(config, default=str)), sort_keys=False, default_flow_style=None, width=110
        ),
    )


def open_root(path, workdir) -> Path:
    """A result root to read: the folder itself, or a crate (zip) verified and unpacked into ``workdir``."""
    path = Path(path)
    if unpack.is_crate(path):
        return unpack.unpack(path, Path(workdir))
    return path
