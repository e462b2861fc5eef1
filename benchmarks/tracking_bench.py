"""What experiment tracking adds to a run: the seconds spent reading each finished stage's
figures (its summary, and the Monte-Carlo values and advantages streamed from its item log)
and writing them to TensorBoard event files, beside the seconds the stage itself took.

    python benchmarks/tracking_bench.py RUN_DIR

RUN_DIR is a finished run (e.g. from `dapo-bench train all --recipe recipes/toy-smoke.yaml`).
The event files go to a temporary folder; the run is only read. The trainers' per-step
curves are not in this figure: a callback that writes a handful of scalars per step.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from dapo_bench.pipeline.chain import log_figures
from dapo_bench.pipeline.runner import MANIFEST, Manifest
from dapo_bench.report.figures import summary_figures
from dapo_bench.report.tracking import TensorBoardTracker


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    args = parser.parse_args()
    if not list(args.run.glob(f"iter*/*/{MANIFEST}")):
        parser.error(f"{args.run}: no finished stage (not a run directory?)")
    stage_seconds: dict[str, float] = {}
    timings = args.run / "timings.jsonl"
    if timings.is_file():
        for line in timings.read_text().splitlines():
            t = json.loads(line)
            name = t["stage"] + (f"-{t['variant']}" if t.get("variant") else "")
            stage_seconds[f"iter{t['iteration']}/{name}"] = t["seconds"]
    total_log = total_stage = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        tracker = TensorBoardTracker(Path(tmp))
        print(f"{'stage':<28} {'tracking s':>10} {'stage s':>9}")
        for path in sorted(args.run.glob(f"iter*/*/{MANIFEST}")):
            prefix = f"{path.parent.parent.name}/{path.parent.name}"
            manifest = Manifest.read(path)
            assert manifest is not None
            start = time.perf_counter()
            log_figures(tracker, summary_figures(prefix, manifest, path.parent))
            spent = time.perf_counter() - start
            stage = stage_seconds.get(prefix, float("nan"))
            total_log += spent
            total_stage += stage if stage == stage else 0.0
            print(f"{prefix:<28} {spent:>10.4f} {stage:>9.1f}")
        tracker.close()
    print(f"{'all':<28} {total_log:>10.4f} {total_stage:>9.1f}")


if __name__ == "__main__":
    main()
