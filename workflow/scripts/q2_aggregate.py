"""Rule q2_aggregate: per-run, per-configuration and per-epoch tables for Q2."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # workflow/ holds the hw2repro package

from hw2repro import io, joblog, q2_summary  # noqa: E402


def main(smk, log):
    runs = q2_summary.runs_table(smk.input.results, io.read_json(smk.input.data_meta))
    configs = q2_summary.by_config(runs)
    best = q2_summary.best_lr(configs)
    io.write_csv(smk.output.summary, runs)
    io.write_csv(smk.output.by_config, configs)
    io.write_csv(smk.output.epochs, q2_summary.epochs_table(smk.input.metrics))
    io.write_csv(smk.output.best_lr, best)
    log(f"{len(runs)} runs in {len(configs)} configurations; best lr on validation:\n{best.to_string(index=False)}")


joblog.run(main, snakemake)
