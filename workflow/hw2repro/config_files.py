"""Check config files before Snakemake reads them: Snakemake's own message for a file that does not
parse names neither the file nor the line ("Config file is not valid JSON or YAML").

``python -m hw2repro.config_files FILE...`` (``make check-config CONFIG=FILE``; ``make run CONFIG=FILE``
runs it first) prints one line per bad file, ``FILE line L, column C: problem``, and exits 1.
Whether the keys and values are right is the schema's job (checked when the workflow starts).

A key given twice in one mapping is an error here (PyYAML, like Snakemake, silently keeps the last
one and drops the first block). The workflow reads its own config files through :func:`load` and
checks every ``--configfile`` with :func:`check`, so the same rules hold there.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

EXAMPLE = "e.g. 'q2: {epochs: 3}'"


class ConfigFileError(ValueError):
    """A config file that cannot be read as one; the message is one line naming the file."""


class DuplicateKeyError(yaml.MarkedYAMLError):
    pass


class UniqueKeyLoader(yaml.SafeLoader):
    """yaml.safe_load that refuses a key given twice in one mapping (file, line, key)."""

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: the base class says so
                break
            if first is not None:
                raise DuplicateKeyError(
                    problem=f"key {key!r} given twice (first on line {first.line + 1}); YAML would keep only "
                    "the last: merge the two blocks",
                    problem_mark=key_node.start_mark,
                )
            seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


def safe_load(text: str):
    # Safe: UniqueKeyLoader is a yaml.SafeLoader subclass that only adds a duplicate-key check to
    # construct_mapping; its constructors build plain YAML types, never Python objects (a
    # !!python/object tag is a ConstructorError: tests/test_config_files_strict.py).
    return yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506


def problem(path: str | Path) -> str | None:
    """One line naming ``path`` (and the line, where YAML says) when it cannot be a config file."""
    path = Path(path)
    if not path.is_file():
        return f"{path}: no such file"
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        data = safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        context, start = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        if context and start and start is not mark:  # an unclosed bracket is reported where it hurts
            what += f" ({context} opened on line {start.line + 1})"
        if "'\\t'" in what:
            what += " (YAML indents with spaces, not tabs)"
        kind = "" if isinstance(exc, DuplicateKeyError) else "not valid YAML: "
        return f"{path}{where}: {kind}{what}"
    if data is None:
        return f"{path}: empty; a config file holds keys at the top level, {EXAMPLE}"
    if not isinstance(data, dict):
        return (
            f"{path}: the top level is a {type(data).__name__}, not keys; a config file holds keys at the "
            f"top level, {EXAMPLE}"
        )
    return None


def load(path: str | Path) -> dict:
    """The top-level mapping of a config file, or ConfigFileError with :func:`problem`'s line."""
    found = problem(path)
    if found:
        raise ConfigFileError(found)
    return safe_load(Path(path).read_text(encoding="utf-8"))


def check(paths) -> None:
    """ConfigFileError for the first of ``paths`` (e.g. Snakemake's --configfile files) that is not
    a clean config file."""
    for path in paths:
        path = Path(path)
        if path.is_absolute() and path.is_relative_to(Path.cwd()):  # Snakemake passes them absolute
            path = path.relative_to(Path.cwd())
        load(path)


REFERENCES_SCHEMA = Path(__file__).resolve().parent.parent / "schemas" / "references.schema.yaml"


def check_references(path: str | Path) -> dict:
    """config/references.yaml read strictly and checked against its schema: a non-number among the
    published numbers is named with the file and the key, not found later by a figure script."""
    import jsonschema  # Snakemake's own dependency

    data = load(path)
    schema = safe_load(REFERENCES_SCHEMA.read_text(encoding="utf-8"))
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(data))
    if error is not None:
        key = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".")
        raise ConfigFileError(f"{path}: {key or '(top level)'}: {error.message}")
    return data


def main(argv: list[str]) -> int:
    found = [p for p in map(problem, argv) if p]
    for line in found:
        print(line, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
