"""Rule q2_overview_figure: test accuracy per lr x pooling, ours beside the published numbers."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # workflow/ holds the hw2repro package

import pandas as pd  # noqa: E402

from hw2repro import joblog, plotting, references  # noqa: E402


def main(smk, log):
    runs = pd.read_csv(smk.input.summary)
    fig = plotting.q2_overview(runs, references.q2_table(smk.input.references), smk.params.synthetic)
    plotting.save(fig, smk.output.pdf, smk.output.png)
    log(f"wrote {smk.output.png}")


joblog.run(main, snakemake)
