"""Warm jails and a pool of them: send a job, collect its result records, enforce the deadline.

One :class:`Jail` is one sandboxed server process (``dapo_bench/sandbox/runner/server.py``)
that forks per program. The harness side owns every limit that matters for the verdict: the
wall-clock deadline (on expiry the whole jail is SIGKILLed and replaced), the caps on the result
channel and on stray output, and the reading of both pipes so a chatty program cannot block.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import queue
import re
import selectors
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dapo_bench.sandbox.cgroup import JailCgroup
from dapo_bench.sandbox.runner.policy import Limits
from dapo_bench.sandbox.stacks import JailSpec, SandboxUnavailable, build_spec, host_netns

START_TIMEOUT = 30.0
Job = tuple[Any, ...]  # (job dict, timeout seconds[, stop_when(record) -> bool])
_RESULT_HEAD = re.compile(rb'\{"k":"r","i":(\d{1,9}),"t":(-?\d+(?:\.\d+)?(?:e[-+]?\d+)?),"m":"')


@dataclass
class RawOutcome:
    """What came back from one program, before any judgement."""

    records: list[dict[str, Any]] = field(default_factory=list)
    log: bytes = b""  # the first bytes of stray stdout/stderr
    status: int | None = None  # wait status of the program's process, if it was reported
    timed_out: bool = False
    crashed: bool = False  # the jail died or broke protocol while running this program
    overflow: bool = False  # the result channel exceeded its cap
    malformed: int = 0  # result lines that were not JSON objects
    wall: float = 0.0
    cpu: float = 0.0
    stray: int = 0  # processes still alive when the program's main process ended
    stopped: bool = False  # the harness stopped it once its verdict was decided
    cpu_limit: float = 0.0  # the RLIMIT_CPU it ran under (the runner's rounding)
    retired: bool = False  # the jail asked to be replaced (state it cannot reset was left)


def _preexec(cgroup: JailCgroup | None) -> Callable[[], None]:
    def run() -> None:
        """In the child before exec: die with the harness thread that started us; join the
        jail's cgroup so every process of the jail is counted there."""
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)
        if cgroup is not None:
            cgroup.enter()

    return run


def kill_tree(root: int) -> None:
    """SIGSTOP then SIGKILL ``root`` and every descendant (stacks without a PID namespace)."""
    for sig in (signal.SIGSTOP, signal.SIGKILL):
        for _ in range(50):
            pids = [root, *_descendants(root)]
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, sig)
            if sig == signal.SIGKILL or len(pids) == len([root, *_descendants(root)]):
                break


def _descendants(root: int) -> list[int]:
    parent: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as handle:
                    parent[int(name)] = int(handle.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = [], [root]
    while frontier:
        current = frontier.pop()
        kids = [p for p, pp in parent.items() if pp == current and p not in found]
        found += kids
        frontier += kids
    return found


class Jail:
    """One warm sandbox. Not thread-safe: one thread owns it (bubblewrap dies with the thread
    that started it, by design)."""

    def __init__(self, stack: str, limits: Limits,
                 on_start: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.stack = stack
        self.limits = limits
        self.on_start = on_start
        self.spec: JailSpec | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.ctl: socket.socket | None = None
        self.facts: dict[str, Any] = {}
        self.starts = 0
        self.cgroup: JailCgroup | None = None
        self.server_pid: int | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> dict[str, Any]:
        self.close()
        self.spec = build_spec(self.stack, self.limits)
        lim = self.limits
        self.cgroup = JailCgroup.create(lim.address_space + 3 * lim.tmpfs_size + (256 << 20),
                                        4 * lim.processes + 16)
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        errlog = tempfile.TemporaryFile()  # noqa: SIM115 - closed below, or with the jail
        try:
            self.proc = subprocess.Popen(
                [*self.spec.argv, "--ctl", str(child.fileno())], pass_fds=(child.fileno(),),
                stdin=subprocess.DEVNULL, stdout=errlog, stderr=errlog, env=self.spec.env,
                preexec_fn=_preexec(self.cgroup), start_new_session=True)
        except OSError as exc:
            parent.close()
            raise SandboxUnavailable(f"{self.stack}: cannot start: {exc}") from exc
        finally:
            child.close()
        self.ctl = parent
        parent.settimeout(START_TIMEOUT)
        try:
            msg = parent.recv(65536)
        except OSError:
            msg = b""
        parent.settimeout(None)
        if not msg:
            self.close()
            errlog.seek(0)
            tail = errlog.read()[-1500:].decode(errors="replace").strip()
            raise SandboxUnavailable(f"{self.stack}: the jail did not start: {tail or 'no output'}")
        errlog.close()
        self.facts = json.loads(msg)
        self.server_pid = self._find_server()
        if self.cgroup is not None:
            self.facts["layers"].append(self.cgroup.layer)
        self._check_facts()
        self.starts += 1
        if self.on_start is not None:
            self.on_start(self.facts)
        return self.facts

    def _find_server(self) -> int | None:
        """The host pid of the in-jail server (bubblewrap and unshare start it as their child),
        so that closing the jail can kill its PID namespace directly."""
        assert self.proc is not None
        if self.spec is not None and not self.spec.pid_namespace:
            return self.proc.pid
        try:
            kids = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        except OSError:
            return None
        pids = [int(k) for k in kids.split()]
        return pids[0] if len(pids) == 1 else None

    def _check_facts(self) -> None:
        f = self.facts
        problems = []
        if self.stack in ("bwrap", "unshare") and f.get("uid") == 0:
            problems.append("runs as root")
        if self.stack == "landlock" and f.get("uid") == 0 and f.get("CapBnd", "0").strip("0"):
            problems.append("runs as root with a capability bounding set")
        if self.stack in ("bwrap", "unshare"):
            if f.get("pid") != 1:
                problems.append("is not PID 1 of its own PID namespace")
            if f.get("net") == "reachable":
                problems.append("reaches the network")
        if self.spec is not None and self.spec.net_namespace:
            # sockets are allowed in there: only because no connection can leave it
            if not f.get("netns") or f.get("netns") == host_netns():
                problems.append("shares the harness's network namespace")
            if set(f.get("interfaces", ["unknown"])) - {"lo"}:
                problems.append(f"has network interfaces {f.get('interfaces')}")
        if self.stack != "none" and f.get("CapEff", "0").strip("0"):
            problems.append(f"holds capabilities {f.get('CapEff')}")
        if problems:
            self.close()
            raise SandboxUnavailable(f"{self.stack}: the jail " + ", ".join(problems))

    def close(self) -> None:
        """Kill everything of the jail: its PID namespace (through its PID 1), the launcher,
        every process in its cgroup, or (no PID namespace) the server's whole tree."""
        if self.proc is not None:
            if self.spec is not None and not self.spec.pid_namespace:
                kill_tree(self.proc.pid)
            elif self.server_pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.server_pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            self.proc.wait()
            self.proc = None
            if self.cgroup is not None:
                self.cgroup.kill_all()
        self.server_pid = None
        if self.ctl is not None:
            self.ctl.close()
            self.ctl = None
        if self.cgroup is not None:
            self.cgroup.close()
            self.cgroup = None
        if self.spec is not None:
            self.spec.cleanup()
            self.spec = None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # -- one program --------------------------------------------------------------------------

    def run(self, job: dict[str, Any], timeout: float,
            stop_when: Callable[[dict[str, Any]], bool] | None = None) -> RawOutcome:
        """Run one program. ``stop_when(record)`` returning True (the verdict is already
        decided, e.g. a wrong result) has the server kill the program early."""
        if not self.alive:
            self.start()
        assert self.ctl is not None
        outcome = RawOutcome(cpu_limit=float(max(1, int(job.get("cpu_seconds", 0)) + 1)))
        start = time.monotonic()
        memfd = os.memfd_create("job", os.MFD_CLOEXEC)
        res_r, res_w = os.pipe2(os.O_CLOEXEC)
        with contextlib.suppress(OSError):  # fewer wake-ups for large results
            fcntl.fcntl(res_r, fcntl.F_SETPIPE_SZ, 1 << 20)
        log_r, log_w = os.pipe2(os.O_CLOEXEC)
        try:
            data = json.dumps(job).encode()
            view = memoryview(data)
            while view:
                view = view[os.write(memfd, view):]
            socket.send_fds(self.ctl, [b'{"op": "run"}'], [memfd, res_w, log_w])
        except OSError:
            for fd in (res_r, log_r):
                os.close(fd)
            outcome.crashed = True
            self.close()
            return outcome
        finally:
            for fd in (memfd, res_w, log_w):
                os.close(fd)
        try:
            self._collect(outcome, res_r, log_r, start + timeout, stop_when)
        finally:
            os.close(res_r)
            os.close(log_r)
        outcome.wall = time.monotonic() - start
        if outcome.timed_out or outcome.crashed or outcome.overflow or outcome.retired:
            self.close()  # the next program gets a fresh jail
        return outcome

    def _collect(self, outcome: RawOutcome, res_r: int, log_r: int, deadline: float,
                 stop_when: Callable[[dict[str, Any]], bool] | None) -> None:
        assert self.ctl is not None
        os.set_blocking(res_r, False)
        os.set_blocking(log_r, False)
        sel = selectors.DefaultSelector()
        sel.register(res_r, selectors.EVENT_READ, "res")
        sel.register(log_r, selectors.EVENT_READ, "log")
        sel.register(self.ctl, selectors.EVENT_READ, "ctl")
        pending: list[bytes] = []
        received = 0
        log = bytearray()
        open_streams = {"res", "log"}
        done = False
        seen = 0
        try:
            while open_streams or not done:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    outcome.timed_out = True
                    return
                for key, _ in sel.select(remaining):
                    if key.data == "ctl":
                        msg = self.ctl.recv(65536)
                        if not msg:
                            outcome.crashed = True
                            return
                        reply = json.loads(msg)
                        outcome.status = reply.get("status")
                        outcome.cpu = float(reply.get("cpu", 0.0))
                        outcome.stray = int(reply.get("stray", 0))
                        outcome.retired = bool(reply.get("retire", False))
                        done = True
                        sel.unregister(self.ctl)
                        continue
                    try:
                        chunk = os.read(key.fd, 1 << 20)
                    except BlockingIOError:
                        continue
                    if not chunk:
                        sel.unregister(key.fd)
                        open_streams.discard(key.data)
                        continue
                    if key.data == "log":
                        if len(log) < self.limits.log_cap:
                            log += chunk[: self.limits.log_cap - len(log)]
                        continue
                    received += len(chunk)
                    if received > self.limits.result_cap:
                        outcome.overflow = True
                        return
                    if b"\n" not in chunk:  # a long line: keep the pieces, join once
                        pending.append(chunk)
                        continue
                    *lines, rest = chunk.split(b"\n")
                    lines[0] = b"".join([*pending, lines[0]])
                    pending = [rest] if rest else []
                    for line in lines:
                        self._parse(outcome, line)
                    if stop_when is not None and not outcome.stopped and outcome.records:
                        self._maybe_stop(outcome, stop_when, seen)
                        seen = len(outcome.records)
            if pending:
                outcome.malformed += 1  # a torn last line
        finally:
            sel.close()
            outcome.log = bytes(log)

    def _maybe_stop(self, outcome: RawOutcome, stop_when: Callable[[dict[str, Any]], bool],
                    seen: int) -> None:
        assert self.ctl is not None
        for record in outcome.records[seen:]:
            try:
                decided = stop_when(record)
            except Exception:  # a record the check cannot read decides as well
                decided = True
            if decided:
                outcome.stopped = True
                with contextlib.suppress(OSError):
                    self.ctl.send(b'{"op": "stop"}')
                return

    @staticmethod
    def _parse(outcome: RawOutcome, line: bytes) -> None:
        head = _RESULT_HEAD.match(line, 0, 120)
        if head is not None and line.endswith(b'"}'):
            # a function result: keep the value's base64 unparsed (see runner.emit_value)
            outcome.records.append({"k": "r", "i": int(head[1]), "t": float(head[2]),
                                    "m": line[head.end():-2]})
            return
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            outcome.malformed += 1
            return
        if isinstance(record, dict):
            outcome.records.append(record)
        else:
            outcome.malformed += 1


class JailPool:
    """``workers`` threads, each owning one warm jail; jobs are handed out through a queue."""

    def __init__(self, stack: str, limits: Limits, workers: int) -> None:
        self.stack = stack
        self.limits = limits
        self.workers = max(1, workers)
        self._jobs: queue.Queue[tuple[int, Job] | None] = queue.Queue()
        self._results: queue.Queue[tuple[int, RawOutcome | BaseException]] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._ready: queue.Queue[BaseException | dict[str, Any]] = queue.Queue()
        self.facts: dict[str, Any] = {}
        self.uids: set[int] = set()  # every uid a jail of this pool ran as (for audits)
        for n in range(self.workers):
            thread = threading.Thread(target=self._work, name=f"jail-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)
        for _ in range(self.workers):
            got = self._ready.get()
            if isinstance(got, BaseException):
                self.close()
                raise got
            self.facts = got

    def _work(self) -> None:
        jail = Jail(self.stack, self.limits, on_start=lambda f: self.uids.add(f["uid"]))
        try:
            self._ready.put(jail.start())
        except BaseException as exc:
            self._ready.put(exc)
            return
        try:
            while True:
                item = self._jobs.get()
                if item is None:
                    return
                index, (job, timeout, *stop) = item
                try:
                    self._results.put((index, jail.run(job, timeout, *stop)))
                except BaseException as exc:
                    jail.close()
                    self._results.put((index, exc))
        finally:
            jail.close()

    def run_all(self, jobs: Sequence[Job], on_done: Callable[[int], None] | None = None
                ) -> list[RawOutcome]:
        """Run ``(job, timeout[, stop_when])`` tuples; results in input order."""
        for index, item in enumerate(jobs):
            self._jobs.put((index, item))
        results: list[RawOutcome | None] = [None] * len(jobs)
        for _ in range(len(jobs)):
            index, got = self._results.get()
            if isinstance(got, BaseException):
                raise got
            results[index] = got
            if on_done is not None:
                on_done(1)
        return [r for r in results if r is not None]

    def close(self) -> None:
        for _ in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            thread.join(timeout=30)
        self._threads = []

    def __enter__(self) -> JailPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
