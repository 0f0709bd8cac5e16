"""Which caption (report/{name}.rst) and which title describe which output: the one map that both the
rules' ``report(caption=..., labels=...)`` (Snakemake's report) and the compiled report
(hw2repro.report.blocks) read.
Keys are figure names as the compiled report knows them (file stem, or the kind of a per-configuration
figure) and the names of the other outputs Snakemake's report shows. Pure Python: the workflow reads
it while it plans."""

from ..labels import POOLING

CAPTIONS = {
    # Q1
    "verification": "q1_verification",
    "complexity": "q1_complexity",
    "q1_scaling": "q1_scaling",
    "q1_error_vs_scale": "q1_error_vs_scale",
    "q1_feature_dim": "q1_feature_dim",
    # Q2
    "test_accuracy_overview": "q2_overview",
    "training-loss": "q2_training_loss",
    "validation-accuracy": "q2_validation_accuracy",
    "lr_overlay": "q2_lr_overlay",
    **{f"lr_overlay_{p}": "q2_lr_overlay" for p in POOLING},
    "per_class_accuracy": "q2_per_class",
    "confusion_matrix": "q2_confusion",
    "published_spread": "q2_published_spread",
    # Q3
    "metrics": "q3_metrics",
    "predictions": "q3_predictions",
    "summary": "q3_summary",
    "loss_train_val": "q3_loss",
    "val_similarities": "q3_similarities",
    "test_table": "q3_test_table",
    # the compiled report itself
    "compiled_report": "compiled_report",
}


# The one title of each output: the compiled report's heading of a figure, the label Snakemake's report
# shows beside it. (Q2's per-configuration plots are labelled by their lr and pooling instead.)
TITLES = {
    # Q1
    "verification": "Verification of the linear attention",
    "complexity": "Complexity claims against measurements",
    "q1_scaling": "Time and memory against sequence length",
    "q1_error_vs_scale": "Approximation error against the scale of qᵀk",
    "q1_feature_dim": "Feature dimension M against head dimension D",
    # Q2
    "test_accuracy_overview": "Test accuracy: this pipeline vs published",
    **{f"lr_overlay_{p}": f"Every learning rate, {label}" for p, label in POOLING.items()},
    "per_class_accuracy": "Test accuracy per class",
    "confusion_matrix": "Confusion matrices at the chosen learning rate",
    "published_spread": "This pipeline against the published groups' spread",
    # Q3
    "metrics": "Per-epoch metrics",
    "predictions": "Test predictions",
    "summary": "Test summary per run",
    "loss_train_val": "Training vs validation loss",
    "val_similarities": "Validation similarities per epoch",
    "test_table": "Test table against the published numbers",
    "compiled_report": "Compiled reproduction report",
}


def rule_caption(name: str) -> str:
    """The caption file of output ``name`` as a rule gives it to report(): relative to workflow/rules/."""
    return f"../../report/{CAPTIONS[name]}.rst"


def rule_title(name: str) -> str:
    """The title of output ``name``, as a rule gives it to report(labels=...)."""
    return TITLES[name]
