"""Shared fixtures: small real-format data made on the fly, and a copy of the workflow to run."""

from __future__ import annotations

import shutil
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import yaml
from filelock import FileLock, Timeout
from forked_snakemake import run as run_snakemake  # Snakemake's command line, without its 1.3 s start

# one definition each, shared with the benchmark suite: what a run needs, how Snakemake is called,
# and the tiny config (config/tiny.yaml)
from harness import REPO, copy_workflow, snakemake_cmd, tiny_config

SNAKEMAKE = snakemake_cmd()  # for a test that must hold the process itself (the kill test)


def make_octmnist_arrays(n_train=64, n_val=32, test_counts=(200, 60, 50, 250), seed=0) -> dict:
    """A small file in the real octmnist.npz format (random pixels, chosen class counts)."""
    rng = np.random.default_rng(seed)
    out = {}
    for split, labels in (
        ("train", rng.integers(0, 4, n_train)),
        ("val", rng.integers(0, 4, n_val)),
        ("test", rng.permutation(np.repeat(np.arange(4), test_counts))),
    ):
        out[f"{split}_images"] = rng.integers(0, 256, (len(labels), 28, 28), dtype=np.uint8)
        out[f"{split}_labels"] = labels.astype(np.uint8)[:, None]
    return out


@pytest.fixture
def octmnist_arrays():
    return make_octmnist_arrays()


def write_config(path: Path, config: dict) -> Path:
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


# The test running now: snakemake() below refuses to run for a test not marked slow, so that
# `make test-fast` (-m "not slow") never starts Snakemake and the marker cannot go stale.
_CURRENT: dict = {}


@pytest.fixture(autouse=True)
def _current_test(request):
    _CURRENT["item"] = request.node
    yield
    _CURRENT.pop("item", None)


def uses_tiny_run(item) -> bool:
    return "tiny_run" in getattr(item, "fixturenames", ())


@pytest.hookimpl(tryfirst=True)  # before -m "not slow" deselects
def pytest_collection_modifyitems(items):
    """Every test that reads the shared tiny run is slow, without saying so twice. Order (the same in
    every xdist worker): the other slow tests first, the unit tests while the tiny run is made in the
    background, the tests that read it last."""
    for item in items:
        if uses_tiny_run(item):
            item.add_marker(pytest.mark.slow)
    items.sort(key=lambda item: 2 if uses_tiny_run(item) else (0 if item.get_closest_marker("slow") else 1))


def snakemake(workdir: Path, *args: str, check: bool = True, timeout: int = 900) -> subprocess.CompletedProcess:
    item = _CURRENT.get("item")
    if item is not None and item.get_closest_marker("slow") is None:
        raise AssertionError(f"{item.nodeid} runs Snakemake: mark it @pytest.mark.slow (make test-fast skips those)")
    proc = run_snakemake(args, workdir, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def snakemake_side_by_side(workdir: Path, calls: dict, timeout: int = 300, merge_stderr: bool = False) -> dict:
    """name -> the finished process of ``calls[name]`` (Snakemake's arguments), all run at once."""
    with ThreadPoolExecutor(len(calls)) as pool:
        futures = {
            name: pool.submit(run_snakemake, args, workdir, timeout=timeout, merge_stderr=merge_stderr)
            for name, args in calls.items()
        }
        return {name: future.result() for name, future in futures.items()}


def load_default_config() -> dict:
    return yaml.safe_load((REPO / "config" / "config.yaml").read_text())


def shared_dir(tmp_path_factory) -> Path:
    """A folder every pytest-xdist worker of this session sees (the session's own base otherwise)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if base.name.startswith("popen-gw") else base


def _make_once(shared: Path, name: str, make) -> Path:
    """Under the lock: ``make(folder)`` unless made already; a failure is recorded, so that no
    worker repeats it."""
    folder, done, failed = shared / name, shared / f"{name}.done", shared / f"{name}.failed"
    if failed.exists():
        raise AssertionError(f"{name} failed (it is made once per session):\n{failed.read_text()}")
    if not done.exists():
        try:
            make(folder)
        except BaseException as exc:
            failed.write_text(str(exc) or repr(exc))
            raise
        done.touch()
    return folder


def once_per_session(tmp_path_factory, name: str, make) -> Path:
    """``make(folder)`` run once for all xdist workers (a file lock; the pytest-xdist recipe); the
    others wait for the lock and reuse the folder."""
    shared = shared_dir(tmp_path_factory)
    with FileLock(str(shared / f"{name}.lock")):
        return _make_once(shared, name, make)


def start_once_in_background(tmp_path_factory, name: str, make) -> threading.Thread:
    """``once_per_session`` in a thread. The thread takes the lock (or, when another worker holds
    it, waits in the background) before this returns, so a test that needs the folder waits for it."""
    shared = shared_dir(tmp_path_factory)
    locked = threading.Event()

    def run():
        lock = FileLock(str(shared / f"{name}.lock"))  # taken in this thread: filelock tracks holders per thread
        try:
            lock.acquire(timeout=0)
        except Timeout:
            locked.set()  # another worker is making it
            return
        try:
            locked.set()
            _make_once(shared, name, make)
        except BaseException:
            pass  # recorded in {name}.failed: the tests that need it fail with the message
        finally:
            lock.release()

    thread = threading.Thread(target=run, name=f"make {name}", daemon=True)
    thread.start()
    locked.wait()
    return thread


def _make_tiny_run(work: Path) -> None:
    copy_workflow(work)
    write_config(work / "tiny.yaml", tiny_config())
    proc = run_snakemake(["--cores", "2", "--configfile", "tiny.yaml"], work, timeout=900)
    if proc.returncode != 0:
        raise AssertionError(f"the tiny run failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    # nothing left to do after a full run (asked here, once: the tests only read the run)
    again = run_snakemake(["-n", "--configfile", "tiny.yaml"], work, timeout=300)
    if again.returncode != 0 or "Nothing to be done" not in again.stdout + again.stderr:
        raise AssertionError(f"after the tiny run, a dry run still plans jobs:\n{again.stdout}\n{again.stderr}")


@pytest.fixture(scope="session", autouse=True)
def _tiny_run_in_background(request, tmp_path_factory):
    """When a selected test reads the tiny run, its making starts with the session, so the CPU it
    leaves idle goes to the unit tests (ordered before the tests that read it)."""
    thread = None
    if any(uses_tiny_run(item) for item in request.session.items):
        thread = start_once_in_background(tmp_path_factory, "tiny_run", _make_tiny_run)
    yield
    if thread is not None:
        thread.join()  # not left running past the session


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """One real pipeline run on ``tiny_config()`` in a copied workflow, made once for the whole session
    (all xdist workers) and shared by every test that reads its outputs (the default target includes
    the compiled report). Read-only: a test that edits files or runs Snakemake (even a dry run: it
    writes lock files under .snakemake/) works on a copy."""
    return once_per_session(tmp_path_factory, "tiny_run", _make_tiny_run)


@pytest.fixture
def tiny_run_copy(tiny_run, tmp_path):
    """The tiny run's workflow, results and Snakemake metadata, copied: a test that runs Snakemake on
    it or edits it leaves the shared run intact."""
    dest = tmp_path / "run"
    shutil.copytree(tiny_run, dest, symlinks=True)
    return dest
