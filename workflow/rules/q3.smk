# Q3: speech recognition on LJ Speech. features (rule q3_features, q3_data.smk) -> one training
# job per decoder x seed (train, validate every epoch, test + audio-blind baseline) -> tables -> figures.

# Paths and target lists come from hw2repro.targets, training settings from hw2repro.result_keys.

Q3_RUNS = targets.q3_runs(config)
Q3_RUN = f"{Q3_DIR}/runs/{{decoder}}_seed{{seed}}"


rule q3_train:
    """Train one Q3 decoder for one seed, validate every epoch, test it (and the audio-blind baseline)."""
    input:
        train=targets.q3_feature_file(config, "train"),
        val=targets.q3_feature_file(config, "val"),
        test=targets.q3_feature_file(config, "test"),
        arrays=[targets.q3_feature_file(config, s, "array") for s in targets.Q3_SPLITS],  # named by the .pt files
        code=code_of("q3_train.py"),
    output:
        metrics=report(
            f"{Q3_RUN}/metrics.csv",
            caption=rule_caption("metrics"),
            category="Q3 speech recognition",
            subcategory="runs",
            labels={"decoder": "{decoder}", "seed": "{seed}", "file": rule_title("metrics")},
        ),
        test=f"{Q3_RUN}/test.json",
        predictions=report(
            f"{Q3_RUN}/predictions.txt",
            caption=rule_caption("predictions"),
            category="Q3 speech recognition",
            subcategory="runs",
            labels={"decoder": "{decoder}", "seed": "{seed}", "file": rule_title("predictions")},
        ),
        model=f"{Q3_RUN}/model.pt",
    log:
        f"{RESULTS}/logs/q3/train_{{decoder}}_seed{{seed}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/q3/train_{{decoder}}_seed{{seed}}.tsv"
    conda:
        "../../envs/hw2.yaml"
    threads: Q3["threads"]
    resources:
        mem_mb=estimated("q3_train", "mem_mb"),
        runtime=estimated("q3_train", "runtime"),
        disk_mb=estimated("q3_train", "disk_mb"),
        gpu=Q3["gpu"],
    params:
        # everything that changes a run's result, so Snakemake re-runs the job when it changes
        settings=result_keys.training_settings(config, "q3"),
        allow_cuda=Q3["allow_cuda"],
        # Not an output: it must survive a killed job (Snakemake deletes a failed job's outputs).
        resume=lambda w: f"{targets.q3_run(config, w.decoder, w.seed)}/resume.pt",
    script:
        "../scripts/q3_train.py"


rule q3_aggregate:
    """Q3 tables over every run: test summary and per-epoch metrics."""
    input:
        tests=[f"{targets.q3_run(config, d, s)}/test.json" for d, s in Q3_RUNS],
        metrics=[f"{targets.q3_run(config, d, s)}/metrics.csv" for d, s in Q3_RUNS],
        code=code_of("q3_aggregate.py"),
    output:
        summary=report(
            f"{Q3_DIR}/summary.csv",
            caption=rule_caption("summary"),
            category="Q3 speech recognition",
            subcategory="summary",
            labels={"file": rule_title("summary")},
        ),
        epochs=f"{Q3_DIR}/epochs.csv",
    log:
        f"{RESULTS}/logs/q3/aggregate.log",
    benchmark:
        f"{RESULTS}/benchmarks/q3/aggregate.tsv"
    localrule: True
    conda:
        "../../envs/hw2.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        runs=Q3_RUNS,
    script:
        "../scripts/q3_aggregate.py"


rule q3_figures:
    """Q3 figures: loss, validation similarities, the test table vs published, the homework's per-run plots."""
    input:
        summary=rules.q3_aggregate.output.summary,
        epochs=rules.q3_aggregate.output.epochs,
        references=REFERENCES,
        data_meta=rules.ljspeech_data.output.manifest,
        code=code_of("q3_figures.py"),
    output:
        loss_pdf=f"{Q3_FIG}/loss_train_val.pdf",
        loss_png=report(
            f"{Q3_FIG}/loss_train_val.png",
            caption=rule_caption("loss_train_val"),
            category="Q3 speech recognition",
            subcategory="summary",
            labels={"file": rule_title("loss_train_val")},
        ),
        similarity_pdf=f"{Q3_FIG}/val_similarities.pdf",
        similarity_png=report(
            f"{Q3_FIG}/val_similarities.png",
            caption=rule_caption("val_similarities"),
            category="Q3 speech recognition",
            subcategory="summary",
            labels={"file": rule_title("val_similarities")},
        ),
        table_csv=f"{Q3_FIG}/test_table.csv",
        table_pdf=f"{Q3_FIG}/test_table.pdf",
        table_png=report(
            f"{Q3_FIG}/test_table.png",
            caption=rule_caption("test_table"),
            category="Q3 speech recognition",
            subcategory="summary",
            labels={"file": rule_title("test_table")},
        ),
        # The homework's own plot names, per run (PDF as in the original, plus PNG).
        run_plots=targets.q3_run_plots(config),
    log:
        f"{RESULTS}/logs/q3/figures.log",
    benchmark:
        f"{RESULTS}/benchmarks/q3/figures.tsv"
    localrule: True
    conda:
        "../../envs/hw2.yaml"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=10,
    params:
        runs=Q3_RUNS,
        # per-run plots go to {fig_dir}/{decoder}_seed{seed}/ (listed in output.run_plots)
        fig_dir=lambda w, output: str(Path(output.loss_pdf).parent),
    script:
        "../scripts/q3_figures.py"
