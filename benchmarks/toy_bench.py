"""Wall time of `dapo-bench reproduce toy`, end to end and per stage.

    python benchmarks/toy_bench.py [--smoke] [--run DIR]

Runs the reproduction in a fresh run root (default: a temporary one) through the CLI and
prints the total wall time, each pipeline stage's time (from the run's ``timings.jsonl``) and
each evaluation's time (from ``summary.json``). The target for the full run on a 2-core machine
is 10 minutes from a fresh clone.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dapo_bench.environment import cpu_description
from dapo_bench.testing import output_agreement


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--run", type=Path, default=None)
    args = parser.parse_args()
    run = args.run or Path(tempfile.mkdtemp(prefix="toy-bench-")) / "run"
    cmd = [sys.executable, "-m", "dapo_bench.cli", "reproduce", "toy", "--run", str(run),
           "--no-progress", *(["--smoke"] if args.smoke else [])]
    print(f"CPU: {cpu_description()}")
    started = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    total = time.perf_counter() - started
    print(f"reproduce toy{' --smoke' if args.smoke else ''}: {total / 60:.1f} min wall ({run})")
    print(f"{'step':<40}{'seconds':>10}")
    for line in (run / "toy-base" / "timings.jsonl").read_text().splitlines():
        t = json.loads(line)
        label = f"iter {t['iteration']} {t['stage']}" + (f" ({t['variant']})" if t["variant"]
                                                          else "")
        print(f"{label:<40}{t['seconds']:>10.1f}")
    summary = json.loads((run / "results" / "summary.json").read_text())
    for label, seconds in summary["seconds"].items():
        if label.startswith("eval"):
            print(f"{label:<40}{seconds:>10.1f}")
    if "engines" in summary:
        e = summary["engines"]
        print(f"generation engines: {e['started']} started, {e['reloaded']} loaded new "
              f"weights in place, {e['reused']} reused as they were")
    stored = Path(__file__).resolve().parents[1] / "results" / ("toy-smoke" if args.smoke
                                                                 else "toy")
    agreement = output_agreement(stored, run / "results").values()
    same, total = sum(a.same for a in agreement), sum(a.stored for a in agreement)
    print(f"samples identical to {stored.name} (stored): {same:,} of {total:,}")


if __name__ == "__main__":
    main()
