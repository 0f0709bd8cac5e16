"""hw2repro: the shared logic behind the IST DL 2023/24 Homework 2 reproduction pipeline.

Snakemake rules stay thin; every script in ``workflow/scripts`` calls into this package.
Modules are small and named after the one concept they own (data sets, models, training
loops, metrics, plotting style, run-time set-up, file output).
"""

__version__ = "0.1.0"
