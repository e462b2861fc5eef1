"""Sockets and the network, per isolation stack. bwrap and unshare give the jail an empty
network namespace of its own (a loopback, no route out): a program may create AF_INET and
AF_INET6 sockets there, and every connection fails inside the jail. The landlock stack shares
the harness's network, so creating such a socket stays denied. On every stack, a server the
test runs on the host's 127.0.0.1 never sees a connection or a datagram."""

from __future__ import annotations

import base64
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sandbox_support import (  # noqa: F401 - private_reference_cache is an autouse fixture
    FAST_POLICY,
    add_problem,
    private_reference_cache,
    stack_available,
)

from dapo_bench.grading.code import grade_programs
from dapo_bench.grading.code.suites import base_job
from dapo_bench.sandbox.pool import Jail
from dapo_bench.sandbox.runner import wire
from dapo_bench.sandbox.stacks import STACK_ENV, host_netns

STACKS = ("bwrap", "unshare", "landlock")
NETNS_STACKS = ("bwrap", "unshare")
SERVER_SECONDS = 60.0  # the loopback server stops by itself after this long at the latest


def _need(stack: str) -> None:
    why = stack_available(stack)
    if why is not None:
        pytest.skip(f"stack {stack} unavailable here: {why}")


class LoopbackServer:
    """TCP and UDP on the host's loopback (127.0.0.1, and ::1 where it exists), one port; a
    thread records every connection and datagram until stopped, or SERVER_SECONDS pass."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.sockets: list[socket.socket] = []
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.bind(("127.0.0.1", 0))
        self.port = tcp.getsockname()[1]
        self._add(tcp)
        self._add(socket.socket(socket.AF_INET, socket.SOCK_DGRAM), "127.0.0.1")
        with contextlib.suppress(OSError):
            self._add(socket.socket(socket.AF_INET6, socket.SOCK_STREAM), "::1")
            self._add(socket.socket(socket.AF_INET6, socket.SOCK_DGRAM), "::1")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _add(self, sock: socket.socket, host: str | None = None) -> None:
        self.sockets.append(sock)
        if host is not None:
            sock.bind((host, self.port))
        if sock.type == socket.SOCK_STREAM:
            sock.listen(16)
        sock.settimeout(0.05)

    def _serve(self) -> None:
        end = time.monotonic() + SERVER_SECONDS
        while not self._stop.is_set() and time.monotonic() < end:
            for sock in self.sockets:
                try:
                    if sock.type == socket.SOCK_STREAM:
                        conn, addr = sock.accept()
                        conn.close()
                        self.seen.append(f"tcp from {addr}")
                    else:
                        _, addr = sock.recvfrom(100)
                        self.seen.append(f"udp from {addr}")
                except OSError:
                    continue

    def stop(self) -> list[str]:
        self._stop.set()
        self._thread.join(timeout=5)
        for sock in self.sockets:
            sock.close()
        return self.seen


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    srv = LoopbackServer()
    yield srv
    srv.stop()


OPENS_A_SOCKET = """
import socket

_tcp = socket.socket()
_udp6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
_tcp.close()
_udp6.close()


def add(a, b):
    return a + b
"""


@pytest.mark.parametrize("stack", STACKS)
def test_a_correct_program_that_opens_a_socket(stack: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    _need(stack)
    monkeypatch.setenv(STACK_ENV, stack)
    (grade,) = grade_programs([add_problem()], [OPENS_A_SOCKET], workers=1, policy=FAST_POLICY)
    if stack in NETNS_STACKS:
        assert grade.verdict == "pass", grade.detail
    else:  # no network namespace: creating the socket is denied, the program does not load
        assert grade.verdict == "error" and "Address family" in (grade.detail or "")


# Every way out a program might try: TCP to the host's loopback (both families), UDP to it,
# and TCP to addresses beyond the loopback (documentation ranges of RFC 5737 and RFC 3849:
# routed like any outside address, owned by nobody). Reports the errno of each attempt.
PROBE = """
import errno
import socket

ATTEMPTS = [
    ("tcp4 loopback", socket.AF_INET, socket.SOCK_STREAM, ("127.0.0.1", PORT)),
    ("tcp6 loopback", socket.AF_INET6, socket.SOCK_STREAM, ("::1", PORT)),
    ("udp4 loopback", socket.AF_INET, socket.SOCK_DGRAM, ("127.0.0.1", PORT)),
    ("udp6 loopback", socket.AF_INET6, socket.SOCK_DGRAM, ("::1", PORT)),
    ("tcp4 outside", socket.AF_INET, socket.SOCK_STREAM, ("192.0.2.1", 80)),
    ("tcp6 outside", socket.AF_INET6, socket.SOCK_STREAM, ("2001:db8::1", 80)),
]


def f(x):
    out = {}
    for name, family, kind, address in ATTEMPTS:
        try:
            sock = socket.socket(family, kind)
        except OSError as exc:
            out[name] = "socket " + errno.errorcode.get(exc.errno, str(exc))
            continue
        sock.settimeout(3)
        try:
            if kind == socket.SOCK_STREAM:
                sock.connect(address)
                sock.sendall(b"escaped")
                out[name] = "connected"
            else:
                sock.sendto(b"escaped", address)
                out[name] = "sent"
        except OSError as exc:
            out[name] = "connect " + errno.errorcode.get(exc.errno, str(exc))
        finally:
            sock.close()
    return out
"""


def _run(jail: Jail, program: str) -> Any:
    job = base_job(FAST_POLICY, "function", program, entry_point="f",
                   tests=[wire.encode([0])], per_test=[30.0])
    job["cpu_seconds"] = 10
    out = jail.run(job, timeout=60)
    results = [r for r in out.records if r.get("k") == "r"]
    assert len(results) == 1, (out.records, out.log)
    return wire.loads_marshal(base64.b64decode(results[0]["m"])), out


@pytest.mark.parametrize("stack", STACKS)
def test_no_connection_leaves_the_jail(stack: str, server: LoopbackServer) -> None:
    _need(stack)
    jail = Jail(stack, FAST_POLICY.limits)
    try:
        facts = jail.start()
        got, _ = _run(jail, PROBE.replace("PORT", str(server.port)))
    finally:
        jail.close()
    assert server.stop() == [], f"{stack}: the host's loopback server was reached"
    assert "connected" not in got.values(), got
    if stack in NETNS_STACKS:
        # sockets exist; the jail's own loopback answers, nothing beyond it has a route
        assert "netns(lo)" in facts["layers"] and facts["interfaces"] == ["lo"]
        assert facts["netns"] and facts["netns"] != host_netns()
        assert got["tcp4 loopback"] == got["tcp6 loopback"] == "connect ECONNREFUSED", got
        # refused and unreachable at once (errors, not time-outs)
        assert got["tcp4 outside"] == got["tcp6 outside"] == "connect ENETUNREACH", got
    else:
        assert "netns(lo)" not in facts["layers"]
        assert set(got.values()) == {"socket EAFNOSUPPORT"}, got


SELF_CONNECT = """
import socket


def f(x):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    client = socket.create_connection(listener.getsockname(), timeout=5)
    conn, _ = listener.accept()
    conn.sendall(b"ok")
    got = client.recv(2)
    for s in (conn, client, listener):
        s.close()
    return got
"""

READ_SOCKET_TABLES = """
def f(x):
    lines = []
    for name in ("tcp", "tcp6", "udp", "udp6"):
        try:
            with open("/proc/net/" + name) as handle:
                lines += handle.read().splitlines()[1:]
        except OSError:
            pass
    return lines
"""


@pytest.mark.parametrize("stack", NETNS_STACKS)
def test_socket_state_does_not_outlive_a_program(stack: str) -> None:
    """A program talking to itself over the jail's loopback works; the TIME_WAIT entries it
    leaves would be readable by the next program in a warm jail, so that jail is replaced."""
    _need(stack)
    jail = Jail(stack, FAST_POLICY.limits)
    try:
        got, out = _run(jail, SELF_CONNECT)
        assert got == b"ok" and out.retired and not jail.alive
        lines, out = _run(jail, READ_SOCKET_TABLES)
        assert lines == [] and not out.retired and jail.starts == 2
    finally:
        jail.close()


def test_the_probe_does_reach_an_unconfined_server(server: LoopbackServer) -> None:
    """The control: the same probe on the unconfined ``none`` stack (this test's own program,
    connecting only to this test's loopback server) is seen by the server, so the checks
    above can fail."""
    jail = Jail("none", FAST_POLICY.limits)
    try:
        got, _ = _run(jail, PROBE.replace("PORT", str(server.port)))
    finally:
        jail.close()
    seen = server.stop()
    assert got["tcp4 loopback"] == "connected" and got["udp4 loopback"] == "sent", got
    assert any(s.startswith("tcp") for s in seen) and any(s.startswith("udp") for s in seen)
