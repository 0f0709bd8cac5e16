"""Rule q3_aggregate: one summary row per Q3 run (real and audio-blind scores), all epoch rows."""

from hw2repro import joblog
from hw2repro.io import write_csv
from hw2repro.q3.summary import aggregate


def main(smk, log):
    runs = [
        {"decoder": decoder, "seed": seed, "test": test, "metrics": metrics}
        for (decoder, seed), test, metrics in zip(smk.params.runs, smk.input.tests, smk.input.metrics, strict=True)
    ]
    summary, epochs = aggregate(runs)
    write_csv(smk.output.summary, summary)
    write_csv(smk.output.epochs, epochs)
    log(f"{len(summary)} runs, {len(epochs)} epoch rows")
    log("\n" + summary.to_string(index=False))


joblog.run(main, snakemake)
