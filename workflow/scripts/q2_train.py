"""Rule q2_train: train one CNN configuration (pooling x lr x seed) and record everything (hw2repro.q2.job)."""

import time

from hw2repro import joblog, runtime
from hw2repro.q2.job import run_training
from hw2repro.q2.train import Q2Settings


def main(smk, log):
    settings = Q2Settings(**smk.params.settings)
    tic = time.perf_counter()
    # Seeding comes first and once, as in the homework: the model's initial weights are then
    # the first draws from torch's generator.
    device, env = runtime.setup_job(settings.seed, smk.threads, smk.params.allow_cuda)
    log(f"training {settings.as_dict()} on {env['device']} with {env['torch_threads']} thread(s)")
    run_training(
        settings,
        smk.input.data,
        smk.params.eq_test_dist,
        smk.params.resume,
        device,
        env,
        {k: smk.output[k] for k in ("metrics", "predictions", "model", "result")},
        log=log,
        started=tic,
    )


joblog.run(main, snakemake)
