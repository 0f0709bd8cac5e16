"""Rule q1_figures: time/memory vs L, error vs scale, M vs D."""

import pandas as pd

from hw2repro import joblog, plotting
from hw2repro.q1 import figures as q1_plots


def main(smk, log):
    scaling = pd.read_csv(smk.input.scaling)
    fig = q1_plots.scaling_figure(
        scaling, pd.read_csv(smk.input.slopes), pd.read_csv(smk.input.crossover), int(scaling["threads"].iloc[0])
    )
    plotting.save(fig, smk.output.scaling_pdf, smk.output.scaling_png)
    plotting.save(q1_plots.error_figure(pd.read_csv(smk.input.approx)), smk.output.error_pdf, smk.output.error_png)
    f = smk.params.figures
    fig = q1_plots.feature_dim_figure(range(1, f["max_dim"] + 1), f["terms"])
    plotting.save(fig, smk.output.dims_pdf, smk.output.dims_png)
    log(f"wrote {len(smk.output)} figure files")


joblog.run(main, snakemake)
