# Q3 data and features: an LJ-Speech-format folder (synthetic, a local copy, or the download)
# -> results/data/ljspeech.json -> one cached features file per split, read by the training jobs.

# Paths, settings and target lists come from common.smk.

from hw2repro import input_identity


rule ljspeech_data:
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
        ljspeech=ljspeech_params(),
        # a local copy's clips (name, size, mtime): a wav changed, added or deleted re-runs the rule
        clips=lambda w: input_identity.clips_identity(LJ["path"]) if LJ["source"] == "path" else "",
        data_dir=lambda wildcards, output: str(Path(output.manifest).parent),
        download_dir=f"{RESULTS}/downloads",
    script:
        "../scripts/q3_data.py"


rule q3_features:
    input:
        manifest=rules.ljspeech_data.output.manifest,
        code=code_of("q3_features.py"),
    output:
        features=f"{RESULTS}/q3/features/{{split}}.pt",
        # the features themselves, written chunk by chunk; training memory-maps them
        array=f"{RESULTS}/q3/features/{{split}}.features.npy",
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
