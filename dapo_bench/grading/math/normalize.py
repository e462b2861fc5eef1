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
_THOUSANDS_RE = re.compile(r"[+-]?[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?")  # not "0,245"
_LABELLED_THOUSANDS_RE = re.compile(
    r"((?:[A-Za-z]|\\[A-Za-z]+)(?:_\{?\w+\}?)?\s*=\s*)([+-]?[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?)")
# A TeX group holding one thousands-separated integer: "\frac{3}{1,024}" (not an escaped "\{")
_BRACED_THOUSANDS_RE = re.compile(r"(?<=[^\\]\{)[+-]?[1-9]\d{0,2}(?:,\d{3})+(?=\})")
_RIGHT_LABELLED_THOUSANDS_RE = re.compile(  # "15,600 = b": the variable on the right
    r"([+-]?[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?)(\s*=\s*(?:[A-Za-z]|\\[A-Za-z]+)(?:_\{?\w+\}?)?)")
_SPACED_THOUSANDS_RE = re.compile(r"[+-]?[1-9]\d{0,2}(?: \d{3})+(?:\.\d+)?")
# Digit-group separators that cannot mean anything else between digits: MATH's ",\!" (with
# optional spaces), "{,}", a thin space "\," or "\ ", and U+2009/U+202F.
GROUP_SEP_RE = re.compile(r"(?<=\d)(?:\s*,\s*\\!\s*|\{,\}|\\,|\\ |\\!|[\u2009\u202f])"
                           r"(?=\d{3}(?!\d))")
_REPEATING_RE = re.compile(r"([+-]?)(\d*)\.(\d*)\\(?:overline|bar|dot)\s*\{(\d+)\}")
_CLOCK_RE = re.compile(r"(\d{1,2}:\d{2})\s*([ap])\.?\s*m\b\.?", re.IGNORECASE)
_TIME_RE = re.compile(r"(\d{1,2}):(\d{2})(?: ([ap])m)?")  # a whole answer, after _CLOCK_RE
# "x \in [2,5)", "\theta \in \{1,2\}": the answer is the set (not "\notin")
_MEMBERSHIP_RE = re.compile(
    r"^(?:[A-Za-z]|\\[A-Za-z]+)(?:_\{?[A-Za-z0-9]+\}?)?\s*\\in(?![A-Za-z])\s*")
# A number, then a scale word (optionally inside \text{}): "3.2 billion", "1.25 \text{ million}"
_SCALES = {"thousand": 10**3, "million": 10**6, "billion": 10**9, "trillion": 10**12}
_SCALE_RE = re.compile(r"^([+-]?\d+(?:\.\d+)?)\s*(\\(?:text|textrm|mbox|mathrm)\s*\{\s*)?"
                       r"(thousand|million|billion|trillion)s?(?![A-Za-z])", re.IGNORECASE)
# A plain number followed only by words: "72 heartbeats", "18 square feet of tile"
_NUMBER_WORDS_RE = re.compile(r"([+-]?(?:[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+"
                              r"|\\frac\{\d+\}\{\d+\}|\d+/\d+)%?)"
                              r"((?:[\s-]+[A-Za-z]{2,}){1,6})")
# Words that change the value or hide another quantity: never dropped as a unit
_VALUE_WORDS = frozenset({
    "less", "more", "fewer", "than", "times", "plus", "minus", "over", "per", "half", "halves",
    "third", "thirds", "quarter", "quarters", "squared", "cubed", "dozen", "dozens", "hundred",
    "hundreds", "score", "not", "no", "and", "or", "percent", "off", "thousand", "million",
    "billion", "trillion", "thousands", "millions", "billions", "trillions",
})
_ALL_REALS_RE = re.compile(
    r"\\mathbb\s*\{?\s*R\s*\}?|\\R(?![A-Za-z])|ℝ|\\text\{\s*all real numbers\s*\}"
    r"|^(?:the set of )?all real(?: numbers|s)?\.?$|^\(-\\infty,\s*\\infty\)$", re.IGNORECASE)
_DNE_RE = re.compile(r"^(?:dne|does not exist|doesn't exist|undefined|not defined)\.?$",
                     re.IGNORECASE)
_CONVERGENCE = {"absolutely convergent": "converges absolutely",
                "conditionally convergent": "converges conditionally",
                "convergent": "converges", "divergent": "diverges", "converge": "converges",
                "diverge": "diverges"}
_CONVERGENCE_RE = re.compile(r"^(?:absolutely convergent|conditionally convergent|convergent|"
                             r"divergent|converge|diverge)$", re.IGNORECASE)
_NO_SOLUTION_RE = re.compile(
    r"^(?:there (?:is|are) )?no (?:real )?(?:solutions?|roots?|such (?:numbers?|values?))\.?$"
    r"|^(?:the )?empty set$", re.IGNORECASE)
_TEXT_FILLER_RE = re.compile(
    r"^(?:(?:the|this|it|its) )?(?:(?:infinite )?(?:series|sequence|integral|limit|sum|function|"
    r"answer|day|number) )?(?:is |are |will be |would be )?", re.IGNORECASE)
# Python / numpy spellings seen in Minerva Math golds: np.arctan(3/4), 2**10, -2./5
_PY_PREFIX_RE = re.compile(r"\b(?:np|numpy|math|sp|sympy)\.(?=[A-Za-z])")
_PY_FUNCS = {"arctan": "\\arctan", "arcsin": "\\arcsin", "arccos": "\\arccos",
             "atan": "\\arctan", "asin": "\\arcsin", "acos": "\\arccos", "sin": "\\sin",
             "cos": "\\cos", "tan": "\\tan", "exp": "\\exp", "log": "\\ln",
             "log10": "\\log_{10}", "log2": "\\log_{2}", "sinh": "\\sinh", "cosh": "\\cosh",
             "tanh": "\\tanh"}
_PY_FUNC_RE = re.compile(r"(?<![A-Za-z\\])(" + "|".join(sorted(_PY_FUNCS, key=len, reverse=True))
                         + r")(?=\s*\()")
_PY_CONST_RE = re.compile(r"(?<![A-Za-z\\])pi(?![A-Za-z])")
_PY_POW_RE = re.compile(r"\*\*\s*(\([^()]*\)|[+-]?[\w.]+)")
_PY_FLOAT_RE = re.compile(r"(?<![\d.])(\d+)\.(?=\s*[/*)^])")  # "2./5": a float literal
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
_WORD_RE = re.compile(r"[A-Za-z]{2}")
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


def _scale_words(s: str) -> str:
    """``3.2 billion`` as ``3200000000``: a number at the start of the answer times an exact
    power of ten (what follows, a unit, stays for the unit rules)."""
    m = _SCALE_RE.match(s)
    if m is None:
        return s
    value = Fraction(m.group(1)) * _SCALES[m.group(3).lower()]
    written = str(value.numerator) if value.denominator == 1 else _decimal(value)
    rest = s[m.end():]
    if m.group(2):  # the scale word was inside \text{...}: reopen it for what follows
        rest = rest.lstrip()
        rest = rest[1:] if rest.startswith("}") else "\\text{" + rest
    return written + rest


def _decimal(value: Fraction) -> str:
    """The exact decimal of a terminating fraction (a scaled decimal always terminates)."""
    sign, value = ("-" if value < 0 else ""), abs(value)
    places = 0
    while (value * 10 ** places).denominator != 1:
        places += 1
    digits = str((value * 10 ** places).numerator).rjust(places + 1, "0")
    return sign + digits[:-places] + "." + digits[-places:]


def _drop_words_after_number(s: str) -> str:
    """``72 heartbeats`` is 72: words after a number are dropped only when the number is the
    whole answer and no word could change its value ("6 less than x", "3 dozen")."""
    m = _NUMBER_WORDS_RE.fullmatch(s)
    if m is None:
        return s
    words = re.split(r"[\s-]+", m.group(2).strip().lower())
    if any(w in _VALUE_WORDS for w in words):
        return s
    return m.group(1).replace(",", "") if "," in m.group(1) else m.group(1)


def _time_of_day(s: str) -> str:
    """A whole answer that is a time of day, on the 24-hour clock without a leading zero:
    ``7:45 pm`` and ``19:45`` are ``19:45``; a time with no am/pm is read as 24-hour."""
    m = _TIME_RE.fullmatch(s)
    if m is None:
        return s
    hour, minute, half = int(m.group(1)), int(m.group(2)), m.group(3)
    if minute > 59 or hour > (12 if half else 23) or (half and hour == 0):
        return s
    if half:
        hour = hour % 12 + (12 if half == "p" else 0)
    return f"{hour}:{minute:02d}"


def python_syntax(s: str) -> str:
    """Rewrite the Python/numpy spellings of Minerva golds (``np.arctan(3/4)``, ``2**10``,
    ``-2./5``) as LaTeX; text without those markers is returned unchanged."""
    if _PY_PREFIX_RE.search(s):
        s = _PY_PREFIX_RE.sub("", s)
        s = _PY_FUNC_RE.sub(lambda m: _PY_FUNCS[m.group(1)], s)
        s = _PY_CONST_RE.sub(r"\\pi", s)
        s = re.sub(r"(?<![A-Za-z\\])sqrt\s*\(([^()]*)\)", r"\\sqrt{\1}", s)
    if "**" in s:
        for _ in range(4):
            new = _PY_POW_RE.sub(lambda m: "^{" + m.group(1) + "}", s)
            if new == s:
                break
            s = new
    return _PY_FLOAT_RE.sub(r"\1", s) if _PY_FLOAT_RE.search(s) else s


def normalize_answer(text: str, *, strip_units: bool = True) -> str:
    """Canonical spelling of an answer (spaces kept single, so LaTeX stays parseable).

    ``strip_units=False`` keeps plain-word units (Minerva Math, as the Qwen toolkit does);
    trailing ``\\text{...}`` units are removed either way.
    """
    s = text.replace("\r", " ").replace("\n", " ").replace("\t", " ").strip()
    s = s.replace("\\$", "").replace("$", "")
    s = GROUP_SEP_RE.sub("", s)
    s = s.replace("{:}", ":")
    s = python_syntax(s)
    s = re.sub(r"\\[()\[\]]", " ", s)
    s = re.sub(r"\\(?:displaystyle|textstyle|scriptstyle)(?![A-Za-z])", "", s)
    s = re.sub(r"^\\(?:boxed|fbox)\s*\{(.*)\}$", r"\1", s.strip())
    s = re.sub(r"\\[dt]frac(?![A-Za-z])", r"\\frac", s)
    s = re.sub(r"\\(?:left|right)\.", "", s)
    s = _SIZING_RE.sub("", s)
    s = _SPACES_RE.sub(" ", s)
    s = _DEGREES_RE.sub("", s)
    s = s.replace("\\%", "%")
    s = _unwrap(_TEXT_WRAP_RE, s) if re.search(r"\d:\d\d", s) else s
    s = _CLOCK_RE.sub(lambda m: f"{m.group(1)} {m.group(2).lower()}m", s)
    s = _scale_words(s.strip())
    s = _strip_unit_tail(s.strip(), strip_units)
    s = _unwrap(_TEXT_WRAP_RE, s)
    s = re.sub(r"\\(?:vec|hat|overrightarrow)\s*\{\s*([ijk])\s*\}", r"\1", s)
    s = re.sub(r"(?<=[)\]}])\s*\^\s*(?:\{\s*(?:T|\\top|t)\s*\}|T|\\top)$", "", s)  # transpose
    s = re.sub(r"\\langle(?![A-Za-z])", "(", s)
    s = re.sub(r"\\rangle(?![A-Za-z])", ")", s)
    s = re.sub(r"\s*\bpercent\b", "%", s)
    s = re.sub(r"\\neq(?![A-Za-z])", r"\\ne", s)
    s = re.sub(r"\\leq(?:slant)?(?![A-Za-z])", r"\\le", s)
    s = re.sub(r"\\geq(?:slant)?(?![A-Za-z])", r"\\ge", s)
    s = re.sub(r"\binfinity\b|∞|\binf\b", r"\\infty", s)
    s = re.sub(r"(^|[,(\[])\s*\+\s*\\infty", r"\1\\infty", s)
    s = re.sub(r"\\(?:varnothing|oslash)(?![A-Za-z])|∅|⊘|\\\{\s*\\\}", r"\\emptyset", s)
    s = re.sub(r"\\frac\s*(\d)\s*(\d)", r"\\frac{\1}{\2}", s)
    s = re.sub(r"\\frac\s*(\d)\s*\{", r"\\frac{\1}{", s)
    s = re.sub(r"\\frac\s*(\{[^{}]*\})\s*([0-9A-Za-z])", r"\\frac\1{\2}", s)
    s = re.sub(r"\\sqrt\s*(\d+)", r"\\sqrt{\1}", s)
    s = re.sub(r"\\sqrt\s+([A-Za-z])(?![A-Za-z])", r"\\sqrt{\1}", s)
    s = _MATRIX_ENVS_RE.sub(r"\\\1{pmatrix}", s)
    s = _ARRAY_BEGIN_RE.sub(r"\\begin{pmatrix}", s)
    s = s.replace("\\end{array}", "\\end{pmatrix}")
    s = re.sub(r"(\d)\{,\}(?=\d{3})", r"\1", s)
    s = _BRACED_THOUSANDS_RE.sub(lambda m: m.group(0).replace(",", ""), s)  # \frac{3}{1,024}
    s = re.sub(r"\s+", " ", s).strip()
    s = re.sub(r"^(?:\\approx|≈|=)\s*", "", s)
    if re.search(r"\d", s):
        s = re.sub(r"\s+(?:and|or)\s+", ", ", s)
    s = re.sub(r"(^|[^\d.}])\.(\d)", r"\g<1>0.\2", s)
    s = s.rstrip(" .,;:").rstrip("\\").strip().lstrip(":").strip()
    if _THOUSANDS_RE.fullmatch(s) or _SPACED_THOUSANDS_RE.fullmatch(s):
        s = s.replace(",", "").replace(" ", "")
    labelled = _LABELLED_THOUSANDS_RE.fullmatch(s)  # "n = 15,600"
    if labelled:
        s = labelled.group(1) + labelled.group(2).replace(",", "")
    labelled = _RIGHT_LABELLED_THOUSANDS_RE.fullmatch(s)
    if labelled:
        s = labelled.group(1).replace(",", "") + labelled.group(2)
    if strip_units:
        s = _drop_words_after_number(s)
    s = _MEMBERSHIP_RE.sub("", s, count=1)
    s = _time_of_day(s)
    if _ALL_REALS_RE.search(s):
        s = _ALL_REALS_RE.sub(r"(-\\infty,\\infty)", s)
        s = re.sub(r"^\(-\\infty,\\infty\)\s*(?:-|\\backslash|\\setminus)\s*(?=\\\{)",
                   r"(-\\infty,\\infty) \\setminus ", s)
    if _NO_SOLUTION_RE.fullmatch(s):
        s = "\\emptyset"
    if _DNE_RE.fullmatch(s):
        s = "does not exist"
    if is_text(s):
        s = _TEXT_FILLER_RE.sub("", s, count=1) or s
        s = _CONVERGENCE_RE.sub(lambda m: _CONVERGENCE[m.group(0).lower()], s)
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
    ulp: Fraction | None = None  # a decimal's unit in the last place (its written precision)


def _places(t: str) -> Fraction | None:
    if "." not in t:
        return None
    return Fraction(1, 10 ** len(t.split(".", 1)[1]))


def _repeating(m: re.Match[str]) -> Fraction:
    """``a.b\\overline{c}``: the exact value of a repeating decimal."""
    sign, whole, fixed, period = m.groups()
    head = Fraction(int(whole or "0")) + (Fraction(int(fixed), 10 ** len(fixed)) if fixed else 0)
    tail = Fraction(int(period), (10 ** len(period) - 1) * 10 ** len(fixed))
    return -(head + tail) if sign == "-" else head + tail


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
        return Num(Fraction(t), "." in t, percent, _places(t))
    m = _REPEATING_RE.fullmatch(t)
    if m:
        return Num(_repeating(m), False, percent)
    m = _SCI_RE.fullmatch(t)
    if m:
        exp = int(m.group(2) or m.group(3) or m.group(4))
        if abs(exp) > MAX_EXPONENT:
            return None
        mant = m.group(1)
        ulp = (_places(mant) or Fraction(1)) * Fraction(10) ** exp
        return Num(Fraction(mant) * Fraction(10) ** exp, True, percent, ulp)
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
POLICIES = ("strict", "qwen")
MIN_ROUNDED_DIGITS = 3


def numeric_mode(policy: str, benchmark: str) -> str:
    """``qwen``: the Qwen toolkit's rule (relative 1e-4 whenever a decimal is involved);
    ``rounded``: the strict rule for a benchmark whose exact golds stand for rounded physical
    values (Minerva Math); ``exact``: the strict rule."""
    if policy not in POLICIES:
        raise ValueError(f"unknown numeric policy {policy!r}; choose from {', '.join(POLICIES)}")
    if policy == "qwen":
        return "qwen"
    return "rounded" if benchmark in ROUNDED_BENCHMARKS else "exact"


ROUNDED_BENCHMARKS = frozenset({"minerva_math"})


def close(a: Fraction, b: Fraction, inexact: bool) -> bool:
    """Exact equality, or relative tolerance 1e-4 (the Qwen toolkit's) with a decimal."""
    if a == b:
        return True
    return inexact and abs(a - b) <= REL_TOL * max(abs(a), abs(b))


def _significant_digits(value: Fraction, ulp: Fraction) -> int:
    if value == 0:
        return 0
    digits, scale = 0, abs(value)
    while scale >= ulp and digits < 60:
        scale /= 10
        digits += 1
    return digits


def values_match(pred: Fraction, pred_ulp: Fraction | None, gold: Fraction,
                 gold_ulp: Fraction | None, mode: str) -> bool:
    """The documented numeric policy (README, table of decisions).

    A decimal gold is compared at its own precision: a more precise decimal must round to it;
    one with no more digits must equal it; an exact fraction must round to it when the gold has
    at least three significant digits (1/12 for 0.0833), else equal it (1/3 is not 0.3).
    An exact gold (integer, fraction, surd, pi) is equal only to its exact value: a decimal is
    accepted when it is that value exactly (0.25 for 1/4), never a truncation (0.0833 for
    1/12). Under ``rounded``
    (Minerva Math) a decimal with at least three significant digits that is the exact gold
    correctly rounded is accepted too. ``qwen`` is the toolkit's relative 1e-4.
    """
    if pred == gold:
        return True
    if mode == "qwen":
        return close(pred, gold, pred_ulp is not None or gold_ulp is not None)
    if gold_ulp is not None:
        if pred_ulp is None and mode != "rounded" and \
                _significant_digits(gold, gold_ulp) < MIN_ROUNDED_DIGITS:
            return False  # 1/3 is not the 0.3 a gold states; 0.0833 is 1/12 rounded
        if pred_ulp is not None and pred_ulp >= gold_ulp:
            return False
        return abs(pred - gold) <= gold_ulp / 2
    if pred_ulp is not None and mode == "rounded":
        return (abs(pred - gold) <= pred_ulp / 2
                and _significant_digits(pred, pred_ulp) >= MIN_ROUNDED_DIGITS)
    return False


def numbers_equal(pred: Num, gold: Num, mode: str = "exact") -> bool:
    """Numeric equality; a percent on one side also matches its value over 100 on the other."""
    if values_match(pred.value, pred.ulp, gold.value, gold.ulp, mode):
        return True
    if pred.percent != gold.percent:
        if pred.percent:
            return values_match(pred.value / 100, pred.ulp and pred.ulp / 100, gold.value,
                                gold.ulp, mode)
        return values_match(pred.value, pred.ulp, gold.value / 100, gold.ulp and gold.ulp / 100,
                            mode)
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
    (parsing would read "odd" as o*d*d). Letters that are all single (``a-b``, ``x - y``) are a
    polynomial, not a hyphenated word: the symbolic stage decides them."""
    return bool(_TEXT_RE.fullmatch(s)) and _WORD_RE.search(s) is not None
