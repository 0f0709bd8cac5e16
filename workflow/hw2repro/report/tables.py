"""The tidy tables written beside the compiled report (results/report/tables/{name}.csv): the one list
the report rule's outputs and the renderer both read. Always all of them: a question that did not run
gives a header-only table. Pure Python, so the workflow can read it while it plans."""

TIDY_TABLES = (
    "setup",
    "q1_verification",
    "q1_observations",
    "q1_complexity",
    "q1_crossover",
    "q2_config_stats",
    "q2_comparison",
    "q2_published_spread",
    "q2_pooling",
    "q2_best_lr",
    "q2_params",
    "q2_flat_runs",
    "q2_per_class",
    "q3_stats",
    "q3_comparison",
    "q3_samples",
    "benchmarks",
    "benchmark_totals",
    "provenance",
)
