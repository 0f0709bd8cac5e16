# Q3 data and features: an LJ-Speech-format folder (synthetic, a local copy, or the download)
# -> results/data/ljspeech.json -> one cached features file per split, read by the training jobs.

# Paths and target lists come from hw2repro.targets (via common.smk).

from hw2repro import input_identity


rule ljspeech_data:
    """The LJ-Speech-format corpus (synthetic, a local copy or the SHA-256-checked download), validated, as a manifest."""
    input:
        # a local copy's metadata.csv, so editing it re-runs the data rule (when it is missing, the
        # job itself reports the folder and what was expected)
        user=(
            [f"{LJ['path']}/metadata.csv"]
            if LJ["source"] == "path" and LJ["path"] and Path(LJ["path"], "metadata.csv").is_file()
            else []
        ),
        code=code_of("q3_data.py"),
    output:
        manifest=f"{RESULTS}/data/ljspeech.json",
    log:
        f"{RESULTS}/logs/q3/ljspeech_data.log",
    benchmark:
        f"{RESULTS}/benchmarks/q3/ljspeech_data.tsv"
    conda:
        "../../envs/hw2.yaml"
    threads: 1
    resources:
        mem_mb=estimated("ljspeech_data", "mem_mb"),
        runtime=estimated("ljspeech_data", "runtime"),
        disk_mb=estimated("ljspeech_data", "disk_mb"),
    params:
        ljspeech=targets.ljspeech_params(LJ),
        # a local copy's clips (name, size, mtime): a wav changed, added or deleted re-runs the rule
        clips=lambda w: input_identity.clips_identity(LJ["path"]) if LJ["source"] == "path" else "",
        data_dir=lambda wildcards, output: str(Path(output.manifest).parent),
        download_dir=f"{RESULTS}/downloads",
    script:
        "../scripts/q3_data.py"


rule q3_features:
    """Q3 log-mel features of one split (train, val or test), cached for the training jobs."""
    input:
        manifest=rules.ljspeech_data.output.manifest,
        code=code_of("q3_features.py"),
    output:
        features=targets.q3_feature_file(config, "{split}"),
        # the features themselves, written chunk by chunk; training memory-maps them
        array=targets.q3_feature_file(config, "{split}", "array"),
    log:
        f"{RESULTS}/logs/q3/features_{{split}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/q3/features_{{split}}.tsv"
    wildcard_constraints:
        split="train|val|test",
    conda:
        "../../envs/hw2.yaml"
    threads: 1  # per-clip STFTs: one thread is fastest, and splits run in parallel
    resources:
        mem_mb=estimated("q3_features", "mem_mb"),
        runtime=estimated("q3_features", "runtime"),
        disk_mb=estimated("q3_features", "disk_mb"),
    params:
        features={k: Q3_FEAT[k] for k in ("n_frames", "sample_rate_assumed", "dtype")},
    script:
        "../scripts/q3_features.py"
