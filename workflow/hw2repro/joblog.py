"""Logging and error reporting for pipeline scripts.

Every job writes time-stamped progress lines to its Snakemake log file (and to stderr, so a
terminal or a SLURM log shows them too). Expected failures -- bad input data, a failed
download, an invalid setting -- end the job with one clear line instead of a traceback.
"""

from __future__ import annotations

import sys
import time
import traceback
from pathlib import Path

from .errors import InputError

EXPECTED_ERRORS = (InputError, FileNotFoundError)


class JobLog:
    def __init__(self, path: str | None, tag: str = ""):
        self.tag = f"{tag} " if tag else ""
        self.fh = None
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.fh = open(path, "a", encoding="utf-8", buffering=1)

    def __call__(self, message: str) -> None:
        stamp = f"[{time.strftime('%Y-%m-%d %H:%M:%S')}] "
        # every line of a multi-line message (a traceback) tagged too: parallel jobs interleave
        lines = [stamp + part for part in str(message).split("\n")]
        print("\n".join(self.tag + line for line in lines), file=sys.stderr, flush=True)
        if self.fh:
            self.fh.write("\n".join(lines) + "\n")


def run(main, snakemake, expected=EXPECTED_ERRORS) -> None:
    """Run ``main(snakemake, log)``; on an expected error, log one line and exit 1."""
    tag = "[" + " ".join([snakemake.rule] + [f"{k}={v}" for k, v in snakemake.wildcards.items()]) + "]"
    log = JobLog(snakemake.log[0] if len(snakemake.log) else None, tag)
    try:
        main(snakemake, log)
    except expected as exc:
        log(f"ERROR: {exc}")
        sys.exit(1)
    except Exception:
        log("ERROR: unexpected failure\n" + traceback.format_exc())
        raise
