"""The one place settings come from: ``config/config.yaml`` with a user's overrides merged over it.

Every default lives in that file and nowhere else (``tests/test_config.py`` scans the package for a
dataclass field, function default or ``.get`` fallback that restates a config key). The workflow
(common.smk), the tests and the benchmarks build settings objects from :func:`load`.
"""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

CONFIG_YAML = Path(__file__).resolve().parents[2] / "config" / "config.yaml"


def merge(base: dict, override: dict) -> dict:
    """``override`` over ``base``, nested dicts key by key (Snakemake's --configfile merge); new dicts."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def load(*overrides: dict) -> dict:
    """config/config.yaml with each of ``overrides`` merged over it, in order."""
    config = yaml.safe_load(CONFIG_YAML.read_text())
    for override in overrides:
        config = merge(config, override or {})
    return config
