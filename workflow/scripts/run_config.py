"""Rule run_config: the run's resolved config as {results}/config.yaml (read by make compare)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # workflow/ holds the hw2repro package

from hw2repro import joblog  # noqa: E402
from hw2repro.compare import write_run_config  # noqa: E402


def main(smk, log):
    write_run_config(smk.output.config, smk.params.config, smk.params.configfiles)
    log(f"wrote {smk.output.config}")


joblog.run(main, snakemake)
