"""Cross-grading with Math-Verify: its verdict beside ours for every sample, and the cases where
the two graders differ, with both extractions.

Math-Verify parses model text with sympy (and can take unbounded time or memory on hostile
input), so it never runs in the harness process: each of ``workers`` child processes runs
``verify(parse("\\boxed{GOLD}"), parse(RESPONSE))`` (as ``benchmarks/grader_bench.py`` measures
it) in Math-Verify's interpreter, under an address-space limit, one answer at a time. An
answer that overruns ``timeout_s`` has its worker killed and replaced; its verdict is
``timeout`` (counted wrong, as our own grader does). A worker that dies gives ``error``.

Records gain ``math_verify: {"correct", "extracted", "verdict"}``; the disagreements file
holds one row per sample the two graders decide differently: its id, the gold answer, both
verdicts and extractions, our deciding rule and the response.
"""

from __future__ import annotations

import json
import os
import queue
import select
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NAME = "math-verify"
DEFAULT_TIMEOUT_S = 20.0  # Math-Verify bounds parse and verify at 5 s each itself
MEMORY_BYTES = 2 << 30

# Runs in Math-Verify's interpreter (python -I: nothing of the harness on its path).
WORKER = r"""
import json, resource, sys
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from math_verify import parse, verify

def text(parsed):
    strings = [x for x in parsed if isinstance(x, str)]
    return strings[-1] if strings else (str(parsed[0]) if parsed else None)

sys.stdout.write("ready\n"); sys.stdout.flush()
for line in sys.stdin:
    gold, response = json.loads(line)
    try:
        g = parse("\\boxed{" + gold + "}")
        p = parse(response)
        out = {"correct": bool(verify(g, p)), "extracted": text(p), "verdict": None}
        out["verdict"] = "correct" if out["correct"] else "wrong"
    except BaseException as exc:  # MemoryError, its own timeouts, parser errors
        out = {"correct": False, "extracted": None, "verdict": "error",
               "error": type(exc).__name__}
    sys.stdout.write(json.dumps(out) + "\n"); sys.stdout.flush()
"""


@dataclass(frozen=True)
class MVVerdict:
    correct: bool
    extracted: str | None
    verdict: str  # correct | wrong | timeout | error

    def to_dict(self) -> dict[str, Any]:
        return {"correct": self.correct, "extracted": self.extracted, "verdict": self.verdict}


class _Worker:
    def __init__(self, python: str) -> None:
        self.python = python
        self.proc: subprocess.Popen[str] | None = None

    def _start(self) -> subprocess.Popen[str]:
        proc = subprocess.Popen([self.python, "-I", "-c", WORKER, str(MEMORY_BYTES)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True, bufsize=1,
                                env={k: v for k, v in os.environ.items()
                                     if k not in ("PYTHONPATH", "PYTHONSTARTUP")})
        assert proc.stdout is not None
        if self._readline(proc, 120.0) != "ready":
            self._kill(proc)
            raise RuntimeError(f"Math-Verify worker ({self.python}) did not start")
        return proc

    @staticmethod
    def _readline(proc: subprocess.Popen[str], timeout_s: float) -> str | None:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], timeout_s)
        if not ready:
            return None
        line = proc.stdout.readline()
        return line.strip() if line else None

    @staticmethod
    def _kill(proc: subprocess.Popen[str]) -> None:
        proc.kill()
        proc.wait()

    def judge(self, gold: str, response: str, timeout_s: float) -> MVVerdict:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = self._start()
        proc = self.proc
        assert proc.stdin is not None
        try:
            proc.stdin.write(json.dumps([gold, response]) + "\n")
            proc.stdin.flush()
        except BrokenPipeError:
            self.close()
            return MVVerdict(False, None, "error")
        line = self._readline(proc, timeout_s)
        if line is None:
            timed_out = proc.poll() is None
            self.close()
            return MVVerdict(False, None, "timeout" if timed_out else "error")
        out = json.loads(line)
        return MVVerdict(bool(out["correct"]), out.get("extracted"), out["verdict"])

    def close(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self._kill(self.proc)
            self.proc = None


def verify_many(pairs: Sequence[tuple[str, str]], *, workers: int | None = None,
                timeout_s: float = DEFAULT_TIMEOUT_S, python: str | None = None,
                on_done: Callable[[], None] | None = None) -> list[MVVerdict]:
    """Math-Verify's verdict on each ``(response, gold)`` pair, from bounded child processes."""
    from dapo_bench.interop.tools import MATH_VERIFY, tool_python

    if not pairs:
        return []
    python = python or tool_python(MATH_VERIFY)
    n = max(1, min(workers or os.cpu_count() or 1, len(pairs)))
    todo: queue.Queue[int] = queue.Queue()
    for i in range(len(pairs)):
        todo.put(i)
    results: list[MVVerdict | None] = [None] * len(pairs)
    errors: list[BaseException] = []

    def run() -> None:
        worker = _Worker(python)
        try:
            while True:
                try:
                    i = todo.get_nowait()
                except queue.Empty:
                    return
                response, gold = pairs[i]
                results[i] = worker.judge(gold, response, timeout_s)
                if on_done is not None:
                    on_done()
        except BaseException as exc:
            errors.append(exc)
        finally:
            worker.close()

    threads = [threading.Thread(target=run, daemon=True) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return [r if r is not None else MVVerdict(False, None, "error") for r in results]


@dataclass(frozen=True)
class CrossSummary:
    n: int
    agree: int
    ours_correct: int
    theirs_correct: int
    disagreements: Path
    seconds: float

    @property
    def agreement(self) -> float:
        return 100.0 * self.agree / self.n if self.n else 100.0

    def line(self, label: str) -> str:
        return (f"{label}: {NAME} agrees on {self.agree}/{self.n} ({self.agreement:.2f}%); "
                f"accuracy ours {100 * self.ours_correct / max(1, self.n):.2f}%, {NAME} "
                f"{100 * self.theirs_correct / max(1, self.n):.2f}%; "
                f"{self.n - self.agree} disagreement(s) in {self.disagreements}")


def cross_grade_records(records: list[dict[str, Any]], *, response_key: str, gold_key: str,
                        disagreements: str | Path, workers: int | None = None,
                        timeout_s: float = DEFAULT_TIMEOUT_S) -> CrossSummary:
    """Add Math-Verify's verdict to each record (``record["math_verify"]``) and write the
    disagreements file. Records carry ours as ``correct``, ``extracted`` and ``rule`` or
    ``detail``, an ``id``, the response and the gold answer under the given keys."""
    from dapo_bench.jsonio import atomic_write_jsonl

    start = time.perf_counter()
    pairs = [(str(r[response_key]), str(r[gold_key])) for r in records]
    verdicts = verify_many(pairs, workers=workers, timeout_s=timeout_s)
    rows = []
    for rec, mv in zip(records, verdicts, strict=True):
        rec["math_verify"] = mv.to_dict()
        if bool(rec["correct"]) != mv.correct:
            where = {"line": rec["line"]} if "line" in rec else {}
            rows.append({"id": rec.get("id"), **where, "gold": rec[gold_key],
                         "dapo_bench": {"correct": bool(rec["correct"]),
                                        "extracted": rec.get("extracted"),
                                        "rule": rec.get("rule", rec.get("detail")),
                                        "verdict": rec.get("verdict")},
                         NAME: mv.to_dict(), "response": rec[response_key]})
    path = Path(disagreements)
    atomic_write_jsonl(path, rows)
    return CrossSummary(len(records), len(records) - len(rows),
                        sum(bool(r["correct"]) for r in records),
                        sum(v.correct for v in verdicts), path,
                        time.perf_counter() - start)


def check_name(name: str | None) -> str | None:
    """Validate a ``--cross-grade`` value."""
    from dapo_bench.errors import UserInputError

    if name is None or name == NAME:
        return name
    raise UserInputError(f"unknown cross-grader {name!r}; available: {NAME}")


def disagreements_path(samples_path: Path) -> Path:
    """``X.samples.jsonl`` -> ``X.disagreements.math-verify.jsonl`` (beside it)."""
    stem = samples_path.name.removesuffix(".jsonl").removesuffix(".samples").removesuffix(
        ".graded")
    return samples_path.with_name(f"{stem}.disagreements.{NAME}.jsonl")


def cross_grade_samples(samples: list[Any], benchmark: str, samples_path: Path, *,
                        workers: int | None = None) -> tuple[list[Any], CrossSummary]:
    """``dapo-bench eval``: the graded :class:`SampleRecord` list with Math-Verify's verdict
    in each (field ``math_verify``), and the summary; the disagreements go beside the
    samples file."""
    from dapo_bench.report.results import SampleRecord

    records = [s.model_dump() for s in samples]
    summary = cross_grade_records(records, response_key="output", gold_key="gold",
                                  disagreements=disagreements_path(samples_path),
                                  workers=workers)
    return [SampleRecord(**r) for r in records], summary


def cross_grade_result(result: Any, samples: list[Any], samples_path: Path, *,
                       workers: int | None = None, say: Callable[[str], None] = print
                       ) -> tuple[Any, list[Any]]:
    """``dapo-bench eval --cross-grade math-verify`` on one benchmark's graded samples: the
    result with ``math_verify_agreement`` and ``math_verify_accuracy`` (percent) among its
    metrics, and the samples with Math-Verify's verdicts. Code benchmarks are left alone."""
    from dapo_bench.data.registry import get_benchmark

    if get_benchmark(result.benchmark).kind != "math":
        say(f"{result.benchmark}: not cross-graded ({NAME} grades math answers only)")
        return result, samples
    samples, summary = cross_grade_samples(samples, result.benchmark, samples_path,
                                           workers=workers)
    metrics = {**result.metrics, "math_verify_agreement": summary.agreement,
               "math_verify_accuracy": 100.0 * summary.theirs_correct / max(1, summary.n)}
    say(summary.line(result.benchmark))
    return result.model_copy(update={"metrics": metrics}), samples


def cross_grade_file_records(records: list[dict[str, Any]], responses: list[str],
                             verdicts_path: Path, *, workers: int | None = None,
                             say: Callable[[str], None] = print) -> CrossSummary:
    """``dapo-bench grade --cross-grade math-verify``: Math-Verify's verdict in each verdict
    record; the disagreements beside the verdicts file."""
    for rec, response in zip(records, responses, strict=True):
        rec["response"] = response
    summary = cross_grade_records(records, response_key="response", gold_key="gold",
                                  disagreements=disagreements_path(verdicts_path),
                                  workers=workers)
    for rec in records:
        del rec["response"]
    say(summary.line("cross-grade"))
    return summary
