"""Rule q3_aggregate: one summary row per Q3 run (real and audio-blind scores), all epoch rows."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # workflow/ holds the hw2repro package

from hw2repro import joblog  # noqa: E402
from hw2repro.asr_report import aggregate  # noqa: E402
from hw2repro.io import write_csv  # noqa: E402


def main(smk, log):
    runs = [
        {"decoder": decoder, "seed": seed, "test": test, "metrics": metrics}
        for (decoder, seed), test, metrics in zip(smk.params.runs, smk.input.tests, smk.input.metrics,
                                                  strict=True)
    ]
    summary, epochs = aggregate(runs)
    write_csv(smk.output.summary, summary)
    write_csv(smk.output.epochs, epochs)
    log(f"{len(summary)} runs, {len(epochs)} epoch rows")
    log("\n" + summary.to_string(index=False))


joblog.run(main, snakemake)
