"""Rule q2_overview_figure: test accuracy per lr x pooling, ours beside the published numbers; every
published number against ours."""

import pandas as pd

from hw2repro import joblog, plotting, references
from hw2repro.q2 import figures as q2_figures


def main(smk, log):
    runs = pd.read_csv(smk.input.summary)
    refs = references.q2_table(smk.input.references)
    note = plotting.data_note(smk.input.data_meta)
    fig = q2_figures.q2_overview(runs, refs, note)
    plotting.save(fig, smk.output.pdf, smk.output.png)
    plotting.save(q2_figures.published_spread(runs, refs, note), smk.output.spread_pdf, smk.output.spread_png)
    log(f"wrote {smk.output.png}, {smk.output.spread_png}")


joblog.run(main, snakemake)
