"""`dapo-bench eval` end to end in real subprocesses: killed midway, resumed, compared with an
uninterrupted run; and the vLLM backend against the HF backend through the CLI."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dapo_bench.testing import cached_tiny_qwen2

pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).parent / "fixtures" / "data"
BENCHMARKS = ("gsm8k", "math")
MAX_NEW = "24"


def _cli() -> list[str]:
    exe = shutil.which("dapo-bench")
    return [exe] if exe else [sys.executable, "-m", "dapo_bench.cli"]


def _env() -> dict[str, str]:
    # one thread: the tiny model gains nothing from more, and CI machines are shared
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def _eval_args(model: Path, out: Path, *extra: str) -> list[str]:
    return [*_cli(), "eval", str(model), "--benchmarks", ",".join(BENCHMARKS),
            "--data-dir", str(FIXTURES), "--out", str(out), "--name", "tiny",
            "--max-new-tokens", MAX_NEW, "--no-progress", *extra]


def _run(args: list[str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(args, capture_output=True, text=True, env=_env(), timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def _log_lines(out: Path, benchmark: str) -> list[dict]:
    path = out / "tiny" / ".generations" / f"{benchmark}.jsonl"
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    return [json.loads(x) for x in lines if x.endswith("\n")]  # a torn tail is not a record


def _samples(out: Path, benchmark: str) -> list[dict]:
    path = out / "tiny" / f"{benchmark}.samples.jsonl"
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


def _result(out: Path, benchmark: str) -> dict:
    return json.loads((out / "tiny" / f"{benchmark}.json").read_text(encoding="utf-8"))


def _kill_after_first_records(args: list[str], out: Path, sig: int, min_records: int = 2
                              ) -> tuple[int, str]:
    """Start the run, wait until its generation log holds ``min_records`` records, send it
    ``sig``; return its exit status and stderr."""
    err_path = out.parent / f"{out.name}.stderr"
    with err_path.open("w") as err:
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=err, text=True,
                                env=_env())
        deadline = time.monotonic() + 240
        try:
            while time.monotonic() < deadline:
                count = sum(len(_log_lines(out, b)) for b in BENCHMARKS)
                if count >= min_records or proc.poll() is not None:
                    break
                time.sleep(0.02)
            assert proc.poll() is None, "the run finished before it could be interrupted"
            proc.send_signal(sig)
            proc.wait(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return proc.returncode, err_path.read_text()


@pytest.fixture(scope="module")
def model() -> Path:
    return cached_tiny_qwen2()


@pytest.fixture(scope="module")
def reference(model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted HF run."""
    out = tmp_path_factory.mktemp("reference")
    proc = _run(_eval_args(model, out, "--backend", "hf", "--batch-size", "2"))
    assert "gsm8k" in proc.stdout and "math" in proc.stdout  # the summary table
    return out


def test_interrupted_runs_resume_without_regenerating(model: Path, reference: Path,
                                                     tmp_path: Path) -> None:
    """SIGKILL midway, rerun and Ctrl-C (SIGINT) midway, rerun to the end: every sample is
    generated exactly once and the results equal the uninterrupted run's."""
    args = _eval_args(model, tmp_path, "--backend", "hf", "--batch-size", "2")
    status, _ = _kill_after_first_records(args, tmp_path, signal.SIGKILL)
    assert status == -signal.SIGKILL
    kept = {b: _log_lines(tmp_path, b) for b in BENCHMARKS}
    n_kept = sum(map(len, kept.values()))
    assert 0 < n_kept < 26, "the kill must land in the middle of generation"
    assert not (tmp_path / "tiny" / "math.json").exists()

    status, stderr = _kill_after_first_records(args, tmp_path, signal.SIGINT,
                                               min_records=n_kept + 2)
    assert status == 130, stderr[-2000:]
    assert "run the same command again" in stderr
    kept = {b: _log_lines(tmp_path, b) for b in BENCHMARKS}
    assert sum(map(len, kept.values())) < 28, "Ctrl-C must land in the middle of generation"

    resumed = _run(args)
    assert "resuming" in resumed.stderr or len(kept["gsm8k"]) == 14

    for b in BENCHMARKS:
        log = _log_lines(tmp_path, b)
        ids = [r["id"] for r in log]
        assert len(ids) == len(set(ids)) == 14, f"{b}: a sample was generated twice or lost"
        assert log[:len(kept[b])] == kept[b]  # what the interrupted runs wrote was kept as is
        ref = {r["id"]: r["output"] for r in _log_lines(reference, b)}
        assert {r["id"]: r["output"] for r in log} == ref
        assert _result(tmp_path, b)["metrics"] == _result(reference, b)["metrics"]
        assert _samples(tmp_path, b) == _samples(reference, b)
        summary = _result(tmp_path, b)
        assert summary["n"] == 14 and summary["samples"] == f"{b}.samples.jsonl"
        prov = summary["provenance"]
        assert prov["model_path"] == str(model.resolve())
        assert prov["prompt_template"] == "qwen-cot"
        assert prov["sampling"]["max_new_tokens"] == int(MAX_NEW)
        assert prov["sampling"]["temperature"] == 0.0
        assert prov["backend"]["backend"] == "hf" and prov["dtype"] == "float32"
        assert prov["package_versions"]["torch"] and prov["timestamp"]

    # a third run generates nothing, and --regrade reproduces the results from the log
    again = _run(args)
    assert "already generated" in again.stderr
    logs = {b: (tmp_path / "tiny" / ".generations" / f"{b}.jsonl").read_bytes()
            for b in BENCHMARKS}
    _run([*args, "--regrade"])
    for b in BENCHMARKS:
        assert (tmp_path / "tiny" / ".generations" / f"{b}.jsonl").read_bytes() == logs[b]
        assert _samples(tmp_path, b) == _samples(reference, b)
        assert _result(tmp_path, b)["metrics"] == _result(reference, b)["metrics"]


def test_vllm_cli_run_matches_hf(model: Path, reference: Path, tmp_path: Path) -> None:
    from dapo_bench.generation import vllm_importable

    ok, why = vllm_importable()
    if not ok:
        pytest.skip(f"vLLM not importable here: {why}")
    proc = _run(_eval_args(model, tmp_path, "--backend", "auto", "--kv-cache-gb", "0.25"),
                timeout=600)
    assert "backend: vllm (auto: vLLM is importable)" in proc.stderr
    for b in BENCHMARKS:
        got = {r["id"]: r["output"] for r in _log_lines(tmp_path, b)}
        want = {r["id"]: r["output"] for r in _log_lines(reference, b)}
        assert got == want, f"{b}: vLLM greedy outputs differ from HF"
        assert _result(tmp_path, b)["provenance"]["backend"]["backend"] == "vllm"
