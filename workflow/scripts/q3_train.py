"""Rule q3_train: train one Q3 decoder for one seed, test it (and its audio-blind baseline).

A job killed part-way resumes from the run folder's resume.pt (written after every epoch,
removed on success) and ends bit-identical to an uninterrupted run.
"""

from pathlib import Path

from hw2repro import joblog, runtime
from hw2repro.q3.job import run_training
from hw2repro.q3.train import TrainSettings


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
