"""The jails themselves: what each isolation stack reports about itself, warm reuse, restarts
after a timeout, output caps, time limits scaled from the reference, and refusing to run
unconfined without the explicit flag."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sandbox_support import (  # noqa: F401 - private_reference_cache is an autouse fixture
    FAST_POLICY,
    add_problem,
    private_reference_cache,
    stack_available,
)

from dapo_bench.data.code_benchmarks import _extra
from dapo_bench.data.registry import Problem
from dapo_bench.grading.code import grade_programs, open_pool
from dapo_bench.grading.code.suites import base_job
from dapo_bench.sandbox.pool import Jail
from dapo_bench.sandbox.runner import wire
from dapo_bench.sandbox.stacks import STACK_ENV, SandboxUnavailable

PID_NS_STACKS = ("bwrap", "unshare")


@pytest.mark.parametrize("stack", ["bwrap", "unshare", "landlock"])
def test_each_stack_reports_its_confinement(stack: str) -> None:
    why = stack_available(stack)
    if why is not None:
        pytest.skip(f"{stack} unavailable here: {why}")
    jail = Jail(stack, FAST_POLICY.limits)
    try:
        facts = jail.start()
    finally:
        jail.close()
    assert facts["CapEff"].strip("0") == "" and facts["NoNewPrivs"] == "1"
    assert facts["Seccomp"] == "2" and "seccomp" in facts["layers"]
    assert facts["net"] != "reachable"
    if stack in PID_NS_STACKS:
        assert facts["pid"] == 1 and facts["uid"] != 0
    else:
        assert any(layer.startswith("landlock") for layer in facts["layers"])


def _job(program: str, tests: int = 1, per_test: float = 1.0) -> dict[str, Any]:
    job = base_job(FAST_POLICY, "function", program, entry_point="f",
                   tests=[wire.encode([i]) for i in range(tests)], per_test=[per_test] * tests)
    job["cpu_seconds"] = 10
    return job


def test_one_warm_jail_runs_many_programs_and_restarts_after_a_timeout() -> None:
    jail = Jail("bwrap" if stack_available("bwrap") is None else "landlock", FAST_POLICY.limits)
    try:
        for k in range(20):
            out = jail.run(_job(f"def f(x):\n    return x + {k}\n", tests=3), timeout=600)
            assert [r.get("k") for r in out.records] == ["loaded", "r", "r", "r", "done"]
        assert jail.starts == 1
        hung = jail.run(_job("import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
                             "signal.signal(signal.SIGPROF, signal.SIG_IGN)\n"
                             "def f(x):\n    while True:\n        pass\n"), timeout=1.5)
        assert hung.timed_out and not jail.alive
        again = jail.run(_job("def f(x):\n    return x\n"), timeout=600)
        assert again.records[-1] == {"k": "done"} and jail.starts == 2
    finally:
        jail.close()


def test_stray_output_is_drained_and_capped() -> None:
    jail = Jail("bwrap" if stack_available("bwrap") is None else "landlock", FAST_POLICY.limits)
    try:
        out = jail.run(_job("def f(x):\n    print('y' * 10**6 * 50)\n    return x\n"), 20)
    finally:
        jail.close()
    assert out.records[-1] == {"k": "done"}
    assert len(out.log) == FAST_POLICY.limits.log_cap


def test_time_limits_scale_with_the_reference() -> None:
    """Per-test limit = max(floor, factor * reference CPU time): a program 1.5 times as slow
    as the reference passes, one twenty times as slow times out; a sleeper is caught by the
    wall clock."""
    policy = FAST_POLICY.with_time(floor=0.05, factor=4.0, program_cap=30.0)
    spin = ("import time\ndef f(x):\n    end = time.process_time() + {}\n"
            "    while time.process_time() < end:\n        pass\n    return x\n")
    problem = Problem(id="slow/0", question="", extra=_extra(
        "humaneval_plus", entry_point="f", inputs={"base": [[0], [1]], "plus": []},
        canonical=spin.format(0.1)))
    sleeper = "import time\ndef f(x):\n    time.sleep(30)\n    return x\n"
    ok, too_slow, asleep = grade_programs(
        [problem] * 3, [spin.format(0.15), spin.format(2.0), sleeper], workers=2, policy=policy)
    assert ok.verdict == "pass", ok.detail
    assert too_slow.verdict == "timeout" and "limit" in (too_slow.detail or "")
    assert asleep.verdict == "timeout"


def test_no_unconfined_run_without_the_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(STACK_ENV, "none")
    with pytest.raises(SandboxUnavailable, match="--unsafe-no-sandbox"):
        open_pool(1, False, FAST_POLICY)
    report: dict[str, Any] = {}
    (grade,) = grade_programs([add_problem()], ["def add(a, b):\n    return a + b\n"],
                              workers=1, unsafe_no_sandbox=True, policy=FAST_POLICY,
                              report=report)
    assert grade.verdict == "pass" and report["stack"] == "none"


def test_a_missing_tool_gives_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(STACK_ENV, "bwrap")
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(SandboxUnavailable, match="apt-get install bubblewrap"):
        open_pool(1, False, FAST_POLICY)


ROOTLESS_PROBE = """
import sys
sys.path.insert(0, sys.argv[1])
from dapo_bench.sandbox.pool import Jail
from dapo_bench.sandbox.runner.policy import Limits
for stack in sys.argv[2:]:
    jail = Jail(stack, Limits())
    try:
        facts = jail.start()
        print(stack, facts["uid"], facts["CapEff"], facts["Seccomp"])
    finally:
        jail.close()
"""


def _world_readable(path: Path) -> bool:
    parents = [path, *path.parents]
    return all(p.stat().st_mode & 0o005 == 0o005 for p in parents if p != Path("/"))


def test_stacks_start_for_an_unprivileged_user() -> None:
    """The non-root code paths: rootless bubblewrap (a user namespace) and Landlock, started
    by uid 65534 with a system interpreter that uid can read."""
    repo = Path(__file__).resolve().parents[1]
    python = shutil.which("python3", path="/usr/bin:/bin")
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None or python is None:
        pytest.skip("needs root, util-linux setpriv and a system python3")
    if not _world_readable(repo / "dapo_bench" / "sandbox" / "runner"):
        pytest.skip(f"{repo} is not readable by an unprivileged user")
    stacks = [s for s in ("bwrap", "landlock") if stack_available(s) is None]
    result = subprocess.run(
        [setpriv, "--reuid", "65534", "--regid", "65534", "--clear-groups", "env", "-i",
         "PATH=/usr/bin:/bin", "HOME=/tmp", python, "-c", ROOTLESS_PROBE, str(repo), *stacks],
        capture_output=True, text=True, timeout=120, cwd="/tmp")
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.split("\n")
    for stack in stacks:
        line = next(x for x in lines if x.startswith(stack + " "))
        _, uid, cap_eff, seccomp = line.split()
        assert uid == "65534" and int(cap_eff, 16) == 0 and seccomp == "2"
