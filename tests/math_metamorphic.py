"""A metamorphic corpus for the math grader, generated from the real gold answers.

For each gold of the five math benchmarks, renderings a model could write that must stay equal
(``KEEP`` transforms) and perturbations that must become unequal (``BREAK`` transforms). Every
transform is written from the notation (how people write numbers, fractions, sets, intervals,
vectors, text answers), with its own small recognisers below: nothing here calls the grader's
normaliser or parser, so the corpus does not inherit the grader's assumptions.

A transform returns None when it does not apply to a gold (a separator style on a number under
1,000, a mixed number for a proper fraction, ...). ``cases(golds)`` yields dicts with
``transform``, ``benchmark``, ``gold``, ``response``, ``expected``.

All of it was written after the grader's second pass; its first run found two grader gaps
(a thousands separator after a label, ``x > e``), fixed since, and generator mistakes; the README
gives the first run's figures. The transforms under "issue 19's classes" were added with the
grader's third pass, one rendering and one perturbation per class of the issue.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path

BENCHMARKS = ("math", "gsm8k", "minerva_math", "olympiadbench", "college_math")

# ---------------------------------------------------------------- recognisers (notation only)

INT = re.compile(r"-?\d+")
SEP_INT = re.compile(r"-?[1-9]\d{0,2}(?:(?:,\\!\s*|,|\{,\}|\\,)\d{3})+")  # not "0,245"
DEC = re.compile(r"-?\d+\.\d+")
FRAC = re.compile(r"(-?)\\[dt]?frac\{(\d+)\}\{(\d+)\}")
TEXT = re.compile(r"(?:\\text\{\s*)?([A-Za-z][A-Za-z ]{2,30}[A-Za-z])\s*\}?")
NUM_ITEM = re.compile(r"-?\d+(?:\.\d+)?|-?\\frac\{\d+\}\{\d+\}")
INF = re.compile(r"-?\\infty")
PMAT_COL = re.compile(r"\\begin\{pmatrix\}(.*)\\end\{pmatrix\}")


def split_commas(s: str) -> list[str]:
    """Split at commas outside brackets."""
    out, depth, start = [], 0, 0
    i = 0
    while i < len(s):
        ch = s[i]
        if s.startswith("\\{", i) or s.startswith("\\}", i):
            depth += 1 if s[i + 1] == "{" else -1
            i += 2
            continue
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append(s[start:i].strip())
            start = i + 1
        i += 1
    out.append(s[start:].strip())
    return out


def integer(g: str) -> int | None:
    if INT.fullmatch(g):
        return int(g)
    if SEP_INT.fullmatch(g):
        return int(re.sub(r"[^\d-]", "", g))
    return None


def fraction(g: str) -> Fraction | None:
    m = FRAC.fullmatch(g)
    if m and int(m.group(3)) != 0:
        value = Fraction(int(m.group(2)), int(m.group(3)))
        return -value if m.group(1) else value
    return None


def terminating(f: Fraction) -> bool:
    d = f.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    return d == 1


def decimal_of(f: Fraction) -> str:
    """The exact decimal of a terminating fraction."""
    sign = "-" if f < 0 else ""
    f = abs(f)
    places = 0
    while (f * 10 ** places).denominator != 1:
        places += 1
    digits = str((f * 10 ** places).numerator).rjust(places + 1, "0")
    return sign + (digits[:-places] + "." + digits[-places:] if places else digits)


def tuple_items(g: str) -> tuple[str, str, list[str]] | None:
    """``(a, b, c)`` / ``\\left(...\\right)``: opener, closer, items (two or more)."""
    s = g.replace("\\left", "").replace("\\right", "").strip()
    if len(s) < 5 or s[0] not in "([" or s[-1] not in ")]":
        return None
    depth = 0
    for i, ch in enumerate(s):
        depth += ch in "([{"
        depth -= ch in ")]}"
        if depth == 0 and i < len(s) - 1:
            return None
    items = split_commas(s[1:-1])
    if len(items) < 2 or not all(items):
        return None
    return s[0], s[-1], items


def set_items(g: str) -> list[str] | None:
    s = re.sub(r"\\(?:left|right)\.", "", g)
    s = s.replace("\\left", "").replace("\\right", "").strip()
    if s.startswith("\\{") and s.endswith("\\}"):
        items = split_commas(s[2:-2])
        return items if len(items) >= 2 and all(items) else None
    return None


def text_answer(g: str) -> str | None:
    m = TEXT.fullmatch(g.strip())
    if m and (g.startswith("\\text{") or " " not in m.group(1)) and "\\" not in m.group(1):
        return m.group(1)
    return None


def is_interval(g: str) -> tuple[str, str, str, str] | None:
    """``(a,b]``, ``[a,\\infty)``: clearly an interval (an infinite end, or mixed or square
    brackets with numeric ends in increasing order)."""
    parts = tuple_items(g)
    if parts is None or len(parts[2]) != 2:
        return None
    opener, closer, (lo, hi) = parts
    if INF.fullmatch(lo) or INF.fullmatch(hi):
        if (lo == "\\infty") or (hi == "-\\infty"):
            return None
        return opener, lo, hi, closer
    if NUM_ITEM.fullmatch(lo) and NUM_ITEM.fullmatch(hi) and (opener, closer) != ("(", ")"):
        return opener, lo, hi, closer
    return None


def column_vector(g: str) -> list[str] | None:
    m = PMAT_COL.fullmatch(g.strip())
    if not m or "&" in m.group(1):
        return None
    rows = [r.strip() for r in m.group(1).split("\\\\") if r.strip()]
    return rows if len(rows) >= 2 else None


def simple_items(items: list[str]) -> bool:
    return all(NUM_ITEM.fullmatch(i.replace(" ", "")) for i in items)


# ---------------------------------------------------------------- renderings

def boxed(answer: str) -> str:
    return f"Let me work through it step by step.\n... so the answer is $\\boxed{{{answer}}}$."


def with_thousands(n: int, sep: str) -> str | None:
    if abs(n) < 1000:
        return None
    s = f"{abs(n):,}".replace(",", sep)
    return ("-" if n < 0 else "") + s


def frac_latex(f: Fraction) -> str:
    body = f"\\frac{{{abs(f.numerator)}}}{{{f.denominator}}}"
    return "-" + body if f < 0 else body


Transform = Callable[[str, str], str | None]  # (gold, benchmark) -> response or None


def _keep_sep(sep: str) -> Transform:
    def t(g: str, b: str) -> str | None:
        n = integer(g)
        written = None if n is None else with_thousands(n, sep)
        return None if written is None else boxed(written)
    return t


def _plain_int(g: str, b: str) -> str | None:
    n = integer(g)
    return boxed(str(n)) if n is not None and not INT.fullmatch(g) else None


def _dfrac(g: str, b: str) -> str | None:
    return boxed(g.replace("\\frac", "\\dfrac")) if "\\frac" in g and "\\dfrac" not in g \
        else None


def _tfrac(g: str, b: str) -> str | None:
    return boxed(g.replace("\\frac", "\\tfrac")) if "\\frac" in g and "\\tfrac" not in g \
        else None


def _slash(g: str, b: str) -> str | None:
    f = fraction(g)
    return None if f is None else boxed(f"{f.numerator}/{f.denominator}")


def _decimal(g: str, b: str) -> str | None:
    f = fraction(g)
    if f is not None and terminating(f):
        return boxed(decimal_of(f))
    return None


def _point_zero(g: str, b: str) -> str | None:
    return boxed(g + ".0") if INT.fullmatch(g) else None


def _mixed(g: str, b: str) -> str | None:
    f = fraction(g)
    if f is None or abs(f) < 1 or f.denominator == 1:
        return None
    whole, rest = divmod(abs(f.numerator), f.denominator)
    sign = "-" if f < 0 else ""
    return boxed(f"{sign}{whole}\\frac{{{rest}}}{{{f.denominator}}}")


def _spacing(g: str, b: str) -> str | None:
    # spaces around operators and list commas; a digit-group comma (15,600) keeps its digits
    spaced = re.sub(r"\s*([+=<>]|(?<!\\),(?!\d{3}(?!\d))|(?<![\d\\]),)\s*", r" \1 ", g).strip()
    spaced = re.sub(r"(?<=[\d}])\s*-\s*(?=[\d\\(])", " - ", spaced)
    return boxed(spaced) if spaced != g and "\\!" not in g and "{,}" not in g else None


def _dollars(g: str, b: str) -> str | None:
    return f"Therefore the final result is $\\boxed{{{g}}}$ indeed." if "$" not in g else None


def _display(g: str, b: str) -> str | None:
    return f"Putting everything together:\n\\[\n\\boxed{{{g}}}\n\\]" if "$" not in g else None


def _answer_is(g: str, b: str) -> str | None:
    if integer(g) is None and fraction(g) is None:
        return None
    return f"Collecting the terms, the answer is ${g}$."


def _minerva_final(g: str, b: str) -> str | None:
    if "$" in g:
        return None
    return ("Solving gives the value.\n"
            f"Final Answer: The final answer is ${g}$. I hope it is correct.")


def _labelled(g: str, b: str) -> str | None:
    if integer(g) is None and fraction(g) is None and not DEC.fullmatch(g):
        return None
    return boxed(f"n = {g}")


def _unit_text(g: str, b: str) -> str | None:
    if b == "minerva_math" or (integer(g) is None and not DEC.fullmatch(g)):
        return None
    return boxed(f"{g}\\text{{ units}}")


def _degrees(g: str, b: str) -> str | None:
    if b not in ("math", "olympiadbench") or integer(g) is None or not INT.fullmatch(g):
        return None
    return boxed(f"{g}^\\circ")


def _dollar_money(g: str, b: str) -> str | None:
    if b != "gsm8k" or integer(g) is None:
        return None
    return boxed(f"\\${g}")


def _gsm8k_sentence(g: str, b: str) -> str | None:
    n = integer(g)
    if b != "gsm8k" or n is None:
        return None
    return f"She pays 3 dollars a day for 5 days.\nSo in total it comes to {n:,}."


def _left_right(g: str, b: str) -> str | None:
    parts = tuple_items(g)
    if parts is None or "\\left" in g:
        return None
    opener, closer, items = parts
    return boxed(f"\\left{opener} {', '.join(items)} \\right{closer}")


def _set_reorder(g: str, b: str) -> str | None:
    items = set_items(g)
    if items is None or len(set(items)) != len(items):
        return None
    return boxed("\\{" + ", ".join(reversed(items)) + "\\}")


def _interval_inequality(g: str, b: str) -> str | None:
    iv = is_interval(g)
    if iv is None:
        return None
    opener, lo, hi, closer = iv
    lo_rel = "\\le" if opener == "[" else "<"
    hi_rel = "\\le" if closer == "]" else "<"
    if INF.fullmatch(lo) and INF.fullmatch(hi):
        return None
    if INF.fullmatch(hi):
        rel = "\\ge" if opener == "[" else ">"
        return boxed(f"x {rel} {lo}")
    if INF.fullmatch(lo):
        return boxed(f"x {hi_rel} {hi}")
    return boxed(f"{lo} {lo_rel} x {hi_rel} {hi}")


def _interval_member(g: str, b: str) -> str | None:
    return boxed(f"x \\in {g}") if is_interval(g) else None


def _vector_forms(g: str, b: str) -> str | None:
    rows = column_vector(g)
    if rows is not None:
        return boxed("(" + ", ".join(rows) + ")")
    return None


def _vector_angle(g: str, b: str) -> str | None:
    rows = column_vector(g)
    return boxed("\\langle " + ", ".join(rows) + " \\rangle") if rows is not None else None


def _text_wrap(g: str, b: str) -> str | None:
    word = text_answer(g)
    if word is None:
        return None
    return boxed(word if g.startswith("\\text") else f"\\text{{{word}}}")


def _text_case(g: str, b: str) -> str | None:
    word = text_answer(g)
    if word is None or word.upper() == word:
        return None
    flipped = word.lower() if word[0].isupper() else word[0].upper() + word[1:]
    return boxed(f"\\text{{{flipped}}}")


def _frac_short(g: str, b: str) -> str | None:
    m = FRAC.fullmatch(g)
    if m and len(m.group(2)) == 1 and len(m.group(3)) == 1:
        return boxed(f"{m.group(1)}\\frac{m.group(2)}{m.group(3)}")
    return None


def _sqrt_short(g: str, b: str) -> str | None:
    new = re.sub(r"\\sqrt\{(\d)\}", r"\\sqrt\1", g)
    return boxed(new) if new != g else None


def _negative_fraction_sign(g: str, b: str) -> str | None:
    m = FRAC.fullmatch(g)
    if m and m.group(1):
        return boxed(f"\\frac{{-{m.group(2)}}}{{{m.group(3)}}}")
    return None


# ---------------------------------------------------------------- issue 19's classes

SCALE_NAMES = ((10 ** 12, "trillion"), (10 ** 9, "billion"), (10 ** 6, "million"),
               (10 ** 3, "thousand"))
ASSIGNED = re.compile(r"([a-z])\s*=\s*([^=<>]+)")  # b=4, x = -1
TIME = re.compile(r"(?:\\text\{)?\s*(\d{1,2}):(\d{2})\s*([AaPp])\.?\s?[Mm]\.?\s*\}?")
EMPTY_SPELLINGS = {"\\emptyset": "\\varnothing", "\\varnothing": "\\oslash",
                   "no solution": "\\emptyset", "There is no solution.": "\\varnothing"}
LETTER_POLY = re.compile(r"[a-z0-9^{}+\- ]*[a-z][a-z0-9^{}+\- ]*")
X_EXPR = re.compile(r"[^=,<>]*(?<![A-Za-z\\])x(?![A-Za-z])[^=,<>]*")
SEP_FRAC = re.compile(r"(-?)\\[dt]?frac\{(\d+)\}\{(\d+)\}")


def balanced(s: str) -> bool:
    """Every bracket closed ("\\sin (2 \\ln x]" in one gold is not: moving it breaks it)."""
    depth = 0
    for ch in s.replace("\\{", "").replace("\\}", ""):
        depth += ch in "([{"
        depth -= ch in ")]}"
        if depth < 0:
            return False
    return depth == 0 and s.count("(") == s.count(")")


def scaled(n: int, smaller: bool = False) -> str | None:
    """``3200000000`` as ``3.2 billion`` (``smaller``: the same digits a scale lower)."""
    for k, (scale, name) in enumerate(SCALE_NAMES):
        if abs(n) >= scale:
            if smaller:
                if k + 1 == len(SCALE_NAMES):
                    return None
                name = SCALE_NAMES[k + 1][1]
            return f"{decimal_of(Fraction(n, scale))} {name}"
    return None


def poly_terms(g: str) -> list[str] | None:
    """The signed top-level terms of a sum in letters (``x^3 + 2x^2 + x``), two or more."""
    s = g.replace(" ", "")
    if not LETTER_POLY.fullmatch(g) or re.search(r"\de[+-]?\d", g):
        return None  # 1e-5 is scientific notation, not a sum
    terms, depth, start = [], 0, 0
    for i, ch in enumerate(s):
        depth += ch == "{"
        depth -= ch == "}"
        if ch in "+-" and depth == 0 and i > 0 and s[i - 1] not in "^+-":
            terms.append(s[start:i])
            start = i
    terms.append(s[start:])
    terms = [t if t[0] in "+-" else "+" + t for t in terms]
    if len(terms) < 2 or any(len(t) < 2 for t in terms) or len(set(terms)) != len(terms):
        return None
    return terms


def join_terms(terms: list[str]) -> str:
    out = " ".join(f"{t[0]} {t[1:]}" for t in terms)
    return out[2:] if out.startswith("+ ") else "-" + out[2:]


def _membership_prefix(g: str, b: str) -> str | None:
    if is_interval(g) is not None or set_items(g) is not None:
        return boxed(f"\\theta \\in {g}")
    return None


def _membership_complement(g: str, b: str) -> str | None:
    return boxed(f"\\theta \\notin {g}") if is_interval(g) is not None else None


def _scale_word(g: str, b: str) -> str | None:
    n = integer(g)
    words = None if n is None else scaled(n)
    return None if words is None else boxed(words.replace(" ", " \\text{ ") + "}")


def _scale_word_lower(g: str, b: str) -> str | None:
    n = integer(g)
    words = None if n is None else scaled(n, smaller=True)
    return None if words is None else f"So the total comes to {words}."


def _unit_words(g: str, b: str) -> str | None:
    if b == "minerva_math" or (integer(g) is None and not DEC.fullmatch(g)):
        return None
    return f"Adding them up, the answer is {g} baskets of fruit."


def _unit_words_wrong(g: str, b: str) -> str | None:
    n = integer(g)
    if b == "minerva_math" or n is None:
        return None
    return boxed(f"{n + 1} \\text{{ baskets of fruit}}")


def _variable_right(g: str, b: str) -> str | None:
    # "y=1-x+x^{2}.": the sentence's stop (not "\right."); a unit ("ft", "\mathrm{cm}") ends
    # the value, so it is not moved before the "="
    m = ASSIGNED.fullmatch(re.sub(r"(?<!\\right)\.$", "", g.strip()))
    if m and not re.search(r"\\(?:mathrm|text)|;|\s[a-z]{2,}\s*$", m.group(2)) \
            and balanced(m.group(2)):
        return boxed(f"{m.group(2).strip()} = {m.group(1)}")
    if integer(g) is not None or fraction(g) is not None:
        return boxed(f"{g}=b")
    return None


def _variable_right_wrong(g: str, b: str) -> str | None:
    n = integer(g)
    if n is None:
        m = ASSIGNED.fullmatch(g.strip())
        n = integer(m.group(2).strip()) if m else None
    return None if n is None else boxed(f"{n + 1} = b")


def _function_definition(g: str, b: str) -> str | None:
    if not X_EXPR.fullmatch(g) or "\\in" in g or len(g) > 80 or text_answer(g) is not None:
        return None
    return boxed(f"g^{{-1}}(x) = {g}")


def _empty_spelling(g: str, b: str) -> str | None:
    other = EMPTY_SPELLINGS.get(g.strip())
    return None if other is None else boxed(other)


def _empty_element(g: str, b: str) -> str | None:
    return boxed("\\{\\emptyset\\}") if g.strip() in EMPTY_SPELLINGS else None


def _separator_in_fraction(g: str, b: str) -> str | None:
    m = SEP_FRAC.fullmatch(g.strip())
    if m is None or max(int(m.group(2)), int(m.group(3))) < 1000:
        return None
    num, den = (with_thousands(int(x), ",") or x for x in (m.group(2), m.group(3)))
    return boxed(f"{m.group(1)}\\frac{{{num}}}{{{den}}}")


def _separator_in_fraction_off(g: str, b: str) -> str | None:
    m = SEP_FRAC.fullmatch(g.strip())
    if m is None or int(m.group(3)) < 1000:
        return None
    den = with_thousands(int(m.group(3)) + 1, ",\\!")
    return boxed(f"{m.group(1)}\\frac{{{m.group(2)}}}{{{den}}}")


def _polynomial_reordered(g: str, b: str) -> str | None:
    terms = poly_terms(g)
    return None if terms is None else boxed(join_terms(terms[::-1]))


def _polynomial_negated(g: str, b: str) -> str | None:
    terms = poly_terms(g)
    if terms is None:
        return None
    flipped = [("-" if t[0] == "+" else "+") + t[1:] for t in terms[::-1]]
    return boxed(join_terms(flipped))


def _text_last_sentence(g: str, b: str) -> str | None:
    word = text_answer(g)
    if word is None or word.lower().startswith(("no ", "not ")):
        return None
    return f"We check every case in turn.\nSo in the end it is {word}."


def _text_last_sentence_negated(g: str, b: str) -> str | None:
    word = text_answer(g)
    if word is None or word.lower().startswith(("no ", "not ")):
        return None
    return f"We check every case in turn.\nSo in the end it is not {word}."


def _time_24h(g: str, b: str) -> str | None:
    m = TIME.fullmatch(g.strip())
    if m is None:
        return None
    hour = int(m.group(1)) % 12 + (12 if m.group(3) in "Pp" else 0)
    return boxed(f"{hour}:{m.group(2)}")


def _meridiem_swapped(g: str, b: str) -> str | None:
    m = TIME.fullmatch(g.strip())
    if m is None:
        return None
    other = "AM" if m.group(3) in "Pp" else "PM"
    return f"So it happens at ${m.group(1)}:{m.group(2)}$ {other}."


# ---------------------------------------------------------------- perturbations


def _off_by_one(g: str, b: str) -> str | None:
    n = integer(g)
    return None if n is None else boxed(str(n + 1))


def _sign(g: str, b: str) -> str | None:
    n = integer(g)
    if n is not None and n != 0:
        return boxed(str(-n))
    f = fraction(g)
    if f is not None and f != 0:
        return boxed(frac_latex(-f))
    return None


def _numerator(g: str, b: str) -> str | None:
    f = fraction(g)
    if f is None:
        return None
    return boxed(frac_latex(Fraction(f.numerator + 1, f.denominator)))


def _drop_element(g: str, b: str) -> str | None:
    parts = tuple_items(g)
    if parts is not None and len(parts[2]) >= 3 and is_interval(g) is None:
        opener, closer, items = parts
        return boxed(opener + ", ".join(items[:-1]) + closer)
    items = set_items(g)
    if items is not None:
        return boxed("\\{" + ", ".join(items[:-1]) + "\\}")
    return None


def _add_element(g: str, b: str) -> str | None:
    items = set_items(g)
    if items is not None and simple_items(items):
        return boxed("\\{" + ", ".join([*items, "1000003"]) + "\\}")
    parts = tuple_items(g)
    if parts is not None and is_interval(g) is None and simple_items(parts[2]):
        opener, closer, its = parts
        return boxed(opener + ", ".join([*its, "1000003"]) + closer)
    return None


def _swap_order(g: str, b: str) -> str | None:
    parts = tuple_items(g)
    if parts is None or is_interval(g) is not None or not simple_items(parts[2]):
        return None
    opener, closer, items = parts
    if opener != "(" or items[0].replace(" ", "") == items[1].replace(" ", ""):
        return None
    return boxed(opener + ", ".join([items[1], items[0], *items[2:]]) + closer)


def _open_closed(g: str, b: str) -> str | None:
    iv = is_interval(g)
    if iv is None:
        return None
    opener, lo, hi, closer = iv
    if INF.fullmatch(lo) and INF.fullmatch(hi):
        return None
    if INF.fullmatch(lo):
        return boxed(f"({lo}, {hi}{']' if closer == ')' else ')'}")
    return boxed(f"{'(' if opener == '[' else '['}{lo}, {hi}{closer}")


def _unit_scale(g: str, b: str) -> str | None:
    n = integer(g)
    if n is not None and n != 0:
        return boxed(str(n * 1000))
    if DEC.fullmatch(g) and float(g) != 0:
        return boxed(g + "e3")
    return None


def _other_constant(g: str, b: str) -> str | None:
    """Change one constant inside an expression: ``\\sqrt{2}`` -> ``\\sqrt{3}``."""
    if integer(g) is not None or fraction(g) is not None or DEC.fullmatch(g):
        return None
    if len(g) > 80 or not re.search(r"\\sqrt\{\d+\}|\\pi|\^\{?\d", g):
        return None
    m = re.search(r"\\sqrt\{(\d+)\}", g)
    if m:
        n = int(m.group(1))
        new = n + 1 if int((n + 1) ** 0.5) ** 2 != n + 1 else n + 2
        return boxed(g[:m.start(1)] + str(new) + g[m.end(1):])
    m = re.search(r"(?<![\d.])(\d+)\\pi", g)
    if m:
        return boxed(g[:m.start(1)] + str(int(m.group(1)) + 1) + g[m.end(1):])
    return None


def _truncated_decimal(g: str, b: str) -> str | None:
    f = fraction(g)
    if f is None or terminating(f) or b == "minerva_math":
        return None
    sign = "-" if f < 0 else ""
    scaled = abs(f) * 10 ** 4
    return boxed(f"{sign}{scaled.numerator // scaled.denominator / 10 ** 4:.4f}")


def _text_other(g: str, b: str) -> str | None:
    word = text_answer(g)
    if word is None:
        return None
    return boxed(f"\\text{{not {word}}}")


def _vector_swap(g: str, b: str) -> str | None:
    rows = column_vector(g)
    if rows is None or rows[0].replace(" ", "") == rows[1].replace(" ", ""):
        return None
    return boxed("(" + ", ".join([rows[1], rows[0], *rows[2:]]) + ")")


KEEP: dict[str, Transform] = {
    "dollars": _dollars,
    "display-math": _display,
    "spacing": _spacing,
    "dfrac": _dfrac,
    "tfrac": _tfrac,
    "frac-short": _frac_short,
    "sqrt-short": _sqrt_short,
    "a/b": _slash,
    "terminating-decimal": _decimal,
    "integer-x.0": _point_zero,
    "mixed-number": _mixed,
    "minus-in-numerator": _negative_fraction_sign,
    "separator-comma": _keep_sep(","),
    "separator-math": _keep_sep(",\\!"),
    "separator-thin": _keep_sep("\\,"),
    "separator-brace": _keep_sep("{,}"),
    "separators-dropped": _plain_int,
    "answer-is": _answer_is,
    "minerva-final": _minerva_final,
    "labelled": _labelled,
    "unit-text": _unit_text,
    "degrees": _degrees,
    "money-sign": _dollar_money,
    "gsm8k-sentence": _gsm8k_sentence,
    "left-right": _left_right,
    "set-reordered": _set_reorder,
    "interval-as-inequality": _interval_inequality,
    "interval-membership": _interval_member,
    "vector-as-tuple": _vector_forms,
    "vector-angle-brackets": _vector_angle,
    "text-wrapper": _text_wrap,
    "text-case": _text_case,
    "membership-prefix": _membership_prefix,
    "scale-word": _scale_word,
    "unit-words": _unit_words,
    "time-24-hour": _time_24h,
    "variable-right": _variable_right,
    "function-definition": _function_definition,
    "empty-set-spelling": _empty_spelling,
    "text-last-sentence": _text_last_sentence,
    "polynomial-reordered": _polynomial_reordered,
    "separator-in-fraction": _separator_in_fraction,
}
BREAK: dict[str, Transform] = {
    "off-by-one": _off_by_one,
    "sign": _sign,
    "numerator+1": _numerator,
    "dropped-element": _drop_element,
    "added-element": _add_element,
    "swapped-order": _swap_order,
    "open-vs-closed": _open_closed,
    "unit-scale": _unit_scale,
    "other-constant": _other_constant,
    "truncated-decimal": _truncated_decimal,
    "negated-text": _text_other,
    "vector-swapped": _vector_swap,
    "membership-complement": _membership_complement,
    "scale-word-lower": _scale_word_lower,
    "unit-words-wrong": _unit_words_wrong,
    "meridiem-swapped": _meridiem_swapped,
    "variable-right-wrong": _variable_right_wrong,
    "empty-set-element": _empty_element,
    "text-last-sentence-negated": _text_last_sentence_negated,
    "polynomial-negated": _polynomial_negated,
    "separator-in-fraction-off": _separator_in_fraction_off,
}
def load_golds(data_dir: Path) -> list[tuple[str, str]]:
    """``(benchmark, gold)`` for every problem of the five math benchmarks."""
    from dapo_bench.data.registry import load_benchmark

    out = []
    for bench in BENCHMARKS:
        out.extend((bench, str(p.gold)) for p in load_benchmark(bench, data_dir=data_dir))
    return out


def cases(golds: list[tuple[str, str]]) -> Iterator[dict]:
    for bench, gold in golds:
        g = gold.strip()
        for kind, table in (("keep", KEEP), ("break", BREAK)):
            for name, transform in table.items():
                response = transform(g, bench)
                if response is None:
                    continue
                yield {"transform": name, "kind": kind, "benchmark": bench, "gold": gold,
                       "response": response, "expected": kind == "keep"}
