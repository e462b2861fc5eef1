"""Answer normalisation: turn the many spellings of one answer into one string.

Pure string work with linear-time regexes, safe to run on model text in the parent process.
Follows the Qwen2.5-Math toolkit's ``strip_string`` where it is sound and departs where it loses
information (it deletes ``\\{``, single letters such as "a" or "t" taken for units, and the "x="
of any answer); the README lists the differences.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

# Units removed after a number (plain words, or inside \text{}/\mbox{}/\mathrm{}). One-letter
# units need a space before them, so "3m" (3 times m) keeps its variable.
_UNITS = (
    "units?", "sq(?:uare)? units?", "cubic units?", "degrees?", "deg", "radians?", "rad",
    "cents?", "dollars?", "euros?", "pounds?", "yuan", "rupees?", "rs",
    "mm", "cm", "dm", "km", "meters?", "metres?", "centimeters?", "centimetres?",
    "millimeters?", "kilometers?", "kilometres?", "inch(?:es)?", "in", "feet", "foot", "ft",
    "yards?", "yd", "miles?", "mi", "mph", "kph", "km/h", "m/s", "cm/s", "ft/s",
    "seconds?", "secs?", "minutes?", "mins?", "hours?", "hrs?", "days?", "weeks?",
    "months?", "years?", "yrs?", "grams?", "kg", "kilograms?", "mg", "lbs?", "ounces?",
    "oz", "tons?", "liters?", "litres?", "ml", "mL", "gallons?", "gal", "quarts?", "pints?",
    "cups?", "acres?", "hectares?", "people", "persons?", "students?", "apples?", "pieces?",
    "points?", "ways?", "times", "items?", "books?", "boxes", "cookies?", "eggs?", "pages?",
    "marbles?", "coins?", "cars?", "trees?", "balls?", "bags?", "boys?", "girls?", "men",
    "women", "children", "kids?", "friends?", "sheep", "cows?", "dogs?", "cats?", "birds?",
    "legs?", "candies", "candy", "stickers?", "pencils?", "pens?", "slices?", "pizzas?",
    "bottles?", "cans?", "tickets?", "laps?", "steps?", "sides?", "edges?", "vertices",
    "faces?", "digits?", "Pa", "Hz", "eV", "keV", "MeV", "GeV", "nm", "um", "pc",
    "kpc", "Mpc", "AU", "ly", "ergs?", "Angstroms?", "kJ", "kW", "MW",
)
_SHORT_UNITS = ("m", "s", "h", "g", "l", "L", "K", "J", "N", "W", "V", "A")
_UNIT_ALT = "|".join(_UNITS)
_ANY_UNIT = f"(?:{_UNIT_ALT}|{'|'.join(_SHORT_UNITS)})"
_UNIT_TAIL_RE = re.compile(
    rf"(?<=[\d}}).)\s])(?:\s*(?:(?:square|sq\.?|cubic|cu\.?)\s+)?(?:{_UNIT_ALT})"
    rf"|\s+(?:{'|'.join(_SHORT_UNITS)}))"
    rf"(?:\s*(?:/|per)\s*{_ANY_UNIT})?(?:\s*\^\s*\{{?\s*[23]\s*\}}?|[23²³])?\s*\.?$")
_TEXT_TAIL_RE = re.compile(
    r"\\(?:text|textrm|textnormal|mbox|mathrm|rm)\s*\{([^{}]*)\}"
    r"(?:\s*\^\s*\{?\s*-?\d\s*\}?)?\s*$")
_TEXT_WRAP_RE = re.compile(
    r"\\(?:text|textrm|textnormal|textbf|textit|textsf|texttt|mbox|mathrm|mathbf|mathit|"
    r"mathsf|mathtt|boldsymbol|bm|emph)\s*\{([^{}]*)\}")
_SPACES_RE = re.compile(r"\\(?:quad|qquad|enspace|thinspace|medspace|thickspace)(?![A-Za-z])"
                        r"|(?<!\\)\\[,:;! ]|~")
_SIZING_RE = re.compile(r"\\(?:left|right|bigl|bigr|Bigl|Bigr|biggl|biggr|big|Big|bigg|Bigg)"
                        r"(?![A-Za-z])")
_DEGREES_RE = re.compile(r"\^\s*\{\s*\\circ\s*\}|\^\s*\\circ(?![A-Za-z])|°|\\degree(?![A-Za-z])"
                         r"|\\textdegree(?![A-Za-z])")
_MATRIX_ENVS_RE = re.compile(r"\\(begin|end)\{(?:bmatrix|Bmatrix|matrix|smallmatrix|vmatrix)\}")
_ARRAY_BEGIN_RE = re.compile(r"\\begin\{array\}\s*\{[^{}]*\}")
_THOUSANDS_RE = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_WORD_NUMBERS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "thousand": 1000,
}
_MIXED_RE = re.compile(r"([+-]?)(\d+)\\frac\{(\d+)\}\{(\d+)\}")
_FRAC_RE = re.compile(r"([+-]?)\\frac\{([+-]?\d+)\}\{([+-]?\d+)\}")
_SLASH_RE = re.compile(r"([+-]?\d+)/([+-]?\d+)")
_DEC = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"
_SCI_RE = re.compile(rf"({_DEC})(?:[eE]([+-]?\d+)"
                     rf"|(?:\\times|\\cdot|\*|×)10\^(?:\{{([+-]?\d+)\}}|(\d)))")
_DEC_RE = re.compile(_DEC)
_CHOICE_RE = re.compile(r"\(?([A-E])\)?(?:[.:)]|$)")
_TEXT_RE = re.compile(r"[A-Za-z][A-Za-z' \-]*[A-Za-z]")
MAX_EXPONENT = 400  # larger powers of ten are left to the bounded symbolic stage


def _unwrap(pattern: re.Pattern[str], s: str) -> str:
    for _ in range(8):
        new = pattern.sub(r"\1", s)
        if new == s:
            break
        s = new
    return s


def _strip_unit_tail(s: str, plain_words: bool) -> str:
    for _ in range(4):
        m = _TEXT_TAIL_RE.search(s)
        if m and s[:m.start()].strip() and re.search(r"[A-Za-z]", m.group(1)):
            s = re.sub(r"\s*(?:/|\\cdot|\bper)\s*$", "", s[:m.start()]).rstrip()
            continue
        if plain_words and re.search(r"\d", s):
            m = _UNIT_TAIL_RE.search(s)
            if m and m.start() > 0 and s[:m.start()].strip():
                s = s[:m.start()].rstrip()
                continue
        break
    return s


def normalize_answer(text: str, *, strip_units: bool = True) -> str:
    """Canonical spelling of an answer (spaces kept single, so LaTeX stays parseable).

    ``strip_units=False`` keeps plain-word units (Minerva Math, as the Qwen toolkit does);
    trailing ``\\text{...}`` units are removed either way.
    """
    s = text.replace("\r", " ").replace("\n", " ").replace("\t", " ").strip()
    s = s.replace("\\$", "").replace("$", "")
    s = re.sub(r"\\[()\[\]]", " ", s)
    s = re.sub(r"\\(?:displaystyle|textstyle|scriptstyle)(?![A-Za-z])", "", s)
    s = re.sub(r"^\\(?:boxed|fbox)\s*\{(.*)\}$", r"\1", s.strip())
    s = re.sub(r"\\[dt]frac(?![A-Za-z])", r"\\frac", s)
    s = re.sub(r"\\(?:left|right)\.", "", s)
    s = _SIZING_RE.sub("", s)
    s = _SPACES_RE.sub(" ", s)
    s = _DEGREES_RE.sub("", s)
    s = s.replace("\\%", "%")
    s = _strip_unit_tail(s.strip(), strip_units)
    s = _unwrap(_TEXT_WRAP_RE, s)
    s = re.sub(r"\s*\bpercent\b", "%", s)
    s = re.sub(r"\\neq(?![A-Za-z])", r"\\ne", s)
    s = re.sub(r"\\leq(?:slant)?(?![A-Za-z])", r"\\le", s)
    s = re.sub(r"\\geq(?:slant)?(?![A-Za-z])", r"\\ge", s)
    s = re.sub(r"\binfinity\b|∞|\binf\b", r"\\infty", s)
    s = re.sub(r"(^|[,(\[])\s*\+\s*\\infty", r"\1\\infty", s)
    s = re.sub(r"\\varnothing(?![A-Za-z])|∅|\\\{\s*\\\}", r"\\emptyset", s)
    s = re.sub(r"\\frac\s*(\d)\s*(\d)", r"\\frac{\1}{\2}", s)
    s = re.sub(r"\\frac\s*(\d)\s*\{", r"\\frac{\1}{", s)
    s = re.sub(r"\\sqrt\s*(\d+)", r"\\sqrt{\1}", s)
    s = re.sub(r"\\sqrt\s+([A-Za-z])(?![A-Za-z])", r"\\sqrt{\1}", s)
    s = _MATRIX_ENVS_RE.sub(r"\\\1{pmatrix}", s)
    s = _ARRAY_BEGIN_RE.sub(r"\\begin{pmatrix}", s)
    s = s.replace("\\end{array}", "\\end{pmatrix}")
    s = re.sub(r"(\d)\{,\}(?=\d{3})", r"\1", s)
    s = re.sub(r"\s+", " ", s).strip()
    s = re.sub(r"^(?:\\approx|≈|=)\s*", "", s)
    if re.search(r"\d", s):
        s = re.sub(r"\s+(?:and|or)\s+", ", ", s)
    s = re.sub(r"(^|[^\d.}])\.(\d)", r"\g<1>0.\2", s)
    s = s.rstrip(" .,;:").rstrip("\\").strip().lstrip(":").strip()
    if _THOUSANDS_RE.fullmatch(s):
        s = s.replace(",", "")
    if s.lower() in _WORD_NUMBERS:
        s = str(_WORD_NUMBERS[s.lower()])
    return s


def compact(s: str) -> str:
    """The comparison key for exact matches: a normalised answer without spaces."""
    return s.replace(" ", "")


@dataclass(frozen=True)
class Num:
    """A plain numeric literal: exact value, whether written as a decimal, whether a percent."""

    value: Fraction
    inexact: bool
    percent: bool


def parse_number(s: str) -> Num | None:
    """Read a plain number (integer, decimal, scientific, ``\\frac{a}{b}``, ``a/b``, mixed
    number, optional trailing ``%``) without any expression parser; None if it is not one."""
    t = compact(s).replace("\\%", "%")
    percent = t.endswith("%")
    if percent:
        t = t[:-1]
    if not t or len(t) > 200:
        return None
    if _DEC_RE.fullmatch(t):
        return Num(Fraction(t), "." in t, percent)
    m = _SCI_RE.fullmatch(t)
    if m:
        exp = int(m.group(2) or m.group(3) or m.group(4))
        if abs(exp) > MAX_EXPONENT:
            return None
        return Num(Fraction(m.group(1)) * Fraction(10) ** exp, True, percent)
    m = _MIXED_RE.fullmatch(t)
    if m and int(m.group(4)) != 0:
        val = int(m.group(2)) + Fraction(int(m.group(3)), int(m.group(4)))
        return Num(-val if m.group(1) == "-" else val, False, percent)
    m = _FRAC_RE.fullmatch(t) or _SLASH_RE.fullmatch(t)
    if m:
        groups = m.groups()
        sign, num, den = ("", *groups) if len(groups) == 2 else groups
        if int(den) == 0:
            return None
        val = Fraction(int(num), int(den))
        return Num(-val if sign == "-" else val, False, percent)
    return None


REL_TOL = Fraction(1, 10_000)


def close(a: Fraction, b: Fraction, inexact: bool) -> bool:
    """Exact equality, or relative tolerance 1e-4 (the Qwen toolkit's) with a decimal."""
    if a == b:
        return True
    return inexact and abs(a - b) <= REL_TOL * max(abs(a), abs(b))


def numbers_equal(pred: Num, gold: Num) -> bool:
    """Numeric equality; a percent on one side also matches its value over 100 on the other."""
    inexact = pred.inexact or gold.inexact
    if close(pred.value, gold.value, inexact):
        return True
    if pred.percent != gold.percent:
        pct, other = (pred, gold) if pred.percent else (gold, pred)
        return close(pct.value / 100, other.value, inexact)
    return False


def choice_letter(s: str) -> str | None:
    """The letter of a multiple-choice answer: "B", "(B)", "B.", "(B) 12"."""
    t = s.strip()
    m = _CHOICE_RE.match(t)
    if m and (m.end() == len(t) or t[m.end():m.end() + 1] == " "):
        return m.group(1)
    return None


def is_text(s: str) -> bool:
    """A word answer ("odd", "no solution", "Devon"): compared as text, never parsed as algebra
    (parsing would read "odd" as o*d*d)."""
    return bool(_TEXT_RE.fullmatch(s)) and len(re.sub(r"[^A-Za-z]", "", s)) >= 2
