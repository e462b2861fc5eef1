"""Item logs at scale: append throughput of a stage's log and the memory of sealing it.

    python benchmarks/itemlog_bench.py [--states 100000]

Writes ``--states`` Monte-Carlo records shaped like a 7B math run's (a 200-token prompt and a
150-token prefix as token ids, the prefix's steps as text, 8 continuations' first actions) in
jobs of 500 that finish out of order, as Ray workers return them; then seals the log in
canonical order with ``StageLog.finish`` and, for comparison, with the earlier way (every line
held in memory). Prints records/s and MB/s of the appends, and the time and peak Python memory
(tracemalloc) of each reorder. One driver writes every log: the figure to compare is the rate
at which a cluster produces Monte-Carlo records (8 H100s at 8,000 tokens/s each, 8
continuations of ~45 tokens per state: ~180 records/s).
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
import tracemalloc
from pathlib import Path

from dapo_bench.pipeline.runner import ITEMS, StageLog


def record(i: int, rng: random.Random) -> dict:
    step = "Then we compute the next quantity from the previous one, so 12 + 30 = 42.\n"
    return {"id": f"state-{i:09d}", "problem_id": f"math-{i // 20:07d}",
            "prompt": "Solve the problem and put the answer in \\boxed{}. " * 8,
            "steps": [step] * 5, "k": 5,
            "prompt_ids": [rng.randrange(150000) for _ in range(200)],
            "ids": [rng.randrange(150000) for _ in range(150)], "mc": 0.375,
            "completions": [{"action": step, "terminal": False, "correct": bool(j % 2)}
                            for j in range(8)]}


def in_memory_reorder(path: Path, order: list[str]) -> None:
    """The earlier seal: every line held in memory, sorted, written back."""
    lines: dict[str, str] = {}
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            lines[json.loads(line)["id"]] = line
    rank = {i: k for k, i in enumerate(order)}
    ranked = sorted(lines, key=lambda i: rank[i])
    path.write_text("".join(lines[i] for i in ranked), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--states", type=int, default=100_000)
    args = parser.parse_args()
    rng = random.Random(0)
    order = [f"state-{i:09d}" for i in range(args.states)]
    jobs = [list(range(s, min(s + 500, args.states))) for s in range(0, args.states, 500)]
    rng.shuffle(jobs)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "mc"
        log = StageLog(directory, "bench")
        log.open()
        records = [record(i, rng) for i in range(min(args.states, 2000))]
        started = time.perf_counter()
        with log.appender() as out:
            for job in jobs:
                for i in job:
                    out.write({**records[i % len(records)], "id": order[i]})
        seconds = time.perf_counter() - started
        size = (directory / ITEMS).stat().st_size
        print(f"append: {args.states:,} records, {size / 1e6:,.0f} MB in {seconds:.1f} s: "
              f"{args.states / seconds:,.0f} records/s, {size / 1e6 / seconds:,.0f} MB/s")
        copy = Path(tmp) / "copy.jsonl"
        copy.write_bytes((directory / ITEMS).read_bytes())
        for label, seal in (("StageLog.finish (positions)",
                             lambda: log.finish("mc", {}, order=order)),
                            ("in memory (earlier)", lambda: in_memory_reorder(copy, order))):
            tracemalloc.start()
            started = time.perf_counter()
            seal()
            seconds = time.perf_counter() - started
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            print(f"seal, {label}: {seconds:.1f} s, peak Python memory {peak / 1e6:,.0f} MB "
                  f"({peak / size:.2f} x the log)")
        assert (directory / ITEMS).read_bytes() == copy.read_bytes()


if __name__ == "__main__":
    main()
