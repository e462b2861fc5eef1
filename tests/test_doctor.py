"""`dapo-bench doctor` run for real: its table, its verdicts and an exit code that matches
this machine (seen without GPUs: the toy can run, the paper tables cannot)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from dapo_bench.commands.doctor import EXIT_ALL, EXIT_NO_TOY, EXIT_SOME_TABLES, exit_code

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "data"


def _doctor(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "",
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "dapo_bench", "doctor", "--data-dir",
                           str(FIXTURES), "--run", str(cwd / "runs"), *args],
                          capture_output=True, text=True, cwd=cwd, env=env)


def test_doctor_table_and_exit_code_match_this_machine(tmp_path: Path) -> None:
    done = _doctor(cwd=tmp_path)
    assert done.returncode == EXIT_SOME_TABLES, done.stdout + done.stderr[-2000:]
    out = done.stdout
    for section in ("machine", "torch", "GPUs", "vLLM", "sandbox", "distributed", "data",
                    "disk", "verdict"):
        assert section in out, section
    assert "reproduce toy" in out and "can run here" in out
    assert "reproduce table1" in out and "cannot run here" in out
    assert "table1: qwen2.5-math: gpus: no CUDA GPU visible here" in out
    assert f"exit code {EXIT_SOME_TABLES}" in out

    js = _doctor("--json", cwd=tmp_path)
    assert js.returncode == EXIT_SOME_TABLES
    report = json.loads(js.stdout)
    assert report["exit_code"] == EXIT_SOME_TABLES and report["machine"]["gpus"] == []
    targets = report["targets"]
    assert targets["toy"] == {"ok": True, "problems": [], "notes": []}
    assert not any(targets[t]["ok"] for t in ("table1", "table2", "table3"))
    # a model without public weights is a note for the user, not a verdict on the machine
    assert any("no public weights" in n for n in targets["table1"]["notes"])
    assert not any("no public weights" in p for p in targets["table1"]["problems"])


def test_exit_code_contract() -> None:
    ok, bad = {"ok": True}, {"ok": False}
    assert exit_code({"toy": ok, "table1": ok, "table2": ok, "table3": ok}) == EXIT_ALL
    assert exit_code({"toy": ok, "table1": bad, "table2": ok, "table3": ok}) == \
        EXIT_SOME_TABLES
    assert exit_code({"toy": bad, "table1": ok, "table2": ok, "table3": ok}) == EXIT_NO_TOY
    assert 2 not in (EXIT_ALL, EXIT_SOME_TABLES, EXIT_NO_TOY)  # 2 is bad input


def test_cpu_description_names_the_vector_extensions_and_a_capability_cap(monkeypatch
                                                                          ) -> None:
    from dapo_bench.environment import cpu_description

    flags = Path("/proc/cpuinfo").read_text().split()
    text = cpu_description()
    assert text.endswith(f"{os.cpu_count()} cores")
    assert ("avx2" in text) == ("avx2" in flags)
    assert ("avx512f" in text) == ("avx512f" in flags)
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "avx2")
    assert "ATEN_CPU_CAPABILITY=avx2" in cpu_description()
