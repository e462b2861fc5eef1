"""Comparing a program's reported result with the expected one, on the harness side.

Both sides are plain builtin values here (decoded by :mod:`dapo_bench.sandbox.runner.wire`),
so ``==`` runs builtin code only: an object from the candidate never reaches this module. The
rules follow each benchmark's official checker: evalplus for HumanEval(+)/MBPP(+) (exact
match, float tolerance, its special oracles), LiveCodeBench for its stdin and functional tests,
and the APPS/TACO checker's normalisations for TACO.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from typing import Any

# evalplus special oracles, keyed by entry point (facts about the MBPP+ / HumanEval+ tasks)
MBPP_SET_EQ = frozenset({"similar_elements", "find_char_long", "common_in_nested_lists",
                         "extract_singly", "larg_nnum", "intersection_array",
                         "find_dissimilar", "Diff"})
MBPP_NOT_NONE = frozenset({"check_str", "text_match_three", "text_starta_endb"})


def oracle_for(dataset: str, entry_point: str | None) -> str | None:
    """The special oracle evalplus applies to this task, if any."""
    if dataset == "humaneval" and entry_point == "find_zero":
        return "find_zero"
    if dataset != "mbpp" or entry_point is None:
        return None
    if entry_point in MBPP_SET_EQ:
        return "set_eq"
    if entry_point in MBPP_NOT_NONE:
        return "not_none"
    return {"are_equivalent": "always", "sum_div": "sum_div", "surface_Area": "surface_area",
            "digit_distance_nums": "digit_distance"}.get(entry_point)


def _poly(xs: list[float], x: float) -> float:
    return sum(c * math.pow(x, i) for i, c in enumerate(xs))


def _pyramid_surface(base: float, height: float) -> int:
    slant = math.sqrt((base / 2) ** 2 + height ** 2)
    return round(base ** 2 + 2 * base * slant)


def _digit_distance(a: int, b: int) -> int:
    sa, sb = str(a), str(b)
    width = max(len(sa), len(sb))
    return sum(abs(int(x) - int(y)) for x, y in zip(sa.zfill(width), sb.zfill(width),
                                                    strict=True))


def is_floats(x: Any) -> bool:
    if isinstance(x, float):
        return True
    return isinstance(x, (list, tuple)) and bool(x) and all(isinstance(i, float) for i in x)


def function_match(out: Any, exp: Any, *, atol: float, oracle: str | None,
                   args: list[Any]) -> bool:
    """evalplus's rule: exact ``==``, the task's oracle, else ``np.allclose`` within ``atol``
    (1e-6 when the expected value is a float or a list of floats)."""
    try:
        if oracle == "find_zero":
            return abs(_poly(*args, out)) <= atol
        if oracle == "lcb_call":
            return (list(out) if type(out) is tuple else out) == exp
        if oracle == "taco_call":
            return _taco_call_match(out, exp)
        exact = out == exp
        if oracle == "always":
            exact = True
        elif oracle == "sum_div":
            exact = exact or out == 0
        elif oracle == "surface_area":
            exact = exact or abs(out - _pyramid_surface(*args)) <= atol
        elif oracle == "digit_distance":
            exact = exact or out == _digit_distance(*args)
        elif oracle == "set_eq":
            exact = set(out) == set(exp)
        elif oracle == "not_none":
            exact = out == exp if isinstance(out, bool) else exp == (out is not None)
        if atol == 0 and is_floats(exp):
            atol = 1e-6
        if exact:
            return True
        if atol == 0 or type(out) is not type(exp):
            return False
        if isinstance(exp, (list, tuple)) and len(out) != len(exp):
            return False
        import numpy as np  # only when a tolerance decides: keeps the registry import light

        return bool(np.allclose(out, exp, rtol=1e-07, atol=atol))
    except Exception:  # a malformed or exotic value is simply not a match
        return False


def _taco_call_match(out: Any, exp: Any) -> bool:
    if type(out) is tuple:
        out = list(out)
    if out == exp:
        return True
    if isinstance(exp, list) and exp:
        if out == exp[0]:
            return True
        if isinstance(out, list) and out and type(out[0]) is tuple:
            return [list(x) for x in out] == exp[0]
    return False


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.strip().split("\n")]


def lcb_stdio_match(got: str, expected: str) -> bool:
    """LiveCodeBench: same number of stripped lines; each equal, or equal as Decimals."""
    got_lines, exp_lines = _lines(got), _lines(expected)
    if len(got_lines) != len(exp_lines):
        return False
    for a, b in zip(got_lines, exp_lines, strict=True):
        if a == b:
            continue
        try:
            if [Decimal(t) for t in a.split()] != [Decimal(t) for t in b.split()]:
                return False
        except (InvalidOperation, ValueError):
            return False
    return True


def taco_stdio_match(got: str, expected: str) -> bool:
    """TACO/APPS: LiveCodeBench's rule, else whitespace-separated tokens equal, numbers within
    rtol 1e-5 / atol 1e-8 (APPS's ``np.allclose`` defaults)."""
    if lcb_stdio_match(got, expected):
        return True
    a, b = got.split(), expected.split()
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if x == y:
            continue
        try:
            fx, fy = float(x), float(y)
        except ValueError:
            return False
        if not abs(fx - fy) <= 1e-8 + 1e-5 * abs(fy):
            return False
    return True


STDIO_MATCHERS = {"lcb_stdio": lcb_stdio_match, "taco_stdio": taco_stdio_match}
