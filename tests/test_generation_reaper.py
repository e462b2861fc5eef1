"""The watchdog that kills an engine's processes when their parent is SIGKILLed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil

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
