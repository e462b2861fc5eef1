"""One writer per run directory: a live holder refuses a second writer, a dead or stale one is
taken over, read-only commands and --plan take no lock, and Ctrl-C says what was kept, exits
130, releases the lock and leaves a run that the same command resumes."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from tiny_recipe import TINY_RECIPE

from dapo_bench.errors import UserInputError
from dapo_bench.jsonio import read_jsonl
from dapo_bench.pipeline.runlock import LOCK_NAME, RunLock

REPO = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "dapo_bench.cli"]
RECIPE = {**TINY_RECIPE, "name": "lock"}
HOLDER = r"""
import sys, time
from dapo_bench.pipeline.runlock import RunLock
lock = RunLock(sys.argv[1])
lock.acquire()
print("held", flush=True)
time.sleep(600)
"""


def _env(**extra: str) -> dict[str, str]:
    path = os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path, "PYTHONUNBUFFERED": "1", **extra}


def _recipe(tmp_path: Path) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(RECIPE))
    return path


def _holder(run: Path, **env: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(run)], stdout=subprocess.PIPE,
                            text=True, env=_env(**env))
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def _lock_record(run: Path) -> dict[str, object]:
    return json.loads((run / LOCK_NAME).read_text())


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def test_a_live_holder_refuses_train_and_reproduce_naming_it(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    run = root / "toy-base"
    holder = _holder(run)
    try:
        done = subprocess.run([*CLI, "train", "all", "--recipe", str(_recipe(tmp_path)),
                               "--run", str(run), "--no-progress"], capture_output=True,
                              text=True, env=_env())
        assert done.returncode == 2, done.stderr
        (line,) = _error_lines(done.stderr)
        assert f"pid {holder.pid} on {socket.gethostname()}" in line
        assert "is being written by" in line and "since " in line
        assert f"`{Path(sys.executable).name} -c ... {run}`" in line
        assert not (run / "recipe.json").exists(), "the refused run wrote the run directory"

        # reproduce locks RUN/ALIAS: the same directory that `train --run` names
        done = subprocess.run([*CLI, "reproduce", "toy", "--smoke", "--run", str(root),
                               "--no-progress"], capture_output=True, text=True, env=_env())
        assert done.returncode == 2, done.stderr
        (line,) = _error_lines(done.stderr)
        assert f"pid {holder.pid}" in line
        assert _lock_record(run)["pid"] == holder.pid  # the holder still holds it
    finally:
        _stop(holder)


def test_plan_and_read_only_commands_take_no_lock(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    run = root / "toy-base"
    shutil.copytree(REPO / "results" / "toy-smoke", run / "results")
    holder = _holder(run)
    try:
        plan = subprocess.run([*CLI, "reproduce", "toy", "--smoke", "--plan", "--run",
                               str(root)], capture_output=True, text=True, env=_env())
        assert plan.returncode == 0, plan.stderr
        assert (run / "plan.json").is_file()
        check = subprocess.run([*CLI, "check", "--baseline", str(REPO / "results" / "toy-smoke"),
                                "--current", str(run / "results")], capture_output=True,
                               text=True, env=_env())
        assert check.returncode == 0, check.stdout + check.stderr
        shutil.copytree(REPO / "results" / "paper", run / "paper")
        table = subprocess.run([*CLI, "table", "table1", "--results", str(run / "paper"),
                                "--format", "md"], capture_output=True, text=True, env=_env())
        assert table.returncode == 0, table.stderr
        assert _lock_record(run)["pid"] == holder.pid
    finally:
        _stop(holder)


def test_a_dead_holder_is_taken_over_and_the_takeover_says_so(tmp_path: Path) -> None:
    run = tmp_path / "run"
    holder = _holder(run)
    holder.kill()
    holder.wait()
    assert (run / LOCK_NAME).is_file(), "SIGKILL leaves the lock file behind"
    # a run that fails once it holds the lock: it took it over, said so, and gave it back
    done = subprocess.run([*CLI, "train", "states", "--recipe", str(_recipe(tmp_path)),
                           "--run", str(run)], capture_output=True, text=True, env=_env())
    assert done.returncode == 2, done.stderr
    assert f"taking over the lock of {run}: pid {holder.pid} on {socket.gethostname()}" \
        in done.stderr and "is dead" in done.stderr
    assert "stage 'rollouts' of iteration 1 has not finished" in done.stderr
    assert not (run / LOCK_NAME).exists()


def _foreign_lock(run: Path, *, host: str, renewed_ago: float, pid: int = 4242,
                  pid_started: float = 0.0) -> None:
    run.mkdir(parents=True, exist_ok=True)
    renewed = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=renewed_ago)).isoformat()
    (run / LOCK_NAME).write_text(json.dumps({
        "pid": pid, "host": host, "command": "dapo-bench train all --run x",
        "started": "2025-01-01T00:00:00+00:00", "renewed": renewed, "pid_started": pid_started,
        "token": "foreign"}))


def test_a_lock_from_another_host_is_taken_over_once_it_stops_renewing(tmp_path: Path) -> None:
    run = tmp_path / "run"
    _foreign_lock(run, host="node-17.cluster.example", renewed_ago=5)
    with pytest.raises(UserInputError, match=r"pid 4242 on node-17\.cluster\.example .*"
                                             r"last renewed"):
        RunLock(run).acquire()

    _foreign_lock(run, host="node-17.cluster.example", renewed_ago=3600)
    said: list[str] = []
    with RunLock(run, say=said.append):
        assert _lock_record(run)["pid"] == os.getpid()
    assert len(said) == 1 and "pid 4242 on node-17.cluster.example" in said[0]
    assert "is stale since" in said[0]
    assert not (run / LOCK_NAME).exists()


def test_a_recycled_pid_is_not_the_holder(tmp_path: Path) -> None:
    """Same host, a live pid, but not the process that took the lock (its start time
    differs): the holder is dead."""
    run = tmp_path / "run"
    _foreign_lock(run, host=socket.gethostname(), renewed_ago=0, pid=os.getppid(),
                  pid_started=1.0)
    said: list[str] = []
    with RunLock(run, say=said.append):
        pass
    assert len(said) == 1 and said[0].endswith("is dead")


def test_the_holder_renews_its_lock(tmp_path: Path) -> None:
    run = tmp_path / "run"
    holder = _holder(run, DAPO_BENCH_LOCK_RENEW="0.2")
    try:
        first = _lock_record(run)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and _lock_record(run)["renewed"] == first["renewed"]:
            time.sleep(0.1)
        later = _lock_record(run)
        assert later["renewed"] > first["renewed"] and later["token"] == first["token"]
        assert later["started"] == first["started"]
    finally:
        _stop(holder)


@pytest.mark.slow
def test_ctrl_c_says_what_was_kept_exits_130_and_the_rerun_resumes(tmp_path: Path) -> None:
    from dapo_bench.toy.base import toy_base_path

    toy_base_path()  # build the base model before the run starts
    run = tmp_path / "run"
    cmd = [*CLI, "train", "all", "--recipe", str(_recipe(tmp_path)), "--run", str(run),
           "--no-progress"]
    proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    log = run / "iter1" / "mc" / "items.jsonl"
    try:
        # A second writer while the first holds the lock: refused, naming it.
        deadline = time.monotonic() + 300  # bounds the wait; nothing is asserted on time
        while time.monotonic() < deadline and proc.poll() is None and \
                not (run / LOCK_NAME).is_file():
            time.sleep(0.05)
        assert proc.poll() is None, "the run ended before a second writer could try"
        second = subprocess.run(cmd, capture_output=True, text=True, env=_env())
        assert second.returncode == 2 and f"pid {proc.pid}" in second.stderr, second.stderr
        # Ctrl-C mid-run (once Monte-Carlo has logged items, if it has not finished yet).
        while time.monotonic() < deadline and proc.poll() is None:
            if log.is_file() and log.read_text().count("\n") >= 2:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the run ended before it could be interrupted"
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=300)
    finally:
        _stop(proc)
    assert proc.returncode == 130, stderr
    # The line says what the run directory holds now, whichever stage the signal reached.
    manifests = sorted(run.glob("iter*/*/manifest.json"))
    unfinished = [d for d in run.glob("iter*/*") if d.is_dir() and (d / "items.jsonl").is_file()
                  and not (d / "manifest.json").exists()]
    kept = sum((d / "items.jsonl").read_text().count("\n") for d in unfinished)
    assert f"interrupted: kept {len(manifests)} finished stage(s) and the {kept} item(s) " \
           f"logged so far in {run}; run the same command to resume" in stderr
    assert len(manifests) >= 2  # rollouts and states at least
    assert "Traceback" not in stderr and "Aborted!" not in stderr
    assert not (run / LOCK_NAME).exists()
    kept_items = read_jsonl(log, tolerate_torn_tail=True)
    finished = {path: path.stat().st_mtime_ns for path in manifests}

    done = subprocess.run(cmd, capture_output=True, text=True, env=_env())
    assert done.returncode == 0, done.stderr
    for path, mtime in finished.items():  # finished stages are skipped, not redone
        assert path.stat().st_mtime_ns == mtime, path
    items = read_jsonl(log)
    ids = [r["id"] for r in items]
    assert len(ids) == len(set(ids)), "an item twice"
    assert all(record in items for record in kept_items)
    assert (run / "iter1" / "policy" / "manifest.json").is_file()
    assert not (run / LOCK_NAME).exists()
