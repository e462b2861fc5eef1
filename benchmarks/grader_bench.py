"""Speed and accuracy of the math grader, side by side with Math-Verify on the same inputs.

    python benchmarks/grader_bench.py [--data DIR] [--workers 2] [--mv-venv DIR]
                                      [--skip-metamorphic]

Workloads: the labelled fixtures (tests/fixtures/: ``math_grader_cases`` — the first pass's own
corpus, which the grader was tuned on; ``math_heldout_cases`` — written before the second
pass, then used to develop it; ``math_blind_cases`` — written after it, graded once; and
``math_audit_cases`` — the disagreements with Math-Verify, adjudicated by hand); the metamorphic
corpus of tests/math_metamorphic.py over the real golds (acceptance per transform for both
graders); and the 5,000 MATH test gold answers, each wrapped in a typical response ("... so the
answer is \\boxed{GOLD}."). Math-Verify is not a dependency of dapo-bench: the script runs it in
its own virtual environment (created on first use with ``python -m venv --system-site-packages`` and
``pip install math-verify``), in a separate process with a pool of ``--workers`` processes,
calling ``verify(parse("\\boxed{GOLD}"), parse(RESPONSE))``. Timings include starting each
side's worker processes. Prints cases/second, accuracy against the labels, and agreement.
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

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
LABELLED = (("math_grader_cases", "first-pass corpus (tuned on)"),
            ("math_heldout_cases", "held-out set (written first, then developed on)"),
            ("math_blind_cases", "blind set (written after, graded once: 72/74 then)"),
            ("math_audit_cases", "audit of disagreements with Math-Verify"),
            ("math_probe_cases", "probes written after the blind set (developed on)"),
            ("math_blind3_cases", "issue 19's blind set (graded once: 59/102, then developed on)"))

# Runs inside the Math-Verify environment: reads [gold, response] lines, prints one JSON object.
MV_RUNNER = r"""
import json, sys, time
from multiprocessing import Pool

def judge(pair):
    from math_verify import parse, verify
    gold, response = pair
    try:
        return bool(verify(parse("\\boxed{" + gold + "}"), parse(response)))
    except Exception:
        return False

if __name__ == "__main__":
    pairs = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
    start = time.perf_counter()
    with Pool(int(sys.argv[2])) as pool:
        verdicts = pool.map(judge, pairs, chunksize=16)
    print(json.dumps({"verdicts": verdicts, "seconds": time.perf_counter() - start}))
"""


def ensure_math_verify(venv: Path, version: str) -> Path:
    python = venv / "bin" / "python"
    check = [str(python), "-c", "import math_verify"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return python
    print(f"creating {venv} with math-verify=={version} ...", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
                   check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", f"math-verify=={version}"],
                   check=True)
    return python


def run_math_verify(python: Path, pairs: list[tuple[str, str]], workers: int
                    ) -> tuple[list[bool], float]:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "pairs.jsonl"
        data.write_text("".join(json.dumps([g, r]) + "\n" for r, g in pairs), encoding="utf-8")
        runner = Path(tmp) / "runner.py"
        runner.write_text(MV_RUNNER, encoding="utf-8")
        start = time.perf_counter()
        out = subprocess.run([str(python), str(runner), str(data), str(workers)],
                             capture_output=True, text=True, check=True)
        elapsed = time.perf_counter() - start
    return json.loads(out.stdout.strip().splitlines()[-1])["verdicts"], elapsed


def run_ours(pairs: list[tuple[str, str]], benchmarks: list[str], workers: int
             ) -> tuple[list[bool], float]:
    """Grade in a fresh interpreter so the timing includes starting the worker pool."""
    code = (
        "import json, sys, time\n"
        "from dapo_bench.grading.math import grade_many\n"
        "rows = [json.loads(l) for l in open(sys.argv[1], encoding='utf-8')]\n"
        "start = time.perf_counter(); verdicts = [None] * len(rows); groups = {}\n"
        "for i, (r, g, b) in enumerate(rows): groups.setdefault(b, []).append(i)\n"
        "for b, idx in groups.items():\n"
        "    res = grade_many([(rows[i][0], rows[i][1]) for i in idx], b,"
        " workers=int(sys.argv[2]))\n"
        "    for i, g in zip(idx, res): verdicts[i] = g.correct\n"
        "print(json.dumps({'verdicts': verdicts, 'seconds': time.perf_counter() - start}))\n")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "pairs.jsonl"
        data.write_text("".join(json.dumps([r, g, b]) + "\n"
                                for (r, g), b in zip(pairs, benchmarks, strict=True)),
                        encoding="utf-8")
        env = dict(os.environ, PYTHONPATH=str(REPO))
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", code, str(data), str(workers)],
                             capture_output=True, text=True, check=True, env=env)
        elapsed = time.perf_counter() - start
    return json.loads(out.stdout.strip().splitlines()[-1])["verdicts"], elapsed


def report(name: str, n: int, ours: tuple[list[bool], float], theirs: tuple[list[bool], float],
           labels: list[bool] | None) -> None:
    print(f"\n== {name}: {n} cases")
    print(f"{'grader':<14}{'seconds':>9}{'cases/s':>10}{'accuracy':>10}")
    for label, (verdicts, seconds) in (("dapo-bench", ours), ("math-verify", theirs)):
        acc = (100 * sum(v == y for v, y in zip(verdicts, labels, strict=True)) / n
               if labels is not None else 100 * sum(verdicts) / n)
        print(f"{label:<14}{seconds:>9.2f}{n / seconds:>10.1f}{acc:>9.2f}%")
    agree = sum(a == b for a, b in zip(ours[0], theirs[0], strict=True))
    print(f"agreement: {agree}/{n} ({100 * agree / n:.2f}%)"
          + ("" if labels is not None else "  (accuracy = share graded correct; all should be)"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=None,
                        help="shared data dir (default: $DAPO_BENCH_DATA or ../shared/data)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--mv-venv", type=Path,
                        default=Path(tempfile.gettempdir()) / "dapo-bench-math-verify",
                        help="virtual environment holding math-verify (created if missing)")
    parser.add_argument("--mv-version", default="0.9.0")
    parser.add_argument("--skip-metamorphic", action="store_true",
                        help="leave out the metamorphic corpus (about 88,000 cases; Math-Verify "
                             "takes minutes on it)")
    args = parser.parse_args()
    python = ensure_math_verify(args.mv_venv, args.mv_version)
    print(f"math-verify: {python} (its own venv), verify(parse('\\boxed{{GOLD}}'), "
          f"parse(RESPONSE)) in a Pool({args.workers}); dapo-bench: grade_many(workers="
          f"{args.workers}); both timed from a fresh process")

    for stem, title in LABELLED:
        path = FIXTURES / f"{stem}.jsonl"
        if not path.is_file():
            continue
        cases = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x]
        pairs = [(c["response"], c["gold"]) for c in cases]
        labels = [bool(c["expected"]) for c in cases]
        ours = run_ours(pairs, [c["benchmark"] for c in cases], args.workers)
        theirs = run_math_verify(python, pairs, args.workers)
        report(f"{stem}: {title}", len(cases), ours, theirs, labels)
        for label, (verdicts, _) in (("dapo-bench", ours), ("math-verify", theirs)):
            fp = sum(v and not y for v, y in zip(verdicts, labels, strict=True))
            fn = sum(y and not v for v, y in zip(verdicts, labels, strict=True))
            print(f"  {label}: {fp} false positives, {fn} false negatives")

    data_dir = args.data or Path(os.environ.get("DAPO_BENCH_DATA", REPO.parent / "shared/data"))
    sys.path.insert(0, str(REPO))
    from dapo_bench.data.registry import load_benchmark

    if not args.skip_metamorphic:
        sys.path.insert(0, str(REPO / "tests"))
        from math_metamorphic import cases as metamorphic_cases
        from math_metamorphic import load_golds

        rows = list(metamorphic_cases(load_golds(data_dir)))
        pairs = [(r["response"], r["gold"]) for r in rows]
        labels = [bool(r["expected"]) for r in rows]
        ours = run_ours(pairs, [r["benchmark"] for r in rows], args.workers)
        theirs = run_math_verify(python, pairs, args.workers)
        report("metamorphic corpus (tests/math_metamorphic.py)", len(rows), ours, theirs, labels)
        print(f"{'transform':<26}{'kind':>6}{'cases':>7}{'dapo-bench':>12}{'math-verify':>13}")
        per: dict[str, list[int]] = {}
        for k, r in enumerate(rows):
            per.setdefault(r["transform"], []).append(k)
        for name, idx in per.items():
            acc = [100 * sum(v[k] == labels[k] for k in idx) / len(idx)
                   for v in (ours[0], theirs[0])]
            print(f"{name:<26}{rows[idx[0]]['kind']:>6}{len(idx):>7}{acc[0]:>11.2f}%"
                  f"{acc[1]:>12.2f}%")

    golds = [str(p.gold) for p in load_benchmark("math", data_dir=data_dir)]
    pairs = [(f"Let me work it out.\n... so the answer is \\boxed{{{g}}}.", g) for g in golds]
    ours = run_ours(pairs, ["math"] * len(pairs), args.workers)
    theirs = run_math_verify(python, pairs, args.workers)
    report("MATH test gold answers in a response", len(pairs), ours, theirs, None)


if __name__ == "__main__":
    main()
