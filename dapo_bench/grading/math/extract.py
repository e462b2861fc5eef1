"""Answer extraction from model responses (Qwen2.5-Math protocol, made stricter where it was lossy).

Every function here is a linear scan of the text (no backtracking regexes), so extraction from a
1 MB response is cheap enough to run in the parent process before any bounded worker is involved.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from dapo_bench.grading.math.normalize import GROUP_SEP_RE

_BOX_RE = re.compile(r"\\(?:boxed|fbox)(?![A-Za-z])")
_BRACE_RE = re.compile(r"\\\\|\\[{}]|[{}]")  # "\\" (a matrix row break) is one token
_MINERVA_START = "final answer is $"
_MINERVA_END = "$. I hope"
_ANSWER_IS_RE = re.compile(r"(?:[Tt]he (?:final )?answer is|[Ff]inal [Aa]nswer(?: is)?)[:\s]*")
# A number as GSM8K answers are written: sign, digits with thousands commas, decimals; a
# fraction (``\frac{2}{7}``, ``2/7``) is one number, so its denominator is never taken alone.
_NUMBER_RE = re.compile(r"-?\\[dt]?frac\s*\{[^{}$]{1,40}\}\s*\{[^{}$]{1,40}\}"
                        r"|-?(?:\d[\d,]*(?:\.\d+)?|\.\d+)(?:\s*/\s*\d+(?![\d.,]))?")
_SENTENCE_END_RE = re.compile(r"\.(?:\s|$)|\n")
_MERIDIEM_RE = re.compile(r"\s*(?:\$\$?|\\\)|\\\])\s*([AaPp])\.?\s?[Mm](?![A-Za-z])")
_TIME_RE = re.compile(r"(?<![\d:])(\d{1,2}:\d{2})(?![\d:])"
                      r"(?:\s*(?:(?:\$\$?|\\\)|\\\])\s*)?([AaPp])\.?\s?[Mm](?![A-Za-z]))?")
_PLAIN_WORDS_RE = re.compile(r"[A-Za-z][A-Za-z'\-]*(?: [A-Za-z][A-Za-z'\-]*)*")
_NEGATIONS = frozenset({"not", "no", "never", "neither", "nor", "cannot", "isn't", "nothing"})
WHOLE_RESPONSE_MAX = 64  # a response this short with no marker is taken whole as the answer
WHOLE_MATH_MAX = 400  # the last math span, when nothing else marks the answer


@dataclass(frozen=True)
class Extraction:
    answer: str | None
    how: str  # boxed | minerva | answer-is | last-number | last-time | last-sentence | last-math
    # | whole | none


def _match_braces(text: str, open_pos: int) -> int | None:
    """Index of the brace closing the one at ``open_pos`` (escaped ``\\{``/``\\}`` skipped)."""
    depth = 0
    for m in _BRACE_RE.finditer(text, open_pos):
        tok = m.group()
        if len(tok) == 2:  # \{, \} or \\: literal braces or a row break, part of the content
            continue
        depth += 1 if tok == "{" else -1
        if depth == 0:
            return m.start()
    return None


_BOX_GAP_RE = re.compile(r"[\s$,;]*(?:(?:and|or|,|\\text\{\s*(?:and|or|,)\s*\}|\\quad)[\s$,;]*)?")
MAX_JOINED_BOXES = 20
MAX_BOX_GAP = 40  # longer text between two boxes: separate answers (and no regex backtracking)


def boxes(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, content)`` of every complete top-level box, in order (as ``last_boxed``)."""
    found: list[tuple[int, int, str]] = []
    pos = 0
    while True:
        m = _BOX_RE.search(text, pos)
        if m is None:
            return found
        i = m.end()
        while i < len(text) and text[i] == " ":
            i += 1
        if i < len(text) and text[i] == "{":
            end = _match_braces(text, i)
            if end is None:
                return found  # unclosed: everything after it is inside it
            if text[i + 1:end].strip():
                found.append((m.start(), end + 1, text[i + 1:end]))
            pos = end + 1
        else:
            token = re.match(r"[^\s$]+", text[i:i + 256])
            if token and (i > m.end() or token.group()[0].isdigit()):
                found.append((m.start(), i + token.end(), token.group()))
            pos = i


def final_boxes(text: str) -> str | None:
    """The last box, or the last run of boxes written as one answer ("\\boxed{2} and
    \\boxed{3}": only commas, "and", "or" and spacing between them), joined by commas."""
    found = boxes(text)
    if not found:
        return None
    run = [found[-1]]
    for prev in reversed(found[:-1]):
        gap = text[prev[1]:run[-1][0]]
        if len(run) >= MAX_JOINED_BOXES or len(gap) > MAX_BOX_GAP or not _BOX_GAP_RE.fullmatch(gap):
            break
        run.append(prev)
    return ", ".join(c for _, _, c in reversed(run))


def last_boxed(text: str) -> str | None:
    """Content of the last complete top-level ``\\boxed{...}`` / ``\\fbox{...}``.

    Boxes nested inside a box belong to it; an unclosed box (a truncated generation) is not an
    answer, so the last complete one before it counts. ``\\boxed 5`` (no braces) takes the token.
    """
    found = boxes(text)
    return found[-1][2] if found else None


def _leading_math(rest: str) -> str | None:
    """The math span ``rest`` starts with ("$\\frac{2}{7}$, since ..."), if any."""
    body = rest.lstrip()
    for start, content in _math_spans(body):
        return content if start == 0 and content else None
    return None


def _last_match(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    """The last of ``pattern``'s matches in ``text`` (one linear scan), or None."""
    last = None
    for last in pattern.finditer(text):  # noqa: B007 - the loop variable is the result
        pass
    return last


def _answer_is(text: str) -> str | None:
    last = _last_match(_ANSWER_IS_RE, text)
    if last is None:
        return None
    rest = text[last.end():]
    span = _leading_math(rest)
    if span:
        return span
    end = _SENTENCE_END_RE.search(rest)
    ans = (rest[:end.start()] if end else rest).strip().strip("$").strip()
    return ans or None


def last_number(text: str) -> str | None:
    """The last number in ``text``, thousands commas removed (GSM8K convention)."""
    last = _last_match(_NUMBER_RE, GROUP_SEP_RE.sub("", text))
    if last is None:
        return None
    token = last.group()
    if "frac" in token:
        return token
    return token.replace(",", "").replace(" ", "").rstrip(".") or None


def _math_spans(text: str) -> Iterator[tuple[int, str]]:
    """``(start, content)`` of each ``$...$``, ``$$...$$``, ``\\(...\\)``, ``\\[...\\]`` span,
    in order (a ``\\$`` is a dollar sign, not a delimiter); stops at an unclosed one. Linear."""
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\\" and i + 1 < n:
            nxt = text[i + 1]
            if nxt in "([":
                end = text.find("\\)" if nxt == "(" else "\\]", i + 2)
                if end < 0:
                    return
                yield i, text[i + 2:end].strip()
                i = end + 2
                continue
            i += 2
            continue
        if ch == "$":
            delim = "$$" if text.startswith("$$", i) else "$"
            j = i + len(delim)
            while j < n:
                if text[j] == "\\":
                    j += 2
                    continue
                if text.startswith(delim, j):
                    break
                j += 1
            if j >= n:
                return
            yield i, text[i + len(delim):j].strip()
            i = j + len(delim)
            continue
        i += 1


def last_math(text: str) -> str | None:
    """Content of the last non-empty math span of ``text``; a time's "AM"/"p.m." written just
    after the span (``$7:45$ AM``) belongs to it."""
    last: str | None = None
    end = 0
    for start, content in _math_spans(text):
        if content:
            last, end = content, start
    if last is None:
        return None
    close = text.find(last, end) + len(last)
    meridiem = _MERIDIEM_RE.match(text, close)
    if meridiem and re.fullmatch(r"\d{1,2}:\d{2}", last.strip()):
        return f"{last.strip()} {meridiem.group(1).lower()}m"
    return last


def last_time(text: str) -> str | None:
    """The last time of day in ``text`` ("at 7:45 a.m."), for a gold that is one."""
    last = _last_match(_TIME_RE, text)
    if last is None:
        return None
    return last.group(1) + (f" {last.group(2).lower()}m" if last.group(2) else "")


def last_sentence_tail(text: str, words: int) -> str | None:
    """The last ``words`` words of the last sentence, when they are plain words and none of
    the three words before them negates them ("Wednesday, not Tuesday")."""
    body = text.rstrip().rstrip(".!?").rstrip()
    cut = max(body.rfind(". "), body.rfind("! "), body.rfind("? "), body.rfind("\n"))
    sentence = body[cut + 1:] if cut >= 0 else body
    tokens = sentence.split()
    if words < 1 or len(tokens) < words:
        return None
    tail = " ".join(tokens[-words:])
    if not _PLAIN_WORDS_RE.fullmatch(tail):
        return None
    before = {t.strip(",;:").lower() for t in tokens[-words - 3:-words]}
    if before & _NEGATIONS or any(t.endswith("n't") for t in before):
        return None
    return tail


def extract_answer(response: str, *, numeric_fallback: bool = False, text_words: int = 0,
                   time_fallback: bool = False) -> Extraction:
    """Find the final answer in a response.

    Order: Minerva's "final answer is $X$. I hope it is correct"; the last complete box;
    "The answer is X"; then, for numeric gold answers, the last number (as the Qwen toolkit does
    for every benchmark); for a gold that is a time of day, the last time; for a gold of
    ``text_words`` plain words, the end of the last sentence (``last_sentence_tail``); then the
    last math span; otherwise a short one-line response is taken whole.
    """
    text = response.replace("\u043a\u0438", "")  # a stray token some models emit (Qwen toolkit)
    if _MINERVA_START in text and _MINERVA_END in text:
        tail = text.split(_MINERVA_START, 1)[1]
        ans = tail.split(_MINERVA_END, 1)[0].strip()
        if ans:
            return Extraction(ans, "minerva")
    boxed = final_boxes(text)
    if boxed is not None:
        return Extraction(boxed, "boxed")
    said = _answer_is(text)
    if said is not None:
        return Extraction(said, "answer-is")
    if numeric_fallback:
        num = last_number(text)
        if num is not None:
            return Extraction(num, "last-number")
    if time_fallback:
        time = last_time(text)
        if time is not None:
            return Extraction(time, "last-time")
    if text_words:
        tail = last_sentence_tail(text, text_words)
        if tail is not None:
            return Extraction(tail, "last-sentence")
    math = last_math(text)
    if math is not None and len(math) <= WHOLE_MATH_MAX:
        return Extraction(math, "last-math")
    stripped = text.strip()
    if stripped and len(stripped) <= WHOLE_RESPONSE_MAX and "\n" not in stripped:
        return Extraction(stripped, "whole")
    return Extraction(None, "none")
