"""config/README.md, derived from config/config.yaml (its keys, defaults and comments) and the schema.

    python tests/config_doc.py > config/README.md      (make docs)

tests/test_config.py fails when the committed file is not what this prints, so the key table
cannot drift from the config it documents.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
KEY_LINE = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z_][\w]*):(?P<value>[^#]*?)\s*(#\s?(?P<comment>.*))?$")

HEADER = """# Configuration

`config.yaml` is the default configuration and the one place every key and its default live:
your own settings (`--configfile my-settings.yaml`, or a host workflow's `config:` when this
workflow is used as a module) are merged over it key by key. `workflow/schemas/config.schema.yaml`
checks types, bounds and allowed values before any job runs; an error names the key.

| file | what it is |
|---|---|
| `config.yaml` | the offline default: synthetic data, sized to run in about 10 minutes on 2 cores |
| `paper.yaml` | the homework's settings on the real data sets (OCTMNIST download, LJ Speech 1.1) |
| `tiny.yaml` | the smallest config that runs every rule: the test suite's smoke run |
| `references.yaml` | the published numbers the report compares against (not a config file) |

Nested values cannot be given with `--config` (they arrive as strings): write them to a YAML file
and pass it with `--configfile`.

## Every key

Generated from the comments of `config.yaml` by `make docs`; the test suite checks it is current.

| key | default | meaning |
|---|---|---|
"""


def rows(text: str) -> list[tuple[str, str, str]]:
    """(dotted key, default as written, comment) for every leaf key, in file order."""
    stack: list[tuple[int, str]] = []
    pending: list[str] = []  # a comment block above a key documents it
    out = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            pending = []
            continue
        if stripped.startswith("#"):
            pending.append(stripped.lstrip("#").strip())
            continue
        m = KEY_LINE.match(line)
        if not m:
            continue
        indent = len(m["indent"])
        while stack and stack[-1][0] >= indent:
            stack.pop()
        key = ".".join([k for _, k in stack] + [m["key"]])
        value = m["value"].strip()
        comment = " ".join(filter(None, [" ".join(pending), (m["comment"] or "").strip()]))
        pending = []
        if value:
            out.append((key, value, comment))
        else:
            stack.append((indent, m["key"]))
            if comment:
                out.append((key, "", comment))
    return out


def render() -> str:
    text = (REPO / "config" / "config.yaml").read_text()
    yaml.safe_load(text)  # the file must parse before it is documented
    body = []
    for key, value, comment in rows(text):
        cell = f"`{value}`" if value else ""
        body.append(f"| `{key}` | {cell} | {comment.replace('|', '/')} |")
    return HEADER + "\n".join(body) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
