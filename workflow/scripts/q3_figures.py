"""Rule q3_figures: the homework's per-run plots (original names), loss and similarity curves,
and the test table with the audio-blind baseline beside the published numbers."""

from pathlib import Path

import pandas as pd

from hw2repro import joblog, plotting, references
from hw2repro.io import write_csv
from hw2repro.q3 import figures as q3_figures
from hw2repro.q3 import summary as q3_summary


def main(smk, log):
    summary = pd.read_csv(smk.input.summary)
    epochs = pd.read_csv(smk.input.epochs)
    refs = references.load(smk.input.references)
    note = plotting.data_note(smk.input.data_meta)
    for decoder, seed in smk.params.runs:
        run = epochs[(epochs["decoder"] == decoder) & (epochs["seed"] == int(seed))]
        out_dir = Path(smk.params.fig_dir) / f"{decoder}_seed{seed}"
        for name, fig in q3_figures.original_run_plots(run, note).items():
            plotting.save(fig, out_dir / f"{name}.pdf", out_dir / f"{name}.png")
        log(f"{decoder} seed {seed}: plots in {out_dir}")
    out = smk.output
    plotting.save(q3_figures.loss_figure(epochs, refs, note), out.loss_pdf, out.loss_png)
    plotting.save(q3_figures.similarity_figure(epochs, refs, note), out.similarity_pdf, out.similarity_png)
    table = q3_summary.results_table(summary, references.q3_test_table(smk.input.references))
    write_csv(out.table_csv, table)
    plotting.save(q3_figures.results_table_figure(table, note), out.table_pdf, out.table_png)
    log("\n" + table.to_string(index=False))


joblog.run(main, snakemake)
