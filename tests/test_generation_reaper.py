"""The watchdog that kills an engine's processes when their parent is SIGKILLed."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

PARENT = r"""
import subprocess, sys, time
from dapo_bench.generation.reaper import Reaper
before = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
reaper = Reaper()
engine = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
time.sleep(0.6)  # the watchdog scans every 0.2 s
reaper.freeze()
after = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
print(before.pid, engine.pid, after.pid, flush=True)
if sys.argv[1] == "release":
    reaper.release()
    print("released", flush=True)
time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _run_parent(mode: str) -> tuple[subprocess.Popen[str], list[int]]:
    parent = subprocess.Popen([sys.executable, "-c", PARENT, mode], stdout=subprocess.PIPE,
                              text=True)
    assert parent.stdout is not None
    pids = [int(x) for x in parent.stdout.readline().split()]
    if mode == "release":
        assert parent.stdout.readline().strip() == "released"
    return parent, pids


def _wait_dead(pid: int, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def _cleanup(pids: list[int]) -> None:
    for pid in pids:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_sigkilled_parent_takes_its_engine_along() -> None:
    parent, (before, engine, after) = _run_parent("wait")
    try:
        assert _alive(engine)
        parent.kill()
        parent.wait()
        assert _wait_dead(engine), "the engine process outlived its killed parent"
        assert _alive(before) and _alive(after), "only processes started while watching die"
    finally:
        _cleanup([before, engine, after])


def test_release_kills_leftovers_only() -> None:
    parent, (before, engine, after) = _run_parent("release")
    try:
        assert _wait_dead(engine)
        assert _alive(before) and _alive(after) and parent.poll() is None
    finally:
        parent.kill()
        parent.wait()
        _cleanup([before, engine, after])


RAY_DRIVER = r"""
import sys, time, psutil
from dapo_bench.config import DistributedConfig
from dapo_bench.generation import SamplingParams
from dapo_bench.generation.workers import Job, WorkerSpec, open_pool
pool = open_pool(WorkerSpec(model=sys.argv[1], backend="hf"),
                 DistributedConfig(engine="ray", workers=1, cpus_per_worker=1))
list(pool.run([Job("0", ["Q: 1+2=?\nA:"], SamplingParams(max_new_tokens=4), [0])]))
print(" ".join(str(p.pid) for p in psutil.Process().children(recursive=True)), flush=True)
time.sleep(600)
"""


def test_sigkilled_driver_takes_its_local_ray_cluster_along(tmp_path: Path) -> None:
    """The local cluster `open_pool` starts (gcs, raylet, the agents, the worker holding the
    engine) dies with a driver killed by SIGKILL. Without the watchdog, Ray's dashboard and
    runtime-env agents outlived it by about a minute; the bound below only keeps a failing
    run from hanging."""
    pytest.importorskip("ray", reason="Ray is not installed (pip install 'dapo-bench[ray]')")
    from dapo_bench.toy.base import toy_base_path

    driver = subprocess.Popen([sys.executable, "-c", RAY_DRIVER, str(toy_base_path())],
                              stdout=subprocess.PIPE, stderr=(tmp_path / "driver.log").open("w"),
                              text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert driver.stdout is not None
    pids = [int(x) for x in driver.stdout.readline().split()]
    procs = {}
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            procs[pid] = psutil.Process(pid).name()
    try:
        assert driver.poll() is None and pids, (tmp_path / "driver.log").read_text()[-3000:]
        assert any(name == "raylet" for name in procs.values()), procs
        assert any("Agent" in name for name in procs.values()), procs
        driver.kill()
        driver.wait()
        left = [pid for pid in procs if not _wait_dead(pid, 30.0)]
        assert not left, f"outlived the killed driver: {[procs[p] for p in left]}"
    finally:
        _cleanup(list(procs))
