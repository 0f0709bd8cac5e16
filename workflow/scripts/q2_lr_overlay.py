"""Rule q2_lr_overlay: one pooling, every learning rate's training loss and validation accuracy overlaid."""

import pandas as pd

from hw2repro import io, joblog, plotting
from hw2repro.q2 import figures as q2_figures


def main(smk, log):
    epochs = pd.read_csv(smk.input.epochs)
    meta = io.read_json(smk.input.data_meta)
    val = meta["splits"]["val"]["class_counts"]
    majority = max(val.values()) / sum(val.values())
    fig = q2_figures.lr_overlay(epochs, smk.wildcards.pooling, plotting.data_note(meta), majority)
    plotting.save(fig, smk.output.pdf, smk.output.png)
    log(f"wrote {smk.output.png}")


joblog.run(main, snakemake)
