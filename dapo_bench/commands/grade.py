"""`dapo-bench grade`: grade a JSONL of responses against a benchmark's gold answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from dapo_bench.errors import DataError, UserInputError


def read_responses(path: Path) -> list[tuple[int, str, str]]:
    """``(line, id, response)`` per row; every problem with the row is named by file and line."""
    from dapo_bench.jsonio import iter_jsonl

    if not path.is_file():
        raise UserInputError(f"responses file {path} does not exist")
    rows = []
    for line, obj in iter_jsonl(path):
        for field in ("id", "response"):
            if field not in obj:
                raise DataError(path, "missing", line=line, field=field)
        pid, response = obj["id"], obj["response"]
        if not isinstance(pid, (str, int)) or isinstance(pid, bool):
            raise DataError(path, f"expected a string or integer, got {type(pid).__name__}",
                            line=line, field="id")
        if not isinstance(response, str):
            raise DataError(path, f"expected a string, got {type(response).__name__}",
                            line=line, field="response")
        rows.append((line, str(pid), response))
    if not rows:
        raise DataError(path, "no responses in the file")
    return rows


def grade_math_file(path: Path, benchmark: str, data: str | None, out: Path | None,
                    workers: int | None, timeout_s: float, policy: str | None = None,
                    cross_grade: str | None = None) -> tuple[int, int, int, Path]:
    """Grade every row; returns (correct, total, timeouts, verdicts file). With
    ``cross_grade="math-verify"`` each verdict also carries Math-Verify's (and the
    disagreements go beside the verdicts file)."""
    from dapo_bench.data.registry import load_benchmark
    from dapo_bench.grading.math import grade_many
    from dapo_bench.jsonio import atomic_write_jsonl

    rows = read_responses(path)
    gold = {p.id: p.gold for p in load_benchmark(benchmark, source=data)}
    pairs = []
    for line, pid, response in rows:
        if pid not in gold:
            raise DataError(path, f"id {pid!r} is not a problem of benchmark {benchmark!r}",
                            line=line, field="id")
        pairs.append((response, str(gold[pid])))
    grades = grade_many(pairs, benchmark, workers=workers, timeout_s=timeout_s, progress=True,
                        policy=policy)
    records: list[dict[str, Any]] = [
        {"id": pid, "line": line, "correct": g.correct, "verdict": g.verdict,
         "extracted": g.extracted, "rule": g.detail, "gold": gold[pid]}
        for (line, pid, _), g in zip(rows, grades, strict=True)]
    target = out if out is not None else path.with_name(path.stem + ".graded.jsonl")
    if cross_grade:
        from dapo_bench.interop.math_verify import cross_grade_file_records

        cross_grade_file_records(records, [r for _, _, r in rows], target, workers=workers)
    atomic_write_jsonl(target, records)
    correct = sum(g.correct for g in grades)
    timeouts = sum(g.verdict == "timeout" for g in grades)
    return correct, len(grades), timeouts, target


@click.command("grade")
@click.argument("responses", type=click.Path(path_type=Path))
@click.option("--benchmark", required=True, help="Benchmark name, e.g. math500 or gsm8k.")
@click.option("--data", default=None,
              help="Data directory, JSONL file or hub dataset id (default: $DAPO_BENCH_DATA, "
                   "then the hub).")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Per-sample verdicts (default: RESPONSES with .graded.jsonl).")
@click.option("--workers", type=int, default=None, help="Grading processes (default: cores).")
@click.option("--timeout", "timeout_s", type=float, default=5.0, show_default=True,
              help="Seconds allowed per answer (math).")
@click.option("--math-policy", type=click.Choice(["strict", "qwen"]), default=None,
              help="Math numeric policy: strict (default; a decimal never stands for an exact "
                   "gold) or qwen (the Qwen toolkit's relative 1e-4 whenever a decimal is "
                   "involved). Default: $DAPO_BENCH_MATH_POLICY, then strict.")
@click.option("--unsafe-no-sandbox", is_flag=True,
              help="Code only: run model-written programs WITHOUT isolation. Only for machines "
                   "where no sandbox works and the programs are trusted.")
@click.option("--cross-grade", type=click.Choice(["math-verify"]), default=None,
              help="Math only: also grade with Math-Verify (bounded worker processes); both "
                   "verdicts per row, disagreements in OUT's .disagreements.math-verify.jsonl.")
def command(responses: Path, benchmark: str, data: str | None, out: Path | None,
            workers: int | None, timeout_s: float, math_policy: str | None,
            unsafe_no_sandbox: bool, cross_grade: str | None) -> None:
    """Grade RESPONSES.jsonl (rows with `id` and `response`) and print the accuracy."""
    from dapo_bench.data.registry import get_benchmark

    spec = get_benchmark(benchmark)
    if spec.kind == "code":
        if cross_grade:
            raise UserInputError(f"--cross-grade {cross_grade} grades math answers only")
        try:
            from dapo_bench.grading.code import grade_samples_file
        except ImportError as exc:
            raise UserInputError(f"code grading is not available in this install: {exc}") from exc
        grade_samples_file(responses, benchmark, data, out, workers=workers,
                           unsafe_no_sandbox=unsafe_no_sandbox)
        return
    correct, total, timeouts, target = grade_math_file(responses, benchmark, data, out,
                                                       workers, timeout_s, math_policy,
                                                       cross_grade)
    extra = f", {timeouts} timed out" if timeouts else ""
    click.echo(f"{benchmark}: {correct}/{total} correct, accuracy {100 * correct / total:.2f}%"
               f"{extra}; verdicts in {target}")
