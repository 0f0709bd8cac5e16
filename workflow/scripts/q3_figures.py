"""Rule q3_figures: the homework's per-run plots (original names), loss and similarity curves,
and the test table with the audio-blind baseline beside the published numbers."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # workflow/ holds the hw2repro package

import pandas as pd  # noqa: E402

from hw2repro import asr_report, joblog, plotting, references  # noqa: E402
from hw2repro.io import write_csv  # noqa: E402


def main(smk, log):
    summary = pd.read_csv(smk.input.summary)
    epochs = pd.read_csv(smk.input.epochs)
    refs = references.load(smk.input.references)
    synthetic = bool(smk.params.synthetic)
    for decoder, seed in smk.params.runs:
        run = epochs[(epochs["decoder"] == decoder) & (epochs["seed"] == int(seed))]
        out_dir = Path(smk.params.fig_dir) / f"{decoder}_seed{seed}"
        for name, fig in asr_report.original_run_plots(run, synthetic).items():
            plotting.save(fig, out_dir / f"{name}.pdf", out_dir / f"{name}.png")
        log(f"{decoder} seed {seed}: plots in {out_dir}")
    out = smk.output
    plotting.save(asr_report.loss_figure(epochs, refs, synthetic), out.loss_pdf, out.loss_png)
    plotting.save(asr_report.similarity_figure(epochs, refs, synthetic), out.similarity_pdf,
                  out.similarity_png)
    table = asr_report.results_table(summary, references.q3_test_table(smk.input.references))
    write_csv(out.table_csv, table)
    plotting.save(asr_report.results_table_figure(table, synthetic), out.table_pdf, out.table_png)
    log("\n" + table.to_string(index=False))


joblog.run(main, snakemake)
