"""Rule q2_classes: per-class test accuracy and confusion matrices from every run's test predictions."""

import pandas as pd

from hw2repro import io, joblog, plotting
from hw2repro.q2 import figures as q2_figures
from hw2repro.q2 import summary as q2_summary
from hw2repro.q2.octmnist import CLASS_NAMES


def main(smk, log):
    runs = [{**run, "path": path} for run, path in zip(smk.params.runs, smk.input.predictions)]
    per_class, confusion = q2_summary.class_tables(runs, CLASS_NAMES)
    io.write_csv(smk.output.per_class, per_class)
    io.write_csv(smk.output.confusion, confusion)
    best = pd.read_csv(smk.input.best_lr)
    note = plotting.data_note(smk.input.data_meta)
    plotting.save(
        q2_figures.per_class_accuracy(per_class, note),
        smk.output.per_class_pdf,
        smk.output.per_class_png,
    )
    plotting.save(
        q2_figures.confusion_matrices(confusion, best, note),
        smk.output.confusion_pdf,
        smk.output.confusion_png,
    )
    log(f"per-class accuracy and confusion matrices of {len(runs)} runs")


joblog.run(main, snakemake)
