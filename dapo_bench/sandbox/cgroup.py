"""An optional cgroup per jail (root only): caps the jail's total memory and process count.

rlimits are per process (RLIMIT_AS) or per uid (RLIMIT_NPROC, ignored for uid 0), so N
processes of one program could together use N times the memory limit. Where the harness may
create cgroups in the cgroup v1 ``memory`` and ``pids`` controllers (root; this machine's
layout), each jail gets one; elsewhere (cgroup v2 only, non-root) this layer is absent and the
probe's list of layers says so.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import time
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")


def _own_path(controller: str) -> str | None:
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(",") or (controllers == "" and controller == ""):
            return path
    return None


class JailCgroup:
    """The cgroup directories of one jail; ``enter`` is called in the child before exec."""

    def __init__(self, dirs: list[Path], layer: str) -> None:
        self.dirs = dirs
        self.layer = layer

    @classmethod
    def create(cls, memory_bytes: int, max_pids: int) -> JailCgroup | None:
        if os.geteuid() != 0:
            return None
        name = f"dapo-bench-{os.getpid()}-{secrets.token_hex(4)}"
        made: list[Path] = []
        try:
            for controller, files in (
                ("memory", {"memory.limit_in_bytes": str(memory_bytes)}),
                ("pids", {"pids.max": str(max_pids)}),
            ):
                own = _own_path(controller)
                base = ROOT / controller
                if own is None or not (base / own.lstrip("/")).is_dir():
                    continue
                path = base / own.lstrip("/") / name
                path.mkdir()
                made.append(path)
                for fname, value in files.items():
                    (path / fname).write_text(value)
        except OSError:
            cls(made, "").close()
            return None
        if not made:
            return None
        return cls(made, "cgroup(" + ",".join(_controller(p) for p in made) + ")")

    def enter(self) -> None:
        """Move the calling process (the jail's first process, before exec) into the cgroups."""
        for path in self.dirs:
            (path / "cgroup.procs").write_text(str(os.getpid()))

    def kill_all(self) -> None:
        """SIGKILL every process still in the jail's cgroups, until they are empty."""
        for path in self.dirs:
            for _ in range(200):
                try:
                    pids = [int(p) for p in (path / "cgroup.procs").read_text().split()]
                except OSError:
                    break
                if not pids:
                    break
                for pid in pids:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                time.sleep(0.005)

    def close(self) -> None:
        for path in self.dirs:
            for _ in range(100):  # the last processes of a killed jail may still be exiting
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.01)


def _controller(path: Path) -> str:
    return path.relative_to(ROOT).parts[0]
