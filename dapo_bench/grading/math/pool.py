"""A pool of grading worker processes, each bounded in time and memory per answer.

Workers are fresh interpreters (``python -m dapo_bench.grading.math.worker``), not forks: the
caller may hold CUDA, vLLM or torch threads that a fork would copy. Each worker loads sympy once
and then judges many answers, one at a time, over a JSON-lines pipe. The parent watches every
answer's deadline; a worker that overruns is killed (SIGKILL) and replaced, and that answer's
verdict is "timeout". Memory is capped with ``RLIMIT_AS`` inside the worker, so an exploding
expression ends in MemoryError (verdict wrong) or the worker's death (replaced). No signals or
alarms are used in the caller's process.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import selectors
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

DEFAULT_TIMEOUT_S = 5.0
DEFAULT_MEMORY_MB = 1024
STARTUP_TIMEOUT_S = 60.0
MAX_FAILED_STARTS = 3
_PACKAGE_ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class Judgement:
    correct: bool
    rule: str
    verdict: str  # correct | wrong | timeout


@dataclass
class _Worker:
    proc: subprocess.Popen[bytes]
    stderr: IO[bytes]
    ready: bool = False
    task: int | None = None
    deadline: float = 0.0
    buffer: bytes = b""
    started: float = field(default_factory=time.monotonic)


def worker_count(requested: int | None) -> int:
    if requested is not None:
        return max(1, requested)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


class MathWorkerPool:
    """Persistent bounded workers; started lazily, replaced after a timeout or a crash."""

    def __init__(self, workers: int, memory_mb: int = DEFAULT_MEMORY_MB) -> None:
        self.size = workers
        self.memory_mb = memory_mb
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()
        self._failed_starts = 0

    # -- lifecycle
    def _spawn(self) -> _Worker:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(_PACKAGE_ROOT), *filter(None, [env.get("PYTHONPATH")])])
        env.setdefault("OMP_NUM_THREADS", "1")
        stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in _kill, lives with the worker
        proc = subprocess.Popen(
            [sys.executable, "-m", "dapo_bench.grading.math.worker", str(self.memory_mb)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, env=env,
            close_fds=True, start_new_session=True,
            cwd=_PACKAGE_ROOT)  # "-m" puts the cwd first: another checkout there would shadow us
        os.set_blocking(proc.stdout.fileno(), False)  # type: ignore[union-attr]
        return _Worker(proc=proc, stderr=stderr)

    def _kill(self, worker: _Worker) -> None:
        with contextlib.suppress(ProcessLookupError):
            worker.proc.kill()
        worker.proc.wait()
        for stream in (worker.proc.stdin, worker.proc.stdout, worker.stderr):
            with contextlib.suppress(OSError):
                stream.close()  # type: ignore[union-attr]

    def close(self) -> None:
        with self._lock:
            for worker in self._workers:
                self._kill(worker)
            self._workers = []

    def __enter__(self) -> MathWorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _failed_start(self, worker: _Worker) -> None:
        """Count a worker that died or hung before it was ready; give up after a few."""
        self._failed_starts += 1
        if self._failed_starts >= MAX_FAILED_STARTS:
            worker.stderr.seek(0)
            tail = worker.stderr.read()[-2000:].decode("utf-8", "replace")
            self._kill(worker)
            raise RuntimeError(f"math grading worker failed to start: {tail.strip()}")

    # -- work
    def run(self, tasks: Sequence[tuple[str, ...]], timeout_s: float,
            on_done: Callable[[int, Judgement], None] | None = None) -> list[Judgement]:
        """Judge ``(answer, gold, benchmark[, policy])`` tasks; one result per task, in order."""
        with self._lock:
            return self._run(tasks, timeout_s, on_done)

    def _run(self, tasks: Sequence[tuple[str, ...]], timeout_s: float,
             on_done: Callable[[int, Judgement], None] | None) -> list[Judgement]:
        results: list[Judgement | None] = [None] * len(tasks)
        pending = deque(range(len(tasks)))
        for dead in [w for w in self._workers if w.proc.poll() is not None]:
            self._kill(dead)
            self._workers.remove(dead)
        while len(self._workers) < min(self.size, len(tasks)):
            self._workers.append(self._spawn())
        selector = selectors.DefaultSelector()
        for w in self._workers:
            selector.register(w.proc.stdout, selectors.EVENT_READ, w)  # type: ignore[arg-type]

        def finish(worker: _Worker, judgement: Judgement) -> None:
            assert worker.task is not None
            results[worker.task] = judgement
            if on_done is not None:
                on_done(worker.task, judgement)
            worker.task = None

        def replace(worker: _Worker) -> None:
            selector.unregister(worker.proc.stdout)  # type: ignore[arg-type]
            self._kill(worker)
            fresh = self._spawn()
            self._workers[self._workers.index(worker)] = fresh
            selector.register(fresh.proc.stdout, selectors.EVENT_READ, fresh)  # type: ignore[arg-type]

        try:
            while pending or any(w.task is not None for w in self._workers):
                now = time.monotonic()
                for w in self._workers:
                    if w.ready and w.task is None and pending:
                        idx = pending.popleft()
                        w.task, w.deadline = idx, now + timeout_s
                        line = json.dumps([idx, *tasks[idx]], ensure_ascii=False) + "\n"
                        try:
                            w.proc.stdin.write(line.encode("utf-8"))  # type: ignore[union-attr]
                            w.proc.stdin.flush()  # type: ignore[union-attr]
                        except (BrokenPipeError, OSError):
                            finish(w, Judgement(False, "crash", "wrong"))
                            replace(w)
                waits = [w.deadline if w.ready else w.started + STARTUP_TIMEOUT_S
                         for w in self._workers if w.task is not None or not w.ready]
                wait = max(0.0, min(waits) - time.monotonic()) if waits else 0.0
                for key, _ in selector.select(timeout=wait):
                    self._read(key.data, finish, replace)
                now = time.monotonic()
                for w in list(self._workers):
                    if w.task is not None and now > w.deadline:
                        finish(w, Judgement(False, "timeout", "timeout"))
                        replace(w)
                    elif not w.ready and now > w.started + STARTUP_TIMEOUT_S:
                        self._failed_start(w)
                        replace(w)
        finally:
            selector.close()
        return [r if r is not None else Judgement(False, "crash", "wrong") for r in results]

    def _read(self, worker: _Worker, finish: Callable[[_Worker, Judgement], None],
              replace: Callable[[_Worker], None]) -> None:
        try:
            chunk = os.read(worker.proc.stdout.fileno(), 1 << 16)  # type: ignore[union-attr]
        except BlockingIOError:
            return
        if not chunk:  # the worker died (segfault, OOM kill, ...)
            if not worker.ready:
                self._failed_start(worker)
            if worker.task is not None:
                finish(worker, Judgement(False, "crash", "wrong"))
            replace(worker)
            return
        worker.buffer += chunk
        while b"\n" in worker.buffer:
            line, worker.buffer = worker.buffer.split(b"\n", 1)
            message = json.loads(line)
            if message == "ready":
                worker.ready = True
                self._failed_starts = 0
            elif worker.task is not None and message[0] == worker.task:
                correct, rule = bool(message[1]), str(message[2])
                finish(worker, Judgement(correct, rule, "correct" if correct else "wrong"))


_SHARED: dict[int, MathWorkerPool] = {}
_SHARED_LOCK = threading.Lock()


def shared_pool(workers: int) -> MathWorkerPool:
    """A process-wide pool per size, so repeated calls do not pay the workers' start-up."""
    with _SHARED_LOCK:
        if workers not in _SHARED:
            _SHARED[workers] = MathWorkerPool(workers)
        return _SHARED[workers]


@atexit.register
def _close_shared() -> None:
    for pool in list(_SHARED.values()):
        pool.close()
