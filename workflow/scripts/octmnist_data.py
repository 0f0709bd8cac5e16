"""Rule octmnist_data: produce results/data/octmnist.npz from the configured source."""

from hw2repro import joblog
from hw2repro.q2 import data


def main(smk, log):
    data.prepare(smk.params.octmnist, smk.output.npz, smk.output.meta, download_dir=smk.params.download_dir, log=log)


joblog.run(main, snakemake)
