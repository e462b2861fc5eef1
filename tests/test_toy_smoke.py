"""The smoke configuration of `dapo-bench reproduce toy`, run for real through the CLI and
checked against the stored results in results/toy-smoke/ with `dapo-bench check`: a change
that breaks the algorithm, the grader or generation fails here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dapo_bench.report.results import ResultsStore

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]
STORED = REPO / "results" / "toy-smoke"


def test_smoke_reproduction_matches_the_stored_results(tmp_path: Path) -> None:
    results = tmp_path / "results"
    cmd = [sys.executable, "-m", "dapo_bench.cli", "reproduce", "toy", "--smoke", "--run",
           str(tmp_path / "run"), "--results", str(results), "--no-progress"]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads((results / "summary.json").read_text())
    assert {"toy-base", "toy-base+dapo", "toy-base+dapo-iter2", "toy-base+dapo-mc",
            "toy-base+dapo-shuffled"} <= set(summary["results"])
    assert summary["diagnostics"]["iter1/advantages"]["states_kept"] > 0
    assert (results / "report.md").read_text().startswith("# Toy reproduction")

    check = subprocess.run([sys.executable, "-m", "dapo_bench.cli", "check", "--baseline",
                            str(STORED), "--current", str(results)],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr

    # Same seed, same machine kind: the samples themselves agree with the stored run.
    stored, fresh = ResultsStore(STORED), ResultsStore(results)
    agree = total = 0
    for (model, bench), result in stored.results().items():
        old = {s.id: s.correct for s in stored.read_samples(result) or []}
        new = {s.id: s.correct for s in fresh.read_samples(fresh.read(model, bench)) or []}
        assert old.keys() == new.keys()
        agree += sum(old[k] == new[k] for k in old)
        total += len(old)
    assert total > 0 and agree / total >= 0.97, (agree, total)
