"""Rule q3_features: log-mel features and tokens of one split, cached as results/q3/features/{split}.pt."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # workflow/ holds the hw2repro package

from hw2repro import features, io, joblog, runtime  # noqa: E402


def main(smk, log):
    runtime.configure_threads(smk.threads)  # one thread: per-clip STFTs are fastest unthreaded
    manifest = io.read_json(smk.input.manifest)
    settings = smk.params.features
    features.build_split(manifest, smk.wildcards.split, settings["n_frames"], smk.output.features,
                         sample_rate_assumed=settings["sample_rate_assumed"], dtype=settings["dtype"], log=log)


joblog.run(main, snakemake)
