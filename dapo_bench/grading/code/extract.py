"""Finding the program in a model's response (text only: nothing here runs it).

Order of preference: the last fenced block that defines the entry point; else the last
complete fenced block of Python (or of no language); else an unterminated last fence (a
truncated generation); else the response itself from its first line of code. A program that
does not parse is cut back to its last complete top-level statement (the last complete
function). ``ast.parse`` only builds a tree; inputs are capped so a hostile response cannot
make it slow.
"""

from __future__ import annotations

import ast
import re
import warnings

MAX_RESPONSE_CHARS = 200_000
MAX_TRIMS = 200

_FENCE = re.compile(r"^[ \t]*```[ \t]*([\w+#.-]*)[^\n]*\n(.*?)^[ \t]*```", re.M | re.S)
_OPEN_FENCE = re.compile(r"^[ \t]*```[ \t]*([\w+#.-]*)[^\n]*\n", re.M)
_CODE_START = re.compile(r"^(?:def |class |import |from |@|async def |if __name__)", re.M)
_PY_LANGS = {"", "python", "py", "python3", "py3", "python3.11", "ipython"}


def _defines(code: str, name: str | None) -> bool:
    if not name:
        return False
    return re.search(rf"^\s*(?:async\s+)?def\s+{re.escape(name)}\s*\(", code, re.M) is not None


def parses(code: str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return False
    return True


def trim_to_parseable(code: str) -> str | None:
    """Drop trailing lines until the code parses; None if nothing useful is left."""
    if parses(code):
        return code
    lines = code.rstrip().split("\n")
    # cut at top-level statement boundaries first (cheap, keeps whole functions)
    starts = [i for i, line in enumerate(lines) if line and not line[0].isspace()]
    for cut in reversed(starts[-MAX_TRIMS:]):
        if cut == 0:
            break
        candidate = "\n".join(lines[:cut]).rstrip()
        if parses(candidate):
            return candidate
    return None


def fenced_blocks(text: str) -> list[tuple[str, str, bool]]:
    """(language, body, closed) for each fenced block, in order."""
    blocks = [(m.group(1).lower(), m.group(2), True) for m in _FENCE.finditer(text)]
    last_close = max((m.end() for m in _FENCE.finditer(text)), default=0)
    tail = _OPEN_FENCE.search(text, last_close)
    if tail is not None:
        blocks.append((tail.group(1).lower(), text[tail.end():], False))
    return blocks


def extract_program(response: str, entry_point: str | None = None) -> str | None:
    """The program a response contains, or None."""
    text = response[:MAX_RESPONSE_CHARS].replace("\r\n", "\n")
    blocks = [(body, closed) for lang, body, closed in fenced_blocks(text) if lang in _PY_LANGS]
    ordered: list[str] = []
    if blocks:
        with_entry = [b for b, _ in blocks if _defines(b, entry_point)]
        closed = [b for b, c in blocks if c]
        ordered += with_entry[::-1] + closed[::-1] + [b for b, c in blocks if not c]
    else:
        # a response that starts inside a code block the prompt opened: code, then a lone fence
        before = text.split("```", 1)[0] if "```" in text else text
        match = _CODE_START.search(before)
        if match is not None:
            ordered.append(before[match.start():])
        elif _defines(text, entry_point):
            ordered.append(text)
    for code in ordered:
        trimmed = trim_to_parseable(code.strip("\n"))
        if trimmed and trimmed.strip():
            return trimmed + "\n"
    return None


def complete_with_prompt(program: str, prompt: str | None) -> str:
    """HumanEval-style prompts are code (imports, helpers, the signature): put the prompt
    first so a program that omits them still runs; its own definitions come later and win."""
    if not prompt:
        return program
    for glue in ("\n\n", "\n    pass\n\n"):
        joined = prompt.rstrip() + glue + program
        if parses(joined):
            return joined
    return program


def continue_prompt(prompt: str, response: str, entry_point: str | None) -> str | None:
    """A base model's continuation of the prompt's function body: prompt + response, cut
    back to what parses."""
    text = response[:MAX_RESPONSE_CHARS].split("```", 1)[0]
    joined = trim_to_parseable(prompt + text)
    if joined and _defines(joined, entry_point) and len(joined) > len(prompt.rstrip()):
        return joined + "\n"  # the response added code, not only prose that was cut off
    return None
