# Q1: Taylor-feature linear attention. Nothing to train: verify the maths, time it, plot it.
#   q1_verify  -> kernel identity, M formulas, linear = quadratic order, error vs softmax
#   q1_scaling -> wall time / peak memory of exact vs linear attention over L, slopes, crossover
#   q1_figures -> time vs L, error vs scale, M vs D

# Paths and target lists come from hw2repro.targets (via common.smk).

Q1_CATEGORY = "Q1 linear attention"


rule q1_verify:
    """Q1 checks: kernel identity, feature-count formulas, linear = quadratic order, error vs softmax."""
    input:
        code=code_of("q1_verify.py"),
    output:
        verification=report(
            f"{Q1_DIR}/verification.csv",
            caption=rule_caption("verification"),
            category=Q1_CATEGORY,
            subcategory="verification",
            labels={"table": rule_title("verification")},
        ),
        approx=f"{Q1_DIR}/approximation_error.csv",
    log:
        f"{RESULTS}/logs/q1/verify.log",
    benchmark:
        f"{RESULTS}/benchmarks/q1/verify.tsv"
    conda:
        "../../envs/hw2.yaml"
    threads: Q1["threads"]
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        verify=Q1["verify"],
        approx=Q1["approx"],
        seed=Q1["seed"],
    script:
        "../scripts/q1_verify.py"


rule q1_scaling:
    """Q1 wall time and peak memory of exact vs linear attention over L: slopes, crossover, claims."""
    input:
        code=code_of("q1_scaling.py"),
    output:
        scaling=f"{Q1_DIR}/scaling.csv",
        slopes=f"{Q1_DIR}/scaling_slopes.csv",
        crossover=f"{Q1_DIR}/crossover.csv",
        complexity=report(
            f"{Q1_DIR}/complexity.csv",
            caption=rule_caption("complexity"),
            category=Q1_CATEGORY,
            subcategory="complexity",
            labels={"table": rule_title("complexity")},
        ),
        environment=f"{Q1_DIR}/scaling_environment.json",
    log:
        f"{RESULTS}/logs/q1/scaling.log",
    benchmark:
        f"{RESULTS}/benchmarks/q1/scaling.tsv"
    conda:
        "../../envs/hw2.yaml"
    threads: Q1["threads"]  # fixed (default 1), not --cores: timings must compare across machines and runs
    resources:
        # exact attention holds one L×L buffer at the largest L (1 GiB at 16384, float32); freed
        # buffers stay in the process (reuse_freed_memory), measured max RSS ~2.9 GB: allow 2 + 1.5 GB
        mem_mb=1500
        + 2 * max(Q1["scaling"]["lengths"]) ** 2 * (8 if Q1["scaling"]["dtype"] == "float64" else 4) // 2**20,
        runtime=10,
    params:
        scaling=Q1["scaling"],
        seed=Q1["seed"],
    script:
        "../scripts/q1_scaling.py"


rule q1_figures:
    """Q1 figures: time and memory vs L, approximation error vs scale, feature dimension M vs D."""
    input:
        scaling=rules.q1_scaling.output.scaling,
        slopes=rules.q1_scaling.output.slopes,
        crossover=rules.q1_scaling.output.crossover,
        approx=rules.q1_verify.output.approx,
        code=code_of("q1_figures.py"),
    output:
        scaling_pdf=targets.q1_figure(config, "scaling", "pdf"),
        scaling_png=report(
            targets.q1_figure(config, "scaling", "png"),
            caption=rule_caption("q1_scaling"),
            category=Q1_CATEGORY,
            subcategory="scaling",
            labels={"figure": rule_title("q1_scaling")},
        ),
        error_pdf=targets.q1_figure(config, "error_vs_scale", "pdf"),
        error_png=report(
            targets.q1_figure(config, "error_vs_scale", "png"),
            caption=rule_caption("q1_error_vs_scale"),
            category=Q1_CATEGORY,
            subcategory="approximation error",
            labels={"figure": rule_title("q1_error_vs_scale")},
        ),
        dims_pdf=targets.q1_figure(config, "feature_dim", "pdf"),
        dims_png=report(
            targets.q1_figure(config, "feature_dim", "png"),
            caption=rule_caption("q1_feature_dim"),
            category=Q1_CATEGORY,
            subcategory="feature dimension",
            labels={"figure": rule_title("q1_feature_dim")},
        ),
    log:
        f"{RESULTS}/logs/q1/figures.log",
    benchmark:
        f"{RESULTS}/benchmarks/q1/figures.tsv"
    localrule: True
    conda:
        "../../envs/hw2.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        figures=Q1["figures"],
    script:
        "../scripts/q1_figures.py"
