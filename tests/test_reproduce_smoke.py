"""`reproduce ... --smoke` end to end on a tiny checkpoint, through the CLI: every stage of
the math recipe on real MATH train data, the code recipe on a TACO-format fixture graded in
the sandbox, evaluation on the table's benchmarks, the table, and a rerun that changes
nothing."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dapo_bench.report.results import ResultsStore
from dapo_bench.testing import cached_tiny_qwen2

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "data"


def _reproduce(args: list[str], cwd: Path, env: dict[str, str] | None = None
               ) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "dapo_bench.cli", "reproduce", *args,
                           "--no-progress"], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **(env or {})})
    assert done.returncode == 0, done.stderr[-4000:]
    return done


def _digests(root: Path) -> dict[str, str]:
    """Every stage item, manifest and stored result (not the report's wall times)."""
    skip = {"timings.jsonl", "plan.json"}
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*"))
            if p.is_file() and p.name not in skip and not p.name.startswith(("summary",
                                                                             "report"))
            and "checkpoints" not in p.parts and p.suffix in (".json", ".jsonl")}


def _smoke(table: str, alias: str, data: Path, tmp_path: Path,
           env: dict[str, str] | None = None) -> tuple[Path, Path, list[str]]:
    tiny = str(cached_tiny_qwen2())
    args = [table, "--model", alias, "--smoke", "--set", f"base_model={tiny}", "--set",
            f"critic.init={tiny}", "--set", "backend=hf", "--data-dir", str(data),
            "--run", str(tmp_path / "runs")]
    done = _reproduce(args, tmp_path, env)
    return tmp_path / "runs", tmp_path / "runs" / "results", [args, done.stdout]


def _check_rows(results: Path, table: str, base: str, benchmarks: dict[str, int]) -> None:
    """Base and +dapo results on each benchmark: the first ``n`` problems, every sample."""
    store = ResultsStore(results)
    for name in (base, f"{base}+dapo"):
        for bench, n in benchmarks.items():
            result = store.read(name, bench)
            assert result.n == n, (name, bench)
            samples = store.read_samples(result)
            assert samples is not None and len(samples) == n
            assert all(s.output is not None for s in samples)
            assert result.provenance.recipe and result.provenance.prompt_template
    rendered = (results / f"{table}.md").read_text()
    assert base in rendered and "+ DAPO" in rendered


def test_table1_smoke_on_math_train(tmp_path: Path, shared_data: Path) -> None:
    runs, results, (args, stdout) = _smoke("table1", "qwen2.5-math", shared_data, tmp_path)
    run = runs / "qwen2.5-math"
    for stage in ("rollouts", "states", "mc", "critic", "advantages", "ref_logps", "policy"):
        assert (run / "iter1" / stage / "manifest.json").is_file(), stage
    rollouts = [json.loads(line) for line in (run / "iter1/rollouts/items.jsonl").open()]
    # Real MATH train problems, in the model's own prompt format.
    assert all(r["id"].startswith("train/") for r in rollouts)
    assert all(r["prompt"].startswith("<|im_start|>system\nPlease reason step by step")
               for r in rollouts)
    _check_rows(results, "table1", "Qwen2.5-Math-7B-Instruct",
                dict.fromkeys(["math", "gsm8k", "minerva_math", "olympiadbench",
                               "college_math"], 5))
    report = (results / "report-qwen2.5-math.md").read_text()
    assert "95% CI" in report and "DAPO iteration 1" in report
    assert "Qwen2.5-Math-7B-Instruct" in stdout
    assert (run / "vllm.log").is_file()

    before = _digests(runs)
    _reproduce(args, tmp_path)
    assert _digests(runs) == before


def test_table2_smoke_on_taco_in_the_sandbox(tmp_path: Path) -> None:
    # The fixture holds LiveCodeBench's release_v2 files only.
    runs, results, _ = _smoke("table2", "llama3.1-8b-instruct", FIXTURES, tmp_path,
                              env={"DAPO_BENCH_LCB_RELEASE": "release_v2"})
    run = runs / "llama3.1-8b-instruct"
    rollouts = [json.loads(line) for line in (run / "iter1/rollouts/items.jsonl").open()]
    assert len(rollouts) == 2 and all(len(r["samples"]) == 4 for r in rollouts)
    mc = json.loads((run / "iter1/mc/manifest.json").read_text())
    assert mc["summary"]["states"] > 0
    _check_rows(results, "table2", "Meta-Llama-3.1-8B-Instruct",
                {"humaneval": 3, "humaneval_plus": 3, "mbpp": 2, "mbpp_plus": 2,
                 "livecodebench": 2})
