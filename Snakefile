# The workflow lives in workflow/Snakefile (the Snakemake workflow catalog's standard layout);
# this file only includes it, so `snakemake` runs from the repository root as documented.
# Called as a function (what `include:` compiles to) so that workflow/Snakefile's default target
# (rule all) stays the default here too: `include:` would restore this file's, which is none.

workflow.include("workflow/Snakefile", overwrite_default_target=True)
