"""Rule q1_figures: time/memory vs L, error vs scale, M vs D."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # workflow/ holds the hw2repro package

import pandas as pd  # noqa: E402

from hw2repro import joblog, plotting  # noqa: E402
from hw2repro import q1_plots  # noqa: E402


def main(smk, log):
    scaling = pd.read_csv(smk.input.scaling)
    fig = q1_plots.scaling_figure(scaling, pd.read_csv(smk.input.slopes), pd.read_csv(smk.input.crossover),
                                  int(scaling["threads"].iloc[0]))
    plotting.save(fig, smk.output.scaling_pdf, smk.output.scaling_png)
    plotting.save(q1_plots.error_figure(pd.read_csv(smk.input.approx)), smk.output.error_pdf, smk.output.error_png)
    f = smk.params.figures
    fig = q1_plots.feature_dim_figure(range(1, f["max_dim"] + 1), f["terms"])
    plotting.save(fig, smk.output.dims_pdf, smk.output.dims_png)
    log(f"wrote {len(smk.output)} figure files")


joblog.run(main, snakemake)
