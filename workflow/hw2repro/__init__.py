"""hw2repro: the shared logic behind the IST DL 2023/24 Homework 2 reproduction pipeline.

Snakemake rules stay thin; every script in ``workflow/scripts`` calls into this package.
Modules are small and named after the one concept they own (data sets, models, training
loops, metrics, plotting style, run-time set-up, file output).
"""

# The one place of the version: pyproject.toml reads it (tool.setuptools.dynamic), the report's
# provenance table and the run crate record it. See CHANGELOG.md.
__version__ = "0.2.0.dev0"
