"""Logging and error reporting for pipeline scripts.

Every job writes time-stamped progress lines to its Snakemake log file (and to stderr, so a
terminal or a SLURM log shows them too). Expected failures -- bad input data, a failed
download, an invalid setting -- end the job with one clear line instead of a traceback.
"""

from __future__ import annotations

import errno
import shutil
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


# OS errors a user fixes outside the code: errno -> what to do. The job ends with one line naming the file.
USER_FIXABLE_OS_ERRORS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.ENAMETOOLONG: "a file name is too long for the file system",
    errno.ELOOP: "a symbolic link points to itself (a loop)",
    errno.EACCES: "permission denied",
    errno.EROFS: "the file system is read-only",
}


def os_error_line(exc: OSError, outputs=()) -> str | None:
    """One line for an OS error a user can fix (disk full: with the free space left), else None.
    ``outputs``: the job's output files, named when the error does not say which file (a write)."""
    what = USER_FIXABLE_OS_ERRORS.get(exc.errno)
    if what is None:
        return None
    outputs = [str(o) for o in outputs]
    where = exc.filename or ("writing " + ", ".join(outputs[:3]) if outputs else "writing an output")
    line = f"{where}: {what}"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        folder = Path(exc.filename or (outputs[0] if outputs else "x")).parent.absolute()
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        try:
            line += f" ({shutil.disk_usage(folder).free / 2**20:,.0f} MiB free on {folder}'s file system)"
        except OSError:
            pass
        return line + ": free space (or set `results` to a larger disk) and rerun the same command"
    return line + ": fix it and rerun the same command"


def run(main, snakemake, expected=EXPECTED_ERRORS) -> None:
    """Run ``main(snakemake, log)``; on an expected error, log one line and exit 1."""
    tag = "[" + " ".join([snakemake.rule] + [f"{k}={v}" for k, v in snakemake.wildcards.items()]) + "]"
    log = JobLog(snakemake.log[0] if len(snakemake.log) else None, tag)
    try:
        main(snakemake, log)
    except expected as exc:
        log(f"ERROR: {exc}")
        sys.exit(1)
    except OSError as exc:
        line = os_error_line(exc, list(snakemake.output))
        if line is None:
            log("ERROR: unexpected failure\n" + traceback.format_exc())
            raise
        log(f"ERROR: {line}")
        sys.exit(1)
    except Exception:
        log("ERROR: unexpected failure\n" + traceback.format_exc())
        raise
