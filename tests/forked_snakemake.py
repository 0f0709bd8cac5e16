"""Snakemake started from a pre-imported interpreter: the suite's Snakemake calls, made cheaper.

Why: every ``python -m snakemake`` spends about 1.3 s of CPU importing Snakemake and discovering its
plugins (the SLURM plugin imports pandas) before it reads a Snakefile, and the suite starts Snakemake
about 70 times. Here one server per pytest process imports them once; each call is a fork of it that
runs Snakemake's own command line (``snakemake.cli.main``) in the caller's folder and environment,
with its output in files, so what runs is the real Snakemake, from its real entry point.

Nothing of the workflow is imported before the fork (the tests edit its modules in copies), and only
the suite uses this: the benchmarks time the real ``python -m snakemake`` start. The server only
ever runs Snakemake with the arguments the test process sends over a socket that only it can reach
(a folder made by mkdtemp, mode 0700).
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

# Runs in the server process. A request: JSON (args, cwd, environment) with the two output files'
# descriptors; the answer: the pid of the Snakemake process, then its exit status.
SERVER = r"""
import json, os, select, signal, socket, sys
import snakemake.cli
import snakemake.workflow
from snakemake_interface_executor_plugins.registry import ExecutorPluginRegistry
ExecutorPluginRegistry()  # plugin discovery, done once
# what Snakemake imports later, when it reads this workflow (its report() captions, its file
# handling; the config schema), at 0.3 s a call
import docutils.parsers.rst.directives.images, jsonschema, smart_open.http, snakemake.report.html_reporter
path = sys.argv[1]
listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
listener.bind(path)
listener.listen(16)
sys.stdout.write("ready\n")
sys.stdout.flush()
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the handlers reap themselves


def serve(conn):
    message, fds, _, _ = socket.recv_fds(conn, 1 << 20, 2)
    request = json.loads(message)
    pid = os.fork()
    if pid == 0:  # the Snakemake process: the caller's folder, environment and output files
        try:
            os.setsid()
            os.chdir(request["cwd"])
            os.environ.clear()
            os.environ.update(request["env"])
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            os.dup2(fds[0], 1)
            os.dup2(fds[1], 2)
            # what `python -m snakemake` would have: its __main__ as argv[0] (logged as the command), and
            # the run directory, which Snakemake reads when it is imported
            sys.argv = [os.path.join(os.path.dirname(snakemake.__file__), "__main__.py"), *request["args"]]
            sys.path[0] = os.getcwd()
            snakemake.workflow.Workflow._rundir = os.getcwd()
            code = 0
            try:
                snakemake.cli.main()
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:
            import traceback
            traceback.print_exc()
            code = 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)
    conn.sendall(f"{pid}\n".encode())
    _, status = os.waitpid(pid, 0)
    conn.sendall(f"{os.waitstatus_to_exitcode(status)}\n".encode())


while True:
    ready, _, _ = select.select([listener, sys.stdin], [], [])
    if sys.stdin in ready:  # the test process has ended (its end of the pipe closed): so does the server
        os._exit(0)
    conn, _ = listener.accept()
    if os.fork() == 0:  # a handler per call, so that calls from several threads run at once
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        listener.close()
        sys.stdin.close()
        try:
            serve(conn)
        finally:
            os._exit(0)
    conn.close()
"""


class Server:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._folder: str | None = None

    def _socket_path(self) -> str:
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._folder = tempfile.mkdtemp(prefix="smk-server-")  # mode 0700: this user only
                path = os.path.join(self._folder, "socket")
                self._proc = subprocess.Popen(
                    [sys.executable, "-c", SERVER, path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
                )
                if self._proc.stdout.readline().strip() != "ready":
                    raise RuntimeError(f"the Snakemake server did not start ({self._proc.wait()})")
                atexit.register(self.stop)
            return os.path.join(self._folder, "socket")

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        if self._folder:
            shutil.rmtree(self._folder, ignore_errors=True)

    def run(self, args, cwd, timeout: float | None = None, merge_stderr: bool = False) -> subprocess.CompletedProcess:
        """What ``subprocess.run([python, -m, snakemake, *args], cwd=cwd, capture_output=True, text=True,
        timeout=timeout)`` returns (stderr in stdout with ``merge_stderr``)."""
        args = [str(a) for a in args]
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.connect(self._socket_path())
                request = {"args": args, "cwd": str(Path(cwd).resolve()), "env": dict(os.environ)}
                fds = [out.fileno(), (out if merge_stderr else err).fileno()]
                socket.send_fds(conn, [json.dumps(request).encode()], fds)
                conn.settimeout(timeout)
                reader = conn.makefile("r")
                pid = int(reader.readline())
                try:
                    line = reader.readline()
                except TimeoutError:
                    kill(pid)
                    raise subprocess.TimeoutExpired(["snakemake", *args], timeout) from None
                if not line:
                    raise RuntimeError("the Snakemake server ended during a call")
                code = int(line)
            out.seek(0)
            err.seek(0)
            return subprocess.CompletedProcess(
                ["snakemake", *args],
                code,
                out.read().decode(errors="replace"),
                None if merge_stderr else err.read().decode(errors="replace"),
            )


def kill(pid: int) -> None:
    """The Snakemake process and its jobs (it leads its own process group, once started)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        os.kill(pid, signal.SIGKILL)


SERVER_INSTANCE = Server()


def run(args, cwd, timeout: float | None = None, merge_stderr: bool = False) -> subprocess.CompletedProcess:
    return SERVER_INSTANCE.run(args, cwd, timeout, merge_stderr)
