"""The door every config passes before any job runs: its files read strictly, merged over
``config/config.yaml``, checked against the schema, then the rules across keys. The first problem
is one line naming the file or the key (:class:`ConfigRefused`).

``rules/common.smk`` calls :func:`resolve` and turns a refusal into Snakemake's WorkflowError, so
what Snakemake refuses is exactly what this function refuses: the tests check each refusal here,
without starting Snakemake, and the wiring once through Snakemake.
"""

from __future__ import annotations

from pathlib import Path

from . import config_checks, config_files, defaults, targets
from .errors import InputError

SCHEMA = Path(__file__).resolve().parent.parent / "schemas" / "config.schema.yaml"


class ConfigRefused(ValueError):
    """A config that no job may run with; the message is one line naming the file or key."""


def error_line(error) -> str:
    """One line naming the config key and what was expected, from a jsonschema ValidationError."""
    key = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".")
    return f"invalid config: {key or '(top level)'}: {error.message}"


def resolve(given: dict, files, references: str | Path, *, schema: bool = True) -> dict:
    """The run's settings: ``given`` (Snakemake's ``config``: its --configfile files and --config
    values, or a host workflow's module config) merged over config/config.yaml, after ``files``
    (those config files, as paths to name in messages) and ``references`` were read strictly.
    ``schema=False`` skips only the schema (a host workflow's ``skip_validation``)."""
    try:  # a key given twice, a tab, a non-number among the published numbers: file and line
        config_files.check(files)
        config_files.check_references(references)
    except config_files.ConfigFileError as exc:
        raise ConfigRefused(str(exc)) from None
    config = defaults.load(given)
    if schema:
        from snakemake.exceptions import WorkflowError  # the workflow's own validator, as the docs show
        from snakemake.utils import validate

        try:
            validate(config, schema=str(SCHEMA))
        except WorkflowError as exc:  # Snakemake's own message dumps the whole schema: one line instead
            detail = exc.__context__  # the jsonschema ValidationError it was raised from
            if not hasattr(detail, "absolute_path"):
                raise
            raise ConfigRefused(error_line(detail)) from None
    try:  # what the schema cannot say: keys that must agree with each other, unique grid values
        config_checks.check(config)
        targets.check_grids(config)
    except InputError as exc:  # config_checks.ConfigError is one too
        raise ConfigRefused(str(exc)) from None
    return config
