"""Symbolic equivalence of two scalar answers with sympy, LaTeX parsed by latex2sympy2_extended.

Imported only inside the bounded grading workers (and by tests): it is the one place where model
text meets sympy. latex2sympy2_extended builds expressions from its ANTLR grammar, but it turns
number tokens into sympy numbers through ``sympy.Number(str)``, which is ``sympify`` of the
token; the converter below replaces those two entry points with constructors that read digits
only, so no string from a response ever reaches ``sympify``/``parse_expr``/``eval``.
"""

from __future__ import annotations

import itertools
import re
from fractions import Fraction

import sympy
from latex2sympy2_extended import latex2sympy2 as _l2s
from sympy import Basic, Float, I, Integer, Rational, Symbol
from sympy.core.relational import Relational

MAX_PARSE_LEN = 1500  # longer answers are compared as strings only
MAX_NESTING = 60  # deeper bracket nesting is not parsed (the ANTLR parser recurses)
MAX_NODES = 3000
MAX_INT_DIGITS = 400
MAX_FACTORIAL = 2000
MAX_EXPONENT = 10_000
_CONFIG = _l2s.ConversionConfig(lowercase_symbols=False)
_NUMBER_TOKEN = re.compile(r"[0-9]*\.?[0-9]*(?:[eE][+-]?[0-9]+)?")
_POINTS = ((Rational(7, 5), Rational(13, 7), Rational(5, 11), Rational(17, 6)),
           (Rational(23, 9), Rational(3, 13), Rational(29, 10), Rational(8, 17)),
           (Rational(11, 16), Rational(31, 7), Rational(19, 13), Rational(2, 3)))


class UnsafeInput(ValueError):
    """Raised instead of handing a non-numeric string to sympy's string parser."""


_EXACT = {"decimals": False}  # set for the duration of one to_sympy call (workers: one thread)


def safe_number(text: str) -> sympy.Number:
    """A sympy number from a grammar NUMBER token, built without ``sympify``; a decimal is an
    exact Rational while ``to_sympy(..., exact_decimals=True)`` runs."""
    t = text.replace(",", "").replace(" ", "")
    if not t or not _NUMBER_TOKEN.fullmatch(t) or not re.search(r"\d", t):
        raise UnsafeInput(f"not a number token: {text[:40]!r}")
    if t.isdigit():
        if len(t) > MAX_INT_DIGITS:
            raise UnsafeInput("integer too long")
        return Integer(int(t))
    mantissa, _, exp = t.lower().partition("e")
    if exp and abs(int(exp)) > MAX_INT_DIGITS:
        raise UnsafeInput("exponent too large")
    if _EXACT["decimals"]:
        value = Fraction(t)  # digits only: checked by _NUMBER_TOKEN above
        return Rational(value.numerator, value.denominator)
    return Float(t, max(15, len(mantissa)))


def _safe_convert_number(number: str) -> sympy.Number:
    if "," in number and number.startswith("0"):  # "0,5": a decimal comma, as upstream reads it
        number = number.replace(",", ".")
    return safe_number(number)


if not (hasattr(_l2s, "convert_number") and hasattr(_l2s._Latex2Sympy, "parse_number")):
    raise ImportError("latex2sympy2_extended changed its number constructors; this grader "
                      "guards those of version 1.11 (pin latex2sympy2_extended<1.12)")


class _Converter(_l2s._Latex2Sympy):
    def parse_number(self, text: str) -> sympy.Number:  # upstream: sympy.Number(text)
        return safe_number(text)


_l2s.convert_number = _safe_convert_number  # upstream: sympy.Number(text) via sympify


def _nesting(s: str) -> int:
    depth = best = 0
    for ch in s:
        if ch in "([{":
            depth += 1
            best = max(best, depth)
        elif ch in ")]}":
            depth -= 1
    return best


def to_sympy(latex: str, *, exact_decimals: bool = False) -> Basic:
    """Parse one normalised scalar answer; raises on anything unparsable or too large.

    ``exact_decimals`` reads ``0.0833`` as 833/10000 (the strict policy against an exact gold)."""
    if len(latex) > MAX_PARSE_LEN or _nesting(latex) > MAX_NESTING:
        raise UnsafeInput("answer too long or too deeply nested to parse")
    s = re.sub(r"(\d)[eE]([+-]?\d+)(?![\d.])", r"\1\\times10^{\2}", latex)
    _EXACT["decimals"] = exact_decimals
    try:
        expr = _Converter(config=_CONFIG).parse(s)
    finally:
        _EXACT["decimals"] = False
    if not isinstance(expr, Basic):
        raise UnsafeInput("not a scalar expression")
    _check_size(expr)
    i = Symbol("i")
    if i in expr.free_symbols:
        expr = expr.subs(i, I)
    return expr


_BIG_FUNCTIONS = (sympy.factorial, sympy.factorial2, sympy.gamma, sympy.binomial)


def _check_size(expr: Basic) -> None:
    """Refuse expressions whose evaluation would explode (``10^{10^{10}}``, ``10^{99999}``,
    ``1000000!``, huge integers). Post-order, so an exponent is known to be tame before it is
    evaluated to judge the power above it."""
    for count, node in enumerate(sympy.postorder_traversal(expr), start=1):
        if count > MAX_NODES:
            raise UnsafeInput("expression too large")
        if isinstance(node, sympy.Integer) and abs(node.p).bit_length() > 4 * MAX_INT_DIGITS:
            raise UnsafeInput("integer too large")
        if isinstance(node, _BIG_FUNCTIONS) and any(
                a.is_Number and abs(a) > MAX_FACTORIAL for a in node.args):
            raise UnsafeInput("factorial too large")
        if isinstance(node, sympy.Pow) and node.base.is_number and node.exp.is_number:
            exponent = _to_complex(node.exp if node.exp.is_Number else node.exp.evalf(15))
            if exponent is None or abs(exponent) > MAX_EXPONENT:
                raise UnsafeInput("exponent too large")


def has_float(expr: Basic) -> bool:
    return any(isinstance(n, Float) for n in sympy.preorder_traversal(expr))


def _to_complex(value: Basic) -> complex | None:
    try:
        c = complex(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if c != c or abs(c) == float("inf"):
        return None
    return c


def _numbers_close(x: complex, y: complex, tolerant: bool) -> bool:
    """Relative 1e-4 with a decimal involved (the Qwen toolkit's tolerance); otherwise only the
    rounding noise of a 30-digit evaluation."""
    if tolerant:
        return abs(x - y) <= 1e-4 * max(abs(x), abs(y))
    return abs(x - y) <= 1e-15 * max(abs(x), abs(y)) + 1e-25


def _evaluate(expr: Basic, subs: dict[Symbol, Basic]) -> complex | None:
    try:
        return _to_complex(expr.evalf(30, subs=subs))
    except Exception:  # sympy raises many types on odd input
        return None


def _points(symbols: list[Symbol]) -> list[dict[Symbol, Basic]]:
    return [{s: pts[k % len(pts)] + k // len(pts) for k, s in enumerate(symbols)}
            for pts in _POINTS]


_CONSTANT_RE = re.compile(r"[ABCDKck](?:_\{?[0-9]{1,2}\}?)?")
MAX_RENAMED = 3


def _renamings(pred: Basic, gold: Basic, any_names: bool) -> list[dict[Symbol, Symbol]]:
    """Bijections from the symbols only ``pred`` has to those only ``gold`` has: arbitrary
    constants (``C`` for ``c``, ``C_1, C_2`` for ``A, B``), or any names in an equation."""
    only_p = sorted(pred.free_symbols - gold.free_symbols, key=lambda x: x.name)
    only_g = sorted(gold.free_symbols - pred.free_symbols, key=lambda x: x.name)
    if not only_p or len(only_p) != len(only_g) or len(only_p) > MAX_RENAMED:
        return []
    if not any_names and not pred.free_symbols & gold.free_symbols:
        return []  # a lone "k" for "c" is a different answer, not a renamed constant
    if not any_names and not all(_CONSTANT_RE.fullmatch(x.name)
                                 for x in [*only_p, *only_g]):
        return []
    return [dict(zip(only_p, perm, strict=True)) for perm in itertools.permutations(only_g)]


def exprs_equal(pred: Basic, gold: Basic, rename: dict[str, str] | None = None) -> bool:
    """Value equality (see ``_values_equal``), after renaming ``rename``'s variables
    (``f(x)=3x`` against ``f(t)=3t``), then under renamings of arbitrary constants."""
    if rename:
        pred = pred.subs({Symbol(a.strip()): Symbol(b.strip()) for a, b in rename.items()})
    if _values_equal(pred, gold):
        return True
    relational = (isinstance(pred, Relational) and isinstance(gold, Relational)
                  and len(gold.free_symbols) >= 2)  # y=2t+1 for y=2x+1; not x=3 for y=3
    return any(_values_equal(pred.subs(m), gold)
               for m in _renamings(pred, gold, any_names=relational))


def rounded_match(value: Fraction, ulp: Fraction, gold: Basic) -> bool:
    """A decimal with at least three significant digits that is ``gold`` correctly rounded
    (Minerva Math's golds stand for rounded physical values)."""
    from dapo_bench.grading.math.normalize import values_match

    g = numeric_value(gold)
    if g is None:
        return False
    return values_match(value, ulp, Fraction(g), None, "rounded")


def numeric_value(expr: Basic) -> float | None:
    """The real value of a constant expression, or None."""
    if expr.free_symbols:
        return None
    c = _evaluate(expr, {})
    if c is None or abs(c.imag) > 1e-12 * max(1.0, abs(c.real)):
        return None
    return c.real


def _values_equal(pred: Basic, gold: Basic) -> bool:
    """Value equality: exact for exact answers, relative 1e-4 when either side has a decimal.

    Expressions with variables are compared at three fixed generic points (positive rationals,
    so square roots and logarithms stay real), then by ``simplify`` when evaluation fails.
    """
    if isinstance(pred, Relational) or isinstance(gold, Relational):
        return relations_equal(pred, gold)
    try:
        if pred == gold:
            return True
    except Exception:
        pass
    tolerant = has_float(pred) or has_float(gold)
    symbols = sorted(pred.free_symbols | gold.free_symbols, key=lambda s: s.name)
    undecided = False
    for subs in (_points(symbols) if symbols else [{}]):
        a, b = _evaluate(pred, subs), _evaluate(gold, subs)
        if a is None or b is None:
            undecided = True
            break
        if not _numbers_close(a, b, tolerant):
            return False
    if not undecided:
        return True
    try:
        return bool(sympy.simplify(pred - gold) == 0)
    except Exception:
        return False


def _difference(rel: Relational) -> Basic:
    return rel.lhs - rel.rhs


def relations_equal(pred: Basic, gold: Basic) -> bool:
    """Equations match when ``lhs - rhs`` of one is a nonzero constant multiple of the other's;
    inequalities when the multiple is positive (or negative with the direction flipped)."""
    if not (isinstance(pred, Relational) and isinstance(gold, Relational)):
        return False
    flips = {sympy.StrictLessThan: sympy.StrictGreaterThan,
             sympy.StrictGreaterThan: sympy.StrictLessThan,
             sympy.LessThan: sympy.GreaterThan, sympy.GreaterThan: sympy.LessThan,
             sympy.Eq: sympy.Eq, sympy.Ne: sympy.Ne}
    same = type(pred) is type(gold)
    flipped = flips.get(type(gold)) is type(pred)
    if not (same or flipped):
        return False
    try:
        dp, dg = _difference(pred), _difference(gold)
    except (TypeError, ValueError, AttributeError):  # a relation between a symbol and a tuple
        return False
    symbols = sorted(dp.free_symbols | dg.free_symbols, key=lambda s: s.name)
    ratios = []
    for subs in (_points(symbols) if symbols else [{}]):
        a, b = _evaluate(dp, subs), _evaluate(dg, subs)
        if a is None or b is None or abs(b) < 1e-12:
            return False
        ratios.append(a / b)
    r0 = ratios[0]
    if abs(r0) < 1e-12 or any(abs(r - r0) > 1e-9 * max(1.0, abs(r0)) for r in ratios):
        return False
    if abs(r0.imag) > 1e-9:
        return False
    if isinstance(gold, (sympy.Eq, sympy.Ne)):
        return True
    return r0.real > 0 if same else r0.real < 0
