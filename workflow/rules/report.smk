# The compiled reproduction report: every question's tables, figures (PNG), data metadata and
# benchmark files -> results/report/index.html (self-contained), report.md (same template
# content) and the tidy tables they are built from (results/report/tables/*.csv).
# Paths and target lists come from hw2repro.targets; the logic is in hw2repro.report
# (render: collect and render; blocks and one module per section: layout) and each question's
# summary module (the tables computed from the results).

from hw2repro.report.captions import CAPTIONS  # which caption file describes which output
from hw2repro.report.tables import TIDY_TABLES  # the tidy tables written beside the report

REPORT_DIR = f"{RESULTS}/report"
REPORT_TEMPLATE_DIR = REPO_DIR / "report" / "templates"
# A question is in the report when its rules are part of the workflow; the others read "not run".
REPORT_Q1 = rules.has("q1_figures")
REPORT_Q2 = rules.has("q2_aggregate")
REPORT_Q3 = rules.has("q3_aggregate")
# Every benchmark file of the jobs the report summarises: each rule's own benchmark: pattern, over the
# jobs hw2repro.targets lists for the questions in the workflow.
REPORT_JOBS = (
    (targets.q1_jobs(config) if REPORT_Q1 else [])
    + (targets.q2_jobs(config) if REPORT_Q2 else [])
    + (targets.q3_jobs(config) if REPORT_Q3 else [])
)
REPORT_BENCHMARKS = [getattr(rules, rule).benchmark.format(**wildcards) for rule, wildcards in REPORT_JOBS]
# The Q2 per-configuration figures, with what each one shows (the script does not parse names).
REPORT_Q2_FIGURES = targets.q2_config_figures(config) if REPORT_Q2 else []


rule report:
    """The compiled reproduction report (index.html, report.md) and the tidy tables it is built from."""
    input:
        q1_tables=[f"{Q1_DIR}/{n}.csv" for n in ("verification", "complexity", "crossover")] if REPORT_Q1 else [],
        q1_environment=[f"{Q1_DIR}/scaling_environment.json"] if REPORT_Q1 else [],
        q1_figures=[targets.q1_figure(config, n, "png") for n in targets.Q1_FIGURES] if REPORT_Q1 else [],
        q2_tables=[f"{Q2_DIR}/{n}.csv" for n in ("summary", "best_lr", "epochs", "per_class")] if REPORT_Q2 else [],
        q2_results=[f"{run}/result.json" for run in targets.q2_runs(config)] if REPORT_Q2 else [],
        q2_figures=(
            [f"{Q2_DIR}/figures/{n}.png" for n in ["test_accuracy_overview", *targets.q2_overview_figures(config)]]
            + [f["path"] for f in REPORT_Q2_FIGURES]
            if REPORT_Q2
            else []
        ),
        q3_tables=[f"{Q3_DIR}/summary.csv", f"{Q3_DIR}/epochs.csv"] if REPORT_Q3 else [],
        q3_results=(
            [f"{targets.q3_run(config, d, s)}/test.json" for d, s in targets.q3_runs(config)] if REPORT_Q3 else []
        ),
        q3_predictions=(
            [f"{targets.q3_run(config, d, s)}/predictions.txt" for d, s in targets.q3_runs(config)]
            if REPORT_Q3
            else []
        ),
        q3_figures=[f"{Q3_FIG}/{n}.png" for n in ("loss_train_val", "val_similarities")] if REPORT_Q3 else [],
        data_meta=([rules.octmnist_data.output.meta] if REPORT_Q2 else [])
        + ([rules.ljspeech_data.output.manifest] if REPORT_Q3 else []),
        references=REFERENCES,
        benchmarks=REPORT_BENCHMARKS,
        captions=sorted({workflow_file("report", f"{c}.rst") for c in CAPTIONS.values() if c.startswith("q")}),
        templates=[workflow_file(REPORT_TEMPLATE_DIR / n) for n in ("report.html.j2", "report.md.j2")],
        code=code_of("build_report.py"),
    output:
        html=f"{REPORT_DIR}/index.html",
        # the same page without its figures (they are report entries of their own): small enough
        # for Snakemake's report, which embeds it as a data URL
        figureless=report(
            f"{REPORT_DIR}/figureless.html",
            caption=rule_caption("compiled_report"),
            category="Report",
            labels={"file": rule_title("compiled_report")},
        ),
        markdown=f"{REPORT_DIR}/report.md",
        tables=[f"{REPORT_DIR}/tables/{name}.csv" for name in TIDY_TABLES],
    log:
        f"{RESULTS}/logs/report/report.log",
    benchmark:
        f"{RESULTS}/benchmarks/report/report.tsv"
    localrule: True
    conda:
        "../../envs/hw2.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        # The whole resolved config: its values and SHA-256 go into the provenance section (and any
        # config change rebuilds the report, which takes seconds).
        config=config,
        questions={"q1": REPORT_Q1, "q2": REPORT_Q2, "q3": REPORT_Q3},
        q2_figures=REPORT_Q2_FIGURES,
        # what each predictions.txt is, in input order
        q3_runs=[{"decoder": d, "seed": s} for d, s in targets.q3_runs(config)] if REPORT_Q3 else [],
        configfiles=[DEFAULT_CONFIG, *(os.path.relpath(f) for f in workflow.configfiles)],
    script:
        "../scripts/build_report.py"


# The run's resolved config under its own root, so `make compare` knows the settings of each run
# (hw2repro.compare); part of the default target. A config change re-writes it (params), in a second.
rule run_config:
    """The run's resolved config under its output root, for make compare."""
    input:
        code=code_of("run_config.py"),
    output:
        config=f"{RESULTS}/config.yaml",
    log:
        f"{RESULTS}/logs/run_config.log",
    benchmark:
        f"{RESULTS}/benchmarks/run_config.tsv"
    localrule: True
    conda:
        "../../envs/hw2.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        config=config,
        configfiles=[DEFAULT_CONFIG, *(os.path.relpath(f) for f in workflow.configfiles)],
    script:
        "../scripts/run_config.py"
