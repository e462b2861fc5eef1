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

_OPENERS = {"(": ")", "[": "]", "\\{": "\\}", "{": "}"}
_VAR_LHS_RE = re.compile(
    r"(?:[A-Za-z]|\\[A-Za-z]+)(?:_\{?[A-Za-z0-9]+\}?)?'*"  # x, x_1, \theta, y'
    r"|[A-Za-z]+\s*\([A-Za-z, ]*\)"  # f(x), P(A)
    r"|\(\s*[A-Za-z](?:\s*,\s*[A-Za-z])+\s*\)")  # (x, y)
_IN_PREFIX_RE = re.compile(r"^[A-Za-z]\s*\\in\s*")
MAX_ITEMS = 200
MAX_STRUCT_CHARS = 5000  # longer answers can only match by exact string
MAX_NESTING = 60


@dataclass(frozen=True)
class Verdict:
    correct: bool
    rule: str


def fast_equal(pred: str, gold: str) -> Verdict | None:
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
        return Verdict(numbers_equal(pn, gn), "numeric")
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


def _is_matrix(s: str) -> bool:
    return s.startswith("\\begin{pmatrix}") and s.endswith("\\end{pmatrix}")


def structure(s: str) -> Node:
    s = _IN_PREFIX_RE.sub("", s.strip())
    if _is_matrix(s):
        body = s[len("\\begin{pmatrix}"):-len("\\end{pmatrix}")]
        rows = [r for r in split_top(body, "\\\\") if r.strip()]
        return Mat(tuple(tuple(split_top(r, "&")) for r in rows))
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
    pm = _expand_pm([s])
    if len(pm) == 2:
        return Seq("bare", "", "", tuple(pm))
    return s


def _assignment(s: str) -> tuple[str, str] | None:
    parts = split_top(s, "=")
    if len(parts) == 2 and _VAR_LHS_RE.fullmatch(parts[0]) and parts[1]:
        return compact(parts[0]), parts[1]
    return None


class Comparator:
    """Recursive comparison; ``scalar`` is the symbolic judge for two plain expressions."""

    def __init__(self, scalar: object) -> None:
        self._scalar = scalar
        self.rules: set[str] = set()

    def equal(self, pred: str, gold: str) -> bool:
        fast = fast_equal(pred, gold)
        if fast is not None:
            self.rules.add(fast.rule)
            return fast.correct
        pa, ga = _assignment(pred), _assignment(gold)
        if pa and ga:
            self.rules.add("equation")
            if pa[0] == ga[0]:
                return self.equal(pa[1], ga[1])
            return self._scalar_equal(pred, gold)
        if pa or ga:
            self.rules.add("equation")
            other = gold if pa else pred
            if len(split_top(other, "=")) == 2:  # y=2x+3 against 2x-y+3=0
                return self._scalar_equal(pred, gold)
            return self.equal(pa[1] if pa else pred, ga[1] if ga else gold)
        return self._nodes_equal(structure(pred), structure(gold))

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
        # a one-element set against its element
        return seq.kind == "set" and len(seq.items) == 1 and self.equal(seq.items[0], scalar)

    def _seqs_equal(self, p: Seq, g: Seq) -> bool:
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
        fast = fast_equal(pred, gold)
        if fast is not None:
            self.rules.add(fast.rule)
            return fast.correct
        self.rules.add("symbolic")
        return bool(self._scalar(pred, gold))  # type: ignore[operator]


def _percent_variants(s: str) -> list[str]:
    t = s.strip()
    if t.endswith("%"):
        base = t[:-1].strip()
        return [base, f"\\frac{{{base}}}{{100}}"]
    return [t]


def symbolic_scalar_equal(pred: str, gold: str) -> bool:
    """Parse both sides with the guarded LaTeX converter and compare values (worker only)."""
    from dapo_bench.grading.math.symbolic import exprs_equal, to_sympy

    try:
        golds = [to_sympy(g) for g in _percent_variants(gold)]
        preds = [to_sympy(p) for p in _percent_variants(pred)]
    except Exception:  # unparsable, unsafe or too large: not equal
        return False
    pairs = [(p, g) for p in preds for g in golds]
    return any(exprs_equal(p, g) for p, g in pairs)


def _nesting(s: str) -> int:
    depths = _depth_scan(s)
    return max(depths, default=0)


def equal(pred: str, gold: str) -> Verdict:
    """Full comparison of two normalised answers (structure + symbolic). Worker side only."""
    fast = fast_equal(pred, gold)
    if fast is not None:
        return fast
    if len(pred) > MAX_STRUCT_CHARS or _nesting(pred) > MAX_NESTING:
        return Verdict(False, "too-complex")  # no gold answer looks like this
    comparator = Comparator(symbolic_scalar_equal)
    correct = comparator.equal(pred, gold)
    for rule in ("symbolic", "equation", "structure", "numeric", "choice", "text", "exact"):
        if rule in comparator.rules:
            return Verdict(correct, rule)
    return Verdict(correct, "mismatch")
