"""Equivalence of a normalised predicted answer and a normalised gold answer.

Two layers. ``fast_equal`` decides what plain string work can (exact match, plain numbers,
multiple-choice letters, word answers) and is safe in the parent process. ``equal`` adds
structure (tuples, sets, intervals, unions, matrices, equations, lists) and symbolic
comparison; it imports sympy and runs only inside the bounded workers.

Structure semantics: a tuple is ordered and its brackets matter, so ``(1,2)`` is not ``[1,2]``
and ``[1,2)`` is not ``[1,2]``; ``\\{...\\}`` sets and bare comma lists ("all solutions") are
unordered; a bare list matches a parenthesised tuple in order (the brackets were left out).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dapo_bench.grading.math.normalize import (
    choice_letter,
    compact,
    is_text,
    numbers_equal,
    parse_number,
)

_LABEL = (r"(?:m\s*)?\\angle\s*[A-Za-z]+|\\(?:overline|vec|overrightarrow|hat)\{[A-Za-z]+\}"
          r"|\|[^|=]{1,20}\|"
          r"|(?:[A-Za-z]+|\\[A-Za-z]+)(?:_\{?[A-Za-z0-9]+\}?)?'*")

_OPENERS = {"(": ")", "[": "]", "\\{": "\\}", "{": "}"}
_FUNC = r"[A-Za-z]+(?:'+|\^\{?\s*-1\s*\}?)?"  # f, f', g^{-1}: a function's name
_VAR_LHS_RE = re.compile(
    rf"(?:{_LABEL})(?:\s*:\s*(?:{_LABEL}))*"  # x, x_1, \theta, y', |PQ|, \angle A, V_1:V_2
    rf"|{_FUNC}\s*\([A-Za-z, ]*\)"  # f(x), P(A), g^{{-1}}(t), y'(x)
    r"|\(\s*[A-Za-z](?:\s*,\s*[A-Za-z])+\s*\)")  # (x, y)
_CALL_RE = re.compile(rf"({_FUNC})\s*\(([A-Za-z, ]*)\)")
_REL_RE = re.compile(r"\\(?:le|ge|lt|gt|ne)(?![A-Za-z])|<=|>=|<|>|≤|≥")
_REL_NAMES = {"\\le": "le", "<=": "le", "≤": "le", "\\ge": "ge", ">=": "ge", "≥": "ge",
              "\\lt": "lt", "<": "lt", "\\gt": "gt", ">": "gt", "\\ne": "ne"}
_ONE_VAR_RE = re.compile(r"(?:[A-Za-z]|\\[A-Za-z]+)(?:_\{?[A-Za-z0-9]+\}?)?")
_BASIS_RE = re.compile(r"(?<![A-Za-z\\])[jk](?![A-Za-z])")
_TERM_BASIS_RE = re.compile(r"^(.*?)\s*(?:\\cdot\s*)?([ijk])$")
_SET_BUILDER_RE = re.compile(r"\\\{\s*[A-Za-z]\s*(?:\\in\s*\(-\\infty,\\infty\)\s*)?"
                             r"(?:\\mid|\||:)\s*(.+?)\s*\\\}")
_CONSTANTS = frozenset({"e", "\\pi"})  # one-symbol ends that are numbers, not variables
INF, NEG_INF = "\\infty", "-\\infty"
_IN_PREFIX_RE = re.compile(r"^[A-Za-z]\s*\\in\s*")
MAX_ITEMS = 200
MAX_STRUCT_CHARS = 5000  # longer answers can only match by exact string
MAX_NESTING = 60
FAST_BUDGET = 5000  # leaf comparisons the caller makes before handing over to a worker


@dataclass(frozen=True)
class Verdict:
    correct: bool
    rule: str


class NeedsSymbolic(Exception):
    """Raised by the caller-side scalar judge: this comparison needs the bounded workers."""


def fast_equal(pred: str, gold: str, mode: str = "exact") -> Verdict | None:
    """Decide cheaply, or return None for the bounded symbolic stage."""
    if compact(pred) == compact(gold):
        return Verdict(True, "exact")
    if not pred:
        return Verdict(False, "empty")
    gold_letter = gold if gold in ("A", "B", "C", "D", "E") else None
    if gold_letter is not None:
        letter = choice_letter(pred)
        if letter is not None:
            return Verdict(letter == gold_letter, "choice")
    gn, pn = parse_number(gold), parse_number(pred)
    if gn is not None and pn is not None:
        return Verdict(numbers_equal(pn, gn, mode), "numeric")
    if is_text(pred) or is_text(gold):
        same = compact(pred).lower() == compact(gold).lower()
        return Verdict(same, "text")
    return None


# ---------------------------------------------------------------- structure (worker side)


_ENV_RE = re.compile(r"\\(begin|end)\{[A-Za-z*]*\}")


def _depth_scan(s: str) -> list[int]:
    """Bracket depth before each character; ``\\{``/``\\}`` and whole ``\\begin{env}`` /
    ``\\end{env}`` tokens count as one bracket each."""
    depths: list[int] = []
    depth = 0
    i = 0
    while i < len(s):
        ch = s[i]
        step, delta = 1, 0
        if ch == "\\":
            env = _ENV_RE.match(s, i)
            if env is not None:
                step, delta = env.end() - i, (1 if env.group(1) == "begin" else -1)
            elif s.startswith("\\{", i) or s.startswith("\\}", i):
                step, delta = 2, (1 if s[i + 1] == "{" else -1)
        elif ch in "([{":
            delta = 1
        elif ch in ")]}":
            delta = -1
        if delta < 0:
            depth += delta
        depths.extend([depth] * step)
        if delta > 0:
            depth += delta
        i += step
    return depths


def split_top(s: str, sep: str = ",") -> list[str]:
    """Split at ``sep`` occurrences outside any bracket."""
    depths = _depth_scan(s)
    parts, start, i = [], 0, 0
    while i < len(s):
        if depths[i] == 0 and s.startswith(sep, i):
            parts.append(s[start:i].strip())
            i += len(sep)
            start = i
            continue
        i += 1
    parts.append(s[start:].strip())
    return parts


def _outer(s: str) -> tuple[str, str, str] | None:
    """``(open, inner, close)`` when one bracket pair encloses the whole of ``s``."""
    for opener in ("\\{", "(", "[", "{"):
        if s.startswith(opener):
            break
    else:
        return None
    closer_candidates = ("\\}",) if opener == "\\{" else (")", "]", "}")
    closer = next((c for c in closer_candidates if s.endswith(c)), None)
    if closer is None or len(s) < len(opener) + len(closer):
        return None
    depths = _depth_scan(s)
    body_end = len(s) - len(closer)
    if any(d == 0 for d in depths[len(opener):body_end]):
        return None  # the first bracket closes before the end: "(1,2)\cup(3,4)"
    return opener, s[len(opener):body_end].strip(), closer


@dataclass(frozen=True)
class Seq:
    kind: str  # "set" | "bare" | "bracket"
    opener: str
    closer: str
    items: tuple[str, ...]


@dataclass(frozen=True)
class Mat:
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Union:
    parts: tuple[str, ...]


Node = Seq | Mat | Union | str


def _expand_pm(items: list[str]) -> list[str]:
    """``1 \\pm \\sqrt{2}`` stands for two answers."""
    out: list[str] = []
    for item in items:
        parts = split_top(item, "\\pm")
        if len(parts) == 2 and parts[1]:
            a, b = parts
            out.extend([f"{a}+{b}" if a else b, f"{a}-{b}" if a else f"-{b}"])
        else:
            out.append(item)
    return out


def _one_environment(s: str) -> bool:
    """The ``\\begin`` at the start of ``s`` closes at its very end."""
    depths = _depth_scan(s)
    closing = len(s) - len("\\end{pmatrix}")
    return all(d > 0 for d in depths[len("\\begin{pmatrix}"):closing])


def _is_matrix(s: str) -> bool:
    return s.startswith("\\begin{pmatrix}") and s.endswith("\\end{pmatrix}")


def _ijk_vector(s: str) -> Seq | None:
    r"""``a\mathbf{i} + b\mathbf{j} + c\mathbf{k}`` (wrappers already removed) as ``(a, b, c)``."""
    if not _BASIS_RE.search(s) or len(s) > 400:
        return None
    depths = _depth_scan(s)
    terms, start = [], 0
    for i, ch in enumerate(s):
        if ch in "+-" and depths[i] == 0 and i > 0 and s[:i].strip() and \
                s[:i].rstrip()[-1] not in "^_({[":
            terms.append(s[start:i])
            start = i
    terms.append(s[start:])
    coeffs: dict[str, str] = {}
    for term in terms:
        m = _TERM_BASIS_RE.match(term.strip())
        if m is None or m.group(2) in coeffs:
            return None
        coeff = m.group(1).replace(" ", "")
        if re.search(r"(?<![A-Za-z\\])[ijk](?![A-Za-z])", coeff):
            return None
        coeffs[m.group(2)] = {"": "1", "+": "1", "-": "-1"}.get(coeff, coeff.lstrip("+"))
    if len(coeffs) < 2:
        return None  # "2k" alone is a multiple of k, not a vector
    names = ("i", "j", "k") if "k" in coeffs else ("i", "j")
    return Seq("vector", "(", ")", tuple(coeffs.get(n, "0") for n in names))


def structure(s: str) -> Node:
    s = _IN_PREFIX_RE.sub("", s.strip())
    if _is_matrix(s):
        body = s[len("\\begin{pmatrix}"):-len("\\end{pmatrix}")]
        rows = [tuple(split_top(r, "&")) for r in split_top(body, "\\\\") if r.strip()]
        if len(rows) > 1 and all(len(r) == 1 for r in rows):  # a column vector
            return Seq("vector", "(", ")", tuple(r[0] for r in rows))
        if len(rows) == 1 and len(rows[0]) > 1:  # a row vector
            return Seq("vector", "(", ")", rows[0])
        return Mat(tuple(rows))
    at = s.find("\\begin{pmatrix}")
    factor = re.sub(r"\s*(?:\\cdot|\\times)?\s*$", "", s[:at]) if at > 0 else ""
    if factor and _is_matrix(s[at:]) and "\\begin" not in factor \
            and len(split_top(factor)) == 1 and _one_environment(s[at:]):
        inner = structure(s[at:])

        def scale(e: str) -> str:
            return f"({factor})\\cdot({e})"

        if isinstance(inner, Seq):
            return Seq(inner.kind, inner.opener, inner.closer, tuple(map(scale, inner.items)))
        if isinstance(inner, Mat):
            return Mat(tuple(tuple(map(scale, row)) for row in inner.rows))
    union = split_top(s, "\\cup")
    if len(union) > 1:
        return Union(tuple(union))
    items = split_top(s)
    if len(items) > 1:
        return Seq("bare", "", "", tuple(_expand_pm(items)))
    outer = _outer(s)
    if outer is not None:
        opener, inner, closer = outer
        inner_items = split_top(inner)
        if opener == "\\{":
            return Seq("set", opener, closer, tuple(_expand_pm(inner_items)))
        if len(inner_items) > 1 and opener in "([":
            return Seq("bracket", opener, closer, tuple(inner_items))
        if (opener in "({" and closer == _OPENERS[opener]) or _is_matrix(inner):
            return structure(inner)  # grouping brackets around one answer
    vector = _ijk_vector(s)
    if vector is not None:
        return vector
    pm = _expand_pm([s])
    if len(pm) == 2:
        return Seq("bare", "", "", tuple(pm))
    return s


def _assignment(s: str) -> tuple[str, str] | None:
    parts = split_top(s, "=")
    if len(parts) != 2 or not all(parts):
        return None
    if _VAR_LHS_RE.fullmatch(parts[0]):
        return compact(parts[0]), parts[1]
    if _VAR_LHS_RE.fullmatch(parts[1]) and parts[1] not in _CONSTANTS:  # \frac{7}{2}=b
        return compact(parts[1]), parts[0]
    return None


# ---------------------------------------------------------------- sets of real numbers


@dataclass(frozen=True)
class Interval:
    lo: str
    lo_closed: bool
    hi: str
    hi_closed: bool


def _relation_parts(s: str) -> list[str] | None:
    """``a < x \\le b`` as ``["a", "lt", "x", "le", "b"]``; None without a top-level relation."""
    depths = _depth_scan(s)
    parts: list[str] = []
    start = 0
    for m in _REL_RE.finditer(s):
        if depths[m.start()] != 0:
            continue
        parts.extend([s[start:m.start()].strip(), _REL_NAMES[m.group()]])
        start = m.end()
    if not parts:
        return None
    parts.append(s[start:].strip())
    return parts if all(parts) else None


def _inequality(s: str, value: object) -> list[Interval] | None:
    parts = _relation_parts(s)
    if parts is None:
        return None
    if len(parts) == 3:
        a, op, b = parts
        if _ONE_VAR_RE.fullmatch(b) and (not _ONE_VAR_RE.fullmatch(a) or a in _CONSTANTS):
            a, b = b, a
            op = {"lt": "gt", "gt": "lt", "le": "ge", "ge": "le", "ne": "ne"}[op]
        if not _ONE_VAR_RE.fullmatch(a) or (_ONE_VAR_RE.fullmatch(b) and b not in _CONSTANTS):
            return None
        if op == "ne":
            return [Interval(NEG_INF, False, b, False), Interval(b, False, INF, False)]
        if op in ("gt", "ge"):
            return [Interval(b, op == "ge", INF, False)]
        return [Interval(NEG_INF, False, b, op == "le")]
    if len(parts) == 5:
        a, op1, x, op2, b = parts
        if not _ONE_VAR_RE.fullmatch(x) or any(_ONE_VAR_RE.fullmatch(e) and e not in _CONSTANTS
                                                for e in (a, b)):
            return None
        if {op1, op2} <= {"lt", "le"}:
            return [Interval(a, op1 == "le", b, op2 == "le")]
        if {op1, op2} <= {"gt", "ge"}:
            return [Interval(b, op2 == "ge", a, op1 == "ge")]
    return None


def _minus_points(base: list[Interval], points: list[str], value: object) -> list[Interval] | None:
    """``(-\\infty,\\infty) \\setminus \\{p, q\\}``: needs the points' order (``value``)."""
    if len(base) != 1 or not points or len(points) > 20:
        return None
    vals = [value(p) for p in points]  # type: ignore[operator]
    if any(v is None for v in vals):
        return None
    ordered = [p for _, p in sorted(zip(vals, points, strict=True))]
    out, lo, lo_closed = [], base[0].lo, base[0].lo_closed
    for p in ordered:
        out.append(Interval(lo, lo_closed, p, False))
        lo, lo_closed = p, False
    out.append(Interval(lo, lo_closed, base[0].hi, base[0].hi_closed))
    return out


def real_set(s: str, value: object) -> list[Interval] | None:
    """A subset of the reals written as intervals, inequalities, unions, ``\\emptyset`` or a set
    difference; None when ``s`` is not one. ``value`` orders points (None: unknown)."""
    s = _IN_PREFIX_RE.sub("", s.strip())
    if compact(s) == "\\emptyset":
        return []
    builder = _SET_BUILDER_RE.fullmatch(s)  # \{x \mid x > 5\}
    if builder:
        s = builder.group(1)
    pieces = split_top(s, "\\cup")
    if len(pieces) == 1:
        pieces = split_top(s)  # "x<-1, x>2": the two answers of an "or"
        if len(pieces) > 1 and not all(_relation_parts(p) for p in pieces):
            return None
    out: list[Interval] = []
    for piece in pieces:
        diff = split_top(piece, "\\setminus")
        if len(diff) == 2:
            base, removed = real_set(diff[0], value), structure(diff[1])
            points = (list(removed.items) if isinstance(removed, Seq) and removed.kind == "set"
                      else [diff[1]] if isinstance(removed, str) else None)
            found = _minus_points(base, points, value) if base and points else None
        else:
            found = _inequality(piece, value)
            if found is None:
                outer = _outer(piece)
                if outer and outer[0] in "([" and outer[2] in ")]":
                    ends = split_top(outer[1])
                    if len(ends) == 2 and all(ends):
                        found = [Interval(ends[0], outer[0] == "[", ends[1], outer[2] == "]")]
        if found is None:
            return None
        out.extend(found)
    return out


def _set_like(s: str) -> bool:
    return ("\\setminus" in s or compact(s) in ("\\emptyset", "(-\\infty,\\infty)")
            or _SET_BUILDER_RE.fullmatch(s.strip()) is not None
            or _relation_parts(_IN_PREFIX_RE.sub("", s)) is not None
            or any(_relation_parts(p) is not None for p in split_top(s, "\\cup")))


class Comparator:
    """Recursive comparison; ``scalar`` is the symbolic judge for two plain expressions."""

    def __init__(self, scalar: object, mode: str = "exact", value: object = None,
                 budget: int | None = None) -> None:
        self._scalar = scalar
        self.mode = mode
        self._budget = budget  # comparisons allowed (caller side), then NeedsSymbolic
        self._calls = 0
        self._value = value or _fast_value
        self.rules: set[str] = set()
        self.rename: dict[str, str] = {}

    def equal(self, pred: str, gold: str) -> bool:
        self._calls += 1
        if self._budget is not None and self._calls > self._budget:
            raise NeedsSymbolic("comparison budget spent")  # the bounded worker takes over
        fast = fast_equal(pred, gold, self.mode)
        if fast is not None:
            self.rules.add(fast.rule)
            return fast.correct
        if _set_like(pred) or _set_like(gold):
            ps, gs = real_set(pred, self._value), real_set(gold, self._value)
            if ps is not None and gs is not None:
                self.rules.add("interval")
                return self._intervals_equal(ps, gs)
        pa, ga = _assignment(pred), _assignment(gold)
        if pa and ga:
            self.rules.add("equation")
            if pa[0] == ga[0]:
                return self.equal(pa[1], ga[1])
            pc, gc = _CALL_RE.fullmatch(pa[0]), _CALL_RE.fullmatch(ga[0])
            if bool(pc) != bool(gc):  # y = 2x+1 against f(x) = 2x+1: both name the value
                call, plain = (pc, ga[0]) if pc else (gc, pa[0])
                if _ONE_VAR_RE.fullmatch(plain) and plain not in call.group(2).split(","):
                    return self.equal(pa[1], ga[1])
            if pc and gc and pc.group(1) == gc.group(1):  # f(x)=3x against f(t)=3t
                pv, gv = pc.group(2).split(","), gc.group(2).split(",")
                if len(pv) == len(gv):
                    saved = self.rename
                    self.rename = dict(zip(pv, gv, strict=True))
                    try:
                        return self.equal(pa[1], ga[1])
                    finally:
                        self.rename = saved
            return self._scalar_equal(pred, gold)
        if pa or ga:
            self.rules.add("equation")
            other = gold if pa else pred
            if len(split_top(other, "=")) == 2:  # y=2x+3 against 2x-y+3=0
                return self._scalar_equal(pred, gold)
            return self.equal(pa[1] if pa else pred, ga[1] if ga else gold)
        return self._nodes_equal(structure(pred), structure(gold))

    def _intervals_equal(self, ps: list[Interval], gs: list[Interval]) -> bool:
        if len(ps) != len(gs):
            return False
        remaining = list(ps)
        for g in gs:
            for k, p in enumerate(remaining):
                if self._interval_equal(p, g):
                    del remaining[k]
                    break
            else:
                return False
        return True

    def _interval_equal(self, p: Interval, g: Interval) -> bool:
        for pe, pc, ge, gc in ((p.lo, p.lo_closed, g.lo, g.lo_closed),
                               (p.hi, p.hi_closed, g.hi, g.hi_closed)):
            infinite = compact(ge) in (INF, NEG_INF)
            if infinite != (compact(pe) in (INF, NEG_INF)):
                return False
            if infinite:
                if compact(pe) != compact(ge):
                    return False
                continue
            if pc != gc or not self.equal(pe, ge):
                return False
        return True

    def _nodes_equal(self, p: Node, g: Node) -> bool:
        if isinstance(p, str) and isinstance(g, str):
            return self._scalar_equal(p, g)
        self.rules.add("structure")
        if isinstance(p, Mat) or isinstance(g, Mat):
            return (isinstance(p, Mat) and isinstance(g, Mat)
                    and len(p.rows) == len(g.rows)
                    and all(len(a) == len(b) and all(map(self.equal, a, b))
                            for a, b in zip(p.rows, g.rows, strict=True)))
        if isinstance(p, Union) or isinstance(g, Union):
            if not (isinstance(p, Union) and isinstance(g, Union)):
                return False
            return self._unordered(list(p.parts), list(g.parts))
        if isinstance(p, Seq) and isinstance(g, Seq):
            return self._seqs_equal(p, g)
        seq, scalar = (p, g) if isinstance(p, Seq) else (g, p)
        assert isinstance(seq, Seq) and isinstance(scalar, str)
        # a one-element set against its element; \{\emptyset\} is not the empty set
        return (seq.kind == "set" and len(seq.items) == 1 and "\\emptyset" not in
                (compact(seq.items[0]), compact(scalar)) and self.equal(seq.items[0], scalar))

    def _seqs_equal(self, p: Seq, g: Seq) -> bool:
        if "vector" in (p.kind, g.kind):
            p, g = _as_tuple(p), _as_tuple(g)
            if p is None or g is None:
                return False
        if len(p.items) != len(g.items) or len(p.items) > MAX_ITEMS:
            return False
        kinds = {p.kind, g.kind}
        if kinds <= {"set", "bare"}:
            return self._unordered(list(p.items), list(g.items))
        if kinds == {"bracket"}:
            if (p.opener, p.closer) != (g.opener, g.closer):
                return False
            return all(map(self.equal, p.items, g.items))
        if kinds == {"bracket", "bare"}:
            bracketed = p if p.kind == "bracket" else g
            if (bracketed.opener, bracketed.closer) != ("(", ")"):
                return False
            return all(map(self.equal, p.items, g.items))
        return False  # a set against a tuple or interval

    def _unordered(self, preds: list[str], golds: list[str]) -> bool:
        if len(preds) != len(golds):
            return False
        remaining = list(preds)
        for g in golds:
            for k, p in enumerate(remaining):
                if self.equal(p, g):
                    del remaining[k]
                    break
            else:
                return False
        return True

    def _scalar_equal(self, pred: str, gold: str) -> bool:
        fast = fast_equal(pred, gold, self.mode)
        if fast is not None and not self.rename:
            self.rules.add(fast.rule)
            return fast.correct
        self.rules.add("symbolic")
        return bool(self._scalar(pred, gold, self.mode, self.rename))  # type: ignore[operator]


def _as_tuple(seq: Seq) -> Seq | None:
    """A vector (column/row matrix, ``\\langle\\rangle``, ``i, j, k``) is an ordered tuple."""
    if seq.kind == "vector" or (seq.kind == "bracket" and (seq.opener, seq.closer) in
                                (("(", ")"), ("[", "]"))):  # [1, 2] for a vector: a list
        return Seq("bracket", "(", ")", seq.items)
    if seq.kind == "bare":
        return Seq("bracket", "(", ")", seq.items)
    return None


def _fast_value(s: str) -> float | None:
    """A point's value for ordering, from a plain number only (caller side)."""
    num = parse_number(s)
    if num is None:
        raise NeedsSymbolic(s)
    return float(num.value)


def _percent_variants(s: str) -> list[str]:
    t = s.strip()
    if t.endswith("%"):
        base = t[:-1].strip()
        return [base, f"\\frac{{{base}}}{{100}}"]
    return [t]


def _needs_symbolic(pred: str, gold: str, mode: str, rename: dict[str, str]) -> bool:
    raise NeedsSymbolic(pred)


def symbolic_value(s: str) -> float | None:
    """A point's value for ordering, by sympy (worker only)."""
    from dapo_bench.grading.math.symbolic import numeric_value, to_sympy

    try:
        return numeric_value(to_sympy(s))
    except Exception:
        return None


def symbolic_scalar_equal(pred: str, gold: str, mode: str = "exact",
                          rename: dict[str, str] | None = None) -> bool:
    """Parse both sides with the guarded LaTeX converter and compare values (worker only)."""
    from dapo_bench.grading.math.symbolic import exprs_equal, has_float, rounded_match, to_sympy

    try:
        golds = [to_sympy(g) for g in _percent_variants(gold)]
        exact = mode != "qwen" and not any(has_float(g) for g in golds)
        preds = [to_sympy(p, exact_decimals=exact) for p in _percent_variants(pred)]
    except Exception:  # unparsable, unsafe or too large: not equal
        return False
    if mode == "rounded" and exact:
        num = parse_number(pred)
        if num is not None and num.ulp is not None:
            return any(rounded_match(num.value, num.ulp, g) for g in golds)
    pairs = [(p, g) for p in preds for g in golds]
    return any(exprs_equal(p, g, rename=rename or {}) for p, g in pairs)


def _nesting(s: str) -> int:
    depths = _depth_scan(s)
    return max(depths, default=0)


def _first_rule(comparator: Comparator) -> str:
    for rule in ("symbolic", "equation", "interval", "structure", "numeric", "choice", "text",
                 "exact"):
        if rule in comparator.rules:
            return rule
    return "mismatch"


def structured_fast_equal(pred: str, gold: str, mode: str = "exact") -> Verdict | None:
    """Structure comparison in the caller when every leaf is decided by the fast rules; None
    when some leaf needs sympy. Bounded: the caller limits the length; all work is linear scans
    and at most MAX_ITEMS**2 fast leaf comparisons."""
    fast = fast_equal(pred, gold, mode)
    if fast is not None:
        return fast
    if len(pred) > MAX_STRUCT_CHARS or _nesting(pred) > MAX_NESTING:
        return Verdict(False, "too-complex")
    comparator = Comparator(_needs_symbolic, mode, budget=FAST_BUDGET)
    try:
        correct = comparator.equal(pred, gold)
    except NeedsSymbolic:
        return None
    return Verdict(correct, _first_rule(comparator))


def equal(pred: str, gold: str, mode: str = "exact") -> Verdict:
    """Full comparison of two normalised answers (structure + symbolic). Worker side only."""
    fast = fast_equal(pred, gold, mode)
    if fast is not None:
        return fast
    if len(pred) > MAX_STRUCT_CHARS or _nesting(pred) > MAX_NESTING:
        return Verdict(False, "too-complex")  # no gold answer looks like this
    comparator = Comparator(symbolic_scalar_equal, mode, symbolic_value)
    correct = comparator.equal(pred, gold)
    return Verdict(correct, _first_rule(comparator))
