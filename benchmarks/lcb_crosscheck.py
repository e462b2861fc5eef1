"""Our LiveCodeBench and TACO verdicts beside LiveCodeBench's own grader's, program by program.

    python benchmarks/lcb_crosscheck.py [--corpus FILE] [--data DIR] [--workers 2]

Grades every program of the cross-check corpus (default: the project's, in
tests/fixtures/interop/lcb_variants.jsonl, on the fixture problems) with dapo-bench's sandbox
and with LiveCodeBench's runner (nvidia-livecodebench 26.3, its own virtual environment, a
child process), and prints each pair of verdicts, the agreement per benchmark, and every
disagreement with the corpus's adjudication (a key of KNOWN_LCB_DIFFERENCES, or "UNEXPLAINED").
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path,
                        default=REPO / "tests" / "fixtures" / "interop" / "lcb_variants.jsonl")
    parser.add_argument("--data", type=Path, default=REPO / "tests" / "fixtures" / "data")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    os.environ.setdefault("DAPO_BENCH_LCB_RELEASE", "release_v2")  # the fixture's two files

    from dapo_bench.data.registry import load_benchmark
    from dapo_bench.interop.livecodebench import KNOWN_LCB_DIFFERENCES, cross_check
    from dapo_bench.interop.tools import LIVECODEBENCH, tool_python

    rows = [json.loads(x) for x in args.corpus.read_text(encoding="utf-8").splitlines()
            if x.strip()]
    python = tool_python(LIVECODEBENCH, create=True)
    for bench in ("livecodebench", "taco"):
        if not any(r["benchmark"] == bench for r in rows):
            continue
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as work:
            checked = cross_check(bench, load_benchmark(bench, data_dir=args.data), rows, work,
                                  workers=args.workers, python=python)
        seconds = time.perf_counter() - start
        print(f"\n{bench}: {len(checked)} programs, {seconds:.0f} s (both graders)")
        print(f"{'task':20} {'program':20} {'ours':8} {'LiveCodeBench':14} adjudication")
        for c in checked:
            theirs = "pass" if c.lcb else f"fail {c.lcb_results}"
            why = "" if c.agree else (c.why if c.why in KNOWN_LCB_DIFFERENCES
                                      else "UNEXPLAINED")
            print(f"{c.task_id:20} {c.kind:20} {c.ours_verdict:8} {theirs:14} {why}")
        agree = sum(c.agree for c in checked)
        unexplained = sum(not c.explained for c in checked)
        print(f"verdicts agree on {agree}/{len(checked)}; {len(checked) - agree - unexplained} "
              f"adjudicated, {unexplained} unexplained")


if __name__ == "__main__":
    main()
