# IST Deep Learning 2023/24 Homework 2, reproduced end to end.
#   snakemake --cores 4                                  # offline default (synthetic data)
#   snakemake --cores 4 --configfile config/paper.yaml   # exact homework settings, real data
#   snakemake --report report.html                       # Snakemake's interactive report
# The rules are thin: each one calls a script in workflow/scripts, which calls the hw2repro package.

from snakemake.utils import min_version

min_version("9.0")


report: "report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/q1.smk"
include: "workflow/rules/q2.smk"
include: "workflow/rules/q3_data.smk"
include: "workflow/rules/q3.smk"
include: "workflow/rules/report.smk"  # last: it reports on the questions included above


rule all:
    """Every question's outputs, the compiled report and the resolved config (the default target)."""
    default_target: True
    input:
        targets.q1_final_outputs(config),
        targets.q2_final_outputs(config),
        targets.q3_final_outputs(config),
        rules.report.output,
        rules.run_config.output,
