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
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

# Runs in the server process. A request: an 8-byte length, then JSON (args, cwd, environment), with the
# two output files' descriptors; the answer: the pid of the Snakemake process, then its exit status. A
# handler whose caller hangs up first (a timeout, Ctrl-C, a worker that died) kills the Snakemake
# process and its jobs: nothing outlives the test that started it.
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


def receive(conn):
    head, fds, _, _ = socket.recv_fds(conn, 8, 2)
    while len(head) < 8:
        head += conn.recv(8 - len(head))
    size, body = int.from_bytes(head, "big"), b""
    while len(body) < size:
        chunk = conn.recv(size - len(body))
        if not chunk:
            raise EOFError("the caller hung up")
        body += chunk
    return json.loads(body), fds


def snakemake_process(request, fds):
    code = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.setsid()
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        null = os.open(os.devnull, os.O_RDONLY)
        for fd, target in ((null, 0), (fds[0], 1), (fds[1], 2)):
            os.dup2(fd, target)
        for fd in {null, *fds}:
            os.close(fd)
        # what `python -m snakemake` would have: its __main__ as argv[0] (logged as the command), and
        # the run directory, which Snakemake reads when it is imported
        sys.argv = [os.path.join(os.path.dirname(snakemake.__file__), "__main__.py"), *request["args"]]
        sys.path[0] = os.getcwd()
        snakemake.workflow.Workflow._rundir = os.getcwd()
        try:
            snakemake.cli.main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        import traceback
        traceback.print_exc()
        code = 1
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def serve(conn):
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C in the tests: stay, to stop Snakemake below
    request, fds = receive(conn)
    pid = os.fork()
    if pid == 0:
        conn.close()
        snakemake_process(request, fds)
    for fd in fds:
        os.close(fd)
    conn.sendall(f"{pid}\n".encode())
    ended = os.pidfd_open(pid)
    while ended not in select.select([conn, ended], [], [])[0]:
        if not conn.recv(1):  # the caller hung up: Snakemake and its jobs go too
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:  # not yet its own group
                os.kill(pid, signal.SIGKILL)
            break
    _, status = os.waitpid(pid, 0)
    try:
        conn.sendall(f"{os.waitstatus_to_exitcode(status)}\n".encode())
    except OSError:
        pass


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
                self.stop()
                self._folder = tempfile.mkdtemp(prefix="smk-server-")  # mode 0700: this user only
                path = os.path.join(self._folder, "socket")
                self._proc = subprocess.Popen(
                    [sys.executable, "-c", SERVER, path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
                )
                if self._proc.stdout.readline().strip() != "ready":
                    self._proc.kill()
                    raise RuntimeError(f"the Snakemake server did not start ({self._proc.wait()})")
                atexit.register(self.stop)
            return os.path.join(self._folder, "socket")

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        if self._folder:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    def run(self, args, cwd, timeout: float | None = None, merge_stderr: bool = False) -> subprocess.CompletedProcess:
        """What ``subprocess.run([python, -m, snakemake, *args], cwd=cwd, capture_output=True, text=True,
        timeout=timeout)`` returns (stderr in stdout with ``merge_stderr``). Leaving early (the timeout,
        an interrupt) closes the connection, and the server kills the run."""
        args = [str(a) for a in args]
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn, conn.makefile("r") as reader:
                conn.connect(self._socket_path())
                body = json.dumps({"args": args, "cwd": str(Path(cwd).resolve()), "env": dict(os.environ)}).encode()
                socket.send_fds(
                    conn, [len(body).to_bytes(8, "big")], [out.fileno(), (out if merge_stderr else err).fileno()]
                )
                conn.sendall(body)
                conn.settimeout(timeout)
                try:
                    pid, code = reader.readline(), reader.readline()
                except TimeoutError:
                    raise subprocess.TimeoutExpired(["snakemake", *args], timeout) from None
                if not (pid and code):
                    raise RuntimeError("the Snakemake server ended during a call")
            out.seek(0)
            err.seek(0)
            return subprocess.CompletedProcess(
                ["snakemake", *args],
                int(code),
                out.read().decode(errors="replace"),
                None if merge_stderr else err.read().decode(errors="replace"),
            )


SERVER_INSTANCE = Server()


def run(args, cwd, timeout: float | None = None, merge_stderr: bool = False) -> subprocess.CompletedProcess:
    return SERVER_INSTANCE.run(args, cwd, timeout, merge_stderr)
