"""Parsing the code benchmarks' own file formats into the fields the sandbox needs.

Facts about the data live here: which MBPP+ inputs are tuples or sets (JSON cannot say; the
list below restates evalplus's ``mbpp_deserialize_inputs`` per task), how LiveCodeBench packs
its private tests (base64 of zlib of a pickled JSON string: unpickled here with every global
refused, so a crafted file cannot run code), and which LiveCodeBench files make a release.
"""

from __future__ import annotations

import ast
import base64
import contextlib
import io
import json
import pickle
import re
import zlib
from collections.abc import Callable
from typing import Any

from dapo_bench.errors import UserInputError

# --- MBPP+: inputs that are tuples, sets or complex numbers in the original tasks ------------


def _tuple_each(inp: list) -> list:
    return [tuple(arg) for arg in inp]


def _lists_of_tuples(inp: list) -> list:
    return [[tuple(x) for x in arg] for arg in inp]


def _first_list_of_tuples(inp: list) -> list:
    return [[tuple(x) for x in inp[0]], inp[1]]


def _second_tuple(inp: list) -> list:
    return [inp[0], tuple(inp[1])]


def _first_tuple(inp: list) -> list:
    return [tuple(inp[0]), *inp[1:]]


def _tuples_of_tuples(inp: list) -> list:
    return [tuple(tuple(x) for x in arg) for arg in inp]


def _sets_or_empty_dict(inp: list) -> list:
    # evalplus writes an empty item as ``{}``, i.e. an empty dict; kept for identical inputs
    return [[set(x) if isinstance(x, list) and x else {} for x in inp[0]]]


def _deep_tuple(value: Any) -> Any:
    return tuple(_deep_tuple(v) for v in value) if isinstance(value, list) else value


_MBPP_INPUT_SHAPES: dict[Callable[[list], Any], tuple[int, ...]] = {
    _tuple_each: (2, 116, 132, 143, 222, 261, 273, 394, 399, 421, 424, 429, 470, 560, 579, 596,
                  616, 630, 726, 740, 744, 809),
    _lists_of_tuples: (63, 64, 70, 94, 120, 237, 272, 299, 400, 409, 417, 438, 473, 614, 780),
    _first_list_of_tuples: (75, 413, 444, 753),
    _second_tuple: (106, 750),
    _sets_or_empty_dict: (115,),
    (lambda inp: (float(inp[0]), complex(inp[1]))): (124,),
    _first_tuple: (250, 405, 446, 617, 720, 763, 808, 307),
    _tuples_of_tuples: (259, 401, 445),
    (lambda inp: [tuple(tuple(x) if isinstance(x, list) else x for x in inp[0])]): (278,),
    (lambda inp: [{k: tuple(v) for k, v in inp[0].items()}, *inp[1:]]): (722,),
    (lambda inp: [complex(inp[0])]): (252,),
    _deep_tuple: (580, 615, 791),
}
MBPP_INPUT_SHAPE = {n: fn for fn, numbers in _MBPP_INPUT_SHAPES.items() for n in numbers}


def mbpp_plus_inputs(task_id: str, inputs: list) -> list:
    """MBPP+ inputs as the original tasks take them."""
    shape = MBPP_INPUT_SHAPE.get(int(str(task_id).rsplit("/", 1)[-1]))
    return inputs if shape is None else [shape(inp) for inp in inputs]


# --- MBPP (original): the function under test -----------------------------------------------

def mbpp_entry_point(code: str, tests: list[str]) -> str:
    """The function the asserts call that the reference code defines."""
    defined: list[str] = []
    with contextlib.suppress(SyntaxError):
        defined = [n.name for n in ast.walk(ast.parse(code))
                   if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    for test in tests:
        try:
            tree = ast.parse(test)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and (
                    node.func.id in defined):
                return node.func.id
    match = re.search(r"assert\s+\(?\s*(?:not\s+)?(?:\w+\()?\s*([A-Za-z_]\w*)\s*\(",
                      tests[0] if tests else "")
    if match is None:
        raise ValueError("cannot tell which function the tests call")
    return match.group(1)


# --- LiveCodeBench ------------------------------------------------------------------------

def lcb_release_files(release: str) -> list[str]:
    """File names of a ``code_generation_lite`` version tag: release_vN (cumulative), vN (one
    release's new problems), vA_vB (releases A to B)."""
    def name(i: int) -> str:
        return "test.jsonl" if i == 1 else f"test{i}.jsonl"

    if m := re.fullmatch(r"release_v(\d+)", release):
        return [name(i) for i in range(1, int(m.group(1)) + 1)]
    if m := re.fullmatch(r"v(\d+)", release):
        return [name(int(m.group(1)))]
    if m := re.fullmatch(r"v(\d+)_v(\d+)", release):
        return [name(i) for i in range(int(m.group(1)), int(m.group(2)) + 1)]
    raise UserInputError(f"unknown LiveCodeBench release {release!r}: use release_vN, vN or "
                         "vA_vB")


class _NoGlobals(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a data file")


def lcb_tests(field: str | list) -> list[dict[str, Any]]:
    """public_test_cases / private_test_cases: JSON, or base64(zlib(pickle(JSON string)))."""
    if isinstance(field, list):
        return field
    try:
        return json.loads(field)
    except json.JSONDecodeError:
        pass
    raw = zlib.decompressobj().decompress(base64.b64decode(field), 1 << 30)
    value = _NoGlobals(io.BytesIO(raw)).load()
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    return json.loads(value) if isinstance(value, str) else value


LCB_IMPORTS = (
    "from string import *\nfrom re import *\nfrom datetime import *\nfrom collections import *\n"
    "from heapq import *\nfrom bisect import *\nfrom copy import *\nfrom math import *\n"
    "from random import *\nfrom statistics import *\nfrom itertools import *\n"
    "from functools import *\nfrom operator import *\nfrom io import *\nfrom sys import *\n"
    "from json import *\nfrom builtins import *\nfrom typing import *\nimport string\nimport re\n"
    "import datetime\nimport collections\nimport heapq\nimport bisect\nimport copy\nimport math\n"
    "import random\nimport statistics\nimport itertools\nimport functools\nimport operator\n"
    "import io\nimport sys\nimport json\nsys.setrecursionlimit(50000)\n")

TACO_IMPORTS = (
    "import sys\nimport time\nimport itertools\nfrom itertools import accumulate, product, "
    "permutations, combinations\nimport collections\nfrom collections import Counter, "
    "OrderedDict, deque, defaultdict, ChainMap\nfrom functools import lru_cache\nimport math\n"
    "from math import sqrt, sin, cos, tan, ceil, fabs, floor, gcd, exp, log, log2\n"
    "import fractions\nfrom typing import List, Tuple\nimport random\nimport heapq\n"
    "from heapq import *\n")


# --- prompts ------------------------------------------------------------------------------

EVALPLUS_INSTRUCTION = ("Please provide a self-contained Python script that solves the "
                        "following problem in a markdown code block:\n```\n{prompt}\n```\n")
LCB_SYSTEM = ("You are an expert Python programmer. You will be given a question (problem "
              "specification) and will generate a correct Python program that matches the "
              "specification and passes all tests.")
LCB_WITH_STARTER = ("You will use the following starter code to write the solution to the "
                    "problem and enclose your code within delimiters.")
LCB_WITHOUT_STARTER = ("Read the inputs from stdin solve the problem and write the answer to "
                       "stdout (do not directly test on the sample inputs). Enclose your code "
                       "within delimiters as follows.")


def evalplus_question(prompt: str) -> str:
    return EVALPLUS_INSTRUCTION.replace("{prompt}", prompt.strip())


def contest_question(content: str, starter_code: str) -> str:
    """LiveCodeBench's generic question format (also used for TACO)."""
    text = f"{LCB_SYSTEM}\n\n### Question:\n{content}\n\n"
    if starter_code:
        text += f"### Format: {LCB_WITH_STARTER}\n```python\n{starter_code}\n```\n\n"
    else:
        text += f"### Format: {LCB_WITHOUT_STARTER}\n```python\n# YOUR CODE HERE\n```\n\n"
    return text + "### Answer: (use the provided format with backticks)\n\n"
