"""Rule q3_train: train one Q3 decoder for one seed, test it (and its audio-blind baseline).

A job killed part-way resumes from the run folder's resume.pt (written after every epoch,
removed on success) and ends bit-identical to an uninterrupted run.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # workflow/ holds the hw2repro package

from hw2repro import joblog, runtime  # noqa: E402
from hw2repro.asr_training import TrainSettings, run_training  # noqa: E402


def main(smk, log):
    settings = TrainSettings.from_config(smk.params.settings, smk.wildcards.decoder, int(smk.wildcards.seed))
    # Seeding first and once, as in the homework: the initial weights are torch's first draws.
    device, env = runtime.setup_job(settings.seed, smk.threads, smk.params.allow_cuda)
    log(f"q3_train {settings.to_dict()} on {env['device']} with {env['torch_threads']} thread(s)")
    run_training(
        settings,
        {"train": smk.input.train, "val": smk.input.val, "test": smk.input.test},
        Path(smk.params.resume).parent,
        device,
        env,
        smk.threads,
        log=log,
        outputs={k: smk.output[k] for k in ("metrics", "test", "predictions", "model")},
    )


joblog.run(main, snakemake)
