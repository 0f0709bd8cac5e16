"""A real one-node SLURM cluster on this machine, for tests: install, start, wait, stop.

What it does (root only, Debian/Ubuntu):

1. installs ``slurmctld slurmd slurm-client munge`` with apt-get when a binary is missing
   (idempotent: nothing is installed when they are all there);
2. writes everything into a fresh temporary directory: a munge key and socket, ``slurm.conf``,
   ``gres.conf``, state/spool/log directories, on free TCP ports;
3. links ``/etc/slurm/slurm.conf`` to that ``slurm.conf``. The link is needed: the executor
   plugin's job step strips ``SLURM_CONF`` from the environment before its inner ``srun``,
   which then only finds the default path ("Could not establish a configuration source");
4. starts ``munged``, ``slurmctld`` and ``slurmd`` in the foreground (each in its own session),
   records their PIDs (also in STATE_FILE), and waits until ``sinfo`` shows the node idle;
5. ``stop()`` cancels leftover jobs, then ends exactly those PIDs (SIGTERM, then SIGKILL) and
   removes the link and the temporary directory. It never replaces a real slurm.conf.

The node is called ``localhost`` (NodeAddr 127.0.0.1) with the CPUs and memory that
``slurmd -C`` reports (memory minus a margin). Two partitions share it: ``debug`` (default)
and ``gpu``. The node advertises one *fake* GPU (``Gres=gpu:1``, ``File=/dev/null``) so that
a job asking for ``--gpus=1`` is accepted and scheduled; nothing is constrained
(``TaskPlugin=task/none``), so the job simply finds no CUDA device and must fall back to CPU.
There is no accounting (no slurmdbd): ``sacct`` does not work, status queries must use
``squeue`` (``MinJobAge=300`` keeps finished jobs visible to it).

Command line (by hand, for experiments; the tests use the class)::

    python tests/slurm/localslurm.py install    # apt-get only
    python tests/slurm/localslurm.py up         # start and leave running (PIDs in STATE_FILE)
    python tests/slurm/localslurm.py down       # stop what STATE_FILE records
    python tests/slurm/localslurm.py check      # start, show sinfo, stop (smoke test)
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

PACKAGES = ("slurmctld", "slurmd", "slurm-client", "munge")
BINARIES = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scontrol", "srun", "scancel")
ETC_CONF = Path("/etc/slurm/slurm.conf")
RUN_DIR = Path("/run/lock") if Path("/run/lock").is_dir() else Path(tempfile.gettempdir())
LOCK_FILE = RUN_DIR / "hw2repro-localslurm.lock"  # one test cluster per machine at a time
STATE_FILE = RUN_DIR / "hw2repro-localslurm.json"  # PIDs and paths of the running test cluster
MEMORY_MARGIN_MB = 1024  # kept free for the OS, the Snakemake controller and the daemons
PARTITION = "debug"
GPU_PARTITION = "gpu"


class LocalSlurmError(RuntimeError):
    pass


def missing_binaries() -> list[str]:
    return [b for b in BINARIES if shutil.which(b) is None and not Path("/usr/sbin", b).exists()]


def ensure_packages(log=print) -> float:
    """apt-get install the Debian packages if a binary is missing. Returns seconds spent."""
    if not missing_binaries():
        return 0.0
    if os.geteuid() != 0:
        raise LocalSlurmError(f"SLURM binaries missing ({missing_binaries()}) and not root: cannot apt-get install")
    if shutil.which("apt-get") is None:
        raise LocalSlurmError("SLURM binaries missing and no apt-get on this machine")
    tic = time.monotonic()
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *PACKAGES]
    log(f"localslurm: {' '.join(install)}")
    proc = subprocess.run(install, env=env, capture_output=True, text=True)
    if proc.returncode != 0:  # a fresh container has no package lists yet
        log("localslurm: apt-get update")
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, text=True, check=False)
        proc = subprocess.run(install, env=env, capture_output=True, text=True)
    if proc.returncode != 0 or missing_binaries():
        raise LocalSlurmError(
            f"apt-get install {' '.join(PACKAGES)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    return time.monotonic() - tic


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def node_hardware() -> dict:
    """CPUs, topology and memory of this machine as ``slurmd -C`` sees them."""
    out = subprocess.run([_sbin("slurmd"), "-C"], capture_output=True, text=True, check=True).stdout
    fields = dict(re.findall(r"(\w+)=(\S+)", out.splitlines()[0]))
    hw = {
        k: int(fields[k])
        for k in ("CPUs", "Boards", "SocketsPerBoard", "CoresPerSocket", "ThreadsPerCore")
        if k in fields
    }
    hw["RealMemory"] = max(512, int(fields["RealMemory"]) - MEMORY_MARGIN_MB)
    return hw


def _sbin(name: str) -> str:
    return shutil.which(name) or str(Path("/usr/sbin", name))


SLURM_CONF = """\
# One-node test cluster written by tests/slurm/localslurm.py (temporary, {base})
ClusterName=hw2repro-test
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={base}/munge/munge.socket.2
StateSaveLocation={base}/state
SlurmdSpoolDir={base}/spool
SlurmctldPidFile={base}/run/slurmctld.pid
SlurmdPidFile={base}/run/slurmd.pid
SlurmctldLogFile={base}/log/slurmctld.log
SlurmdLogFile={base}/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# no cgroups here (no systemd): track processes by /proc, no task confinement
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# finished jobs stay visible to squeue for 5 min (the executor polls with squeue; no sacct)
MinJobAge=300
ReturnToService=2
SlurmdTimeout=120
InactiveLimit=0
KillWait=5
GresTypes=gpu
NodeName=localhost NodeAddr=127.0.0.1 {hardware} Gres=gpu:1 State=UNKNOWN
PartitionName={partition} Nodes=localhost Default=YES MaxTime=INFINITE State=UP
PartitionName={gpu_partition} Nodes=localhost Default=NO MaxTime=INFINITE State=UP
"""

# A fake GPU: the gres plugin only needs a device file to exist. No CUDA device behind it.
GRES_CONF = "AutoDetect=off\nNodeName=localhost Name=gpu File=/dev/null\n"


@dataclass
class LocalSlurm:
    """Start with ``start()`` (or use as a context manager); ``stop()`` ends what was started.

    The daemons run in their own session, so a signal to the caller's process group (Ctrl-C,
    timeout(1)) does not kill them before ``stop()`` has cancelled the jobs: killed first, they
    would leave job steps waiting for a controller that is gone. Their PIDs are also written
    to STATE_FILE; should the caller die without ``stop()`` (SIGKILL), the next ``start()``
    reads it and stops that cluster the same way.
    """

    base: Path | None = None
    pids: dict = field(default_factory=dict)
    env: dict = field(default_factory=dict)
    startup_seconds: float = 0.0
    install_seconds: float = 0.0
    _procs: dict = field(default_factory=dict, repr=False)
    _lock: object = field(default=None, repr=False)
    _logs: dict = field(default_factory=dict, repr=False)

    # ---- start -------------------------------------------------------------------------
    def start(self, timeout: float = 90) -> LocalSlurm:
        if os.geteuid() != 0:
            raise LocalSlurmError("the local SLURM test cluster needs root (daemons, /etc/slurm/slurm.conf)")
        self.install_seconds = ensure_packages()
        tic = time.monotonic()
        self._take_lock()
        try:
            stop_recorded_cluster()  # a cluster a killed earlier run left behind
            self._write_files()
            self._link_conf()
            self._spawn(
                "munged",
                [
                    "munged",
                    "--foreground",
                    "--force",
                    f"--key-file={self.base}/munge/munge.key",
                    f"--socket={self.base}/munge/munge.socket.2",
                    f"--pid-file={self.base}/run/munged.pid",
                    f"--seed-file={self.base}/munge/munged.seed",
                ],
            )
            self._wait_for(lambda: (self.base / "munge" / "munge.socket.2").exists(), 15, "munged socket")
            self._spawn("slurmctld", [_sbin("slurmctld"), "-D", "-i", "-f", str(self.conf)])
            self._wait_for(self._controller_up, 30, "slurmctld to answer")
            self._spawn("slurmd", [_sbin("slurmd"), "-D", "-N", "localhost", "-f", str(self.conf)])
            self._wait_for(self._node_idle, timeout, "node localhost idle in sinfo")
        except BaseException:
            self.stop(remove_files=False)
            raise
        self.startup_seconds = time.monotonic() - tic
        return self

    @property
    def conf(self) -> Path:
        return self.base / "etc" / "slurm.conf"

    def _take_lock(self, wait: float = 300):
        """One test cluster per machine (/etc/slurm/slurm.conf is global): wait for the other."""
        LOCK_FILE.parent.mkdir(parents=True, exist_ok=True)
        fh = open(LOCK_FILE, "w")
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    fh.close()
                    raise LocalSlurmError(f"another local test cluster held {LOCK_FILE} for {wait}s") from None
                time.sleep(1)
        self._lock = fh

    def _write_files(self):
        self.base = Path(tempfile.mkdtemp(prefix="hw2repro-slurm-"))
        self.base.chmod(0o755)  # munged wants execute permission for all on the socket's directories
        for sub in ("etc", "munge", "state", "spool", "log", "run"):
            (self.base / sub).mkdir(mode=0o755)
        key = self.base / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o600)
        hw = node_hardware()
        self.conf.write_text(
            SLURM_CONF.format(
                base=self.base,
                ctld_port=free_port(),
                slurmd_port=free_port(),
                hardware=" ".join(f"{k}={v}" for k, v in hw.items()),
                partition=PARTITION,
                gpu_partition=GPU_PARTITION,
            )
        )
        (self.base / "etc" / "gres.conf").write_text(GRES_CONF)
        self.env = {"SLURM_CONF": str(self.conf)}
        self._save_state()

    def _link_conf(self):
        if ETC_CONF.is_symlink():
            target = os.readlink(ETC_CONF)
            if "hw2repro-slurm-" not in target:
                raise LocalSlurmError(f"{ETC_CONF} is a link to {target}, not ours: refusing to replace it")
            ETC_CONF.unlink()  # a leftover of a killed earlier run (we hold the lock now)
        elif ETC_CONF.exists():
            raise LocalSlurmError(f"{ETC_CONF} exists (a real SLURM set-up?): refusing to replace it")
        ETC_CONF.parent.mkdir(parents=True, exist_ok=True)
        ETC_CONF.symlink_to(self.conf)

    def _spawn(self, name, argv):
        log = open(self.base / "log" / f"{name}.out", "w")
        self._logs[name] = log
        proc = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **self.env},
            start_new_session=True,
        )
        self._procs[name] = proc
        self.pids[name] = proc.pid
        self._save_state()

    def _save_state(self):
        STATE_FILE.write_text(json.dumps(self.state(), indent=1))

    def _wait_for(self, predicate, timeout, what):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, proc in self._procs.items():
                if proc.poll() is not None:
                    raise LocalSlurmError(
                        f"{name} exited ({proc.returncode}) while waiting for {what}:\n" + self.daemon_logs()
                    )
            if predicate():
                return
            time.sleep(0.3)
        raise LocalSlurmError(f"timed out after {timeout}s waiting for {what}:\n" + self.daemon_logs())

    def run(self, *argv, check=False, timeout=30) -> subprocess.CompletedProcess:
        return subprocess.run(
            list(argv), capture_output=True, text=True, timeout=timeout, check=check, env={**os.environ, **self.env}
        )

    def _controller_up(self) -> bool:
        return self.run("scontrol", "ping").stdout.count("UP") > 0

    def _node_idle(self) -> bool:
        out = self.run("sinfo", "-h", "-N", "-n", "localhost", "-o", "%T").stdout.split()
        return bool(out) and all(s.rstrip("*") == "idle" for s in out)

    def daemon_logs(self, tail=3000) -> str:
        parts = []
        for path in sorted((self.base / "log").glob("*")) if self.base else []:
            with contextlib.suppress(OSError):
                parts.append(f"--- {path}\n{path.read_text(errors='replace')[-tail:]}")
        return "\n".join(parts)

    # ---- stop --------------------------------------------------------------------------
    def stop(self, remove_files: bool | None = None):
        """Cancel leftover jobs, end the daemons we started (by PID), remove the link and files."""
        if self.base is not None:
            stop_cluster(self.state(), self._procs)
        self._procs.clear()
        for fh in self._logs.values():
            fh.close()
        self._logs.clear()
        if remove_files is None:
            remove_files = os.environ.get("HW2REPRO_SLURM_KEEP") != "1"
        if remove_files and self.base is not None:
            shutil.rmtree(self.base, ignore_errors=True)
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def state(self) -> dict:
        return {
            "base": str(self.base),
            "conf": str(self.conf),
            "pids": dict(self.pids),
            "startup_seconds": round(self.startup_seconds, 1),
            "install_seconds": round(self.install_seconds, 1),
        }


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def stop_cluster(state: dict, procs: dict | None = None) -> None:
    """Stop the cluster ``state`` describes: cancel its jobs, wait for them, then end its daemons
    by PID (each checked against its command line, so a recycled PID is left alone), and remove
    the /etc/slurm/slurm.conf link if it still points at this cluster."""
    procs = procs or {}
    env = {**os.environ, "SLURM_CONF": state["conf"]}
    expected = {"munged": state["base"], "slurmctld": state["conf"], "slurmd": state["conf"]}

    def ours(name, pid):
        if name in procs:
            return procs[name].poll() is None
        return expected[name] in _cmdline(pid)

    ctld = state["pids"].get("slurmctld")
    if ctld and ours("slurmctld", ctld):
        with contextlib.suppress(Exception):
            subprocess.run(["scancel", "--user=root"], env=env, capture_output=True, timeout=10)
            deadline = time.monotonic() + 20
            while (
                time.monotonic() < deadline
                and subprocess.run(
                    ["squeue", "-h", "-t", "PENDING,RUNNING,COMPLETING,SUSPENDED"],
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=10,
                ).stdout.strip()
            ):
                time.sleep(0.5)
    for name in ("slurmd", "slurmctld", "munged"):
        pid = state["pids"].get(name)
        if pid and ours(name, pid):
            stop_pid(int(pid), procs.get(name))
    if ETC_CONF.is_symlink() and os.readlink(ETC_CONF) == state["conf"]:
        ETC_CONF.unlink()
    with contextlib.suppress(OSError):
        if json.loads(STATE_FILE.read_text()).get("conf") == state["conf"]:
            STATE_FILE.unlink()


def stop_recorded_cluster() -> None:
    """Stop a cluster that STATE_FILE records (left running by a run that was killed)."""
    try:
        state = json.loads(STATE_FILE.read_text())
    except (OSError, ValueError):
        return
    stop_cluster(state)
    shutil.rmtree(state["base"], ignore_errors=True)


def stop_pid(pid: int, proc: subprocess.Popen | None = None, grace: float = 10):
    """SIGTERM the one process ``pid`` (a daemon we started), SIGKILL it after ``grace`` s."""

    def alive():
        if proc is not None:
            return proc.poll() is None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True

    if not alive():
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    if alive():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        if proc is not None:
            proc.wait(5)


# ---- command line ----------------------------------------------------------------------------


def _cli(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("action", choices=("install", "up", "down", "check"))
    args = ap.parse_args(argv)
    if args.action == "install":
        print(f"installed in {ensure_packages():.1f}s" if missing_binaries() else "already installed")
        return 0
    if args.action == "check":
        with LocalSlurm() as cluster:
            print(json.dumps(cluster.state(), indent=1))
            print(cluster.run("sinfo").stdout)
        return 0
    if args.action == "up":
        cluster = LocalSlurm().start()
        print(json.dumps(cluster.state(), indent=1))
        print(f"export SLURM_CONF={cluster.conf}   # also linked from {ETC_CONF}; stop with: down")
        os._exit(0)  # leave the daemons running (no Popen finalizers); STATE_FILE records them
    stop_recorded_cluster()
    return 0


if __name__ == "__main__":
    sys.exit(_cli())
