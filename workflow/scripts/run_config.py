"""Rule run_config: the run's resolved config as {results}/config.yaml (read by make compare)."""

from hw2repro import joblog
from hw2repro.compare.read import write_run_config


def main(smk, log):
    write_run_config(smk.output.config, smk.params.config, smk.params.configfiles)
    log(f"wrote {smk.output.config}")


joblog.run(main, snakemake)
