"""Throughput of the code sandbox against evalplus's own evaluator, on the same data, same run.

Every HumanEval+ canonical solution is graded against all its base and plus inputs, twice by
each tool: cold (expected outputs computed from the canonical solutions first: evalplus's
"ground truth", our reference runs) and warm (those cached). evalplus runs from its own venv
(created under --venv with ``--system-site-packages`` and ``pip install evalplus==0.3.1`` when
missing) and reads the same local file through ``HUMANEVAL_OVERRIDE_PATH``.

    python benchmarks/sandbox_bench.py [--data FILE] [--venv DIR] [--workers 2]

Prints wall times and pass counts (base, base+plus) for both, and the per-program overhead of
a warm jail. Timings on a shared machine vary; both tools run back to back in one process.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

EVALPLUS = "evalplus==0.3.1"


def default_data() -> Path:
    env = os.environ.get("DAPO_BENCH_DATA")
    root = Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"
    return root / "humaneval_plus" / "HumanEvalPlus-v0.1.10.jsonl"


def ours(data: Path, workers: int, cache: Path) -> tuple[float, int, int, int, str]:
    """(seconds, base passes, plus passes, total, sandbox stack) for one grading run."""
    os.environ["DAPO_BENCH_CACHE"] = str(cache)
    from dapo_bench.data.code_benchmarks import load_humaneval_plus
    from dapo_bench.grading.code import grade_programs

    problems = load_humaneval_plus(data)
    start = time.perf_counter()
    report: dict[str, Any] = {}
    grades = grade_programs(problems, [p.extra["canonical"] for p in problems],
                            workers=workers, report=report)
    seconds = time.perf_counter() - start
    return (seconds, sum(bool(g.base_correct) for g in grades), sum(g.correct for g in grades),
            len(grades), f"{report['stack']} ({', '.join(report['layers'])})")


def warm_overhead(workers: int, n: int = 400) -> float:
    """Milliseconds per trivial program through warm jails (start-up excluded)."""
    from dapo_bench.grading.code import open_pool
    from dapo_bench.grading.code.suites import base_job
    from dapo_bench.sandbox.runner import wire
    from dapo_bench.sandbox.runner.policy import DEFAULT_POLICY

    job = base_job(DEFAULT_POLICY, "function", "def f(x):\n    return x\n", entry_point="f",
                   tests=[wire.encode([1])], per_test=[1.0])
    with open_pool(workers, False, DEFAULT_POLICY) as pool:
        pool.run_all([(job, 10.0)] * workers)
        start = time.perf_counter()
        pool.run_all([(job, 10.0)] * n)
        return 1000 * (time.perf_counter() - start) / n * workers


def ensure_evalplus(venv: Path) -> Path:
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
                       check=True)
    probe = subprocess.run([str(python), "-c", "import evalplus"], capture_output=True)
    if probe.returncode != 0:
        subprocess.run([str(python), "-m", "pip", "install", "-q", EVALPLUS], check=True)
    return python


def evalplus(python: Path, data: Path, workers: int, work: Path, cache: Path
             ) -> tuple[float, int, int, int]:
    samples = work / "samples.jsonl"
    with samples.open("w") as handle:
        for line in data.open():
            task = json.loads(line)
            handle.write(json.dumps({"task_id": task["task_id"],
                                     "solution": task["prompt"] + task["canonical_solution"]})
                         + "\n")
    env = dict(os.environ, HUMANEVAL_OVERRIDE_PATH=str(data), XDG_CACHE_HOME=str(cache))
    start = time.perf_counter()
    subprocess.run([str(python), "-m", "evalplus.evaluate", "--dataset", "humaneval",
                    "--samples", str(samples), "--parallel", str(workers),
                    "--i_just_wanna_run"], env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    results = json.loads((work / "samples_eval_results.json").read_text())["eval"]
    rows = [r for task in results.values() for r in task]
    base = sum(r["base_status"] == "pass" for r in rows)
    plus = sum(r["base_status"] == r["plus_status"] == "pass" for r in rows)
    (work / "samples_eval_results.json").unlink()
    return seconds, base, plus, len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=default_data())
    parser.add_argument("--venv", type=Path, default=Path(tempfile.gettempdir()) / "evalplus-venv")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-evalplus", action="store_true")
    args = parser.parse_args()
    if not args.data.is_file():
        sys.exit(f"no HumanEval+ file at {args.data}: pass --data")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if not args.skip_evalplus:
            python = ensure_evalplus(args.venv)
            for label in ("cold", "warm"):
                seconds, base, plus, total = evalplus(python, args.data, args.workers, work,
                                                      work / "evalplus-cache")
                rows.append(("evalplus 0.3.1 evaluate", label, seconds, base, plus, total))
        for label in ("cold", "warm"):
            seconds, base, plus, total, stack = ours(args.data, args.workers,
                                                     work / "dapo-cache")
            rows.append(("dapo-bench sandbox", label, seconds, base, plus, total))
        overhead = warm_overhead(args.workers)
    print(f"\nHumanEval+ ({args.data.name}): every canonical solution, all base + plus inputs, "
          f"{args.workers} workers")
    print("cold = expected outputs computed first; warm = cached (evalplus's ground-truth "
          "pickle, our reference cache)")
    print(f"{'tool':26} {'run':5} {'seconds':>8} {'base pass':>10} {'plus pass':>10}")
    for tool, label, seconds, base, plus, total in rows:
        print(f"{tool:26} {label:5} {seconds:8.1f} {base:>6}/{total} {plus:>6}/{total}")
    print(f"sandbox: {stack}")
    print(f"warm jail: {overhead:.1f} ms per trivial program and worker (fork + reset), "
          "against about 45 ms to start a bubblewrap jail")


if __name__ == "__main__":
    main()
