"""Rule q1_scaling: time and peak memory of exact vs. linear attention over L; slopes, crossover."""

from hw2repro import io, joblog, provenance, runtime
from hw2repro.q1 import scaling as qb


def main(smk, log):
    threads = runtime.configure_threads(smk.threads)  # rule threads = config q1.threads: fixed, stated in the CSV
    runtime.seed_everything(smk.params.seed)
    log(f"timing with {threads} torch thread(s) on {provenance.cpu_model()}")
    tables = qb.scaling_tables(smk.params.scaling, smk.params.seed, threads, log)
    for name, frame in tables.items():
        io.write_csv(smk.output[name], frame)
    env = {**provenance.environment_info(threads=threads), "settings": smk.params.scaling}
    io.write_json(smk.output.environment, env)
    log("slopes:\n" + tables["slopes"].to_string(index=False))
    log("crossover:\n" + tables["crossover"].to_string(index=False))


joblog.run(main, snakemake)
