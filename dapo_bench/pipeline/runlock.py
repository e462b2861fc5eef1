"""One writer per run directory: a lock file held, and renewed, by the process that writes it.

Two drivers on one run directory would each start their own engines (and Ray cluster) and
append the same items side by side. ``<run>/.dapo-bench.lock`` holds the writer's pid, host,
command and start time, and a ``renewed`` time that a daemon thread refreshes every
``DAPO_BENCH_LOCK_RENEW`` seconds (30). A second writer is refused with the holder named. A
lock is taken over, with a line saying so, when its holder is dead (same host: the pid is gone
or belongs to another process, told apart by its start time) or, from another host (a shared
filesystem), has not been renewed for ``DAPO_BENCH_LOCK_STALE`` seconds (3 renewals).

The lock file is written whole to a temporary sibling and hard-linked into place, so it never
exists half-written and only one of two racing writers creates it. Replacing a lock (a
takeover, a renewal, a release) happens under a short-lived mutex file, so a takeover never
removes a lock that was renewed or retaken after it was judged.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as _dt
import json
import os
import shlex
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from dapo_bench.errors import UserInputError

LOCK_NAME = ".dapo-bench.lock"
RENEW_ENV = "DAPO_BENCH_LOCK_RENEW"
STALE_ENV = "DAPO_BENCH_LOCK_STALE"
DEFAULT_RENEW_S = 30.0
#: A mutex file older than this was left by a process that died inside its few-millisecond
#: critical section; it is removed.
MUTEX_STALE_S = 10.0

_held: list[Path] = []  # run directories this process has locked: what Ctrl-C reports on


def renew_interval() -> float:
    return _env_seconds(RENEW_ENV, DEFAULT_RENEW_S)


def stale_after() -> float:
    return _env_seconds(STALE_ENV, 3 * renew_interval())


def _env_seconds(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise UserInputError(f"${name} must be a positive number of seconds, got {raw!r}")
    return value


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds")


def _command() -> str:
    """The command line, as the user typed it (``dapo-bench ...`` for ``python -m``)."""
    argv = list(sys.argv) or [""]
    first = Path(argv[0])
    if argv[0] == "-c":  # python -c CODE: the code is not worth a line
        return shlex.join([Path(sys.executable).name, "-c", "...", *argv[1:]])
    argv[0] = "dapo-bench" if first.parent.name == "dapo_bench" else first.name
    return shlex.join(argv)


def _process_start(pid: int) -> float | None:
    import psutil

    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        return proc.create_time()
    except psutil.Error:
        return None


@dataclass(frozen=True)
class Holder:
    """What the lock file says about the process that holds it."""

    pid: int
    host: str
    command: str
    started: str
    renewed: str
    pid_started: float  # the process's start time: a recycled pid is not the holder
    token: str

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host} (`{self.command}`, since {self.started})"

    def gone(self, stale_s: float) -> str | None:
        """Why the lock may be taken over (``dead``, ``stale since ...``), or None while its
        holder still holds it."""
        if self.host == socket.gethostname():
            start = _process_start(self.pid)
            alive = start is not None and abs(start - self.pid_started) < 1.0
            return None if alive else "dead"
        renewed = _dt.datetime.fromisoformat(self.renewed)
        age = (_dt.datetime.now(_dt.UTC) - renewed).total_seconds()
        return f"stale since {self.renewed}" if age > stale_s else None


class RunLock:
    """The lock of one run directory; a context manager, released at exit too."""

    def __init__(self, run_dir: str | Path, *,
                 say: Callable[[str], None] | None = None) -> None:
        self.root = Path(run_dir)
        self.path = self.root / LOCK_NAME
        self._mutex_path = self.root / (LOCK_NAME + ".mutex")
        self._say = say or (lambda line: print(line, file=sys.stderr, flush=True))
        self._record: Holder | None = None
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    # -- taking and giving back -------------------------------------------------------------

    def acquire(self) -> None:
        """Take the lock, or raise UserInputError naming its live holder."""
        if self._record is not None:
            return
        self.root.mkdir(parents=True, exist_ok=True)
        stamp = _now()
        me = Holder(pid=os.getpid(), host=socket.gethostname(), command=_command(),
                    started=stamp, renewed=stamp, pid_started=_process_start(os.getpid()) or 0.0,
                    token=uuid.uuid4().hex)
        while not self._create(me):
            with self._mutex():
                holder = self._read()
                if holder is None:  # released meanwhile: try again
                    continue
                reason = holder.gone(stale_after())
                if reason is None:
                    raise UserInputError(self._refusal(holder))
                self.path.unlink()
                taken = self._create(me)
            if taken:
                self._say(f"taking over the lock of {self.root}: {holder.describe()} is "
                          f"{reason}")
                break
        self._record = me
        _held.append(self.root)
        atexit.register(self.release)
        self._stop.clear()
        self._renewer = threading.Thread(target=self._renew_loop, name="dapo-bench-lock",
                                         daemon=True)
        self._renewer.start()

    def release(self) -> None:
        """Give the lock back (a no-op when not held, or when another process took it)."""
        if self._record is None:
            return
        me, self._record = self._record, None
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
            self._renewer = None
        atexit.unregister(self.release)
        with self._mutex():
            current = self._read_quietly()
            if current is not None and current.token == me.token:
                self.path.unlink()

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    # -- the file ---------------------------------------------------------------------------

    def _refusal(self, holder: Holder) -> str:
        renewed = "" if holder.host == socket.gethostname() else \
            f", last renewed {holder.renewed}"
        return (f"{self.root} is being written by {holder.describe()}{renewed}; wait for it "
                f"to finish or stop it, then run this command again (lock: {self.path})")

    def _write_temp(self, record: Holder) -> Path:
        tmp = self.root / f"{LOCK_NAME}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
        with tmp.open("w", encoding="utf-8") as handle:
            json.dump(asdict(record), handle)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        return tmp

    def _create(self, record: Holder) -> bool:
        """Create the lock file holding ``record``, complete; False when one exists."""
        tmp = self._write_temp(record)
        try:
            os.link(tmp, self.path)
            return True
        except FileExistsError:
            return False
        finally:
            tmp.unlink(missing_ok=True)

    def _read(self) -> Holder | None:
        """The lock file's holder; None when there is no lock file."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            return Holder(**json.loads(text))
        except (ValueError, TypeError) as exc:
            raise UserInputError(
                f"{self.path}: unreadable lock file ({exc}); if no dapo-bench process is "
                f"writing {self.root}, delete it and run the command again") from exc

    def _read_quietly(self) -> Holder | None:
        try:
            return self._read()
        except UserInputError:
            return None

    @contextlib.contextmanager
    def _mutex(self) -> Iterator[None]:
        """Exclusive, across processes and hosts, for the few file operations that replace
        the lock."""
        while True:
            try:
                fd = os.open(self._mutex_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
                break
            except FileExistsError:
                with contextlib.suppress(FileNotFoundError):
                    if time.time() - self._mutex_path.stat().st_mtime > MUTEX_STALE_S:
                        self._mutex_path.unlink()  # its holder died inside it
                        continue
                time.sleep(0.02)
        os.close(fd)
        try:
            yield
        finally:
            self._mutex_path.unlink(missing_ok=True)

    def _renew_loop(self) -> None:
        """Refresh ``renewed`` so that readers on other hosts see a live holder."""
        while not self._stop.wait(renew_interval()):
            me = self._record
            if me is None:
                return
            with self._mutex():
                current = self._read_quietly()
                if current is None or current.token != me.token:
                    self._say(f"warning: the lock of {self.root} was taken over by "
                              + (current.describe() if current else "another process")
                              + "; two processes may now write it")
                    return
                renewed = Holder(**{**asdict(me), "renewed": _now()})
                os.replace(self._write_temp(renewed), self.path)


@contextlib.contextmanager
def hold(run_dirs: list[Path], *, say: Callable[[str], None] | None = None
         ) -> Iterator[None]:
    """Hold the locks of ``run_dirs`` for the block. Under a launcher only the main process
    takes them: it alone writes the run directory."""
    from dapo_bench.pipeline import launch

    with contextlib.ExitStack() as stack:
        if launch.is_main():
            for run_dir in run_dirs:
                stack.enter_context(RunLock(run_dir, say=say))
        yield


def held_runs() -> list[Path]:
    """The run directories this process has locked (and perhaps released since)."""
    return list(dict.fromkeys(_held))
