# Q2: CNN on OCTMNIST. data -> one training job per pooling x lr x seed -> tables -> figures.
# Paths and target lists come from hw2repro.targets (via common.smk).

Q2_RUNS = targets.q2_runs(config)
Q2_FIG_SUFFIX = targets.q2_fig_suffix(config)
POOLING_LABEL = {str(p == "none"): label for p, label in labels.POOLING.items()}  # by no_maxpool

from hw2repro import input_identity


rule octmnist_data:
    """OCTMNIST as data/octmnist.npz (synthetic stand-in, a local file or the MD5-checked download) and its metadata."""
    input:
        user_file=lambda w: [OCT["path"]] if OCT["source"] == "file" else [],
        code=code_of("octmnist_data.py"),
    output:
        npz=f"{RESULTS}/data/octmnist.npz",
        meta=f"{RESULTS}/data/octmnist.json",
    log:
        f"{RESULTS}/logs/data/octmnist.log",
    benchmark:
        f"{RESULTS}/benchmarks/data/octmnist.tsv"
    conda:
        "../../envs/hw2.yaml"
    threads: 1
    resources:
        mem_mb=estimated("octmnist_data", "mem_mb"),
        runtime=estimated("octmnist_data", "runtime"),
        disk_mb=estimated("octmnist_data", "disk_mb"),
    params:
        octmnist=OCT,
        download_dir=f"{RESULTS}/downloads",
        # a user's file by content, whatever its times: other content re-runs the rule
        user_file=lambda w: input_identity.file_identity(OCT["path"]) if OCT["source"] == "file" else "",
    script:
        "../scripts/octmnist_data.py"


rule q2_train:
    """Train the CNN for one pooling x lr x seed: per-epoch metrics, test accuracy and predictions, weights."""
    input:
        data=rules.octmnist_data.output.npz,
        code=code_of("q2_train.py"),
    output:
        metrics=f"{Q2_DIR}/runs/{{pooling}}_lr{{lr}}_seed{{seed}}/metrics.csv",
        result=f"{Q2_DIR}/runs/{{pooling}}_lr{{lr}}_seed{{seed}}/result.json",
        model=f"{Q2_DIR}/runs/{{pooling}}_lr{{lr}}_seed{{seed}}/model.pt",
        predictions=f"{Q2_DIR}/runs/{{pooling}}_lr{{lr}}_seed{{seed}}/test_predictions.csv",
    log:
        f"{RESULTS}/logs/q2/train_{{pooling}}_lr{{lr}}_seed{{seed}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/q2/train_{{pooling}}_lr{{lr}}_seed{{seed}}.tsv"
    conda:
        "../../envs/hw2.yaml"
    threads: Q2["threads"]
    resources:
        # With --retries N, a job that died (e.g. killed for memory or time on a cluster) gets
        # more of both on its next attempt, and resumes from its last epoch checkpoint.
        mem_mb=estimated("q2_train", "mem_mb"),
        runtime=estimated("q2_train", "runtime"),
        disk_mb=estimated("q2_train", "disk_mb"),
        gpu=Q2["gpu"],
    params:
        # Everything that changes the result is a param, so Snakemake re-runs the job when it changes.
        settings=lambda w: {
            "pooling": w.pooling,
            "lr": float(w.lr),
            "seed": int(w.seed),
            **result_keys.training_settings(config, "q2"),
        },
        eq_test_dist=Q2["eq_test_dist"],
        allow_cuda=Q2["allow_cuda"],
        resume=lambda w: f"{targets.q2_run(config, w.pooling, w.lr, w.seed)}/resume.pt",
    script:
        "../scripts/q2_train.py"


rule q2_aggregate:
    """Q2 tables over every run: summary, per-configuration means, epochs, best lr per pooling."""
    input:
        results=[f"{run}/result.json" for run in Q2_RUNS],
        metrics=[f"{run}/metrics.csv" for run in Q2_RUNS],
        data_meta=rules.octmnist_data.output.meta,
        code=code_of("q2_aggregate.py"),
    output:
        summary=f"{Q2_DIR}/summary.csv",
        by_config=f"{Q2_DIR}/summary_by_config.csv",
        epochs=f"{Q2_DIR}/epochs.csv",
        best_lr=f"{Q2_DIR}/best_lr.csv",
    log:
        f"{RESULTS}/logs/q2/aggregate.log",
    benchmark:
        f"{RESULTS}/benchmarks/q2/aggregate.tsv"
    localrule: True
    conda:
        "../../envs/hw2.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/q2_aggregate.py"


rule q2_config_figures:
    """The homework's training-loss and validation-accuracy figures for one lr x pooling."""
    input:
        epochs=rules.q2_aggregate.output.epochs,
        data_meta=rules.octmnist_data.output.meta,
        code=code_of("q2_config_figures.py"),
    output:
        loss_pdf=f"{Q2_DIR}/figures/CNN-training-loss-{{lr}}-{Q2_FIG_SUFFIX}-{{no_maxpool}}.pdf",
        loss_png=report(
            f"{Q2_DIR}/figures/CNN-training-loss-{{lr}}-{Q2_FIG_SUFFIX}-{{no_maxpool}}.png",
            caption=rule_caption("training-loss"),
            category="Q2 CNN on OCTMNIST",
            subcategory="training loss",
            labels=lambda w: {"lr": w.lr, "pooling": POOLING_LABEL[w.no_maxpool]},
        ),
        acc_pdf=f"{Q2_DIR}/figures/CNN-validation-accuracy-{{lr}}-{Q2_FIG_SUFFIX}-{{no_maxpool}}.pdf",
        acc_png=report(
            f"{Q2_DIR}/figures/CNN-validation-accuracy-{{lr}}-{Q2_FIG_SUFFIX}-{{no_maxpool}}.png",
            caption=rule_caption("validation-accuracy"),
            category="Q2 CNN on OCTMNIST",
            subcategory="validation accuracy",
            labels=lambda w: {"lr": w.lr, "pooling": POOLING_LABEL[w.no_maxpool]},
        ),
    log:
        f"{RESULTS}/logs/q2/figures_{{lr}}_{{no_maxpool}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/q2/figures_{{lr}}_{{no_maxpool}}.tsv"
    localrule: True
    conda:
        "../../envs/hw2.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        pooling=lambda w: "none" if w.no_maxpool == "True" else "max",
        lr=lambda w: float(w.lr),
    script:
        "../scripts/q2_config_figures.py"


rule q2_overview_figure:
    """Q2 test accuracy of every run beside the published numbers (overview and spread)."""
    input:
        summary=rules.q2_aggregate.output.summary,
        references=REFERENCES,
        data_meta=rules.octmnist_data.output.meta,
        code=code_of("q2_overview_figure.py"),
    output:
        pdf=f"{Q2_DIR}/figures/test_accuracy_overview.pdf",
        png=report(
            f"{Q2_DIR}/figures/test_accuracy_overview.png",
            caption=rule_caption("test_accuracy_overview"),
            category="Q2 CNN on OCTMNIST",
            subcategory="overview",
            labels={"figure": rule_title("test_accuracy_overview")},
        ),
        spread_pdf=f"{Q2_DIR}/figures/published_spread.pdf",
        spread_png=report(
            f"{Q2_DIR}/figures/published_spread.png",
            caption=rule_caption("published_spread"),
            category="Q2 CNN on OCTMNIST",
            subcategory="overview",
            labels={"figure": rule_title("published_spread")},
        ),
    log:
        f"{RESULTS}/logs/q2/overview_figure.log",
    benchmark:
        f"{RESULTS}/benchmarks/q2/overview_figure.tsv"
    localrule: True
    conda:
        "../../envs/hw2.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/q2_overview_figure.py"


rule q2_lr_overlay:
    """Q2 learning curves of every lr overlaid, for one pooling."""
    input:
        epochs=rules.q2_aggregate.output.epochs,
        data_meta=rules.octmnist_data.output.meta,
        code=code_of("q2_lr_overlay.py"),
    output:
        pdf=f"{Q2_DIR}/figures/lr_overlay_{{pooling}}.pdf",
        png=report(
            f"{Q2_DIR}/figures/lr_overlay_{{pooling}}.png",
            caption=rule_caption("lr_overlay"),
            category="Q2 CNN on OCTMNIST",
            subcategory="overview",
            labels=lambda w: {"figure": rule_title(f"lr_overlay_{w.pooling}")},
        ),
    log:
        f"{RESULTS}/logs/q2/lr_overlay_{{pooling}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/q2/lr_overlay_{{pooling}}.tsv"
    localrule: True
    conda:
        "../../envs/hw2.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/q2_lr_overlay.py"


rule q2_classes:
    """Q2 per-class accuracy and confusion matrices at the chosen lr (tables and figures)."""
    input:
        predictions=[f"{run}/test_predictions.csv" for run in Q2_RUNS],
        best_lr=rules.q2_aggregate.output.best_lr,
        data_meta=rules.octmnist_data.output.meta,
        code=code_of("q2_classes.py"),
    output:
        per_class=f"{Q2_DIR}/per_class.csv",
        confusion=f"{Q2_DIR}/confusion.csv",
        per_class_pdf=f"{Q2_DIR}/figures/per_class_accuracy.pdf",
        per_class_png=report(
            f"{Q2_DIR}/figures/per_class_accuracy.png",
            caption=rule_caption("per_class_accuracy"),
            category="Q2 CNN on OCTMNIST",
            subcategory="overview",
            labels={"figure": rule_title("per_class_accuracy")},
        ),
        confusion_pdf=f"{Q2_DIR}/figures/confusion_matrix.pdf",
        confusion_png=report(
            f"{Q2_DIR}/figures/confusion_matrix.png",
            caption=rule_caption("confusion_matrix"),
            category="Q2 CNN on OCTMNIST",
            subcategory="overview",
            labels={"figure": rule_title("confusion_matrix")},
        ),
    log:
        f"{RESULTS}/logs/q2/classes.log",
    benchmark:
        f"{RESULTS}/benchmarks/q2/classes.tsv"
    localrule: True
    conda:
        "../../envs/hw2.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        # what each predictions file is, in input order (the script does not parse paths)
        runs=targets.q2_run_points(config),
    script:
        "../scripts/q2_classes.py"
