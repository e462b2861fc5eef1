"""Finding the program in a response: fences, truncation, prose, the entry point."""

from __future__ import annotations

import pytest

from dapo_bench.grading.code.extract import (
    complete_with_prompt,
    continue_prompt,
    extract_program,
    trim_to_parseable,
)

CASES = [
    # (response, entry point, expected program or None)
    ("```python\ndef f(x):\n    return x\n```", "f", "def f(x):\n    return x\n"),
    ("Plan...\n```py\nimport math\ndef f(x):\n    return math.floor(x)\n```\nThen test:\n"
     "```python\nprint(f(1.5))\n```", "f", "import math\ndef f(x):\n    return math.floor(x)\n"),
    # the last block that defines the entry point wins over a later usage block
    ("```python\ndef f(x):\n    return 1\n```\n```python\ndef f(x):\n    return 2\n```\n"
     "```python\nassert f(0) == 2\n```", "f", "def f(x):\n    return 2\n"),
    # unterminated fence (generation cut off): the last complete function is kept
    ("```python\ndef f(x):\n    return x\n\ndef g(y):\n    return (y +", "f",
     "def f(x):\n    return x\n"),
    # no fences: from the first line of code, prose after it cut away
    ("Here you go:\ndef f(x):\n    return x * 2\n\nThis doubles x.", "f",
     "def f(x):\n    return x * 2\n"),
    # stdin programs have no entry point: the last python block
    ("```\nimport sys\nprint(sys.stdin.read())\n```", None,
     "import sys\nprint(sys.stdin.read())\n"),
    # code in another language is not taken
    ("```cpp\nint main() { return 0; }\n```", None, None),
    ("No code here, sorry.", "f", None),
]


@pytest.mark.parametrize(("response", "entry", "expected"), CASES)
def test_extract_program(response: str, entry: str | None, expected: str | None) -> None:
    assert extract_program(response, entry) == expected


def test_hostile_text_is_bounded() -> None:
    deep = "```python\nx = " + "(" * 100_000 + "\n```"
    assert extract_program(deep, None) is None
    assert extract_program("def f():\n" + "  pass\n" * 300_000, "f") is not None
    assert trim_to_parseable("\x00def f(): pass") is None


def test_prompt_completion() -> None:
    prompt = 'from typing import List\n\n\ndef f(xs: List[int]) -> int:\n    """Doc."""\n'
    program = complete_with_prompt("def f(xs: List[int]) -> int:\n    return len(xs)\n", prompt)
    assert program.startswith("from typing import List") and program.endswith("len(xs)\n")
    assert continue_prompt(prompt, "    return len(xs)\n```\nDone.", "f") is not None
    assert continue_prompt(prompt, "I would rather not.", "f") is None
