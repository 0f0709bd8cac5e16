"""Rule ljspeech_data: make the configured LJ-Speech-format folder available and describe it.

Writes results/data/ljspeech.json (source, folder, rows, metadata SHA-256, splits).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # workflow/ holds the hw2repro package

from hw2repro import joblog, ljspeech, runtime  # noqa: E402


def main(smk, log):
    runtime.configure_threads(smk.threads)
    ljspeech.prepare(smk.params.ljspeech, smk.output.manifest, data_dir=smk.params.data_dir,
                     download_dir=smk.params.download_dir, log=log)


joblog.run(main, snakemake)
