"""Runs one candidate program against its test inputs, inside the jail (stdlib only).

Reports one JSON line per event on the result channel (fd 3) and a final ``done`` record. It
reports *results*, never verdicts: expected outputs are not in the jail, and the harness
compares. Everything here runs in the forked child, in the same process as the candidate, so
nothing here is trusted by the harness: a candidate that tampers with it can only make its own
program fail.

Modes:
  function  call ``entry_point`` (or ``Solution().<method>``) on each input; report its value
  stdio     run the program as ``__main__`` once per input, in a forked process with that
            input on stdin; report what it wrote to stdout
  record    run a reference program and its assert-style test code with the function wrapped,
            and report every (arguments, return value) pair the tests made
"""

from __future__ import annotations

import base64
import builtins
import contextlib
import hashlib
import io
import json
import marshal
import os
import resource
import select
import signal
import sys
import time
import traceback
from typing import Any

import wire

RESULT_FD = 3


class _Timeout(BaseException):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise _Timeout()


def emit(record: dict[str, Any]) -> None:
    data = (json.dumps(record, separators=(",", ":")) + "\n").encode()
    view = memoryview(data)
    while view:
        n = os.write(RESULT_FD, view)
        view = view[n:]


def pack(value: Any, hash_above: int) -> dict[str, Any]:
    """A result value for the record: marshal v2 in base64 ("m") when marshal takes it (exact
    builtin types only), its SHA-256 ("h") when that is over ``hash_above`` bytes, else the
    tagged JSON of ``wire`` ("v")."""
    try:
        data = marshal.dumps(value, wire.MARSHAL_VERSION)
    except (ValueError, TypeError, RecursionError):
        return {"v": wire.encode(value)}
    if len(data) > hash_above:
        return {"h": hashlib.sha256(data).hexdigest(), "n": len(data)}
    return {"m": base64.b64encode(data).decode()}


def emit_value(i: int, value: Any, seconds: float, hash_above: int) -> None:
    """A result record with the value last, so the harness can compare its bytes with the
    expected ones without parsing them (outputs of many MB are common)."""
    packed = pack(value, hash_above)
    if "m" in packed:
        text = f'{{"k":"r","i":{i},"t":{json.dumps(seconds)},"m":"{packed["m"]}"}}\n'
        data = text.encode()
        view = memoryview(data)
        while view:
            view = view[os.write(RESULT_FD, view):]
    else:
        emit({"k": "r", "i": i, "t": seconds, **packed})


def apply_limits(limits: dict[str, Any], cpu_seconds: float) -> None:
    cpu = max(1, int(cpu_seconds) + 1)
    for res, value in (
        (resource.RLIMIT_AS, limits["address_space"]),
        (resource.RLIMIT_FSIZE, limits["file_size"]),
        (resource.RLIMIT_NOFILE, limits["open_files"]),
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_CPU, cpu),
    ):
        resource.setrlimit(res, (value, value))
    if limits.get("processes"):
        resource.setrlimit(resource.RLIMIT_NPROC, (limits["processes"], limits["processes"]))


def _error_record(kind: str, exc: BaseException, i: int | None = None) -> dict[str, Any]:
    if isinstance(exc, _Timeout):
        return {"k": "to", "i": i}
    if isinstance(exc, MemoryError):
        return {"k": "mem", "i": i}
    tb = traceback.format_exception_only(type(exc), exc)
    return {"k": kind, "i": i, "e": type(exc).__name__[:100], "m": "".join(tb)[-2000:]}


WALL_FACTOR = 4.0  # a test may take this many times its CPU limit in wall-clock time (job)


def _timed(limit: float, fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    """Call ``fn`` under a CPU-time limit (SIGPROF: steady on a loaded machine, where wall time
    is not) and a looser wall-clock one (SIGALRM: a program that sleeps). Returns the result
    and the CPU seconds used, which is also what reference runs measure."""
    limit = max(limit, 0.001)
    signal.setitimer(signal.ITIMER_PROF, limit)
    signal.setitimer(signal.ITIMER_REAL, WALL_FACTOR * limit + 5.0)
    start = time.process_time()
    try:
        return fn(*args, **kwargs), time.process_time() - start
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.setitimer(signal.ITIMER_PROF, 0)


def load(job: dict[str, Any], name: str) -> dict[str, Any] | None:
    """Compile and execute the program's top level; None (after reporting why) on failure."""
    env: dict[str, Any] = {"__name__": name, "__builtins__": builtins}
    try:
        code = compile(job["program"], "<solution>", "exec")
        _timed(job["load_limit"], exec, code, env)
    except BaseException as exc:
        emit(_error_record("err", exc))
        return None
    return env


def _target(env: dict[str, Any], job: dict[str, Any]) -> Any:
    entry = job["entry_point"]
    if job.get("method"):
        return getattr(env["Solution"](), entry)
    return env[entry]


def run_function(job: dict[str, Any]) -> None:
    env = load(job, "solution")
    if env is None:
        return
    try:
        fn = _timed(job["load_limit"], _target, env, job)[0]
    except BaseException as exc:
        emit(_error_record("err", exc))
        return
    emit({"k": "loaded"})
    for i, (encoded, limit) in enumerate(zip(job["tests"], job["per_test"], strict=True)):
        try:
            call = wire.decode(encoded)
            args, kwargs = (call["a"], call["k"]) if type(call) is dict else (call, {})
            out, seconds = _timed(limit, fn, *args, **kwargs)
            if job.get("output_not_none"):
                out = out is not None
        except BaseException as exc:
            emit(_error_record("x", exc, i))
            if job["stop_on_error"]:
                return
            continue
        emit_value(i, out, seconds, job["limits"]["hash_above"])


def run_record(job: dict[str, Any]) -> None:
    """Wrap the reference function, run the test code, report each top-level call."""
    env = load(job, "solution")
    if env is None:
        return
    entry = job["entry_point"]
    fn = env[entry]
    depth = [0]

    def candidate(*args: Any, **kwargs: Any) -> Any:
        if depth[0]:  # a recursive call through the global name: not a test
            return fn(*args, **kwargs)
        call = wire.encode({"a": list(args), "k": kwargs}) if kwargs else wire.encode(list(args))
        depth[0] = 1
        start = time.process_time()
        try:
            out = fn(*args, **kwargs)
        finally:
            depth[0] = 0
        seconds = time.process_time() - start
        value = (out is not None) if job.get("output_not_none") else out
        emit({"k": "rec", "a": call, "t": seconds, **pack(value, job["limits"]["hash_above"])})
        return out

    env[entry] = candidate
    try:
        test = compile(job["test_code"], "<tests>", "exec")
        if job.get("check"):
            _timed(job["load_limit"], exec, test, env)
            _timed(job["record_limit"], env[job["check"]], candidate)
        else:
            _timed(job["record_limit"], exec, test, env)
        emit({"k": "check", "ok": True})
    except BaseException as exc:
        record = _error_record("check", exc)
        record.update(k="check", ok=False)
        emit(record)


def _stdio_child(code: Any, stdin_fd: int, stdout_fd: int) -> None:
    os.dup2(stdin_fd, 0)
    os.dup2(stdout_fd, 1)
    for fd in (stdin_fd, stdout_fd, RESULT_FD):
        os.close(fd)
    sys.stdin = sys.__stdin__ = io.TextIOWrapper(io.FileIO(0, "r", closefd=False),
                                                 encoding="utf-8", errors="replace")
    sys.stdout = sys.__stdout__ = io.TextIOWrapper(io.FileIO(1, "w", closefd=False),
                                                   encoding="utf-8", write_through=False)
    status = 0
    try:
        exec(code, {"__name__": "__main__", "__builtins__": builtins})
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except MemoryError:
        status = 137
    except BaseException:
        traceback.print_exc()
        status = 1
    try:
        sys.stdout.flush()
    except BaseException:
        status = status or 1
    os._exit(status & 0xFF)


def run_stdio(job: dict[str, Any]) -> None:
    try:
        code = compile(job["program"], "<solution>", "exec")
    except BaseException as exc:
        emit(_error_record("err", exc))
        return
    emit({"k": "loaded"})
    cap = job["limits"]["stdout_cap"]
    for i, (stdin_text, limit) in enumerate(zip(job["tests"], job["per_test"], strict=True)):
        stdin_fd = os.memfd_create("stdin", 0)
        stdout_fd = os.memfd_create("stdout", 0)
        os.write(stdin_fd, stdin_text.encode("utf-8"))
        os.lseek(stdin_fd, 0, os.SEEK_SET)
        start = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            _stdio_child(code, stdin_fd, stdout_fd)
        os.close(stdin_fd)
        status = _wait(pid, limit)
        seconds = time.perf_counter() - start
        if status is None:
            os.close(stdout_fd)
            emit({"k": "to", "i": i})
            return
        size = os.lseek(stdout_fd, 0, os.SEEK_END)
        os.lseek(stdout_fd, 0, os.SEEK_SET)
        data = os.read(stdout_fd, min(size, cap))
        os.close(stdout_fd)
        if os.WIFSIGNALED(status) or os.WEXITSTATUS(status) != 0:
            code_ = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
            kind = "mem" if code_ == 137 else "x"
            emit({"k": kind, "i": i, "e": "exit", "m": f"exit status {code_}"})
            return
        emit({"k": "r", "i": i, "out": data.decode("utf-8", errors="replace"),
              "trunc": size > cap, "t": seconds})


def _wait(pid: int, limit: float) -> int | None:
    """Wait for ``pid`` at most ``limit`` seconds; on timeout SIGKILL it and return None."""
    pidfd = os.pidfd_open(pid)
    try:
        ready, _, _ = select.select([pidfd], [], [], limit)
    finally:
        os.close(pidfd)
    if not ready:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        return None
    return os.waitpid(pid, 0)[1]


def main(job: dict[str, Any]) -> None:
    """Entry point in the forked child; never returns."""
    global WALL_FACTOR
    status = 0
    try:
        WALL_FACTOR = float(job.get("wall_factor", WALL_FACTOR))
        signal.signal(signal.SIGALRM, _alarm)
        signal.signal(signal.SIGPROF, _alarm)
        apply_limits(job["limits"], job["cpu_seconds"])
        {"function": run_function, "stdio": run_stdio, "record": run_record}[job["mode"]](job)
        emit({"k": "done"})
    except BaseException:
        status = 2
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(BaseException):
                stream.flush()
        os._exit(status)
