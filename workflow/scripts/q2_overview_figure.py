"""Rule q2_overview_figure: test accuracy per lr x pooling, ours beside the published numbers."""

import pandas as pd

from hw2repro import joblog, plotting, references
from hw2repro.q2 import figures as q2_figures


def main(smk, log):
    runs = pd.read_csv(smk.input.summary)
    fig = q2_figures.q2_overview(runs, references.q2_table(smk.input.references), smk.params.synthetic)
    plotting.save(fig, smk.output.pdf, smk.output.png)
    log(f"wrote {smk.output.png}")


joblog.run(main, snakemake)
