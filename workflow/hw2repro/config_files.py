"""Check config files before Snakemake reads them: Snakemake's own message for a file that does not
parse names neither the file nor the line ("Config file is not valid JSON or YAML").

``python -m hw2repro.config_files FILE...`` (``make check-config CONFIG=FILE``; ``make run CONFIG=FILE``
runs it first) prints one line per bad file, ``FILE line L, column C: problem``, and exits 1.
Whether the keys and values are right is the schema's job (checked when the workflow starts).
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

EXAMPLE = "e.g. 'q2: {epochs: 3}'"


def problem(path: str | Path) -> str | None:
    """One line naming ``path`` (and the line, where YAML says) when it cannot be a config file."""
    path = Path(path)
    if not path.is_file():
        return f"{path}: no such file"
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        context, start = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        if context and start and start is not mark:  # an unclosed bracket is reported where it hurts
            what += f" ({context} opened on line {start.line + 1})"
        if "'\\t'" in what:
            what += " (YAML indents with spaces, not tabs)"
        return f"{path}{where}: not valid YAML: {what}"
    if data is None:
        return f"{path}: empty; a config file holds keys at the top level, {EXAMPLE}"
    if not isinstance(data, dict):
        return (
            f"{path}: the top level is a {type(data).__name__}, not keys; a config file holds keys at the "
            f"top level, {EXAMPLE}"
        )
    return None


def main(argv: list[str]) -> int:
    found = [p for p in map(problem, argv) if p]
    for line in found:
        print(line, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
