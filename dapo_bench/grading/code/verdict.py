"""The verdict, decided outside the jail from the result records alone.

Rules (README, "Verdict rules"):
- ``pass`` needs one result record per test, in order, each matching the expected value, and
  the runner's completion record. Exit codes and stdout never decide anything.
- ``timeout``: a test hit its limit, or the program hit the wall-clock deadline.
- ``memory``: MemoryError / the address-space limit.
- ``error``: the program could not be loaded (syntax error, missing entry point, an exception or
  exit at top level), or the result channel broke its protocol.
- ``fail``: anything else: a wrong value, an exception in a test, an exit before all results,
  no completion record.
Tests run in order and a program stops at its first failure; with base and plus groups (the
``*_plus`` benchmarks) the base verdict is known whenever the failure is in the plus group.
"""

from __future__ import annotations

import base64
import hashlib
import json
import marshal
import signal
from dataclasses import dataclass
from typing import Any

from dapo_bench.grading.code.compare import STDIO_MATCHERS, function_match
from dapo_bench.sandbox.pool import RawOutcome
from dapo_bench.sandbox.runner import wire

DETAIL_CHARS = 300


@dataclass(frozen=True)
class Suite:
    """A problem's tests as the harness holds them: inputs go to the jail, the rest stays."""

    mode: str  # "function" | "stdio"
    inputs: list[Any]  # function: wire-encoded argument lists (or {"a":..,"k":..}); stdio: str
    expected: list[Any]  # function: b"m" + marshal base64 (see pack_expected); stdio: str
    groups: list[tuple[str, int]]  # e.g. [("base", 3), ("plus", 700)], in test order
    per_test: list[float]  # seconds
    atol: float = 0.0
    oracle: str | None = None
    entry_point: str | None = None
    method: bool = False  # call Solution().<entry_point>


@dataclass(frozen=True)
class Judgement:
    verdict: str
    detail: str | None
    failing_test: int | None
    group_pass: dict[str, bool]


def _short(value: Any) -> str:
    try:
        text = repr(value)
    except (ValueError, RecursionError):  # e.g. an int past Python's digit limit for str()
        text = f"<{type(value).__name__} too large to show>"
    return text if len(text) <= DETAIL_CHARS else text[:DETAIL_CHARS] + "..."


def _group_of(suite: Suite, index: int) -> tuple[str, int]:
    start = 0
    for name, size in suite.groups:
        if index < start + size:
            return name, index - start
        start += size
    return "?", index


def _groups_until(suite: Suite, failing: int | None) -> dict[str, bool]:
    """Groups entirely before the failing test passed; the rest did not."""
    out, start = {}, 0
    for name, size in suite.groups:
        out[name] = failing is None or failing >= start + size
        start += size
    return out


def judge(suite: Suite, raw: RawOutcome) -> Judgement:
    n = len(suite.inputs)

    def verdict(kind: str, detail: str, index: int | None) -> Judgement:
        where = ""
        if index is not None:
            group, local = _group_of(suite, index)
            where = f"{group} test {local}: "
        failing = index if index is not None else 0
        return Judgement(kind, (where + detail)[:2000], index, _groups_until(suite, failing))

    if raw.overflow:
        return verdict("error", "result channel over its size cap", None)
    by_index: dict[int, dict[str, Any]] = {}
    done = False
    for record in raw.records:
        kind = record.get("k")
        if kind == "err":
            return _load_error(suite, record)
        if kind == "done":
            done = True
            continue
        if kind == "loaded":
            continue
        index = record.get("i")
        if kind in ("to", "mem") and index is None:
            return _load_error(suite, record)
        if type(index) is not int or not 0 <= index < n or index in by_index or kind not in (
                "r", "x", "to", "mem"):
            return verdict("error", f"malformed result record {_short(record)[:200]}", None)
        by_index[index] = record
    for i in range(n):
        record = by_index.get(i)
        if record is None:
            if raw.timed_out:
                return verdict("timeout", "wall-clock deadline reached", i)
            if raw.crashed:
                return verdict("fail", "the sandbox was killed by the program", i)
            if raw.cpu_limit and raw.cpu >= 0.8 * raw.cpu_limit and _signalled(raw.status):
                return verdict("timeout", f"CPU time limit ({raw.cpu_limit:.0f} s) reached", i)
            status = f"{_describe_status(raw.status)}, {raw.cpu:.1f} CPU s"
            tail = raw.log[-300:].decode(errors="replace").strip()
            detail = f"program ended before reporting this test ({status})"
            if "MemoryError" in tail:
                return verdict("memory", detail, i)
            return verdict("fail", detail + (f": {tail}" if tail else ""), i)
        kind = record["k"]
        if kind == "to":
            return verdict("timeout", f"over its {suite.per_test[i]:.2f} s limit", i)
        if kind == "mem":
            return verdict("memory", "out of memory", i)
        if kind == "x":
            return verdict("fail", f"raised {str(record.get('m', record.get('e')))[-400:]}", i)
        ok, got = _match(suite, i, record)
        if not ok:
            return verdict("fail", f"input {_short(input_args(suite, i))}: expected "
                                   f"{_short(expected_value(suite, i))}, got {_short(got)}", i)
    if raw.malformed:
        return verdict("error", f"{raw.malformed} malformed line(s) on the result channel", None)
    if not done:
        if raw.timed_out:
            return verdict("timeout", "wall-clock deadline reached after the last test", None)
        return verdict("fail", "no completion record", None)
    return Judgement("pass", None, None, _groups_until(suite, None))


def decided_by(suite: Suite, record: dict[str, Any]) -> bool:
    """True when this record alone makes the program fail (a wrong result): the harness then
    stops the program instead of letting it run the remaining tests."""
    i = record.get("i")
    if record.get("k") != "r" or type(i) is not int or not 0 <= i < len(suite.inputs):
        return False
    return not _match(suite, i, record)[0]


def _match(suite: Suite, i: int, record: dict[str, Any]) -> tuple[bool, Any]:
    """(matches, the value to show when it does not)."""
    if suite.mode == "stdio":
        out = record.get("out")
        if type(out) is not str or record.get("trunc"):
            return False, "<output over the size cap>"
        matcher = STDIO_MATCHERS[suite.oracle or "lcb_stdio"]
        return matcher(out, suite.expected[i]), out
    packed = record.get("m")
    if isinstance(packed, str):
        packed = packed.encode()
    expected = suite.expected[i]
    if packed is not None and expected[:1] == b"m" and memoryview(expected)[1:] == packed:
        return True, None  # byte-identical to the reference: the common case, no decoding
    if expected[:1] == b"h" or "h" in record:  # a huge value: only its digest travelled
        digest = record.get("h")
        if isinstance(digest, str) and expected[:1] == b"h" and digest.encode() == expected[1:]:
            return True, None
        return False, f"<a value of {record.get('n', '?')} bytes, not the expected one " \
                      "(values over the size threshold are compared by SHA-256)>"
    try:
        value = unpack_value(packed, record.get("v"))
    except (wire.WireError, RecursionError, ValueError, TypeError, MemoryError) as exc:
        return False, f"<undecodable value: {exc}>"
    return function_match(value, expected_value(suite, i), atol=suite.atol,
                          oracle=suite.oracle, args=input_args(suite, i)), value


def pack_expected(value: Any, hash_above: int) -> bytes:
    """An expected value in the form results travel in ("m" + marshal base64, "h" + SHA-256
    when large, or "v" + the tagged JSON when marshal refuses the type)."""
    try:
        data = marshal.dumps(value, wire.MARSHAL_VERSION)
    except ValueError:
        return b"v" + json.dumps(wire.encode(value)).encode()
    if len(data) > hash_above:
        return b"h" + hashlib.sha256(data).hexdigest().encode()
    return b"m" + base64.b64encode(data)


def unpack_value(packed: bytes | None, tagged: Any = None) -> Any:
    if packed is not None:
        return wire.loads_marshal(base64.b64decode(packed, validate=True))
    return wire.decode(tagged)


def expected_value(suite: Suite, i: int) -> Any:
    if suite.mode == "stdio":
        return suite.expected[i]
    text = suite.expected[i]
    if text[:1] == b"m":
        return unpack_value(text[1:])
    if text[:1] == b"h":
        return wire.Opaque(f"value with SHA-256 {text[1:13].decode()}...")
    return wire.decode(json.loads(text[1:]))


def input_args(suite: Suite, i: int) -> Any:
    if suite.mode == "stdio":
        return suite.inputs[i]
    call = wire.decode(suite.inputs[i])
    return call.get("a", []) if isinstance(call, dict) else call


def _load_error(suite: Suite, record: dict[str, Any]) -> Judgement:
    kind = record.get("k")
    groups = {name: False for name, _ in suite.groups}
    if kind == "to":
        return Judgement("timeout", "loading the program timed out", None, groups)
    if kind == "mem":
        return Judgement("memory", "out of memory while loading the program", None, groups)
    message = str(record.get("m") or record.get("e") or "?")[-1500:]
    return Judgement("error", f"could not load the program: {message.strip()}", None, groups)


def _signalled(status: int | None) -> bool:
    return status is not None and (status & 0x7F) in (signal.SIGKILL, signal.SIGXCPU)


def _describe_status(status: int | None) -> str:
    if status is None:
        return "no exit status"
    if status & 0x7F:
        return f"killed by signal {status & 0x7F}"
    return f"exit status {status >> 8}"
