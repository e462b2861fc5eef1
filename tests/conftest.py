"""Shared fixtures: the shared benchmark data (skipped with a reason when absent), and one toy
smoke reproduction that every test which only reads its run or results shares."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path | None:
    """../shared/data beside the checkout, or $DAPO_BENCH_DATA."""
    env = os.environ.get("DAPO_BENCH_DATA")
    for candidate in ([Path(env)] if env else []) + [REPO.parent / "shared" / "data"]:
        if (candidate / "MANIFEST.md").is_file() or (candidate / "gsm8k").is_dir():
            return candidate
    return None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    found = shared_data_dir()
    if found is None:
        pytest.skip("shared benchmark data not found: set DAPO_BENCH_DATA or place ../shared/data "
                    "beside the checkout")
    return found


@dataclass(frozen=True)
class SmokeRun:
    """`dapo-bench reproduce toy --smoke`, run once per session through the CLI."""

    root: Path  # the run root (one run directory per model: root / "toy-base")
    results: Path
    command: list[str]
    stdout: str
    stderr: str

    @property
    def run_dir(self) -> Path:
        return self.root / "toy-base"


@pytest.fixture(scope="session")
def toy_smoke(tmp_path_factory: pytest.TempPathFactory) -> SmokeRun:
    """The smoke reproduction of the toy (every stage, both iterations, both variants, every
    evaluation), for the tests that read what it wrote. Tests that change or interrupt a run
    make their own."""
    where = tmp_path_factory.mktemp("toy-smoke")
    command = [sys.executable, "-m", "dapo_bench.cli", "reproduce", "toy", "--smoke", "--run",
               str(where / "run"), "--results", str(where / "results"), "--no-progress"]
    # This checkout's package, not whichever is installed: a test that trains on from the
    # run must resolve `builtin:toy-base` (hashed into the critic's fingerprint) to the same path.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])}
    done = subprocess.run(command, capture_output=True, text=True, cwd=where, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return SmokeRun(where / "run", where / "results", command, done.stdout, done.stderr)
