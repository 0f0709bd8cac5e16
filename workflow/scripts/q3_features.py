"""Rule q3_features: log-mel features and tokens of one split, cached as results/q3/features/{split}.pt
and {split}.features.npy (streamed to disk, flat memory)."""

from hw2repro import joblog, runtime
from hw2repro.q3 import features, ljspeech


def main(smk, log):
    runtime.configure_threads(smk.threads)  # one thread: per-clip STFTs are fastest unthreaded
    manifest = ljspeech.read_manifest(smk.input.manifest)  # the folder is recorded relative to it
    settings = smk.params.features
    features.build_split(
        manifest,
        smk.wildcards.split,
        settings["n_frames"],
        smk.output.features,
        sample_rate_assumed=settings["sample_rate_assumed"],
        dtype=settings["dtype"],
        log=log,
        features_out=smk.output.array,
    )


joblog.run(main, snakemake)
