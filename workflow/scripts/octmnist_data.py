"""Rule octmnist_data: produce results/data/octmnist.npz from the configured source."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # workflow/ holds the hw2repro package

from hw2repro import joblog, octmnist  # noqa: E402


def main(smk, log):
    octmnist.prepare(smk.params.octmnist, smk.output.npz, smk.output.meta,
                     download_dir=smk.params.download_dir, log=log)


joblog.run(main, snakemake)
