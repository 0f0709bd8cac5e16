"""Rule q2_aggregate: per-run, per-configuration and per-epoch tables for Q2."""

from hw2repro import io, joblog
from hw2repro.q2 import summary as q2_summary


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
