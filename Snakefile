# The workflow lives in workflow/Snakefile (the Snakemake workflow catalog's standard layout);
# this file lets `snakemake` run from the repository root as documented in README.md.


include: "workflow/Snakefile"
