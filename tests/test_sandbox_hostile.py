"""The hostile corpus (tests/fixtures/hostile): every program on every isolation stack that
works here, real jails, real attacks. Each program must get its expected verdict, and the host
must be untouched: sentinel file intact, no new files, the secret never leaked, no connection
to the test's listener, the test's own process alive, no process left behind."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from sandbox_support import (
    FAST_POLICY,
    HOSTILE_DIR,
    add_problem,
    host_leftovers,
    parse_header,
    private_reference_cache,  # noqa: F401 - an autouse fixture
    stack_available,
)

from dapo_bench.grading.code import grade_programs
from dapo_bench.sandbox.stacks import STACK_ENV

STACKS = ("bwrap", "unshare", "landlock")
PROGRAMS = sorted(p.stem for p in HOSTILE_DIR.glob("*.py") if p.stem != "persist_probe")


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Things an escaped program could touch, and ways to tell that it did."""
    root = tmp_path_factory.mktemp("host")
    os.chmod(root, 0o755)
    token = "SECRET-" + secrets.token_hex(8)
    (root / "secret.txt").write_text(token)
    os.chmod(root / "secret.txt", 0o644)  # world-readable: only isolation can hide it
    (root / "sentinel.txt").write_text("intact")
    (root / "data.json").write_text('{"expected": [3, 7, 5]}')
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.setblocking(False)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", listener.getsockname()[1]))
    udp.setblocking(False)
    victim = subprocess.Popen(["sleep", "600"])
    os.environ["DAPO_HOSTILE_SECRET"] = token
    env = {"root": root, "token": token, "listener": listener, "udp": udp, "victim": victim,
           "files": None}
    env["files"] = sorted(p.name for p in root.iterdir())
    env["stats"] = _stats(root)
    yield env
    os.environ.pop("DAPO_HOSTILE_SECRET", None)
    victim.kill()
    victim.wait()
    listener.close()
    udp.close()


def _stats(root: Path) -> dict[str, tuple[int, int, int, int]]:
    """Mode, owner and times of the host directory and its files: metadata attacks show here."""
    out = {}
    for path in [root, *root.iterdir()]:
        st = path.stat()
        out[path.name] = (st.st_mode, st.st_uid, st.st_mtime_ns, st.st_ctime_ns)
    return out


def program_text(name: str, env: dict[str, Any]) -> str:
    root: Path = env["root"]
    text = (HOSTILE_DIR / f"{name}.py").read_text()
    for key, value in (("__SECRET_FILE__", root / "secret.txt"), ("__HOST_DIR__", root),
                       ("__SENTINEL__", root / "sentinel.txt"),
                       ("__DATA_FILE__", root / "data.json"),
                       ("__PORT__", env["listener"].getsockname()[1]),
                       ("__HOST_PID__", env["victim"].pid)):
        text = text.replace(key, str(value))
    return text


def audit_host(env: dict[str, Any], uids: set[int], results: dict[str, Any]) -> None:
    root: Path = env["root"]
    assert (root / "sentinel.txt").read_text() == "intact"
    assert sorted(p.name for p in root.iterdir()) == env["files"], "a file appeared on the host"
    assert _stats(root) == env["stats"], "host file metadata changed"
    assert not Path("/tmp/dapo-hostile-pwned").exists()
    assert not Path("/etc/dapo-hostile-pwned").exists()
    with pytest.raises(BlockingIOError):
        env["listener"].accept()
    with pytest.raises(BlockingIOError):
        env["udp"].recvfrom(100)
    assert env["victim"].poll() is None, "the host process was killed"
    for name, grade in results.items():
        assert env["token"] not in (grade.detail or ""), f"{name} leaked the secret"
    deadline = time.monotonic() + 120  # a bound on the wait, not an assertion on time
    while (left := host_leftovers(uids)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left, f"processes left behind: {left}"


@pytest.fixture(scope="module", params=STACKS)
def graded(request: pytest.FixtureRequest, host: dict[str, Any],
           monkeypatch_module: pytest.MonkeyPatch) -> tuple[str, dict[str, Any]]:
    stack = request.param
    why = stack_available(stack)
    if why is not None:
        pytest.skip(f"stack {stack} unavailable here: {why}")
    monkeypatch_module.setenv(STACK_ENV, stack)
    names = []
    for name in PROGRAMS:
        _, stacks = parse_header((HOSTILE_DIR / f"{name}.py").read_text())
        if stacks == "all" or stack in ("bwrap", "unshare"):
            names.append(name)
    report: dict[str, Any] = {}
    grades = grade_programs([add_problem() for _ in names],
                            [program_text(n, host) for n in names], workers=2,
                            policy=FAST_POLICY, report=report)
    results = dict(zip(names, grades, strict=True))
    # persistence: a second program in the same (single) jail finds nothing of the first
    probe: dict[str, Any] = {}
    later = grade_programs([add_problem(), add_problem()],
                           [program_text("pth_persist", host), program_text("persist_probe", host)],
                           workers=1, policy=FAST_POLICY, report=probe)
    results["persist_probe"] = later[1]
    audit_host(host, report["uids"] | probe["uids"], results)
    return stack, results


@pytest.fixture(scope="module")
def monkeypatch_module() -> Any:
    patch = pytest.MonkeyPatch()
    yield patch
    patch.undo()


@pytest.mark.parametrize("name", [*PROGRAMS, "persist_probe"])
def test_hostile_program_verdict(graded: tuple[str, dict[str, Any]], name: str) -> None:
    stack, results = graded
    expect, _ = parse_header((HOSTILE_DIR / f"{name}.py").read_text())
    if name not in results:
        pytest.skip(f"{name} runs only on stacks with a PID namespace")
    grade = results[name]
    assert grade.verdict in expect, f"{stack}: {name}: {grade.verdict} ({grade.detail})"
    if "pass" not in expect:
        assert not grade.correct
