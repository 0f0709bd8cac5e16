"""Rule q1_verify: the Taylor feature maps checked exactly, and their error against softmax."""

from hw2repro import io, joblog, runtime
from hw2repro.q1 import verify


def main(smk, log):
    threads = runtime.configure_threads(smk.threads)
    table, sweep = verify.verification_tables(smk.params.verify, smk.params.approx, smk.params.seed)
    io.write_csv(smk.output.approx, sweep)
    io.write_csv(smk.output.verification, table)
    checks, failed = table[table["kind"] == "check"], verify.failed_checks(table)
    log(f"{len(checks) - len(failed)}/{len(checks)} checks passed ({threads} thread(s))")
    for name, g in checks.groupby("check"):
        log(
            f"  {name:28s} max error {g['error'].astype(float).max():.3g} "
            f"(tolerance {g['tolerance'].astype(float).max():.3g})"
        )
    log("observations:\n" + table[table["kind"] == "observation"][["check", "K", "value"]].to_string(index=False))
    if len(failed) and smk.params.verify["fail_on_mismatch"]:
        log(f"failed checks:\n{failed.to_string(index=False)}")
        raise verify.CheckFailed(verify.failure_line(failed))


joblog.run(main, snakemake)
