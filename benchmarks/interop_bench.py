"""dapo-bench side by side with lm-evaluation-harness, evalplus and Math-Verify, same inputs.

    python benchmarks/interop_bench.py [--data DIR] [--workers 2] [--toy-limit 1000]
                                       [--skip-lm-eval] [--skip-evalplus]

1. lm-eval: the exported `dapo_toy_arith` task, run by lm-eval's own `hf` model on the shipped
   toy base model, against `dapo-bench eval` (HF backend) on the same first N problems:
   accuracy, identical outputs and verdicts, wall time. `dapo-bench eval` also cross-grades
   with Math-Verify here, so the agreement rate on the toy outputs is printed too.
2. evalplus: every HumanEval+ and MBPP+ task, its canonical solution and four deliberately
   wrong programs (dapo_bench.interop.evalplus.variant), graded by our sandbox and by
   evalplus 0.3.1 (its own virtual environment, a child process); every disagreement listed
   with evalplus's statuses, its verdict when it reruns that program alone, and why.

lm-eval and Math-Verify come from the `interop` extra (or DAPO_BENCH_LM_EVAL_PYTHON,
DAPO_BENCH_MATH_VERIFY_PYTHON); evalplus's environment is made on first use under the cache.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

LM_EVAL_RUN = r"""
import json, sys, time
import lm_eval
from lm_eval.tasks import TaskManager
bundle, model, limit, out = sys.argv[1:5]
start = time.perf_counter()
res = lm_eval.simple_evaluate(
    model="hf", model_args=f"pretrained={model},dtype=float32", tasks=["dapo_toy_arith"],
    task_manager=TaskManager(include_path=bundle), limit=int(limit), batch_size=32,
    device="cpu", log_samples=True)
samples = [{"id": s["doc"]["id"], "resp": s["resps"][0][0], "acc": s["acc"]}
           for s in res["samples"]["dapo_toy_arith"]]
json.dump({"acc": res["results"]["dapo_toy_arith"]["acc,none"], "samples": samples,
           "seconds": time.perf_counter() - start}, open(out, "w"))
"""


def lm_eval_section(limit: int, workers: int, work: Path) -> None:
    from dapo_bench.evaluate import EvalSettings, load_stored_samples, run_eval
    from dapo_bench.interop.lm_eval import write_bundle
    from dapo_bench.interop.tools import LM_EVAL, harness_env, tool_python
    from dapo_bench.toy.base import toy_base_path

    model = toy_base_path()
    bundle = work / "bundle"
    write_bundle(bundle, tasks=["dapo_toy_arith"])
    out = work / "lm_eval.json"
    start = time.perf_counter()
    subprocess.run([tool_python(LM_EVAL), "-c", LM_EVAL_RUN, str(bundle), str(model),
                    str(limit), str(out)], check=True, cwd=work, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL,
                   env=harness_env({"HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}))
    lm_wall = time.perf_counter() - start
    got = json.loads(out.read_text())
    start = time.perf_counter()
    report = run_eval(EvalSettings(model=str(model), out=work / "eval", name="toy-base",
                                   benchmarks=["toy_arith"], backend="hf", max_new_tokens=96,
                                   dtype="float32", limit=limit, progress=False,
                                   workers=workers, cross_grade="math-verify"),
                      say=lambda line: print("  " + line))
    ours_wall = time.perf_counter() - start
    metrics = report.outcomes[0].result.metrics
    stored = {s.id: s for s in load_stored_samples(work / "eval", "toy-base", "toy_arith")}
    same_text = sum(stored[s["id"]].output == s["resp"] for s in got["samples"])
    same_verdict = sum(stored[s["id"]].correct == bool(s["acc"]) for s in got["samples"])
    n = len(got["samples"])
    print(f"\n== toy_arith, first {limit} problems, toy base model, greedy, 96 new tokens")
    print(f"{'tool':34}{'accuracy':>10}{'wall s':>9}")
    print(f"{'lm-eval 0.4.13 hf (dapo_toy_arith)':34}{100 * got['acc']:>9.2f}%"
          f"{lm_wall:>9.1f}")
    print(f"{'dapo-bench eval --backend hf':34}{metrics['accuracy']:>9.2f}%{ours_wall:>9.1f}")
    print(f"identical outputs {same_text}/{n}, identical verdicts {same_verdict}/{n}; "
          f"Math-Verify agrees with our verdicts on {metrics['math_verify_agreement']:.2f}%")


def evalplus_section(data_dir: Path, workers: int, work: Path, benchmarks: list[str]) -> None:
    from dapo_bench.data.registry import get_benchmark, resolve_source
    from dapo_bench.interop.evalplus import cross_check

    for benchmark in benchmarks:
        data = resolve_source(get_benchmark(benchmark), None, data_dir)
        start = time.perf_counter()
        rows = cross_check(benchmark, data, work / benchmark, workers=workers)
        seconds = time.perf_counter() - start
        tasks = len({r.task_id for r in rows})
        agree = sum(r.agree for r in rows)
        print(f"\n== {benchmark} ({Path(data).name}): {tasks} tasks x "
              f"{len(rows) // tasks} programs, {seconds:.0f} s for both tools")
        print(f"verdicts (base, base+plus) agree on {agree}/{len(rows)}")
        print("ours by kind:", dict(Counter((r.kind, r.ours) for r in rows)))
        for r in rows:
            if not r.agree:
                rerun = f", alone {r.evalplus_rerun}" if r.evalplus_rerun else ""
                print(f"  {r.task_id} {r.kind}: ours {r.ours}, evalplus {r.evalplus} "
                      f"{r.evalplus_status}{rerun}  [{r.explained or 'UNEXPLAINED'}]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=None,
                        help="shared data dir (default: $DAPO_BENCH_DATA or ../shared/data)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--toy-limit", type=int, default=1000)
    parser.add_argument("--skip-lm-eval", action="store_true")
    parser.add_argument("--skip-evalplus", action="store_true")
    parser.add_argument("--evalplus-benchmarks", default="humaneval_plus,mbpp_plus")
    args = parser.parse_args()
    data_dir = args.data or Path(os.environ.get("DAPO_BENCH_DATA",
                                                REPO.parent / "shared" / "data"))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if not args.skip_lm_eval:
            for limit in sorted({100, args.toy_limit}):
                lm_eval_section(limit, args.workers, work / f"toy{limit}")
        if not args.skip_evalplus:
            evalplus_section(data_dir, args.workers, work,
                             args.evalplus_benchmarks.split(","))


if __name__ == "__main__":
    main()
