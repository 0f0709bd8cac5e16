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
    """config/config.yaml with each of ``overrides`` merged over it, in order, and the canonical data
    sets' facts where they are left null (:func:`with_canonical_facts`)."""
    config = yaml.safe_load(CONFIG_YAML.read_text())
    for override in overrides:
        config = merge(config, override or {})
    with_canonical_facts(config)
    return config


def with_canonical_facts(config: dict) -> None:
    """Fill the null URLs, checksums and sizes of the data sets with the canonical files' own, which
    live in the package (hw2repro.q2.octmnist, hw2repro.q3.ljspeech), not as config defaults: a user
    sets a URL for a mirror, and a checksum only for a file of other content (labelled not canonical;
    its size is then checked only when given)."""
    from .q2 import octmnist
    from .q3 import ljspeech

    facts = {  # source: (url, (checksum key, checksum), size)
        "octmnist": (octmnist.URL, ("md5", octmnist.MD5), octmnist.SIZE),
        "ljspeech": (ljspeech.URL, ("sha256", ljspeech.SHA256), ljspeech.SIZE),
    }
    for source, (url, (checksum_key, checksum), size) in facts.items():
        data = config.get("data")
        section = data.get(source) if isinstance(data, dict) else None
        if not isinstance(section, dict):
            continue  # not a mapping: the schema names the key
        if section.get("url") is None:
            section["url"] = url
        if section.get(checksum_key) is None:  # the canonical file: its size too (other content: unchecked)
            section[checksum_key] = checksum
            if section.get("size") is None:
                section["size"] = size
