"""evalplus samples files from stored code results, and evalplus's own verdicts on them.

:func:`export_samples` turns ``RESULTS/MODEL/<benchmark>.samples.jsonl`` into the file
``evalplus.evaluate`` takes: one ``{"task_id", "solution"}`` per sample, in the stored order,
the solution being the program exactly as dapo-bench graded it (extracted from the response,
completed with the HumanEval prompt, behind the benchmark's import header). A sample in which
no program was found exports an empty solution, which evalplus fails, as we did.

:func:`run_evalplus` scores such a file with evalplus. evalplus executes the programs with no
isolation, so it never runs in this process or this interpreter: it runs in its own virtual
environment (:data:`dapo_bench.interop.tools.EVALPLUS`) as a child process, with its dataset
pointed at the same local file dapo-bench loads (``HUMANEVAL_OVERRIDE_PATH`` /
``MBPP_OVERRIDE_PATH``) and its cache in a directory of the caller's choosing.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from dapo_bench.errors import UserInputError

#: dapo-bench benchmark -> (evalplus --dataset, the variable that points it at a local file).
DATASETS: dict[str, tuple[str, str]] = {
    "humaneval_plus": ("humaneval", "HUMANEVAL_OVERRIDE_PATH"),
    "mbpp_plus": ("mbpp", "MBPP_OVERRIDE_PATH"),
}

#: Where evalplus 0.3.1 itself is wrong, read from its source: entry point -> why. Its verdict
#: there differs from the task's specification (and from ours).
KNOWN_EVALPLUS_ERRORS: dict[str, str] = {
    "find_zero": "HumanEval/32: the special oracle for find_zero checks |poly(x)| <= atol and "
                 "then `continue`s past the line that records the test as passed, so evalplus "
                 "fails every program, its own canonical solution included",
    "combinations_colors": "Mbpp/255: a plus input (5 colours, n=77) has a 1.7-million-tuple "
                           "answer; evalplus's 4 GiB address-space cap applies to a process "
                           "that also holds every expected output, so the canonical solution "
                           "dies of MemoryError (it passes with EVALPLUS_MAX_MEMORY_BYTES=-1)",
}


def known_evalplus_error(entry_point: str | None) -> str | None:
    """Why evalplus's verdict cannot be trusted on a task with this entry point, or None."""
    return KNOWN_EVALPLUS_ERRORS.get(entry_point or "")


@dataclass(frozen=True)
class EvalplusVerdict:
    task_id: str
    base_pass: bool
    plus_pass: bool  # base and plus tests both pass (evalplus's "base + extra")
    base_status: str
    plus_status: str | None


def _check_benchmark(benchmark: str) -> tuple[str, str]:
    if benchmark not in DATASETS:
        raise UserInputError(f"evalplus scores {', '.join(DATASETS)}; not {benchmark!r}")
    return DATASETS[benchmark]


def samples_rows(model_dir: str | Path, benchmark: str) -> list[dict[str, str]]:
    """evalplus rows for the stored samples of ``benchmark`` under ``model_dir``."""
    from dapo_bench.report.results import load_model_samples

    _check_benchmark(benchmark)
    rows = []
    for rec in load_model_samples(model_dir, benchmark):
        extra = rec.model_extra or {}
        task_id = extra.get("problem_id") or rec.id.split("#", 1)[0]
        rows.append({"task_id": str(task_id), "solution": rec.extracted or ""})
    return rows


def export_samples(model_dir: str | Path, benchmark: str, out: str | Path) -> int:
    """Write the evalplus samples file; returns the number of samples."""
    from dapo_bench.jsonio import atomic_write_jsonl

    rows = samples_rows(model_dir, benchmark)
    atomic_write_jsonl(out, rows)
    return len(rows)


def run_evalplus(rows: list[dict[str, str]], benchmark: str, data_file: str | Path,
                 work: str | Path, *, workers: int = 2, python: str | None = None,
                 min_time_limit: float | None = None, timeout_s: float = 1800
                 ) -> list[EvalplusVerdict]:
    """evalplus's verdict on every row (same order), from ``python -m evalplus.evaluate`` in
    evalplus's own environment. ``data_file`` is the benchmark file in evalplus's format; every
    task in it needs at least one row (evalplus insists). ``work`` holds the samples, the
    results and evalplus's cache (its ground-truth outputs). ``min_time_limit`` raises
    evalplus's floor on a test's wall-clock limit (its default: 1 s; the limit is
    ``max(floor, 4 x the canonical solution's time)``, measured on the wall clock)."""
    from dapo_bench.interop.tools import EVALPLUS, tool_python

    dataset, override = _check_benchmark(benchmark)
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    samples = work / f"{benchmark}-samples.jsonl"
    samples.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    result_path = work / f"{benchmark}-samples_eval_results.json"
    result_path.unlink(missing_ok=True)
    python = python or tool_python(EVALPLUS, create=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update({override: str(Path(data_file).resolve()),
                "XDG_CACHE_HOME": str((work / "cache").resolve()),
                "TOKENIZERS_PARALLELISM": "false"})
    cmd = [python, "-m", "evalplus.evaluate", "--dataset", dataset, "--samples", str(samples),
           "--parallel", str(workers), "--i_just_wanna_run"]
    if min_time_limit is not None:
        cmd += ["--min_time_limit", str(min_time_limit)]
    proc = subprocess.run(cmd, env=env, cwd=work, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=timeout_s)
    if proc.returncode != 0 or not result_path.is_file():
        raise RuntimeError(f"evalplus failed (exit {proc.returncode}): "
                           f"{(proc.stderr or proc.stdout)[-2000:]}")
    results: dict[str, Any] = json.loads(result_path.read_text(encoding="utf-8"))["eval"]
    # evalplus groups the results by task, each task's in the order of its samples.
    taken: dict[str, int] = {}
    verdicts = []
    for row in rows:
        k = taken.get(row["task_id"], 0)
        taken[row["task_id"]] = k + 1
        r = results[row["task_id"]][k]
        base = r["base_status"] == "pass"
        verdicts.append(EvalplusVerdict(row["task_id"], base,
                                        base and r.get("plus_status") == "pass",
                                        r["base_status"], r.get("plus_status")))
    return verdicts


# ------------------------------------------------------------------------ cross-check

#: Deliberately wrong programs made from a task's canonical solution (see :func:`variant`).
WRONG_KINDS = ("returns-none", "raises", "base-only", "off-by-one")


def variant(problem: Any, kind: str) -> str:
    """The canonical program (``kind == "canonical"``) or a deliberately wrong one:
    ``returns-none`` (the entry point returns None), ``raises`` (it raises ValueError),
    ``base-only`` (the canonical answer on the base inputs only, None on the plus inputs),
    ``off-by-one`` (numbers in the canonical answer moved by one, other answers wrapped in a
    list)."""
    ex = problem.extra
    program, entry = ex["header"] + ex["canonical"], ex["entry_point"]
    if kind == "canonical":
        return program
    ref = f"_dapo_ref_{entry}"
    head = f"{program}\n\n{ref} = {entry}\n\n\ndef {entry}(*args):\n"
    if kind == "returns-none":
        return head + "    return None\n"
    if kind == "raises":
        return head + "    raise ValueError('deliberately wrong')\n"
    if kind == "base-only":
        base = sorted({repr(list(args)) for args in ex["inputs"]["base"]})
        return (head + f"    if repr(list(args)) in {base!r}:\n"
                f"        return {ref}(*args)\n    return None\n")
    if kind == "off-by-one":
        return (head + f"    out = {ref}(*args)\n"
                "    if isinstance(out, bool) or not isinstance(out, (int, float)):\n"
                "        return [out]\n    return out + 1\n")
    raise ValueError(f"unknown program kind {kind!r}")


@dataclass(frozen=True)
class CrossCheck:
    task_id: str
    entry_point: str
    kind: str
    ours: tuple[bool, bool]  # (base pass, base + plus pass)
    evalplus: tuple[bool, bool]
    evalplus_status: tuple[str, str | None]
    # evalplus again on this program alone, when the first verdicts differed (its time limits
    # are wall-clock: a busy machine turns slow passes into failures)
    evalplus_rerun: tuple[bool, bool] | None = None

    @property
    def agree(self) -> bool:
        return self.ours == self.evalplus

    @property
    def explained(self) -> str | None:
        """Why the verdicts differ, when they do and it is understood."""
        if self.agree:
            return None
        why = known_evalplus_error(self.entry_point)
        if why:
            return f"known evalplus error: {why}"
        if self.evalplus_rerun == self.ours:
            return ("evalplus's wall-clock limit on a busy machine: the same program agrees "
                    "when evalplus runs it alone")
        return None


def cross_check(benchmark: str, data_file: str | Path, work: str | Path, *,
                kinds: tuple[str, ...] = ("canonical", *WRONG_KINDS), workers: int = 2,
                python: str | None = None, recheck: bool = True) -> list[CrossCheck]:
    """Grade every task's programs of ``kinds`` with dapo-bench's sandbox and with evalplus
    (its own environment and process), on the same data file; one row per program. With
    ``recheck``, each program whose verdicts differ (outside the known evalplus errors) is
    given to evalplus once more, alone (one program per task file, one worker)."""
    from dapo_bench.data.registry import get_benchmark
    from dapo_bench.grading.code import grade_programs

    problems = get_benchmark(benchmark).load_file(Path(data_file))
    pairs = [(p, k) for p in problems for k in kinds]
    programs = [variant(p, k) for p, k in pairs]
    ours = grade_programs([p for p, _ in pairs], programs, workers=workers)
    rows = [{"task_id": p.id, "solution": prog} for (p, _), prog in zip(pairs, programs,
                                                                          strict=True)]
    theirs = run_evalplus(rows, benchmark, data_file, work, workers=workers, python=python)
    out = []
    for (p, kind), g, e in zip(pairs, ours, theirs, strict=True):
        base = bool(g.base_correct) if g.base_correct is not None else g.correct
        out.append(CrossCheck(p.id, p.extra["entry_point"], kind, (base, g.correct),
                              (e.base_pass, e.plus_pass), (e.base_status, e.plus_status)))
    if recheck:
        lines = {json.loads(x)["task_id"]: x for x in
                 Path(data_file).read_text(encoding="utf-8").splitlines() if x.strip()}
        for i, (row, c) in enumerate(zip(rows, out, strict=True)):
            if c.agree or known_evalplus_error(c.entry_point):
                continue
            alone = Path(work) / f"recheck-{i}"
            alone.mkdir(parents=True, exist_ok=True)
            (alone / "task.jsonl").write_text(lines[c.task_id] + "\n", encoding="utf-8")
            e = run_evalplus([row], benchmark, alone / "task.jsonl", alone, workers=1,
                             python=python)[0]
            out[i] = replace(c, evalplus_rerun=(e.base_pass, e.plus_pass))
    return out


def rescore_export(model_dir: str | Path, benchmark: str, samples_file: str | Path,
                   data: str | None, *, workers: int = 2) -> str:
    """Score an exported samples file with evalplus and compare with the stored verdicts;
    writes the disagreements beside the samples file and returns a summary line."""
    import tempfile

    from dapo_bench.data.registry import get_benchmark, resolve_source
    from dapo_bench.jsonio import atomic_write_jsonl, read_jsonl
    from dapo_bench.report.results import load_samples

    where = resolve_source(get_benchmark(benchmark), data, None)
    if not isinstance(where, Path):
        raise UserInputError(f"--rescore needs {benchmark}'s file in evalplus's format: pass "
                             "--data FILE or a data directory")
    rows = read_jsonl(samples_file)
    stored = load_samples(Path(model_dir) / f"{benchmark}.samples.jsonl")
    entry = {p.id: p.extra["entry_point"] for p in get_benchmark(benchmark).load_file(where)}
    with tempfile.TemporaryDirectory() as tmp:
        theirs = run_evalplus(rows, benchmark, where, tmp, workers=workers)
    differ = [{"id": rec.id, "task_id": row["task_id"], "dapo_bench": rec.correct,
               "evalplus": {"base": e.base_status, "plus": e.plus_status},
               "known_evalplus_error": known_evalplus_error(entry.get(row["task_id"])),
               "solution": row["solution"]}
              for rec, row, e in zip(stored, rows, theirs, strict=True)
              if rec.correct != e.plus_pass]
    target = Path(samples_file).with_suffix(".disagreements.jsonl")
    atomic_write_jsonl(target, differ)
    n = len(rows)
    ours = 100 * sum(r.correct for r in stored) / max(1, n)
    them = 100 * sum(e.plus_pass for e in theirs) / max(1, n)
    return (f"{benchmark}: base+plus pass rate ours {ours:.2f}%, evalplus {them:.2f}%; verdicts "
            f"agree on {n - len(differ)}/{n}; disagreements in {target}")
