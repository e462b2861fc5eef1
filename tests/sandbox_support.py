"""Helpers shared by the sandbox tests: a tiny task, a fast policy, the stacks that work here,
and audits of the host (leftover processes)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from dapo_bench.cache import CACHE_ENV
from dapo_bench.data.code_benchmarks import _extra
from dapo_bench.data.registry import Problem
from dapo_bench.sandbox.pool import Jail
from dapo_bench.sandbox.runner.policy import Limits, MiB, Policy, TimePolicy
from dapo_bench.sandbox.stacks import UID_RANGE, SandboxUnavailable

HOSTILE_DIR = Path(__file__).parent / "fixtures" / "hostile"

# Small limits so that hostile programs hit them fast; the real defaults are larger.
FAST_POLICY = Policy(
    limits=Limits(address_space=1024 * MiB, file_size=16 * MiB, tmpfs_size=64 * MiB,
                  processes=32),
    time=TimePolicy(floor=0.5, program_cap=4.0, slack=1.0, load_limit=1.0))


def add_problem(pid: str = "add/0") -> Problem:
    """``add(a, b) -> a + b`` with three tests; expected values come from the reference run."""
    return Problem(id=pid, question="add two numbers", extra=_extra(
        "humaneval_plus", entry_point="add", canonical="def add(a, b):\n    return a + b\n",
        inputs={"base": [[1, 2], [3, 4]], "plus": [[10, -5]]}))


_available: dict[str, str | None] = {}


def stack_available(stack: str) -> str | None:
    """None if ``stack`` starts here, else why not (probed once per session)."""
    if stack not in _available:
        jail = Jail(stack, FAST_POLICY.limits)
        try:
            jail.start()
            _available[stack] = None
        except SandboxUnavailable as exc:
            _available[stack] = str(exc)
        finally:
            jail.close()
    return _available[stack]


def host_leftovers(uids: set[int]) -> list[str]:
    """Processes of the given jail uids, or named ``dapo-hostile``, still on the host."""
    jail_uids = {u for u in uids if UID_RANGE[0] <= u < UID_RANGE[1]}  # never root's
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            continue
        match = re.search(r"^Uid:\s+(\d+)", status, re.M)
        uid = int(match.group(1)) if match else -1
        if uid in jail_uids or comm == "dapo-hostile":
            found.append(f"pid {pid} ({comm}, uid {uid})")
    return found


def parse_header(text: str) -> tuple[set[str], str]:
    expect = re.search(r"^# expect: (.+)$", text, re.M)
    stacks = re.search(r"^# stacks: (\w+)$", text, re.M)
    assert expect and stacks, "hostile program without its header"
    return set(expect.group(1).strip().split("|")), stacks.group(1)


@pytest.fixture(autouse=True, scope="module")
def private_reference_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Reference outputs go to a temporary cache, not the user's ~/.cache (import this
    fixture into a test module to use it)."""
    old = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(tmp_path_factory.mktemp("reference-cache"))
    yield
    if old is None:
        os.environ.pop(CACHE_ENV, None)
    else:
        os.environ[CACHE_ENV] = old
