"""Rule ljspeech_data: make the configured LJ-Speech-format folder available and describe it.

Writes results/data/ljspeech.json (source, folder, rows, metadata SHA-256, splits).
"""

from hw2repro import joblog, runtime
from hw2repro.q3 import data as ljspeech_data


def main(smk, log):
    runtime.configure_threads(smk.threads)
    # keep_archive from the config, not a param: flipping it must not re-run the data (and all after)
    ljspeech_data.prepare(
        smk.params.ljspeech,
        smk.output.manifest,
        data_dir=smk.params.data_dir,
        download_dir=smk.params.download_dir,
        log=log,
        keep_archive=bool(smk.config["data"]["ljspeech"]["keep_archive"]),
    )


joblog.run(main, snakemake)
