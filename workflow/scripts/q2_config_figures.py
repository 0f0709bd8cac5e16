"""Rule q2_config_figures: the homework's two figures for one lr x pooling configuration."""

import pandas as pd

from hw2repro import joblog, labels, plotting
from hw2repro.q2 import figures as q2_figures


def main(smk, log):
    epochs = pd.read_csv(smk.input.epochs)
    run = epochs[(epochs["pooling"] == smk.params.pooling) & (epochs["lr"] == smk.params.lr)]
    if run.empty:
        raise ValueError(f"no epochs for pooling={smk.params.pooling} lr={smk.params.lr} in {smk.input.epochs}")
    note = plotting.data_note(smk.input.data_meta)
    for column, ylabel, pdf, png in (
        ("train_loss", "Training loss (running mean)", smk.output.loss_pdf, smk.output.loss_png),
        ("val_acc", "Validation accuracy", smk.output.acc_pdf, smk.output.acc_png),
    ):
        fig, ax = plotting.new_figure()
        plotting.epoch_curves(ax, run, column, ylabel)
        diverged = q2_figures.diverged_note(run)
        if diverged:
            ax.text(0.5, 0.5, diverged, transform=ax.transAxes, ha="center", va="center", color="red")
        ax.set_title(f"lr={smk.params.lr:g}, {labels.POOLING[smk.params.pooling]}")
        plotting.mark_data(fig, note)
        plotting.save(fig, pdf, png)
    log(f"wrote figures for pooling={smk.params.pooling} lr={smk.params.lr}")


joblog.run(main, snakemake)
