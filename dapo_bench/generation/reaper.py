"""Kill an engine's processes when the process that started them dies.

vLLM 0.32's engine-core process outlives a parent killed with SIGKILL, during start-up or
later (measured: alive a minute later with its worker and the model in memory; on a GPU that
memory is VRAM, and the rerun meant to resume the evaluation would not fit).

:class:`Reaper` starts a small watchdog process *before* the engine. Until :meth:`freeze`,
the watchdog records every new descendant of the parent (the engine's processes); then it
waits on a pipe whose write end only the parent holds. When the parent exits, however it
exits, the pipe reports end-of-file and the watchdog kills what it recorded, with their
descendants. psutil checks each process's start time before killing, so a recycled pid is
never hit.
"""

from __future__ import annotations

import subprocess
import sys

_WATCHDOG = r"""
import os, select, sys, psutil
parent = psutil.Process(int(sys.argv[1]))
skip = {int(p) for p in sys.argv[2:]} | {os.getpid()}
known = {}
def scan(roots):
    for root in roots:
        try:
            for p in root.children(recursive=True):
                if p.pid not in skip:
                    known.setdefault(p.pid, p)
        except psutil.NoSuchProcess:
            pass
fd = sys.stdin.fileno()
watching = True
buffer = b""
while True:
    if watching:
        scan([parent])
    ready, _, _ = select.select([fd], [], [], 0.2 if watching else None)
    if not ready:
        continue
    data = os.read(fd, 4096)
    if not data:
        break  # end-of-file: the parent released us or died
    buffer += data
    if watching and b"freeze" in buffer:
        scan([parent])
        watching = False
        sys.stdout.write("frozen\n")
        sys.stdout.flush()
scan(list(known.values()))  # workers of the recorded processes, now orphans perhaps
for p in known.values():
    try:
        p.kill()
    except psutil.NoSuchProcess:
        pass
"""


class Reaper:
    """Create before the engine starts; :meth:`freeze` once it has; :meth:`release` after
    shutting it down (whatever of it is still alive is killed then)."""

    def __init__(self) -> None:
        import os

        import psutil

        existing = [str(p.pid) for p in psutil.Process().children(recursive=True)]
        self._proc: subprocess.Popen[bytes] | None = subprocess.Popen(
            [sys.executable, "-c", _WATCHDOG, str(os.getpid()), *existing],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            start_new_session=True)  # Ctrl-C must not kill it

    def freeze(self) -> None:
        """The engine is up: stop recording new processes (later ones are not its). Returns
        once the watchdog has taken its last look."""
        proc = self._proc
        if proc is None or proc.stdin is None or proc.stdout is None:
            return
        proc.stdin.write(b"freeze\n")
        proc.stdin.flush()
        proc.stdout.readline()

    def release(self, timeout: float = 10.0) -> None:
        if self._proc is None:
            return
        proc, self._proc = self._proc, None
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
