"""Rule q2_config_figures: the homework's two figures for one lr x pooling configuration (hw2repro.q2.figures)."""

import pandas as pd

from hw2repro import joblog, plotting
from hw2repro.q2.figures import CONFIG_FIGURES, config_figure


def main(smk, log):
    epochs = pd.read_csv(smk.input.epochs)
    note = plotting.data_note(smk.input.data_meta)
    paths = ((smk.output.loss_pdf, smk.output.loss_png), (smk.output.acc_pdf, smk.output.acc_png))
    for (column, ylabel), (pdf, png) in zip(CONFIG_FIGURES, paths):
        try:
            fig = config_figure(epochs, smk.params.pooling, smk.params.lr, column, ylabel, note)
        except ValueError as exc:
            raise ValueError(f"{exc} in {smk.input.epochs}") from None
        plotting.save(fig, pdf, png)
    log(f"wrote figures for pooling={smk.params.pooling} lr={smk.params.lr}")


joblog.run(main, snakemake)
