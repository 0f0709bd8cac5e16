"""Rule report: the compiled reproduction report (results/report/index.html, report.md, tables/*.csv)."""

from pathlib import Path

from hw2repro import joblog
from hw2repro.report.render import build

INPUTS = (
    "q1_tables",
    "q1_environment",
    "q1_figures",
    "q2_tables",
    "q2_results",
    "q2_figures",
    "q3_tables",
    "q3_results",
    "q3_predictions",
    "q3_figures",
    "data_meta",
    "references",
    "benchmarks",
    "captions",
    "templates",
)
SETTINGS = ("config", "questions", "q2_figures", "q3_runs", "configfiles")


def main(smk, log):
    inputs = {}
    for name in INPUTS:
        value = getattr(smk.input, name)
        inputs[name] = [str(value)] if isinstance(value, str) else [str(p) for p in value]
    settings = {name: getattr(smk.params, name) for name in SETTINGS}
    settings["repo"] = str(
        Path(smk.scriptdir).resolve().parents[1]
    )  # the checkout holding the workflow (git provenance)
    outputs = {
        "html": smk.output.html,
        "figureless": smk.output.figureless,
        "markdown": smk.output.markdown,
        "tables": list(smk.output.tables),
    }
    build(inputs, outputs, settings, log=log)


joblog.run(main, snakemake)
