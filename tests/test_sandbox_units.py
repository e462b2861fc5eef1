"""The pieces of the sandbox that need no jail: the value codecs, the seccomp assembler, the
comparison rules and the verdict rules applied to result records."""

from __future__ import annotations

import base64
import collections
import json
import marshal
import math

import pytest

from dapo_bench.grading.code.compare import (
    function_match,
    lcb_stdio_match,
    oracle_for,
    taco_stdio_match,
)
from dapo_bench.grading.code.verdict import Suite, judge, pack_expected
from dapo_bench.sandbox.pool import RawOutcome
from dapo_bench.sandbox.runner import confine, wire

VALUES = [None, True, False, 0, -1, 2**31, -(2**100) + 7, 10**5000, 1.5, float("inf"), -0.0,
          1 + 2j, b"ab", "h\u00e9llo", (1, [2, {3: (4,)}]), {1, 2}, frozenset({"a"}),
          {"k": [1.0]}, [], (), {}, [1, 2.5, True], ["a", None]]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_codecs_keep_exact_types(value: object) -> None:
    tagged = wire.decode(json.loads(json.dumps(wire.encode(value))))
    from_marshal = wire.loads_marshal(marshal.dumps(value, wire.MARSHAL_VERSION))
    for got in (tagged, from_marshal):
        assert got == value and type(got) is type(value)


def test_stdlib_value_types_travel_by_value() -> None:
    for value in (collections.Counter("abca"), collections.OrderedDict(a=1),
                  collections.deque([1, (2,)])):
        got = wire.decode(json.loads(json.dumps(wire.encode(value))))
        assert got == value and type(got) is type(value)


def test_unknown_and_subclassed_values_become_opaque() -> None:
    class Sneaky(int):
        def __eq__(self, other: object) -> bool:
            return True

        __hash__ = int.__hash__

    with pytest.raises(ValueError):
        marshal.dumps(Sneaky(1), wire.MARSHAL_VERSION)  # marshal refuses subclasses
    got = wire.decode(wire.encode(Sneaky(1)))
    assert isinstance(got, wire.Opaque)
    assert got != got and got != 1 and got is not None


def test_encoding_copies_so_later_mutation_does_not_leak_in() -> None:
    args = [1, 2, 3]
    encoded = wire.encode(args)
    args.append(4)
    assert encoded == [1, 2, 3]


@pytest.mark.parametrize("data", [
    b"", b"c", b"[\x05\x00\x00\x00i", b"\x80", b"{i\x01\x00\x00\x00", b"0", b"NN",
    b"[" + b"\xff\xff\xff\x7f", b"<\x01\x00\x00\x00[\x00\x00\x00\x00", b"(" * 5000,
])
def test_marshal_reader_rejects_hostile_bytes(data: bytes) -> None:
    with pytest.raises(wire.WireError):
        wire.loads_marshal(data)


def test_tagged_json_rejects_unknown_tags_and_depth() -> None:
    for bad in ({"$eval": "1"}, {"a": 1, "b": 2}, {"$set": [[1]]}):
        with pytest.raises(wire.WireError):
            wire.decode(bad)
    deep: object = 1
    for _ in range(500):
        deep = [deep, {"$tuple": []}]
    with pytest.raises(wire.WireError):
        wire.decode(deep)


def test_seccomp_program_assembles_for_both_architectures() -> None:
    for machine in ("x86_64", "aarch64"):
        code = confine.seccomp_program(("ptrace", "mount", "chmod"), machine)
        assert len(code) % 8 == 0 and 10 < len(code) // 8 < 4096
        # inet sockets (AF_INET, AF_INET6) only on request: two more comparisons
        inet = confine.seccomp_program(("ptrace", "mount", "chmod"), machine, inet=True)
        assert len(inet) == len(code) + 16


# --- comparison rules (evalplus, LiveCodeBench, TACO) --------------------------------------

def test_evalplus_rules() -> None:
    assert function_match(1, 1.0, atol=0, oracle=None, args=[])  # == across int/float
    assert not function_match([1, 2], (1, 2), atol=0, oracle=None, args=[])
    assert function_match(0.1 + 0.2, 0.3, atol=0, oracle=None, args=[])  # floats get 1e-6
    assert not function_match(0.31, 0.3, atol=0, oracle=None, args=[])
    assert function_match([1.0, 2.0000001], [1.0, 2.0], atol=0, oracle=None, args=[])
    assert not function_match("a", wire.Opaque("x"), atol=1e-6, oracle=None, args=[])


def test_special_oracles() -> None:
    assert oracle_for("humaneval", "find_zero") == "find_zero"
    assert oracle_for("mbpp", "similar_elements") == "set_eq"
    assert oracle_for("mbpp", "check_str") == "not_none"
    assert oracle_for("humaneval", "similar_elements") is None
    # any root is accepted for find_zero, not only the reference's
    assert function_match(2.0, 1.0, atol=1e-4, oracle="find_zero", args=[[-6, 11, -6, 1]])
    assert not function_match(2.5, 1.0, atol=1e-4, oracle="find_zero", args=[[-6, 11, -6, 1]])
    assert function_match((5, 4), (4, 5), atol=0, oracle="set_eq", args=[])
    assert function_match(wire.Opaque("Match"), True, atol=0, oracle="not_none", args=[])
    assert not function_match(None, True, atol=0, oracle="not_none", args=[])
    assert function_match((1, 2), [1, 2], atol=0, oracle="lcb_call", args=[])
    assert function_match(3, [3], atol=0, oracle="taco_call", args=[])


def test_stdio_rules() -> None:
    assert lcb_stdio_match("6\n", "6")
    assert lcb_stdio_match("1.50 2\n", "1.5 2.0\n")
    assert not lcb_stdio_match("6\n7\n", "6\n")
    assert not lcb_stdio_match("abc", "abd")
    assert taco_stdio_match("1 2\n3", "1\n2 3")
    assert taco_stdio_match("0.3333333", "0.333333333")
    assert not taco_stdio_match("0.33", "0.333333333")


# --- verdict rules on result records --------------------------------------------------------

def _suite(n: int = 2) -> Suite:
    return Suite(mode="function", inputs=[wire.encode([i]) for i in range(n)],
                 expected=[pack_expected(i * 10, 1 << 20) for i in range(n)],
                 groups=[("base", 1), ("plus", n - 1)], per_test=[1.0] * n)


def _result(i: int, value: object) -> dict:
    return {"k": "r", "i": i, "t": 0.0,
            "m": base64.b64encode(marshal.dumps(value, wire.MARSHAL_VERSION)).decode()}


def _raw(*records: dict, **flags: object) -> RawOutcome:
    outcome = RawOutcome(records=list(records), status=0)
    for key, value in flags.items():
        setattr(outcome, key, value)
    return outcome


def test_pass_needs_every_result_and_the_completion_record() -> None:
    ok = [{"k": "loaded"}, _result(0, 0), _result(1, 10)]
    assert judge(_suite(), _raw(*ok, {"k": "done"})).verdict == "pass"
    missing_done = judge(_suite(), _raw(*ok))
    assert missing_done.verdict == "fail" and "completion" in (missing_done.detail or "")
    assert judge(_suite(), _raw(ok[0], ok[1], {"k": "done"})).verdict == "fail"


def test_first_failure_decides_and_groups_follow() -> None:
    wrong_plus = judge(_suite(), _raw(_result(0, 0), _result(1, 11), {"k": "done"}))
    assert wrong_plus.verdict == "fail" and wrong_plus.group_pass == {"base": True,
                                                                       "plus": False}
    assert "plus test 0" in (wrong_plus.detail or "")
    assert judge(_suite(), _raw(_result(0, 0), {"k": "to", "i": 1})).verdict == "timeout"
    assert judge(_suite(), _raw(_result(0, 0), {"k": "mem", "i": 1})).verdict == "memory"
    assert judge(_suite(), _raw({"k": "err", "e": "SyntaxError", "m": "bad"})).verdict == "error"
    assert judge(_suite(), _raw(_result(0, 0), timed_out=True)).verdict == "timeout"


def test_forged_or_broken_channels_never_pass() -> None:
    dup = _raw(_result(0, 0), _result(0, 0), _result(1, 10), {"k": "done"})
    assert judge(_suite(), dup).verdict == "error"
    junk = _raw(_result(0, 0), _result(1, 10), {"verdict": "pass"}, {"k": "done"})
    assert judge(_suite(), junk).verdict == "error"
    out_of_range = _raw(_result(0, 0), _result(1, 10), _result(7, 1), {"k": "done"})
    assert judge(_suite(), out_of_range).verdict == "error"
    torn = _raw(_result(0, 0), _result(1, 10), {"k": "done"}, malformed=1)
    assert judge(_suite(), torn).verdict == "error"
    assert judge(_suite(), _raw(overflow=True)).verdict == "error"
    garbage = {"k": "r", "i": 0, "t": 0.0, "m": "!!not base64!!"}
    assert judge(_suite(), _raw(garbage, _result(1, 10), {"k": "done"})).verdict == "fail"


def test_large_values_compare_by_digest() -> None:
    big = list(range(1000))
    suite = Suite(mode="function", inputs=[wire.encode([0])],
                  expected=[pack_expected(big, 100)], groups=[("base", 1)], per_test=[1.0])
    assert suite.expected[0][:1] == b"h"
    digest = suite.expected[0][1:].decode()
    good = {"k": "r", "i": 0, "t": 0.0, "h": digest, "n": 1}
    bad = {"k": "r", "i": 0, "t": 0.0, "h": "0" * 64, "n": 1}
    assert judge(suite, _raw(good, {"k": "done"})).verdict == "pass"
    assert judge(suite, _raw(bad, {"k": "done"})).verdict == "fail"


def test_nan_and_tolerance_fall_back_to_decoded_values() -> None:
    suite = Suite(mode="function", inputs=[wire.encode([0])], expected=[pack_expected(1.0, 99)],
                  groups=[("base", 1)], per_test=[1.0])
    assert judge(suite, _raw(_result(0, 1), {"k": "done"})).verdict == "pass"  # 1 == 1.0
    assert judge(suite, _raw(_result(0, 1.0000001), {"k": "done"})).verdict == "pass"
    assert judge(suite, _raw(_result(0, math.nan), {"k": "done"})).verdict == "fail"
