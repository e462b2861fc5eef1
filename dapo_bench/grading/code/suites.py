"""A code problem's test suite: inputs, expected outputs and per-test time limits.

Expected outputs come from the data (LiveCodeBench, TACO) or, as evalplus does, from running the
reference program on every input - here inside the sandbox, so a user's own ``--data`` file is
never executed unconfined. Assert-style tests (HumanEval's ``check(candidate)``, MBPP's assert
lines) are run against the reference with the function wrapped, which records every call:
the arguments become the inputs and the reference's return values the expected outputs.
Reference runs also time each input; candidates get ``max(floor, factor * that time)``.

Results are cached under ``$DAPO_BENCH_CACHE`` (default ``~/.cache/dapo-bench``), keyed by a
hash of the reference program, the tests and the runner's protocol version.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dapo_bench.cache import cache_dir
from dapo_bench.data.registry import Problem
from dapo_bench.grading.code.verdict import Suite, pack_expected
from dapo_bench.jsonio import atomic_write_text, read_json
from dapo_bench.sandbox.pool import RawOutcome
from dapo_bench.sandbox.runner import wire
from dapo_bench.sandbox.runner.policy import Policy

CACHE_VERSION = 4
RunJobs = Callable[[Sequence[tuple[dict[str, Any], float]], str], list[RawOutcome]]


def references_dir() -> Path:
    return cache_dir() / "code-references"


@dataclass
class Reference:
    """What a reference run established: wire-encoded inputs and, per input, the expected
    value as results travel ("m" + marshal base64, or "v" + tagged JSON; compared byte for
    byte first)."""

    inputs: list[Any]
    expected: list[str]
    seconds: list[float]
    groups: list[tuple[str, int]]
    warnings: list[str] = field(default_factory=list)
    error: str | None = None


def base_job(policy: Policy, mode: str, program: str, *, entry_point: str | None = None,
             method: bool = False, tests: list[Any] | None = None,
             per_test: list[float] | None = None, stop_on_error: bool = True,
             output_not_none: bool = False, cpu_seconds: float = 60.0) -> dict[str, Any]:
    return {"mode": mode, "program": program, "entry_point": entry_point, "method": method,
            "tests": tests or [], "per_test": per_test or [], "stop_on_error": stop_on_error,
            "output_not_none": output_not_none, "limits": policy.limits.to_job(),
            "cpu_seconds": cpu_seconds, "load_limit": policy.time.load_limit,
            "wall_factor": policy.time.wall_factor,
            "record_limit": 120.0}


def _flat_inputs(extra: dict[str, Any]) -> tuple[list[Any], list[tuple[str, int]]]:
    groups = [(name, len(values)) for name, values in extra["inputs"].items()]
    flat = [x for values in extra["inputs"].values() for x in values]
    return flat, groups


def _reference_request(problem: Problem, policy: Policy) -> tuple[str, dict[str, Any], float]:
    """(cache key, job, timeout) of the run that establishes this problem's expected values."""
    ex = problem.extra
    if ex["inputs"] is None:  # assert-style tests: record them
        job = base_job(policy, "record", ex["canonical"], entry_point=ex["entry_point"],
                       output_not_none=ex["output_not_none"], cpu_seconds=300)
        job.update(test_code=ex["test_code"], check=ex["check"])
        key_parts: list[Any] = ["record", ex["canonical"], ex["test_code"], ex["check"],
                                ex["entry_point"], ex["output_not_none"]]
        timeout = 300.0
    else:
        flat, groups = _flat_inputs(ex)
        encoded = [_encode_args(args) for args in flat]
        ref = policy.time.reference_per_test
        timeout = min(600.0, 60.0 + len(flat) * 1.0)
        job = base_job(policy, "function", ex["canonical"], entry_point=ex["entry_point"],
                       method=ex["method"], tests=encoded, per_test=[ref] * len(flat),
                       stop_on_error=False, output_not_none=ex["output_not_none"],
                       cpu_seconds=timeout)
        key_parts = ["function", ex["canonical"], ex["entry_point"], encoded, groups,
                     ex["output_not_none"]]
    digest = hashlib.sha256(json.dumps([CACHE_VERSION, *key_parts]).encode()).hexdigest()
    return digest, job, timeout


def _parse_reference(problem: Problem, raw: RawOutcome) -> Reference:
    ex = problem.extra
    errors = [r for r in raw.records if r.get("k") == "err"]
    if errors:
        return Reference([], [], [], [], error="reference program does not load: "
                         + str(errors[0].get("m", "?")).strip()[-500:])
    if ex["inputs"] is None:
        calls = [r for r in raw.records if r.get("k") == "rec"]
        check = next((r for r in raw.records if r.get("k") == "check"), None)
        warnings = []
        if check is None or not check.get("ok"):
            why = "timed out" if raw.timed_out else str((check or {}).get("m", "no result"))
            warnings.append(f"{problem.id}: the reference fails its own tests ({why.strip()})")
        if not calls:
            return Reference([], [], [], [], warnings, error="the tests never call the function")
        if any('"$opaque"' in json.dumps(c["a"]) for c in calls):
            return Reference([], [], [], [], warnings, error="the tests pass objects that "
                             "cannot be sent to the sandbox as inputs")
        return Reference([c["a"] for c in calls], [_packed_text(c) for c in calls],
                         [float(c.get("t", 0.0)) for c in calls], [("base", len(calls))],
                         warnings)
    flat, groups = _flat_inputs(ex)
    results = {r["i"]: r for r in raw.records if r.get("k") in ("r", "x", "to", "mem")
               and isinstance(r.get("i"), int)}
    inputs, expected, seconds, kept_groups, warnings = [], [], [], [], []
    start = 0
    for name, size in groups:
        kept = 0
        for i in range(start, start + size):
            record = results.get(i)
            if record is None or record["k"] != "r":
                why = "no result" if record is None else record["k"]
                warnings.append(f"{problem.id}: {name} input {i - start} dropped: the reference "
                                f"gives {why}")
                continue
            inputs.append(_encode_args(flat[i]))
            expected.append(_packed_text(record))
            seconds.append(float(record.get("t", 0.0)))
            kept += 1
        kept_groups.append((name, kept))
        start += size
    return Reference(inputs, expected, seconds, kept_groups, warnings)


def _packed_text(record: dict[str, Any]) -> str:
    packed = record.get("m")
    if packed is not None:
        return "m" + (packed.decode() if isinstance(packed, bytes) else str(packed))
    if isinstance(record.get("h"), str):
        return "h" + record["h"]
    return "v" + json.dumps(record.get("v"))


def _encode_args(args: Any) -> Any:
    return wire.encode(list(args) if type(args) is tuple else args)


def _load_cached(key: str) -> Reference | None:
    path = references_dir() / f"{key}.json"
    if not path.is_file():
        return None
    try:
        data = read_json(path)
        return Reference(data["inputs"], data["expected"], data["seconds"],
                         [tuple(g) for g in data["groups"]], data.get("warnings", []),
                         data.get("error"))
    except Exception:  # a damaged cache entry is recomputed
        return None


def _store(key: str, ref: Reference) -> None:
    with contextlib.suppress(OSError):  # a read-only cache only costs time
        atomic_write_text(references_dir() / f"{key}.json", json.dumps({
            "inputs": ref.inputs, "expected": ref.expected, "seconds": ref.seconds,
            "groups": ref.groups, "warnings": ref.warnings, "error": ref.error},
            separators=(",", ":")))


def build_suites(problems: Sequence[Problem], policy: Policy, run_jobs: RunJobs
                 ) -> tuple[dict[str, Suite | str], list[str]]:
    """Suites by problem id (or the reason a problem cannot be graded), and warnings."""
    suites: dict[str, Suite | str] = {}
    warnings: list[str] = []
    pending: list[tuple[Problem, str]] = []
    jobs: list[tuple[dict[str, Any], float]] = []
    refs: dict[str, Reference] = {}
    for problem in problems:
        if problem.id in suites or problem.id in refs or any(p.id == problem.id
                                                             for p, _ in pending):
            continue
        ex = problem.extra
        if ex["expected"] is not None:
            suites[problem.id] = _given_suite(problem, policy)
            continue
        if ex["canonical"] is None:
            suites[problem.id] = "no expected outputs and no reference program"
            continue
        key, job, timeout = _reference_request(problem, policy)
        cached = _load_cached(key)
        if cached is not None:
            refs[problem.id] = cached
        else:
            pending.append((problem, key))
            jobs.append((job, timeout))
    if jobs:
        for (problem, key), raw in zip(pending, run_jobs(jobs, "reference runs"), strict=True):
            ref = _parse_reference(problem, raw)
            refs[problem.id] = ref
            if not raw.timed_out and not raw.crashed:
                _store(key, ref)
    by_id = {p.id: p for p in problems}
    for pid, ref in refs.items():
        warnings += ref.warnings
        suites[pid] = ref.error if ref.error else _reference_suite(by_id[pid], ref, policy)
    return suites, warnings


def _given_suite(problem: Problem, policy: Policy) -> Suite:
    ex = problem.extra
    flat, groups = _flat_inputs(ex)
    expected = [x for values in ex["expected"].values() for x in values]
    limit = ex["time_limit"] or policy.time.fixed_per_test
    if ex["mode"] == "function":
        flat = [_encode_args(x) for x in flat]
        expected = [pack_expected(x, policy.limits.hash_above) for x in expected]
    return Suite(mode=ex["mode"], inputs=flat, expected=expected, groups=groups,
                 per_test=[limit] * len(flat), atol=ex["atol"], oracle=ex["oracle"],
                 entry_point=ex["entry_point"], method=ex["method"])


def _reference_suite(problem: Problem, ref: Reference, policy: Policy) -> Suite:
    ex = problem.extra
    return Suite(mode="function", inputs=list(ref.inputs),
                 expected=[text.encode() for text in ref.expected], groups=list(ref.groups),
                 per_test=[policy.time.per_test(s) for s in ref.seconds], atol=ex["atol"],
                 oracle=ex["oracle"], entry_point=ex["entry_point"], method=ex["method"])
