"""Entry point of one math grading worker process (started by ``dapo_bench.grading.math.pool``).

Reads ``[index, answer, gold, benchmark(, policy)]`` JSON lines; writes ``[index, correct,
rule]`` lines.
It caps its own address space first, so an exploding expression fails here, not in the caller.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

DEFAULT_MEMORY_MB = 1024


def limit_memory(memory_mb: int) -> None:
    """RLIMIT_AS at ``memory_mb`` (at least 1.5x what the loaded interpreter already maps)."""
    import resource

    limit = memory_mb * 1024 * 1024
    try:
        with open(f"/proc/{os.getpid()}/status", encoding="ascii") as status:
            vm = next(int(x.split()[1]) * 1024 for x in status if x.startswith("VmSize:"))
        limit = max(limit, vm + limit // 2)
    except (OSError, StopIteration):
        pass
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def main(memory_mb: int) -> None:
    from dapo_bench.grading.math import judge_answer

    judge_answer("\\frac{1}{2}", "\\sqrt{x}", "math")  # load sympy and the grammar up front
    limit_memory(memory_mb)
    out = sys.stdout.buffer
    out.write(b'"ready"\n')
    out.flush()
    for raw in sys.stdin.buffer:
        task: list[Any] = json.loads(raw)
        idx, answer, gold, benchmark, *rest = task
        try:
            verdict = judge_answer(answer, gold, benchmark, *rest[:1])
            reply = [idx, verdict.correct, verdict.rule]
        except MemoryError:
            reply = [idx, False, "memory"]
        except RecursionError:
            reply = [idx, False, "too-deep"]
        except Exception:  # a grader bug must not take the pool down: judged wrong
            reply = [idx, False, "error"]
        out.write(json.dumps(reply).encode("utf-8") + b"\n")
        out.flush()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_MEMORY_MB)
